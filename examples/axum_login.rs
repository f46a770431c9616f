//! `user_login` on axum: Microdot's `examples/login/login.py` with user logins, a
//! remember-me cookie, a page that needs a fresh login, flash messages, CSRF protection and
//! session lifetimes (30 minutes idle, 12 hours at most), served exactly as the actix
//! example serves it, from the same config, users and cookies.
//!
//! ```text
//! cargo run --example axum_login --features axum
//! ```
//! then open <http://127.0.0.1:8080> and log in as `susan` / `hello` or `david` / `bye`.
//! `SESSION_SECRET` (32 bytes or more) keeps logins across restarts and shares them with
//! `user_login` and a Microdot app using the same secret; `PORT` serves on another port;
//! `INSECURE_COOKIE=1` if your browser refuses `Secure` cookies over plain http.

use axum::extract::{Extension, Form};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Router, serve};
use jwt_session::axum::{LoginSession, SessionLayer};
use jwt_session::csrf::Csrf;
use jwt_session::login::{FreshLogin, LoggedIn};
use jwt_session::{Session, SessionDict, SessionError};

#[path = "common/mod.rs"]
mod common;
use common::page_html;
use common::users::{TITLE, User, check_credentials, fresh_body, index_body, login_page_body};

fn page(body: &str) -> Response {
    Html(page_html(TITLE, body)).into_response()
}

async fn login_page(mut session: SessionDict) -> Result<Response, SessionError> {
    Ok(page(&login_page_body(&session.take_flashes()?)))
}

#[derive(serde::Deserialize)]
struct Credentials {
    username: String,
    password: String,
    remember_me: Option<String>,
}

async fn log_in(
    logins: LoginSession<User>,
    mut session: SessionDict,
    Form(form): Form<Credentials>,
) -> Result<Response, SessionError> {
    let Credentials {
        username,
        password,
        remember_me,
    } = form;
    // Password hashing takes tens of milliseconds: off the async worker.
    let user = tokio::task::spawn_blocking(move || check_credentials(&username, &password))
        .await
        .unwrap_or(None);
    match user {
        Some(user) => logins.login_user(&user, remember_me.is_some()).await,
        None => {
            session.flash("error", "Wrong username or password.")?;
            Ok(see_other("/login"))
        }
    }
}

/// `303 See Other` to `location`: the answer to a form POST.
fn see_other(location: &'static str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response()
}

async fn index(user: LoggedIn<User>) -> Response {
    page(&index_body(&user))
}

async fn fresh(user: FreshLogin<User>) -> Response {
    page(&fresh_body(&user))
}

async fn log_out(logins: LoginSession<User>, _user: LoggedIn<User>) -> Response {
    logins.logout_user(Redirect::to("/")).await.into_response()
}

/// The example's app over `session` (its lifetimes added here, as `user_login` adds them):
/// the routes, the login settings, CSRF protection and the session layer.
pub fn app(session: Session) -> Router {
    Router::new()
        .route("/login", get(login_page).post(log_in))
        .route("/", get(index))
        .route("/fresh", get(fresh))
        .route("/logout", post(log_out))
        .layer(Csrf::new())
        .layer(Extension(common::users::microdot_login()))
        .layer(SessionLayer::new(common::users::lifetimes(session)))
}

#[allow(dead_code)] // the tests include this file for its app only
#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .init();
    let session = common::session_from_env_or_exit();
    let port = common::port(8080);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    tracing::info!("axum_login: serving on http://127.0.0.1:{port}");
    serve(listener, app(session)).await
}
