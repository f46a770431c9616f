//! Applies a request's session outcome to its response: `Vary: Cookie` and at most one
//! session `Set-Cookie`.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::{HttpResponse, ResponseError};

use crate::error::SessionError;
use crate::state::{Pending, RequestSession};

/// `?` in a handler: a bare 500 for the client, the whole chain in the log.
impl ResponseError for SessionError {
    fn status_code(&self) -> StatusCode {
        StatusCode::INTERNAL_SERVER_ERROR
    }

    fn error_response(&self) -> HttpResponse {
        tracing::error!("{}", self.report());
        HttpResponse::InternalServerError().finish()
    }
}

pub(crate) fn finish<B>(state: &RequestSession, mut response: HttpResponse<B>) -> HttpResponse<B> {
    add_vary_cookie(response.headers_mut());
    // Nothing to do when `#[with_session]` or `Session::apply_async` settled already.
    if let Err(err) = state.settle_now() {
        // A logout that is not recorded must not look done: the old cookie stays valid, so
        // the response says so and changes no cookie.
        tracing::error!("{}", err.report());
        *response.status_mut() = actix_web::http::StatusCode::INTERNAL_SERVER_ERROR;
        return response;
    }
    let pending = state.take_pending();
    if matches!(pending, Pending::Untouched) {
        return response;
    }
    // A failing request must not change the session, as in Microdot.
    if response.status().is_server_error() || response.error().is_some() {
        tracing::debug!(status = %response.status(), "dropping the session cookie of a failed response");
        return response;
    }
    let cookie = &state.session().config().cookie;
    let set_cookie = match pending {
        Pending::Save { set_cookie, .. } => set_cookie,
        Pending::Reissue { data, refresh } => match state.reissue(data.map(), refresh) {
            Ok(set_cookie) => set_cookie,
            Err(err) => {
                tracing::warn!("cannot re-issue the session cookie: {err}");
                return response;
            }
        },
        Pending::Delete => cookie.removal(),
        Pending::Untouched => return response,
    };
    let headers = response.headers_mut();
    remove_session_set_cookies(headers, &cookie.name);
    headers.append(header::SET_COOKIE, set_cookie);
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
    let already_covered = headers
        .get_all(header::VARY)
        .flat_map(|value| value.as_bytes().split(|&byte| byte == b','))
        .map(<[u8]>::trim_ascii)
        .any(|existing| existing == b"*" || existing.eq_ignore_ascii_case(token.as_bytes()));
    if already_covered {
        return;
    }
    let merged = match headers
        .get_all(header::VARY)
        .map(HeaderValue::as_bytes)
        .collect::<Vec<_>>()
        .as_slice()
    {
        [] => HeaderValue::from_static(token),
        values => HeaderValue::from_bytes(
            &[values.join(&b", "[..]).as_slice(), b", ", token.as_bytes()].concat(),
        )
        .unwrap_or(HeaderValue::from_static(token)),
    };
    headers.insert(header::VARY, merged);
}

/// Removes `Set-Cookie` headers for the session cookie that the handler set itself, so the
/// response carries exactly one.
fn remove_session_set_cookies(headers: &mut HeaderMap, name: &str) {
    if !headers.contains_key(header::SET_COOKIE) {
        return;
    }
    let kept: Vec<HeaderValue> = headers
        .get_all(header::SET_COOKIE)
        .filter(|value| {
            !value
                .as_bytes()
                .strip_prefix(name.as_bytes())
                .is_some_and(|rest| rest.starts_with(b"="))
        })
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
