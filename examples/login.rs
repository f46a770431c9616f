//! Microdot's login example, ported: a form login, a "Hello <name>!" page and a logout button,
//! with CSRF protection and session lifetimes (30 minutes idle, 12 hours at most), which
//! Microdot's example leaves out.
//!
//! ```text
//! cargo run --example login
//! ```
//! then open <http://127.0.0.1:8080>. Set `SESSION_SECRET` (32 bytes or more) to keep
//! sessions across restarts, `PORT` to serve on another port, and `INSECURE_COOKIE=1` if
//! your browser refuses `Secure` cookies over plain http.

use std::time::Duration;

use actix_web::{HttpResponse, Responder, get, post, web};
use jwt_session::{Session, SessionDict, SessionError, csrf::Csrf, with_session};

#[path = "common/mod.rs"]
pub mod common;
use common::{escape_html, page, redirect};

#[get("/")]
#[with_session]
async fn index(session: SessionDict) -> Result<HttpResponse, SessionError> {
    let body = match session.get::<String>("username")? {
        Some(name) => format!(
            r#"<h1>Hello {}!</h1>
<form method="POST" action="/logout"><button type="submit">Logout</button></form>"#,
            escape_html(&name)
        ),
        None => r#"<h1>You are not logged in.</h1>
<form method="POST" action="/">
  <label>Username <input type="text" name="username" autofocus required></label>
  <button type="submit">Login</button>
</form>"#
            .to_owned(),
    };
    Ok(page("jwt-session login example", &body))
}

#[derive(serde::Deserialize)]
struct Login {
    username: String,
}

#[post("/")]
#[with_session]
async fn login(
    form: web::Form<Login>,
    mut session: SessionDict,
) -> Result<impl Responder, SessionError> {
    let username = form.username.trim();
    if !username.is_empty() {
        session.insert("username", username)?;
        session.save()?;
    }
    Ok(redirect("/"))
}

#[post("/logout")]
#[with_session]
async fn logout(session: SessionDict) -> impl Responder {
    session.delete();
    redirect("/")
}

/// Registers the example's routes behind CSRF protection (a cross-site form must not log
/// the browser in); shared by `main` and the test suite.
pub fn routes(config: &mut web::ServiceConfig) {
    config.service(
        web::scope("")
            .wrap(Csrf::new())
            .service(index)
            .service(login)
            .service(logout),
    );
}

/// The example's lifetimes over `base`: a session ends after 30 idle minutes and 12 hours
/// at most, so a copied cookie does not work forever.
pub fn session(base: Session) -> Session {
    base.idle_timeout(Duration::from_secs(30 * 60))
        .absolute_timeout(Duration::from_secs(12 * 3600))
}

#[allow(dead_code)] // the test suite includes this file for its routes only
#[actix_web::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .init();
    let session = session(common::session_from_env_or_exit());
    common::serve("login", session, routes).await
}
