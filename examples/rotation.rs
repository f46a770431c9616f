//! Rotating the session secret while users stay logged in.
//!
//! ```text
//! SESSION_SECRET=<new> PREVIOUS_SECRETS=<old>[,<older>] cargo run --example rotation
//! ```
//!
//! A rotation, scripted:
//!
//! 1. Generate the new secret: `openssl rand -base64 48`.
//! 2. Deploy with `SESSION_SECRET=<new>` and `PREVIOUS_SECRETS=<old>`. Sessions signed with
//!    the old secret are still accepted, and each is re-signed with the new one on its
//!    next response, so active users move over without noticing.
//! 3. After your longest session lifetime (here `max_age`, 7 days) has passed, deploy again
//!    without `PREVIOUS_SECRETS`. Any token still signed with the old secret is now refused.
//!
//! If the old secret leaked, skip step 2: deploy the new secret alone and everyone logs in
//! again.
//!
//! On a fleet, first deploy `SESSION_SECRET=<old> NEXT_SECRETS=<new>` everywhere, so that no
//! instance refuses the sessions the others start signing at step 2; `docs/key-rotation.md`
//! walks the three steps, with `Session::key_usage` telling when the old secret is unused.

use std::time::Duration;

use actix_web::{HttpResponse, get, web};
use jwt_session::{Session, SessionDict, SessionError, with_session};

#[path = "common/mod.rs"]
mod common;

/// The session config from `SESSION_SECRET` and the comma-separated `PREVIOUS_SECRETS`.
pub fn session_from(current: impl AsRef<[u8]>, previous: &str) -> Result<Session, SessionError> {
    Session::try_new(current)?
        .max_age(Duration::from_secs(7 * 24 * 3600))
        .try_previous_secrets(secrets(previous))
}

/// `session` also accepting the comma-separated `NEXT_SECRETS`: the first step of a
/// fleet's rotation (`docs/key-rotation.md`), where they verify and never sign.
pub fn with_next_secrets(session: Session, next: &str) -> Result<Session, SessionError> {
    session.try_next_secrets(secrets(next))
}

fn secrets(list: &str) -> Vec<&str> {
    list.split(',')
        .map(str::trim)
        .filter(|secret| !secret.is_empty())
        .collect()
}

#[get("/")]
#[with_session]
async fn index(mut session: SessionDict) -> Result<HttpResponse, SessionError> {
    let visits = common::count_visit(&mut session)?;
    Ok(common::page(
        "jwt-session rotation example",
        &format!(
            "<h1>Visit {visits}</h1><p>Restart with a new secret and the old one in PREVIOUS_SECRETS: the count goes on.</p>"
        ),
    ))
}

/// Registers the example's routes; shared by `main` and the test suite.
pub fn routes(config: &mut web::ServiceConfig) {
    config.service(index);
}

#[allow(dead_code)] // the test suite includes this file for its routes only
#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let current = common::secret_from_env();
    let previous = std::env::var("PREVIOUS_SECRETS").unwrap_or_default();
    let next = std::env::var("NEXT_SECRETS").unwrap_or_default();
    let session = session_from(&current, &previous);
    let session = session.and_then(|session| with_next_secrets(session, &next));
    let session = session.unwrap_or_else(|err| {
        eprintln!("error: {err}");
        std::process::exit(2);
    });
    common::serve("rotation", session.secure(false), routes).await
}
