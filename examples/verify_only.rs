//! Two servers: one issues sessions with an Ed25519 private key, the other only reads them
//! with the public key, so a compromise of the reader cannot forge sessions.
//!
//! ```text
//! cargo run --example verify_only
//! # issuer: http://127.0.0.1:8080/login?user=ann   reader: http://127.0.0.1:8081/
//! ```
//!
//! The key pair in `examples/keys/` is for the demo only; make your own with
//! `openssl genpkey -algorithm ed25519 -out private.pem` and
//! `openssl pkey -in private.pem -pubout -out public.pem`.

use actix_web::{App, HttpResponse, HttpServer, get, web};
use jwt_session::{Session, SessionDict, SessionError, keys::Algorithm, with_session};

#[path = "common/mod.rs"]
mod common;

pub const PRIVATE_PEM: &str = include_str!("keys/ed25519-private.pem");
pub const PUBLIC_PEM: &str = include_str!("keys/ed25519-public.pem");

/// The issuer: holds the private key.
pub fn issuer_session() -> Result<Session, SessionError> {
    Ok(Session::from_pem(Algorithm::EdDSA, PRIVATE_PEM, PUBLIC_PEM)?.secure(false))
}

/// The reader: holds only the public key; it cannot save sessions.
pub fn reader_session() -> Result<Session, SessionError> {
    Ok(Session::verify_only_pem(Algorithm::EdDSA, PUBLIC_PEM)?.secure(false))
}

#[derive(serde::Deserialize)]
struct Login {
    user: String,
}

#[get("/login")]
#[with_session]
async fn login(
    query: web::Query<Login>,
    mut session: SessionDict,
) -> Result<HttpResponse, SessionError> {
    session.insert("user", &query.user)?;
    session.save()?;
    Ok(HttpResponse::Ok().body(format!("issued a session for {}", query.user)))
}

#[get("/")]
#[with_session]
async fn whoami(session: SessionDict) -> Result<HttpResponse, SessionError> {
    Ok(
        HttpResponse::Ok().body(match session.get::<String>("user")? {
            Some(user) => format!("signed in as {user}"),
            None => "not signed in".to_owned(),
        }),
    )
}

/// The issuer's routes.
pub fn issuer_routes(config: &mut web::ServiceConfig) {
    config.service(login).service(whoami);
}

/// The reader's routes.
pub fn reader_routes(config: &mut web::ServiceConfig) {
    config.service(whoami);
}

#[allow(dead_code)] // the test suite includes this file for its routes only
#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let (issuer, reader) = match (issuer_session(), reader_session()) {
        (Ok(issuer), Ok(reader)) => (issuer, reader),
        (Err(err), _) | (_, Err(err)) => panic!("the demo keys do not load: {err}"),
    };
    let issuing =
        HttpServer::new(move || App::new().app_data(issuer.clone()).configure(issuer_routes))
            .bind(("127.0.0.1", 8080))?
            .run();
    let reading =
        HttpServer::new(move || App::new().app_data(reader.clone()).configure(reader_routes))
            .bind(("127.0.0.1", 8081))?
            .run();
    println!("issuer on http://127.0.0.1:8080/login?user=ann, reader on http://127.0.0.1:8081/");
    let reading = actix_web::rt::spawn(reading);
    issuing.await?;
    reading.await.map_err(std::io::Error::other)?
}
