//! Applies a request's session outcome to its response: `Vary: Cookie` and at most one
//! session `Set-Cookie`.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderMap, HeaderValue};

use crate::engine::config::Config;
use crate::engine::headers::{sets_session_cookie, vary_adding};
use crate::engine::state::RequestSession;

/// Applies `state`'s decision to `response`: `Vary: Cookie`, the revocations it owes
/// (refusing to look done when they cannot be recorded now), and at most one session
/// `Set-Cookie`, replacing any the handler set itself.
pub(crate) fn finish<B>(state: &RequestSession, mut response: HttpResponse<B>) -> HttpResponse<B> {
    add_vary_cookie(response.headers_mut());
    // Nothing to do when `#[with_session]` or `Session::apply_async` settled already.
    if let Err(err) = state.settle_now() {
        // A logout that is not recorded must not look done: the old cookie stays valid, so
        // the response says so and changes no cookie.
        tracing::error!("{}", err.report());
        *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        return response;
    }
    let failed = response.status().is_server_error() || response.error().is_some();
    let Some(set_cookies) = state.take_set_cookies(failed) else {
        return response;
    };
    let config = state.session().config();
    let headers = response.headers_mut();
    remove_session_set_cookies(headers, config);
    for set_cookie in set_cookies {
        match HeaderValue::try_from(set_cookie) {
            Ok(value) => headers.append(header::SET_COOKIE, value),
            Err(_) => tracing::error!("a session Set-Cookie is not a valid header value"),
        }
    }
    response
}

/// Adds `Cookie` to `Vary`, because the response depends on it.
fn add_vary_cookie(headers: &mut HeaderMap) {
    add_vary(headers, "Cookie");
}

/// Adds `token` to `Vary`, merged into the existing value. Works on bytes, so a `Vary`
/// value that is not valid text is kept as it was.
pub(crate) fn add_vary(headers: &mut HeaderMap, token: &'static str) {
    // Most responses have no `Vary` yet: one lookup instead of two passes.
    if !headers.contains_key(header::VARY) {
        headers.insert(header::VARY, HeaderValue::from_static(token));
        return;
    }
    let values: Vec<&[u8]> = headers
        .get_all(header::VARY)
        .map(HeaderValue::as_bytes)
        .collect();
    let Some(merged) = vary_adding(&values, token) else {
        return;
    };
    let merged = HeaderValue::from_bytes(&merged).unwrap_or(HeaderValue::from_static(token));
    headers.insert(header::VARY, merged);
}

/// Removes `Set-Cookie` headers for the session cookie (and its chunks) that the handler
/// set itself, so the response carries only the session's own.
fn remove_session_set_cookies(headers: &mut HeaderMap, config: &Config) {
    if !headers.contains_key(header::SET_COOKIE) {
        return;
    }
    let kept: Vec<HeaderValue> = headers
        .get_all(header::SET_COOKIE)
        .filter(|value| !sets_session_cookie(value.as_bytes(), config))
        .cloned()
        .collect();
    headers.remove(header::SET_COOKIE);
    for value in kept {
        headers.append(header::SET_COOKIE, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vary_after(existing: &[&'static str]) -> Vec<String> {
        let mut headers = HeaderMap::new();
        for value in existing {
            headers.append(header::VARY, HeaderValue::from_static(value));
        }
        add_vary_cookie(&mut headers);
        headers
            .get_all(header::VARY)
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn vary_is_added_or_merged_once() {
        assert_eq!(vary_after(&[]), ["Cookie"]);
        assert_eq!(
            vary_after(&["Accept-Encoding"]),
            ["Accept-Encoding, Cookie"]
        );
        assert_eq!(
            vary_after(&["Accept", "Origin"]),
            ["Accept, Origin, Cookie"]
        );
        assert_eq!(vary_after(&["accept, COOKIE"]), ["accept, COOKIE"]);
        assert_eq!(vary_after(&["*"]), ["*"]);
        let mut headers = HeaderMap::new();
        headers.insert(
            header::VARY,
            HeaderValue::from_bytes(b"Accept-\xe9").unwrap(),
        );
        add_vary_cookie(&mut headers);
        assert_eq!(
            headers.get(header::VARY).unwrap().as_bytes(),
            b"Accept-\xe9, Cookie"
        );
    }
}
