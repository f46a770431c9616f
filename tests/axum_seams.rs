//! The seams an independent review found on the axum adapter and the login layer, each
//! a test that failed before its fix: CSRF patterns on a nested router, a remember cookie
//! held to one cookie's size, no login cookie on a failed response, and freshness decided
//! after a restore from the remember cookie.

use axum::Extension;
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use axum::routing::{get, post};
use jwt_session::Session;
use jwt_session::axum::SessionLayer;
use jwt_session::csrf::Csrf;
use jwt_session::login::{CurrentUser, Login, LoginUser};
use tower::ServiceExt;

const SECRET: &str = "test secret: at least thirty-two bytes long";

async fn status(app: &Router, req: Request<Body>) -> StatusCode {
    app.clone().oneshot(req).await.unwrap().status()
}

/// `protect(..)` and `protect_all(false)` name full paths (the docs say so), also for a
/// `Csrf` layer on a nested axum router, whose request URI lost the nest's prefix.
#[actix_web::test]
async fn csrf_patterns_name_full_paths_on_a_nested_router() {
    let account = Router::new()
        .route("/unsubscribe", get(|| async { "unsubscribed" }))
        .route("/delete", post(|| async { "deleted" }))
        .layer(
            Csrf::new()
                .protect_all(false)
                .protect("/account/unsubscribe")
                .protect("/account/delete"),
        );
    let app = Router::new().nest("/account", account);
    let mut passed = Vec::new();
    for (method, path) in [("GET", "/account/unsubscribe"), ("POST", "/account/delete")] {
        let attack = Request::builder()
            .method(method)
            .uri(path)
            .header("sec-fetch-site", "cross-site")
            .body(Body::empty())
            .unwrap();
        let got = status(&app, attack).await;
        if got != StatusCode::FORBIDDEN {
            passed.push(format!("{method} {path}: {got}"));
        }
    }
    assert!(passed.is_empty(), "cross-site requests passed: {passed:?}");
}

#[derive(Clone)]
struct User(String);
impl LoginUser for User {
    type Id = String;
    fn id(&self) -> String {
        self.0.clone()
    }
}

/// A remember cookie is one cookie (never chunked): it is refused past one cookie's size,
/// whatever the session's chunked limit (5 × 4096).
#[actix_web::test]
async fn a_remember_cookie_longer_than_one_cookie_is_refused() {
    let session = Session::new(SECRET.as_bytes()).max_chunks(5);
    let app = Router::new()
        .route(
            "/me",
            get(|CurrentUser(user): CurrentUser<User>| async move {
                user.map_or(0, |u| u.0.len()).to_string()
            }),
        )
        .layer(Extension(Login::new_send(|id: String| async move {
            Some(User(id))
        })))
        .layer(SessionLayer::new(session));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = serde_json::json!({
        "user_id": "u".repeat(15_000),
        "days": 1,
        "exp": now + 3600,
        "iat": now,
        "_purpose": "remember",
    });
    let token = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap();
    assert!(token.len() > 4096 * 4, "{}", token.len());
    let req = Request::get("/me")
        .header(header::COOKIE, format!("_remember={token}"))
        .body(Body::empty())
        .unwrap();
    let res = app.oneshot(req).await.unwrap();
    let set_cookies: Vec<_> = res
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.len())
        .collect();
    let body = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .unwrap();
    assert_eq!(
        body, "0",
        "a single cookie longer than 4096 bytes should be refused before decoding \
         (restored a login; session Set-Cookie sizes {set_cookies:?})"
    );
}

/// As on actix, a failed response gets no login cookie: not the session's (the layer drops
/// it) and not the remember cookie, which would log the user in on the next request.
#[actix_web::test]
async fn login_user_into_a_5xx_sets_no_cookie() {
    use jwt_session::axum::LoginSession;
    use jwt_session::login::Remember;
    async fn api_login(logins: LoginSession<User>) -> axum::response::Response {
        let failed = (
            StatusCode::INTERNAL_SERVER_ERROR,
            "could not record the login",
        );
        logins
            .login_user_into(&User("ann".into()), Remember::Yes, failed)
            .await
            .unwrap()
    }
    let app = Router::new()
        .route("/api/login", post(api_login))
        .layer(Extension(Login::new_send(|id: String| async move {
            Some(User(id))
        })))
        .layer(SessionLayer::new(Session::new(SECRET.as_bytes())));
    let res = app
        .oneshot(Request::post("/api/login").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(res.status(), 500);
    let cookies: Vec<_> = res
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().split('=').next().unwrap().to_owned())
        .collect();
    assert!(cookies.is_empty(), "a failed login sets {cookies:?}");
}

/// A session with a leftover `_fresh: true` and no `_user_id` (an app that logged out by
/// removing `_user_id`, say) does not make a login restored from the remember cookie fresh.
#[actix_web::test]
async fn a_login_restored_from_the_remember_cookie_is_never_fresh() {
    use jwt_session::axum::LoginSession;
    use jwt_session::login::{FreshLogin, Remember};
    async fn log_in(logins: LoginSession<User>) -> axum::response::Response {
        logins
            .login_user(&User("ann".into()), Remember::Yes)
            .await
            .unwrap()
    }
    let session = Session::new(SECRET.as_bytes());
    let app = Router::new()
        .route("/login", post(log_in))
        .route(
            "/fresh",
            get(|FreshLogin(user): FreshLogin<User>| async move { user.0 }),
        )
        .layer(Extension(Login::new_send(|id: String| async move {
            Some(User(id))
        })))
        .layer(SessionLayer::new(session.clone()));
    let res = app
        .clone()
        .oneshot(Request::post("/login").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let remember = res
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .find(|c| c.starts_with("_remember="))
        .unwrap();
    let leftover = session
        .test_cookie(&serde_json::json!({ "_fresh": true }))
        .unwrap();
    let req = Request::get("/fresh")
        .header(
            header::COOKIE,
            format!("session={}; {remember}", leftover.value()),
        )
        .body(Body::empty())
        .unwrap();
    let res = app.oneshot(req).await.unwrap();
    assert_eq!(
        res.status(),
        StatusCode::FOUND,
        "a login restored from the remember cookie is never fresh"
    );
}
