//! The runtime of [`jwt-session`](https://docs.rs/jwt-session): JWT session cookies for
//! actix-web.
//!
//! Depend on `jwt-session`, which re-exports everything here together with the
//! `#[with_session]` attribute; this crate is its implementation.

#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

// Floors, each importing only those above it: revocation (the store trait); error and
// clock; claims and keys; token (what JWS and JWE share) and payload; jwe; codec; cookie,
// the stores and config; request; response; dict, typed and flash; manual, testing, csrf
// and login; `__private`, `missing_attribute` and `__internals`.
mod claims;
mod clock;
mod codec;
mod config;
mod cookie;
mod csrf;
mod dict;
mod error;
mod flash;
mod jwe;
mod keys;
mod login;
mod manual;
mod memory_store;
mod missing_attribute;
mod payload;
#[cfg(feature = "redis")]
mod redis_store;
mod request;
mod response;
mod revocation;
mod testing;
mod token;
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
pub use revocation::{Lookup, RevocationStore, StoreError};
pub use stores::*;
pub use testing::ResponseSession;
pub use typed::{SessionData, TypedSession};

/// The revocation stores built into this build: the facade re-exports this module whole, so
/// `jwt_session::RedisStore` exists wherever this crate's `redis` feature is on (the facade's
/// `redis` feature, or a dev-dependency turning it on for the examples and tests).
#[doc(hidden)]
pub mod stores {
    pub use crate::memory_store::MemoryStore;
    #[cfg(feature = "redis")]
    pub use crate::redis_store::RedisStore;
}
