//! Logins for JSON APIs: `Login::unauthorized` (and its content negotiation),
//! `login_user_into`, and the `Session` config as an extractor.

use std::time::Duration;

use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::{App, HttpRequest, HttpResponse, test, web};
use jwt_session::login::{FreshLogin, LoggedIn, Login, Unauthorized, login_user_into};
use jwt_session::revocation::MemoryStore;
use jwt_session::{Session, SessionError};

use crate::common::jar::Jar;
use crate::common::{SECRET, User, set_cookies};

async fn me(user: LoggedIn<User>) -> String {
    user.0.0
}

async fn fresh(user: FreshLogin<User>) -> String {
    user.0.0
}

/// Logs in `?user=` into the app's own answer, or answers with `?status=` and logs in all
/// the same.
async fn sign_in(req: HttpRequest) -> Result<HttpResponse, SessionError> {
    let query =
        web::Query::<std::collections::HashMap<String, String>>::from_query(req.query_string())
            .unwrap();
    let status = query
        .get("status")
        .map_or(200, |status| status.parse().unwrap());
    let answer = HttpResponse::build(StatusCode::from_u16(status).unwrap())
        .content_type("application/json")
        .body(r#"{"ok":true}"#);
    let user = User(query["user"].clone());
    login_user_into(&req, &user, query.contains_key("remember"), answer).await
}

fn app(
    session: Session,
    answer: Unauthorized,
) -> App<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = ServiceResponse,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .app_data(session)
        .app_data(Login::new(|id: String| async move { Some(User(id)) }).unauthorized(answer))
        .route("/me", web::get().to(me))
        .route("/fresh", web::get().to(fresh))
        .route("/login", web::post().to(sign_in))
}

/// The status, `Content-Type`, `Location` and body of `GET uri` with `headers`.
async fn answer<S>(app: &S, uri: &str, headers: &[(&str, &str)]) -> (u16, String, String, String)
where
    S: Service<actix_http::Request, Response = ServiceResponse, Error = actix_web::Error>,
{
    let req = headers
        .iter()
        .fold(test::TestRequest::get().uri(uri), |req, header| {
            req.insert_header(*header)
        });
    let res = test::call_service(app, req.to_request()).await;
    let header = |name| {
        res.headers()
            .get(name)
            .map_or(String::new(), |value| value.to_str().unwrap().to_owned())
    };
    let (content_type, location) = (header("content-type"), header("location"));
    let status = res.status().as_u16();
    let body = String::from_utf8(test::read_body(res).await.to_vec()).unwrap();
    (status, content_type, location, body)
}

