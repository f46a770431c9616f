//! The framework-neutral session engine: the config, the per-request session state, the
//! handles a handler holds, and the cookie decision each response applies. No framework
//! type appears here: the adapters (`actix/`, `axum/`) feed it the request's `Cookie`
//! header values and apply what it decides.

pub(crate) mod chunks;
pub(crate) mod config;
pub(crate) mod cookie;
pub(crate) mod decision;
pub(crate) mod dict;
pub(crate) mod flash;
pub(crate) mod handle;
pub(crate) mod headers;
pub(crate) mod load;
pub(crate) mod report;
pub(crate) mod request;
mod session_keys;
pub(crate) mod state;
pub(crate) mod typed;
