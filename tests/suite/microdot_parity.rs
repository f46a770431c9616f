//! Microdot's own session tests (microdot 2.7.0, tests/test_session.py), ported to actix.

use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::{StatusCode, header};
use actix_web::{App, FromRequest, HttpRequest, get, post, test, web};
use jwt_session::{Session, SessionDict, SessionError, with_session};

use crate::common::jar::Jar;
use crate::common::*;

#[get("/")]
async fn no_session_route() -> &'static str {
    "no session here"
}

#[get("/with-session")]
#[with_session]
async fn with_session_route(session: SessionDict) -> Result<String, SessionError> {
    Ok(format!("{:?}", session.get::<String>("name")?))
}

#[derive(serde::Deserialize)]
struct Name {
    name: String,
}

// Microdot's test saves from a sync handler.
#[post("/set")]
#[with_session]
fn set_session(
    body: web::Json<Name>,
    mut session: SessionDict,
) -> Result<&'static str, SessionError> {
    session.insert("name", &body.name)?;
    session.save()?;
    Ok("OK")
}

#[post("/del")]
#[with_session]
fn del_session(session: SessionDict) -> &'static str {
    session.delete();
    "OK"
}

#[post("/change-without-save")]
#[with_session]
fn change_without_save(mut session: SessionDict) -> Result<&'static str, SessionError> {
    session.insert("name", "mallory")?;
    Ok("OK")
}

/// Two loads in one request share one state: the second sees what the first saved, and the
/// response still carries one cookie.
#[post("/two-loads")]
#[with_session]
async fn two_loads(req: HttpRequest, mut first: SessionDict) -> Result<String, actix_web::Error> {
    let second_before = load_again(&req).await?;
    first.insert("name", "saved by first")?;
    first.save()?;
    let second_after = load_again(&req).await?;
    Ok(format!(
        "{:?}|{:?}",
        second_before.get::<String>("name")?,
        second_after.get::<String>("name")?
    ))
}

async fn load_again(req: &HttpRequest) -> Result<SessionDict, actix_web::Error> {
    let loader = jwt_session::__private::SessionLoader::extract(req).await?;
    Ok(loader.into_parts().0)
}

async fn call<S>(app: &S, jar: &mut Jar, req: test::TestRequest) -> ServiceResponse
where
    S: Service<actix_http::Request, Response = ServiceResponse, Error = actix_web::Error>,
{
    let req = req.to_request();
    let path = req.path().to_owned();
    let req = match jar.header_for(&path) {
        Some(cookies) => test::TestRequest::default()
            .method(req.method().clone())
            .uri(&path)
            .insert_header((header::COOKIE, cookies)),
        None => test::TestRequest::default()
            .method(req.method().clone())
            .uri(&path),
    };
    let res = test::call_service(app, req.to_request()).await;
    jar.update(&res);
    res
}

async fn body(res: ServiceResponse) -> String {
    String::from_utf8(test::read_body(res).await.to_vec()).unwrap()
}

