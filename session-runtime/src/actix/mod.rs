//! The actix-web adapter: extractors and the `#[with_session]` glue, `ResponseError`,
//! `Session::load`/`apply`, and the test helpers.

pub(crate) mod config_source;
#[cfg(feature = "csrf")]
pub mod csrf;
#[cfg(feature = "login")]
pub(crate) mod login;
mod manual;
mod missing_attribute;
pub mod private;
mod request;
pub(crate) mod response;
mod response_error;
#[cfg(feature = "test-util")]
pub(crate) mod testing;
