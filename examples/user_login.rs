//! Microdot's `examples/login/login.py`, ported: user logins with a remember-me cookie,
//! a page that needs a fresh login, flash messages, CSRF protection and session lifetimes
//! (30 minutes idle, 12 hours at most).
//!
//! ```text
//! cargo run --example user_login
//! ```
//! then open <http://127.0.0.1:8080> and log in as `susan` / `hello` or `david` / `bye`.
//! Set `SESSION_SECRET` (32 bytes or more) to keep logins across restarts (and to share
//! them with a Microdot app using the same secret), `PORT` to serve on another port, and
//! `INSECURE_COOKIE=1` if your browser refuses `Secure` cookies over plain http.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use jwt_session::{
    Session, SessionDict, SessionError,
    csrf::Csrf,
    login::{FreshLogin, LoggedIn, Login, login_user, logout_user},
    with_session,
};

#[path = "common/mod.rs"]
mod common;
use common::users::{TITLE, User, check_credentials, fresh_body, index_body, login_page_body};
use common::{page, redirect};

/// The example's lifetimes over `base` (`common::users::lifetimes`): 30 idle minutes, 12
/// hours at most.
pub fn session(base: Session) -> Session {
    common::users::lifetimes(base)
}

/// The login settings (`common::users::microdot_login`): `/login` is the login page, the
/// demo users, and remember cookies as Microdot writes them accepted too.
pub fn login() -> Login<User> {
    common::users::microdot_login()
}

#[get("/login")]
#[with_session]
async fn login_page(mut session: SessionDict) -> Result<HttpResponse, SessionError> {
    let body = login_page_body(&session.take_flashes()?);
    Ok(page(TITLE, &body))
}

#[derive(serde::Deserialize)]
struct Credentials {
    username: String,
    password: String,
    remember_me: Option<String>,
}

#[post("/login")]
#[with_session]
async fn log_in(
    req: HttpRequest,
    form: web::Form<Credentials>,
    mut session: SessionDict,
) -> Result<HttpResponse, actix_web::Error> {
    let Credentials {
        username,
        password,
        remember_me,
    } = form.into_inner();
    // Password hashing takes tens of milliseconds: off the async worker.
    let user = web::block(move || check_credentials(&username, &password)).await?;
    match user {
        Some(user) => Ok(login_user(&req, &user, remember_me.is_some()).await?),
        None => {
            session.flash("error", "Wrong username or password.")?;
            Ok(redirect("/login"))
        }
    }
}

#[get("/")]
async fn index(user: LoggedIn<User>) -> HttpResponse {
    page(TITLE, &index_body(&user))
}

#[get("/fresh")]
async fn fresh(user: FreshLogin<User>) -> HttpResponse {
    page(TITLE, &fresh_body(&user))
}

#[post("/logout")]
async fn log_out(req: HttpRequest, _user: LoggedIn<User>) -> Result<HttpResponse, SessionError> {
    logout_user(&req, redirect("/")).await
}

/// Registers the example's routes, its login settings and CSRF protection; shared by
/// `main` and the test suites.
pub fn routes(config: &mut web::ServiceConfig) {
    config.app_data(login()).service(
        web::scope("")
            .wrap(Csrf::new())
            .service(login_page)
            .service(log_in)
            .service(index)
            .service(fresh)
            .service(log_out),
    );
}

#[allow(dead_code)] // the test suites include this file for its routes only
#[actix_web::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .init();
    let session = session(common::session_from_env_or_exit());
    common::serve("user_login", session, routes).await
}