#[actix_web::test]
async fn test_session_sequence() {
    let app = test::init_service(
        App::new()
            .app_data(session())
            .service(no_session_route)
            .service(with_session_route)
            .service(set_session)
            .service(del_session)
            .service(change_without_save)
            .service(two_loads),
    )
    .await;
    let mut jar = Jar::default();

    let res = call(
        &app,
        &mut jar,
        test::TestRequest::get().uri("/with-session"),
    )
    .await;
    assert_eq!(body(res).await, "None");

    let req = test::TestRequest::post()
        .uri("/set")
        .set_json(serde_json::json!({"name": "joe"}));
    let res = test::call_service(&app, req.to_request()).await;
    assert_eq!(res.status(), StatusCode::OK);
    jar.update(&res);
    let res = call(
        &app,
        &mut jar,
        test::TestRequest::get().uri("/with-session"),
    )
    .await;
    assert_eq!(body(res).await, r#"Some("joe")"#);

    // A change that is never saved never persists.
    let res = call(
        &app,
        &mut jar,
        test::TestRequest::post().uri("/change-without-save"),
    )
    .await;
    assert!(set_cookies(&res).is_empty());
    let res = call(
        &app,
        &mut jar,
        test::TestRequest::get().uri("/with-session"),
    )
    .await;
    assert_eq!(body(res).await, r#"Some("joe")"#);

    let res = call(&app, &mut jar, test::TestRequest::post().uri("/two-loads")).await;
    assert_eq!(
        set_cookies(&res).len(),
        1,
        "one cookie for the whole request"
    );
    assert_eq!(body(res).await, r#"Some("joe")|Some("saved by first")"#);

    let res = call(&app, &mut jar, test::TestRequest::post().uri("/del")).await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = call(
        &app,
        &mut jar,
        test::TestRequest::get().uri("/with-session"),
    )
    .await;
    assert_eq!(body(res).await, "None");
}

#[actix_web::test]
async fn test_session_no_secret_key() {
    // Microdot raises when no key is configured; here the config cannot be built at all, and a
    // handler in an app without one answers 500 (see missing_config.rs).
    assert!(matches!(
        Session::try_new(""),
        Err(SessionError::SecretTooShort { len: 0, .. })
    ));
    let panic = std::panic::catch_unwind(|| Session::new("short")).unwrap_err();
    let message = panic.downcast_ref::<String>().unwrap();
    assert!(
        message.contains("at least 32 bytes") && message.contains("openssl rand"),
        "{message}"
    );
}

#[post("/{any:.*}")]
#[with_session]
async fn save_anywhere(mut session: SessionDict) -> Result<&'static str, SessionError> {
    session.insert("foo", "bar")?;
    session.save()?;
    Ok("OK")
}

#[actix_web::route("/{any:.*}", method = "DELETE")]
#[with_session]
async fn delete_anywhere(session: SessionDict) -> &'static str {
    session.delete();
    "OK"
}

macro_rules! path_app {
    ($config:expr) => {
        test::init_service(
            App::new()
                .app_data($config)
                .route("/", web::get().to(echo_session))
                .route("/child", web::get().to(echo_session))
                .route("/child/foo", web::get().to(echo_session))
                .service(save_anywhere)
                .service(delete_anywhere),
        )
        .await
    };
}

#[actix_web::test]
async fn test_session_default_path() {
    let app = path_app!(session());
    let mut jar = Jar::default();
    let res = call(&app, &mut jar, test::TestRequest::post().uri("/")).await;
    assert_eq!(session_cookie(&res).path(), Some("/"));
    let res = call(&app, &mut jar, test::TestRequest::get().uri("/child")).await;
    assert_eq!(body(res).await, r#"{"foo":"bar"}"#);
    call(&app, &mut jar, test::TestRequest::delete().uri("/child")).await;
    let res = call(&app, &mut jar, test::TestRequest::get().uri("/child")).await;
    assert_eq!(body(res).await, "{}");
}

#[actix_web::test]
async fn test_session_custom_path() {
    let app = path_app!(session().path("/child").http_only(false));
    let mut jar = Jar::default();
    let res = call(&app, &mut jar, test::TestRequest::post().uri("/child")).await;
    let cookie = session_cookie(&res);
    assert_eq!((cookie.path(), cookie.http_only()), (Some("/child"), None));
    let res = call(&app, &mut jar, test::TestRequest::get().uri("/")).await;
    assert_eq!(body(res).await, "{}", "invisible outside its path");
    let res = call(&app, &mut jar, test::TestRequest::get().uri("/child/foo")).await;
    assert_eq!(body(res).await, r#"{"foo":"bar"}"#);
    let res = call(&app, &mut jar, test::TestRequest::delete().uri("/child")).await;
    assert_eq!(
        session_cookie(&res).path(),
        Some("/child"),
        "the removal names the same path"
    );
    for path in ["/", "/child", "/child/foo"] {
        let res = call(&app, &mut jar, test::TestRequest::get().uri(path)).await;
        assert_eq!(body(res).await, "{}", "{path}");
    }
}

#[actix_web::test]
async fn test_session_vary_header() {
    let app = test::init_service(
        App::new()
            .app_data(session())
            .service(no_session_route)
            .service(with_session_route),
    )
    .await;
    let res = send(&app, test::TestRequest::get().uri("/")).await;
    assert!(res.headers().get(header::VARY).is_none());
    let res = send(&app, test::TestRequest::get().uri("/with-session")).await;
    assert_eq!(res.headers().get(header::VARY).unwrap(), "Cookie");
}
