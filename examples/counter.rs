//! A visit counter: the session is read, changed and saved on every request.
//!
//! ```text
//! cargo run --example counter      # then open http://127.0.0.1:8080 and reload
//! ```

use actix_web::{App, HttpResponse, HttpServer, get, web};
use jwt_session::{Session, SessionDict, SessionError, with_session};

#[path = "common/mod.rs"]
mod common;

#[get("/")]
#[with_session]
async fn index(mut session: SessionDict) -> Result<HttpResponse, SessionError> {
    let visits = session.get::<u64>("visits")?.unwrap_or(0) + 1;
    session.insert("visits", visits)?;
    session.save()?;
    let times = if visits == 1 { "time" } else { "times" };
    Ok(common::page(
        "jwt-session counter example",
        &format!("<h1>You have visited this page {visits} {times}.</h1>"),
    ))
}

/// Registers the example's routes; shared by `main` and the test suite.
pub fn routes(config: &mut web::ServiceConfig) {
    config.service(index);
}

#[allow(dead_code)] // the test suite includes this file for its routes only
#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let secret = std::env::var("SESSION_SECRET")
        .unwrap_or_else(|_| "counter demo secret: set SESSION_SECRET in real apps".into());
    let session = Session::new(secret).secure(false); // a plain-http demo
    let port = common::port(8080);
    println!("serving the counter example on http://127.0.0.1:{port}");
    HttpServer::new(move || App::new().app_data(session.clone()).configure(routes))
        .bind(("127.0.0.1", port))?
        .run()
        .await
}
