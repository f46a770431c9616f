//! Applies a request's session states to its axum response, and `IntoResponse` for
//! [`SessionError`].

use axum_core::response::{IntoResponse, Response};
use http::StatusCode;
use http::header::{self, CONTENT_TYPE, HeaderMap, HeaderValue};

use crate::engine::config::Config;
use crate::engine::headers::{sets_session_cookie, vary_adding};
use crate::engine::report::error_body;
use crate::engine::state::RequestSession;
use crate::error::SessionError;

/// A rejected extractor or `?` in a handler: a 500, the whole chain in the log, and in
/// debug builds a body naming the fix of a misconfiguration (such as a missing layer),
/// exactly as on actix.
impl IntoResponse for SessionError {
    fn into_response(self) -> Response {
        let status = StatusCode::INTERNAL_SERVER_ERROR;
        match error_body(&self) {
            Some(body) => {
                (status, [(CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
            }
            None => status.into_response(),
        }
    }
}

/// Applies `state`'s decision to `response`, whose revocations were settled: at most one
/// session's `Set-Cookie`s (one, or its chunks), replacing any the handler set itself, and
/// none on a 5xx.
pub(crate) fn finish<B>(state: &RequestSession, response: &mut http::Response<B>) {
    if let Err(err) = state.settle_now() {
        // A logout that is not recorded must not look done: no cookie change, and a 500.
        tracing::error!("{}", err.report());
        *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        return;
    }
    let failed = response.status().is_server_error();
    let Some(set_cookies) = state.take_set_cookies(failed) else {
        return;
    };
    let headers = response.headers_mut();
    remove_session_set_cookies(headers, state.session().config());
    for set_cookie in set_cookies {
        match HeaderValue::try_from(set_cookie) {
            Ok(value) => {
                headers.append(header::SET_COOKIE, value);
            }
            Err(_) => tracing::error!("a session Set-Cookie is not a valid header value"),
        }
    }
}

/// Adds `Cookie` to `Vary`, because the response depends on it.
pub(crate) fn add_vary_cookie(headers: &mut HeaderMap) {
    add_vary(headers, "Cookie");
}

/// Adds `token` to `Vary`, merged into the existing values.
pub(crate) fn add_vary(headers: &mut HeaderMap, token: &'static str) {
    if !headers.contains_key(header::VARY) {
        headers.insert(header::VARY, HeaderValue::from_static(token));
        return;
    }
    let values: Vec<&[u8]> = headers
        .get_all(header::VARY)
        .iter()
        .map(HeaderValue::as_bytes)
        .collect();
    if let Some(merged) = vary_adding(&values, token) {
        let merged = HeaderValue::from_bytes(&merged).unwrap_or(HeaderValue::from_static(token));
        headers.insert(header::VARY, merged);
    }
}

/// Removes the handler's own `Set-Cookie` headers for the session cookie and its chunks.
fn remove_session_set_cookies(headers: &mut HeaderMap, config: &Config) {
    if let header::Entry::Occupied(entry) = headers.entry(header::SET_COOKIE) {
        let (_, values) = entry.remove_entry_mult();
        let kept: Vec<HeaderValue> = values
            .filter(|value| !sets_session_cookie(value.as_bytes(), config))
            .collect();
        for value in kept {
            headers.append(header::SET_COOKIE, value);
        }
    }
}
