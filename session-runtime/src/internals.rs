//! Hooks into the hot path for the benchmarks, the allocation test and the fuzz targets.
//! Behind the hidden `__internals` cargo feature: not public API, names may change in any
//! release.

use crate::error::SessionError;
use crate::request;

/// Runs a cookie value through the whole verification path (for the fuzz target and the
/// benchmarks).
pub fn verify_cookie_value(session: &crate::Session, token: &str) -> bool {
    request::verify_now(session, token)
}

/// Encodes `data` as a session token, as `save()` does before building the cookie (for the
/// benchmarks).
pub fn encode_session(
    session: &crate::Session,
    data: &serde_json::Map<String, serde_json::Value>,
) -> Result<String, SessionError> {
    request::encode_now(session, data)
}

/// Finds the session cookie in request headers, as every load does (for the benchmarks).
pub fn find_session_cookie<'h>(
    session: &crate::Session,
    headers: &'h actix_web::http::header::HeaderMap,
) -> Option<&'h str> {
    request::find_cookie(headers, &session.config().cookie.name)
}
