//! The `api_login` example's contract, over HTTP through its real routes: every status and
//! body of its doc table. `tests/example_api_login.rs` drives the example's own binary.

#[allow(dead_code)]
#[path = "../../examples/api_login.rs"]
mod api_login;

use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::{App, test};
use serde_json::{Value, json};

use crate::common::jar::Jar;
use crate::common::set_cookies;

type Answer = (StatusCode, Value, Vec<String>);

async fn app()
-> impl Service<actix_http::Request, Response = ServiceResponse, Error = actix_web::Error> {
    let session = api_login::session(crate::common::session()).unwrap();
    session.check().unwrap();
    test::init_service(App::new().app_data(session).configure(api_login::routes)).await
}

/// Sends `req` with the jar's cookies, stores what comes back; the status, the JSON body
/// (`null` when empty) and the `Set-Cookie` headers.
async fn call<S>(app: &S, jar: &mut Jar, req: test::TestRequest) -> Answer
where
    S: Service<actix_http::Request, Response = ServiceResponse, Error = actix_web::Error>,
{
    let req = match jar.header_for("/") {
        Some(cookies) => req.insert_header(("cookie", cookies)),
        None => req,
    };
    let res = test::call_service(app, req.to_request()).await;
    jar.update(&res);
    let (status, cookies) = (res.status(), set_cookies(&res));
    if status != StatusCode::NO_CONTENT && status != StatusCode::FORBIDDEN {
        assert_eq!(
            res.headers().get("content-type").unwrap(),
            "application/json",
            "{status}"
        );
        assert!(res.headers().get("location").is_none());
    }
    let body = test::read_body(res).await;
    let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
    (status, body, cookies)
}

fn login(user: &str, password: &str, remember: bool) -> test::TestRequest {
    test::TestRequest::post()
        .uri("/api/login")
        .set_json(json!({"username": user, "password": password, "remember": remember}))
}

fn get(uri: &str) -> test::TestRequest {
    test::TestRequest::get().uri(uri)
}

fn post(uri: &str) -> test::TestRequest {
    test::TestRequest::post().uri(uri)
}

fn names(cookies: &[String]) -> Vec<&str> {
    cookies
        .iter()
        .map(|cookie| cookie.split('=').next().unwrap())
        .collect()
}

fn cleared(cookies: &[String], name: &str) -> bool {
    cookies
        .iter()
        .any(|cookie| cookie.starts_with(&format!("{name}=;")) && cookie.contains("Max-Age=0"))
}

#[actix_web::test]
async fn api_login_answers_json_for_every_route() {
    let app = app().await;
    let mut jar = Jar::default();
    let unauthorized = (StatusCode::UNAUTHORIZED, json!({"error": "login_required"}));
    let (status, body, _) = call(&app, &mut jar, get("/api/me")).await;
    assert_eq!((status, body), unauthorized);
    let (status, body, _) = call(&app, &mut jar, get("/api/fresh")).await;
    assert_eq!((status, body), unauthorized, "no login at all");

    let (status, body, cookies) = call(&app, &mut jar, login("susan", "wrong", true)).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::UNAUTHORIZED,
            json!({"error": "invalid_credentials"})
        )
    );
    assert!(cookies.is_empty(), "no session change: {cookies:?}");
    let (status, _, cookies) = call(&app, &mut jar, login("nobody", "hello", false)).await;
    assert_eq!((status, cookies.len()), (StatusCode::UNAUTHORIZED, 0));

    let (status, body, cookies) = call(&app, &mut jar, login("susan", "hello", false)).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"user": "susan"})));
    assert_eq!(names(&cookies), ["session"]);
    let (status, body, _) = call(&app, &mut jar, get("/api/me")).await;
    assert_eq!(
        (status, body),
        (StatusCode::OK, json!({"user": "susan", "fresh": true}))
    );
    let (status, body, _) = call(&app, &mut jar, get("/api/fresh")).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"user": "susan"})));

    let (status, body, cookies) = call(&app, &mut jar, post("/api/logout")).await;
    assert_eq!((status, body), (StatusCode::NO_CONTENT, Value::Null));
    assert!(cleared(&cookies, "_remember"), "{cookies:?}");
    let (status, body, _) = call(&app, &mut jar, get("/api/me")).await;
    assert_eq!((status, body), unauthorized);
}

#[actix_web::test]
async fn api_login_restores_from_remember_but_not_fresh() {
    let app = app().await;
    let mut jar = Jar::default();
    let (status, body, cookies) = call(&app, &mut jar, login("david", "bye", true)).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"user": "david"})));
    assert_eq!(names(&cookies), ["session", "_remember"]);

    // The browser closed: the session cookie is gone, the remember cookie is kept.
    jar.remove("session");
    let (status, body, _) = call(&app, &mut jar, get("/api/me")).await;
    assert_eq!(
        (status, body),
        (StatusCode::OK, json!({"user": "david", "fresh": false}))
    );
    let (status, body, _) = call(&app, &mut jar, get("/api/fresh")).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::UNAUTHORIZED,
            json!({"error": "fresh_login_required"})
        )
    );

    let (status, _, cookies) = call(&app, &mut jar, post("/api/logout")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(cleared(&cookies, "_remember"), "{cookies:?}");
    let (status, _, _) = call(&app, &mut jar, get("/api/me")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[actix_web::test]
async fn api_logout_everywhere_ends_every_session_and_remember_cookie() {
    let app = app().await;
    let (mut laptop, mut phone) = (Jar::default(), Jar::default());
    call(&app, &mut laptop, login("susan", "hello", true)).await;
    call(&app, &mut phone, login("susan", "hello", true)).await;
    let phone_remember = phone.cookie("_remember").unwrap().clone();
    let (status, body, _) = call(&app, &mut laptop, post("/api/logout-everywhere")).await;
    assert_eq!((status, body), (StatusCode::NO_CONTENT, Value::Null));
    let (status, _, _) = call(&app, &mut phone, get("/api/me")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the phone's session");
    let mut remembered = Jar::default();
    remembered.insert(phone_remember);
    let (status, _, _) = call(&app, &mut remembered, get("/api/me")).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the phone's remember cookie"
    );
    let (status, _, _) = call(&app, &mut laptop, login("susan", "hello", false)).await;
    assert_eq!(status, StatusCode::OK, "logging in again works");
}

#[actix_web::test]
async fn api_login_refuses_cross_site_posts_without_a_session_change() {
    let app = app().await;
    let mut jar = Jar::default();
    call(&app, &mut jar, login("susan", "hello", false)).await;
    let before = jar.header_for("/").unwrap();
    let cross_site = [
        vec![
            ("sec-fetch-site", "cross-site"),
            ("origin", "https://evil.example"),
        ],
        vec![("origin", "https://evil.example")],
    ];
    for headers in cross_site {
        for req in [
            login("david", "bye", true),
            post("/api/logout"),
            post("/api/logout-everywhere"),
        ] {
            let req = headers
                .iter()
                .fold(req, |req, header| req.insert_header(*header));
            let (status, _, cookies) = call(&app, &mut jar, req).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{headers:?}");
            assert!(cookies.is_empty(), "{headers:?}: {cookies:?}");
        }
    }
    assert_eq!(jar.header_for("/").unwrap(), before);
    let (status, body, _) = call(&app, &mut jar, get("/api/me")).await;
    assert_eq!(
        (status, body),
        (StatusCode::OK, json!({"user": "susan", "fresh": true})),
        "still logged in as before"
    );
}
