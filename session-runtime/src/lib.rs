//! The runtime of [`jwt-session`](https://docs.rs/jwt-session): JWT session cookies for
//! actix-web.
//!
//! Depend on `jwt-session`, which re-exports everything here together with the
//! `#[with_session]` attribute; this crate is its implementation.
//!
//! # Layers
//!
//! Each layer uses only the layers below it (`scripts/layers.sh` checks this in CI):
//!
//! ```text
//! layers on sessions   login/ (feature `login`), csrf (feature `csrf`)
//!        │  through one seam: ext.rs (and the public API)
//! actix adapter        config, cookie, lookup, state, load, response, dict, typed, flash,
//!                      manual, testing (feature `test-util`), __private
//!        │
//! token core           error; token/ (keys, claims and token id, payload, JWS codec,
//!                      JWE (feature `encrypted`), clock, pipeline); revocation/ (trait,
//!                      policy, memory, redis (feature `redis`)). No actix-web here.
//! ```

#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

// The token core: knows nothing of actix-web.
mod error;
pub mod revocation;
mod token;

// The actix adapter.
mod config;
mod cookie;
mod dict;
mod flash;
mod load;
mod lookup;
mod manual;
mod missing_attribute;
mod response;
mod state;
#[cfg(feature = "test-util")]
mod testing;
mod typed;

// The seam, and the layers built on sessions.
#[cfg(feature = "csrf")]
pub mod csrf;
// Most of the seam serves the login layer.
#[cfg_attr(not(feature = "login"), allow(dead_code))]
mod ext;
#[cfg(feature = "login")]
pub mod login;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

#[cfg(feature = "__internals")]
#[doc(hidden)]
#[path = "internals.rs"]
pub mod __internals;

pub use actix_web::cookie::SameSite;
pub use config::Session;
pub use dict::SessionDict;
pub use error::SessionError;
pub use flash::Flash;
pub use typed::{SessionData, TypedSession};

/// The keys a [`Session`] signs and verifies with, from `jsonwebtoken`.
///
/// ```
/// use jwt_session::Session;
/// use jwt_session::keys::Algorithm;
///
/// let session = Session::new([7u8; 64]).algorithm(Algorithm::HS512);
/// # drop(session);
/// ```
pub mod keys {
    pub use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
}

/// Helpers for an app's own tests, behind the `test-util` feature (enable it in
/// `[dev-dependencies]`, as tokio's): a clock to move by hand, the session a response set,
/// and a cookie jar that follows `Set-Cookie` across `actix_web::test` calls. The README's
/// "Testing your app" walks through them together.
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
pub mod test {
    pub use crate::revocation::conformance::revocation_store_conformance;
    pub use crate::testing::{CookieJar, ResponseSession};
    pub use crate::token::clock::TestClock;
}
