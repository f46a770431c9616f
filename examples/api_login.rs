//! Logins for a JSON API (a single-page app, say): the users of `user_login`, every answer
//! JSON, a `401` instead of a redirect to a login page, behind CSRF protection, with
//! session lifetimes (30 minutes idle, 12 hours at most) and revocation for "log out
//! everywhere".
//!
//! ```text
//! cargo run --example api_login                       # revocation deny-list in memory
//! REDIS_URL=redis://127.0.0.1:6379/ cargo run --example api_login
//! ```
//!
//! | Request | Answer |
//! |---|---|
//! | `POST /api/login` `{"username", "password", "remember": bool}` | 200 `{"user":"susan"}` with the session cookie (and `_remember` when asked), or 401 `{"error":"invalid_credentials"}` |
//! | `GET /api/me` | 200 `{"user":"susan","fresh":true}`, or 401 `{"error":"login_required"}` |
//! | `GET /api/fresh` | 200 `{"user":"susan"}` after a password login, 401 `{"error":"fresh_login_required"}` after a restore from `_remember` |
//! | `POST /api/logout` | 204, the session and the remember cookie cleared |
//! | `POST /api/logout-everywhere` | 204, every session and remember cookie of the user revoked |
//!
//! A cross-site `POST` is refused with 403. Try it with curl:
//!
//! ```text
//! curl -i -c jar -H 'content-type: application/json' \
//!      -d '{"username":"susan","password":"hello","remember":true}' http://127.0.0.1:8080/api/login
//! curl -i -b jar http://127.0.0.1:8080/api/me
//! ```
//!
//! `SESSION_SECRET` (32 bytes or more), `PORT` and `INSECURE_COOKIE=1` as in `user_login`
//! (curl sends `Secure` cookies over plain http only to `localhost`: set `INSECURE_COOKIE=1`
//! for `127.0.0.1`).

use std::time::Duration;

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use jwt_session::{
    Session, SessionError,
    csrf::Csrf,
    login::{
        FreshLogin, LoggedIn, Login, Unauthorized, login_user_into, logout_everywhere, logout_user,
    },
    revocation::{MemoryStore, RedisStore, StoreError},
};
use serde_json::json;

#[path = "common/mod.rs"]
mod common;
use common::users::{User, check_credentials};

/// The example's config over `base`: 30 minutes idle and 12 hours at most, and revocation
/// in `REDIS_URL`'s Redis when set, else in memory. The user is `_user_id`, the login's
/// own key (the default `user_claim`), so "log out everywhere" needs nothing more.
pub fn session(base: Session) -> Result<Session, StoreError> {
    let base = base
        .idle_timeout(Duration::from_secs(30 * 60))
        .absolute_timeout(Duration::from_secs(12 * 3600));
    Ok(match std::env::var("REDIS_URL") {
        Ok(url) => base.revocation(RedisStore::open(&url)?.prefix("api-login-example:")),
        Err(_) => base.revocation(MemoryStore::new()),
    })
}

/// The demo users, answered with a JSON `401` rather than a redirect.
pub fn login() -> Login<User> {
    common::users::login().unauthorized(Unauthorized::Json)
}

#[derive(serde::Deserialize)]
struct Credentials {
    username: String,
    password: String,
    #[serde(default)]
    remember: bool,
}

#[post("/api/login")]
async fn log_in(
    req: HttpRequest,
    credentials: web::Json<Credentials>,
) -> Result<HttpResponse, actix_web::Error> {
    let Credentials {
        username,
        password,
        remember,
    } = credentials.into_inner();
    // Password hashing takes tens of milliseconds: off the async worker.
    let user = web::block(move || check_credentials(&username, &password)).await?;
    let Some(user) = user else {
        return Ok(HttpResponse::Unauthorized().json(json!({"error": "invalid_credentials"})));
    };
    let answer = HttpResponse::Ok().json(json!({"user": user.username}));
    Ok(login_user_into(&req, &user, remember, answer).await?)
}

/// `fresh` is whether the login was made with the password in this session; a failed
/// `FreshLogin` is only `None` here.
#[get("/api/me")]
async fn me(user: LoggedIn<User>, fresh_login: Option<FreshLogin<User>>) -> HttpResponse {
    HttpResponse::Ok().json(json!({"user": user.username, "fresh": fresh_login.is_some()}))
}

#[get("/api/fresh")]
async fn fresh_only(user: FreshLogin<User>) -> HttpResponse {
    HttpResponse::Ok().json(json!({"user": user.username}))
}

#[post("/api/logout")]
async fn log_out(req: HttpRequest) -> Result<HttpResponse, SessionError> {
    logout_user(&req, HttpResponse::NoContent().finish()).await
}

#[post("/api/logout-everywhere")]
async fn log_out_everywhere(req: HttpRequest) -> Result<HttpResponse, SessionError> {
    logout_everywhere(&req, HttpResponse::NoContent().finish()).await
}

/// Registers the example's routes, its login settings and CSRF protection; shared by
/// `main` and the test suites.
pub fn routes(config: &mut web::ServiceConfig) {
    config.app_data(login()).service(
        web::scope("")
            .wrap(Csrf::new())
            .service(log_in)
            .service(me)
            .service(fresh_only)
            .service(log_out)
            .service(log_out_everywhere),
    );
}

#[allow(dead_code)] // the test suites include this file for its routes only
#[actix_web::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .init();
    let session = session(common::session_from_env_or_exit()).map_err(std::io::Error::other)?;
    session.check().map_err(std::io::Error::other)?;
    common::serve("api_login", session, routes).await
}
