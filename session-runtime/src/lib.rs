//! The runtime of [`jwt-session`](https://docs.rs/jwt-session): JWT session cookies for
//! actix-web (feature `actix`, on by default) and axum (feature `axum`).
//!
//! Depend on `jwt-session`, which re-exports everything here together with the
//! `#[with_session]` attribute; this crate is its implementation.
//!
//! # Layers
//!
//! Each layer uses only the layers below it (`scripts/layers.sh` checks this in CI):
//!
//! ```text
//! adapters             actix/ (feature `actix`): request view, extractors and __private,
//!                      response, ResponseError, Session::load/apply, login glue, CSRF
//!                      middleware (feature `csrf`), test helpers (feature `test-util`);
//!                      axum/ (feature `axum`): SessionLayer, extractors, IntoResponse.
//!                      Neither uses the other.
//!        │  each implements the engine's RequestView (actix also the seam's LayerRequest)
//! layers on sessions   login/ (feature `login`), csrf/ (feature `csrf`): their rules,
//!        │  written once, through one seam: ext.rs (and the public API)
//! session engine       engine/: config, cookie, request view, load, state, decision
//!                      (cookie decision, revocation ledger), dict, typed, flash, headers,
//!                      report (errors as 500s)
//!        │
//! token core           error; token/ (keys, claims and token id, payload, JWS codec,
//!                      JWE (feature `encrypted`), clock, pipeline); revocation/ (trait,
//!                      policy, memory, redis (feature `redis`)).
//! ```
//!
//! No file outside an adapter folder names a framework type.

#![deny(missing_docs)]
// docs.rs builds with `--cfg docsrs` (see Cargo.toml): feature-gated items show their feature.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
// Without a framework adapter the engine has no caller: such a build only checks that the
// token core and the public types stand alone.
#![cfg_attr(not(any(feature = "actix", feature = "axum")), allow(dead_code))]
#![doc(test(attr(deny(warnings))))]

// The token core.
mod error;
pub mod revocation;
mod token;

// The framework-neutral session engine, then one folder per framework adapter.
#[cfg(feature = "actix")]
mod actix;
#[cfg(feature = "axum")]
pub mod axum;
mod engine;

// The seam, and the layers built on sessions.
#[cfg(feature = "csrf")]
#[cfg_attr(docsrs, doc(cfg(feature = "csrf")))]
pub mod csrf;
// Most of the seam serves the login layer.
#[cfg_attr(not(feature = "login"), allow(dead_code))]
mod ext;
#[cfg(feature = "login")]
#[cfg_attr(docsrs, doc(cfg(feature = "login")))]
pub mod login;

#[cfg(feature = "actix")]
#[doc(hidden)]
pub use actix::private as __private;

#[cfg(feature = "__internals")]
#[doc(hidden)]
#[path = "internals.rs"]
pub mod __internals;

pub use cookie::SameSite;
pub use engine::config::Session;
pub use engine::dict::SessionDict;
pub use engine::flash::Flash;
pub use engine::typed::{SessionData, TypedSession};
pub use error::SessionError;

/// The keys a [`Session`] signs and verifies with, from `jsonwebtoken`, and the usage of
/// each ([`Session::key_usage`]).
///
/// ```
/// use jwt_session::Session;
/// use jwt_session::keys::Algorithm;
///
/// let session = Session::new([7u8; 64]).algorithm(Algorithm::HS512);
/// # drop(session);
/// ```
pub mod keys {
    pub use crate::token::keys::{KeyRole, KeyUsage};
    pub use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
}

/// Helpers for an app's own tests, behind the `test-util` feature (enable it in
/// `[dev-dependencies]`, as tokio's): a clock to move by hand, the session a response set,
/// and a cookie jar that follows `Set-Cookie` across `actix_web::test` calls. The README's
/// "Testing your app" walks through them together.
///
/// Expiry tests meet the leeway: a config tolerates 30 s of clock skew by default
/// ([`Session::leeway`]) on `exp`, `nbf`, `iat` and the timeouts, so a session that lives
/// 60 s is still valid after moving the clock 60 s. Move it by
/// [`Session::past_leeway`]`(lifetime)` to step past both.
///
/// ```
/// use jwt_session::Session;
/// use jwt_session::test::{ResponseSession, TestClock};
///
/// let session = Session::new([7u8; 32]).clock(TestClock::new());
/// let response = actix_web::HttpResponse::Ok().finish();
/// assert_eq!(session.session_set_by(&response), ResponseSession::Unchanged);
/// ```
#[cfg(feature = "test-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub mod test {
    #[cfg(feature = "actix")]
    pub use crate::actix::testing::{CookieJar, ResponseSession};
    pub use crate::revocation::conformance::revocation_store_conformance;
    pub use crate::token::clock::TestClock;
}
