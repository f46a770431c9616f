//! A visit counter on axum: the session is read, changed and saved on every request.
//!
//! ```text
//! SESSION_SECRET=$(openssl rand -hex 32) cargo run --example axum_counter --features axum
//! # then open http://127.0.0.1:8080 and reload
//! ```

use axum::{Router, routing::get};
use jwt_session::axum::SessionLayer;
use jwt_session::{Session, SessionDict, SessionError};

async fn index(mut session: SessionDict) -> Result<String, SessionError> {
    let visits = session.get::<u64>("visits")?.unwrap_or(0) + 1;
    session.insert("visits", visits)?;
    session.save()?;
    Ok(format!("You have visited this page {visits} times."))
}

/// The example's router; shared by `main` and the test suite.
pub fn app(session: Session) -> Router {
    Router::new()
        .route("/", get(index))
        .layer(SessionLayer::new(session))
}

#[allow(dead_code)] // the test suite includes this file for its router only
#[tokio::main]
async fn main() -> std::io::Result<()> {
    let Ok(secret) = std::env::var("SESSION_SECRET") else {
        eprintln!("set SESSION_SECRET to a random secret of 32 bytes or more");
        std::process::exit(2);
    };
    let session = match Session::try_new(secret) {
        // Plain http on localhost: a real deployment keeps the default `Secure` cookie.
        Ok(session) => session.secure(false),
        Err(err) => {
            eprintln!("SESSION_SECRET: {err}");
            std::process::exit(2);
        }
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
    println!("serving on http://127.0.0.1:8080");
    axum::serve(listener, app(session)).await
}
