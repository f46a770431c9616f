//! The runtime of [`jwt-session`](https://docs.rs/jwt-session): JWT session cookies for
//! actix-web.
//!
//! Depend on `jwt-session`, which re-exports everything here together with the
//! `#[with_session]` attribute; this crate is its implementation.

#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

// Floors, each importing only those above it: error, clock, claims and keys; codec; cookie
// and config; request; response; dict and typed; manual and testing; flash, csrf and login;
// `__private` and `__internals`.
mod claims;
mod clock;
mod codec;
mod config;
mod cookie;
mod csrf;
mod dict;
mod error;
mod flash;
mod keys;
mod login;
mod manual;
mod missing_attribute;
mod request;
mod response;
mod testing;
mod typed;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

#[cfg(feature = "__internals")]
#[doc(hidden)]
#[path = "internals.rs"]
pub mod __internals;

pub use actix_web::cookie::SameSite;
pub use clock::TestClock;
pub use config::Session;
pub use csrf::Csrf;
pub use dict::SessionDict;
pub use error::SessionError;
pub use flash::Flash;
pub use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
pub use login::{
    CurrentUser, FreshLogin, LoggedIn, Login, LoginRedirect, LoginUser, Remember, current_user,
    login_user, logout_user,
};
pub use testing::ResponseSession;
pub use typed::{SessionData, TypedSession};