fn json_401(error: &str) -> (u16, String, String, String) {
    (
        401,
        "application/json".into(),
        String::new(),
        format!(r#"{{"error":"{error}"}}"#),
    )
}

fn redirect(location: &str) -> (u16, String, String, String) {
    (302, String::new(), location.into(), String::new())
}

#[actix_web::test]
async fn each_mode_answers_as_documented() {
    let browser = [(
        "accept",
        "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    )];
    let api = [("accept", "application/json")];
    let xhr = [("x-requested-with", "XMLHttpRequest")];
    let redirect_app = test::init_service(app(Session::new(SECRET), Unauthorized::Redirect)).await;
    let json_app = test::init_service(app(Session::new(SECRET), Unauthorized::Json)).await;
    let negotiating = test::init_service(app(Session::new(SECRET), Unauthorized::Negotiate)).await;
    for headers in [&browser[..], &api, &xhr, &[]] {
        assert_eq!(
            answer(&redirect_app, "/me", headers).await,
            redirect("/login?next=/me"),
            "{headers:?}"
        );
        assert_eq!(
            answer(&json_app, "/me", headers).await,
            json_401("login_required"),
            "{headers:?}"
        );
        assert_eq!(
            answer(&json_app, "/fresh", headers).await,
            json_401("login_required"),
            "no login at all: {headers:?}"
        );
    }
    assert_eq!(
        answer(&negotiating, "/me", &browser).await,
        redirect("/login?next=/me")
    );
    assert_eq!(
        answer(&negotiating, "/me", &[("accept", "*/*")]).await,
        redirect("/login?next=/me"),
        "fetch()'s default Accept"
    );
    for headers in [&api[..], &xhr] {
        assert_eq!(
            answer(&negotiating, "/me", headers).await,
            json_401("login_required")
        );
        assert_eq!(
            answer(&negotiating, "/fresh", headers).await,
            json_401("login_required")
        );
    }
}

#[actix_web::test]
async fn a_stale_login_is_fresh_login_required_in_json() {
    let session = Session::new(SECRET);
    let app = test::init_service(app(session.clone(), Unauthorized::Negotiate)).await;
    // A login restored from the remember cookie, as the session shows it.
    let stale = session
        .test_cookie(&serde_json::json!({"_user_id": "ann", "_fresh": false}))
        .unwrap();
    let cookie = format!("session={}", stale.value());
    let api = [("accept", "application/json"), ("cookie", cookie.as_str())];
    assert_eq!(answer(&app, "/me", &api).await.3, "ann");
    assert_eq!(
        answer(&app, "/fresh", &api).await,
        json_401("fresh_login_required")
    );
    let browser = [("cookie", cookie.as_str())];
    assert_eq!(
        answer(&app, "/fresh", &browser).await,
        redirect("/login?next=/fresh")
    );
}

#[actix_web::test]
async fn login_user_into_adds_the_cookies_to_the_apps_answer() {
    let app = test::init_service(app(Session::new(SECRET), Unauthorized::Json)).await;
    let mut jar = Jar::default();
    let res = test::call_service(&app, jar.post("/login?user=ann&remember").to_request()).await;
    assert_eq!(res.status(), 200);
    jar.update(&res);
    let cookies = set_cookies(&res);
    assert!(cookies[0].starts_with("session=") && cookies[1].starts_with("_remember="));
    assert_eq!(test::read_body(res).await, r#"{"ok":true}"#);
    let res = test::call_service(&app, jar.get("/fresh").to_request()).await;
    assert_eq!(test::read_body(res).await, "ann");

    // Without `remember`, the earlier remember cookie is cleared.
    let res = test::call_service(&app, jar.post("/login?user=ann").to_request()).await;
    let cookies = set_cookies(&res);
    assert!(
        cookies.iter().any(|c| c.starts_with("_remember=;")),
        "{cookies:?}"
    );

    // A failed answer gets no cookie, as a failed response never does.
    let res = test::call_service(
        &app,
        Jar::default()
            .post("/login?user=ann&remember&status=500")
            .to_request(),
    )
    .await;
    assert_eq!(res.status(), 500);
    assert_eq!(set_cookies(&res), Vec::<String>::new());
}

async fn revoke(config: Session, user: web::Path<String>) -> Result<HttpResponse, SessionError> {
    config.revoke_user(&user).await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn cookie_name(config: Session) -> String {
    config
        .test_cookie(&serde_json::json!({"a": 1}))
        .unwrap()
        .name()
        .to_owned()
}

#[actix_web::test]
async fn a_handler_takes_the_config_however_it_was_registered() {
    let with_store = || {
        Session::new(SECRET)
            .max_age(Duration::from_secs(3600))
            .revocation(MemoryStore::new())
    };
    // As `web::Data`: a revoke_user from the handler logs the user's sessions out.
    let session = with_store();
    let app = test::init_service(
        App::new()
            .app_data(web::Data::new(session.clone()))
            .app_data(Login::new(|id: String| async move { Some(User(id)) }))
            .route("/me", web::get().to(me))
            .route("/revoke/{user}", web::post().to(revoke)),
    )
    .await;
    let mut jar = Jar::default();
    jar.insert(
        session
            .test_cookie(&serde_json::json!({"_user_id": "ann"}))
            .unwrap(),
    );
    let res = test::call_service(&app, jar.get("/me").to_request()).await;
    assert_eq!(res.status(), 200);
    let res = test::call_service(
        &app,
        test::TestRequest::post().uri("/revoke/ann").to_request(),
    )
    .await;
    assert_eq!(res.status(), 204);
    let res = test::call_service(&app, jar.get("/me").to_request()).await;
    assert_eq!(res.status(), 302, "revoked");

    // As plain app data, the innermost wins, and both forms at once are refused.
    let app = test::init_service(
        App::new()
            .app_data(Session::new(SECRET).cookie_name("outer"))
            .route("/name", web::get().to(cookie_name))
            .service(
                web::scope("/inner")
                    .app_data(Session::new(SECRET).cookie_name("inner"))
                    .route("/name", web::get().to(cookie_name)),
            )
            .service(
                web::scope("/both")
                    .app_data(web::Data::new(Session::new(SECRET).cookie_name("data")))
                    .route("/name", web::get().to(cookie_name)),
            ),
    )
    .await;
    for (uri, status, body) in [
        ("/name", 200, "outer"),
        ("/inner/name", 200, "inner"),
        ("/both/name", 500, ""),
    ] {
        let res = test::call_service(&app, test::TestRequest::get().uri(uri).to_request()).await;
        assert_eq!(res.status(), status, "{uri}");
        let text = String::from_utf8(test::read_body(res).await.to_vec()).unwrap();
        assert!(text.starts_with(body), "{uri}: {text}");
    }

    // No config: the clear 500.
    let app = test::init_service(App::new().route("/name", web::get().to(cookie_name))).await;
    let res = test::call_service(&app, test::TestRequest::get().uri("/name").to_request()).await;
    assert_eq!(res.status(), 500);
    let text = String::from_utf8(test::read_body(res).await.to_vec()).unwrap();
    assert!(text.contains(".app_data(Session::new(secret))"), "{text}");
}

/// The log lines written while it is the subscriber.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[actix_web::test]
async fn a_login_that_revoke_user_cannot_reach_is_a_warning() {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::WARN)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let session = Session::new(SECRET)
        .max_age(Duration::from_secs(3600))
        .revocation(MemoryStore::new())
        .user_claim("username");
    let app = test::init_service(app(session, Unauthorized::Json)).await;
    for user in ["ann", "bob"] {
        let req = test::TestRequest::post().uri(&format!("/login?user={user}"));
        assert_eq!(
            test::call_service(&app, req.to_request()).await.status(),
            200
        );
    }
    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    let warnings: Vec<_> = logs.lines().filter(|line| line.contains("WARN")).collect();
    assert_eq!(warnings.len(), 1, "{logs}");
    assert!(warnings[0].contains("cannot reach it"), "{logs}");
}
