//! Logout that really logs out: a login page with "log out" (this session, dead on every
//! instance at once) and "log out everywhere" (every session of the user), behind CSRF
//! protection.
//!
//! ```text
//! cargo run --example revocation                       # deny-list in memory
//! REDIS_URL=redis://127.0.0.1:6379/ cargo run --example revocation
//! ```
//! then open <http://127.0.0.1:8080>. With `REDIS_URL`, run it twice on two ports with the
//! same `SESSION_SECRET` (`PORT=8081 SESSION_SECRET=.. cargo run --example revocation`):
//! a logout on one is seen by the other.

use std::time::Duration;

use actix_web::{HttpRequest, HttpResponse, Responder, get, post, web};
use jwt_session::{
    Session, SessionDict, SessionError,
    csrf::Csrf,
    revocation::{MemoryStore, RedisStore},
    with_session,
};

#[path = "common/mod.rs"]
mod common;
use common::{escape_html, page, redirect};

#[get("/")]
#[with_session]
async fn index(session: SessionDict) -> Result<HttpResponse, SessionError> {
    let body = match session.get::<String>("username")? {
        Some(name) => format!(
            r#"<h1>Hello {}!</h1>
<form method="POST" action="/logout"><button type="submit">Log out</button></form>
<form method="POST" action="/logout-everywhere"><button type="submit">Log out everywhere</button></form>"#,
            escape_html(&name)
        ),
        None => r#"<h1>You are not logged in.</h1>
<form method="POST" action="/login">
  <label>Username <input type="text" name="username" autofocus required></label>
  <button type="submit">Log in</button>
</form>"#
            .to_owned(),
    };
    Ok(page("jwt-session revocation example", &body))
}

#[derive(serde::Deserialize)]
struct Login {
    username: String,
}

#[post("/login")]
#[with_session]
async fn login(
    form: web::Form<Login>,
    mut session: SessionDict,
) -> Result<impl Responder, SessionError> {
    let username = form.username.trim();
    if !username.is_empty() {
        // A new session id at login: a cookie planted before it is revoked.
        session.renew();
        session.insert("username", username)?;
        session.save()?;
    }
    Ok(redirect("/"))
}

/// Logs this session out on every instance: the cookie is revoked before the answer leaves.
#[post("/logout")]
#[with_session]
async fn logout(session: SessionDict) -> impl Responder {
    session.delete();
    redirect("/")
}

/// Logs the user out of every session they have, on every instance.
#[post("/logout-everywhere")]
#[with_session]
async fn logout_everywhere(
    req: HttpRequest,
    session: SessionDict,
) -> Result<impl Responder, SessionError> {
    if let Some(name) = session.get::<String>("username")? {
        let config = req
            .app_data::<Session>()
            .ok_or(SessionError::MissingConfig)?;
        config.revoke_user(&name).await?;
    }
    session.delete();
    Ok(redirect("/"))
}

/// Registers the example's routes behind CSRF protection (a cross-site form must not log
/// the browser in as the attacker); shared by `main` and the test suite.
pub fn routes(config: &mut web::ServiceConfig) {
    config.service(
        web::scope("")
            .wrap(Csrf::new())
            .service(index)
            .service(login)
            .service(logout)
            .service(logout_everywhere),
    );
}

/// The example's config over `base`: one hour sessions, revocation in `REDIS_URL`'s Redis
/// when set, else in memory, and `username` naming the user.
pub fn with_revocation(base: Session) -> Result<Session, jwt_session::revocation::StoreError> {
    let base = base
        .max_age(Duration::from_secs(3600))
        .user_claim("username");
    Ok(match std::env::var("REDIS_URL") {
        Ok(url) => base.revocation(RedisStore::open(&url)?.prefix("revocation-example:")),
        Err(_) => base.revocation(MemoryStore::new()),
    })
}

#[allow(dead_code)] // the test suite includes this file for its routes only
#[actix_web::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .init();
    let session = with_revocation(common::demo_session()).map_err(std::io::Error::other)?;
    session.check().map_err(std::io::Error::other)?;
    common::serve("revocation", session, routes).await
}
