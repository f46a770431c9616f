//! Hooks into the hot path for the benchmarks, the allocation test and the fuzz targets.
//! Behind the hidden `__internals` cargo feature: not public API, names may change in any
//! release.

use serde_json::{Map, Value};

use crate::engine::{cookie, load};
use crate::error::SessionError;
use crate::token::claims::{SessionClaims, Times};

/// How many tokens this thread has verified so far, loads and helpers alike (for the test
/// that a request verifies each token once however many extractors load it).
pub fn verifications() -> u64 {
    crate::engine::config::VERIFICATIONS.with(std::cell::Cell::get)
}

/// Runs a cookie value through the whole verification path (for the fuzz target and the
/// benchmarks).
pub fn verify_cookie_value(session: &crate::Session, token: &str) -> bool {
    load::verify_now(session, token)
}

/// [`verify_cookie_value`] without the key usage count: the read path as it was before
/// `Session::key_usage`, the same-run baseline of the benchmarks.
pub fn verify_cookie_value_uncounted(session: &crate::Session, token: &str) -> bool {
    load::verify_uncounted(session, token)
}

/// Encodes `data` as a session token, as `save()` does before building the cookie (for the
/// benchmarks).
pub fn encode_session(
    session: &crate::Session,
    data: &Map<String, Value>,
) -> Result<String, SessionError> {
    let id = (session.config().revocation.is_enabled()).then(|| session.mint_id(data));
    let times = session.times_for_save(Times::default());
    let claims = SessionClaims {
        data,
        times,
        id: id.as_ref(),
    };
    session.config().rules().issue(&claims)
}

/// The session data a request carrying `token` loads, or `None` when it is rejected (for
/// the fuzz targets' round trips).
pub fn load_cookie_value(session: &crate::Session, token: &str) -> Option<Map<String, Value>> {
    load::verified_data(session, token)
}

/// The token `save()` sends for `data` in a request that carried no cookie, with its size
/// check (for the encode fuzz target).
pub fn save_session(
    session: &crate::Session,
    data: &Map<String, Value>,
) -> Result<String, SessionError> {
    session.encode_new(data)
}

/// Why `SessionDict::insert(key, value)` refuses the entry, or `None` when it stores it.
pub fn insert_refusal(key: &str, value: &Value) -> Option<&'static str> {
    crate::token::claims::insert_problem(key, value)
}

/// The `Set-Cookie` that a response to a request carrying `token` sends when the handler
/// neither saves nor deletes (a rotation re-sign or an idle refresh); `None` when the token
/// is rejected or needs no re-issue (for the fuzz targets).
pub fn reissued_cookie(
    session: &crate::Session,
    token: &str,
) -> Option<Result<String, SessionError>> {
    load::reissue_now(session, token)
        .map(|set_cookies| set_cookies.map(|all| all.into_iter().next().unwrap_or_default()))
}

/// Finds the session cookie in request headers, as every load does (for the benchmarks).
pub fn find_session_cookie<'h>(
    session: &crate::Session,
    cookie_lines: &[&'h [u8]],
) -> Option<&'h str> {
    cookie::find_cookie(cookie_lines.iter().copied(), &session.config().cookie.name)
}

/// Encrypts `data` for an [encrypted](crate::Session::encrypted) config with a fixed IV, for
/// the known-answer tests only: an IV used twice under one key breaks AES-GCM. Saves always
/// draw a fresh IV from the OS.
pub fn encrypt_with_iv(
    session: &crate::Session,
    data: &serde_json::Map<String, serde_json::Value>,
    iv: [u8; 12],
) -> Result<String, SessionError> {
    session.config().codec.encrypt_with_iv(data, iv)
}
