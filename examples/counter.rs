//! A visit counter: the session is read, changed and saved on every request.
//!
//! ```text
//! cargo run --example counter      # then open http://127.0.0.1:8080 and reload
//! ```

use actix_web::{HttpResponse, get, web};
use jwt_session::{SessionDict, SessionError, with_session};

#[path = "common/mod.rs"]
pub mod common;

#[get("/")]
#[with_session]
async fn index(mut session: SessionDict) -> Result<HttpResponse, SessionError> {
    let visits = common::count_visit(&mut session)?;
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
    common::serve("counter", common::demo_session(), routes).await
}
