//! The runtime of [`jwt-session`](https://docs.rs/jwt-session): JWT session cookies for
//! actix-web.
//!
//! Depend on `jwt-session`, which re-exports everything here together with the
//! `#[with_session]` attribute; this crate is its implementation.

#![deny(missing_docs)]
#![doc(test(attr(deny(warnings))))]

mod claims;
mod codec;
mod config;
mod dict;
mod error;
mod keys;
mod request;
mod response;
mod typed;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use actix_web::cookie::SameSite;
pub use config::Session;
pub use dict::SessionDict;
pub use error::SessionError;
pub use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
pub use typed::{SessionData, TypedSession};
