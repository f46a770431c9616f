//! Applies a request's session outcome to its response: `Vary: Cookie` and at most one
//! session `Set-Cookie`.

use std::sync::atomic::{AtomicU16, Ordering};

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::{HttpResponse, ResponseError};

use crate::engine::state::RequestSession;
use crate::error::SessionError;
use tracing::subscriber::NoSubscriber;

/// `?` in a handler: a 500 for the client, the whole chain in the log. A misconfiguration
/// also goes to stderr when no `tracing` subscriber would show the log (once per kind), and
/// in debug builds its body names the problem and the fix; other bodies stay bare.
impl ResponseError for SessionError {
    fn status_code(&self) -> StatusCode {
        StatusCode::INTERNAL_SERVER_ERROR
    }

    fn error_response(&self) -> HttpResponse {
        let report = self.report();
        tracing::error!("{report}");
        let Some(kind) = Misconfiguration::of(self) else {
            return HttpResponse::InternalServerError().finish();
        };
        if should_print(&PRINTED, kind, subscriber_installed()) {
            eprintln!("jwt-session: error: {report}");
        }
        match debug_body(self, cfg!(debug_assertions)) {
            Some(body) => HttpResponse::InternalServerError()
                .content_type("text/plain; charset=utf-8")
                .body(body),
            None => HttpResponse::InternalServerError().finish(),
        }
    }
}

/// The errors that mean the app is set up wrong, not that a request went wrong: each one's
/// message names the fix. One bit each, for [`PRINTED`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u16)]
enum Misconfiguration {
    MissingConfig = 1,
    AmbiguousConfig = 1 << 1,
    MissingAppData = 1 << 2,
    RevocationNeedsLifetime = 1 << 3,
    NoRevocationStore = 1 << 4,
    NeedsAsyncLoad = 1 << 5,
    ReadOnly = 1 << 6,
    CookieRule = 1 << 7,
}

impl Misconfiguration {
    fn of(err: &SessionError) -> Option<Self> {
        Some(match err {
            SessionError::MissingConfig => Self::MissingConfig,
            SessionError::AmbiguousConfig { .. } => Self::AmbiguousConfig,
            SessionError::MissingAppData { .. } => Self::MissingAppData,
            SessionError::RevocationNeedsLifetime => Self::RevocationNeedsLifetime,
            SessionError::NoRevocationStore => Self::NoRevocationStore,
            SessionError::NeedsAsyncLoad => Self::NeedsAsyncLoad,
            SessionError::ReadOnly => Self::ReadOnly,
            SessionError::CookieRule { .. } => Self::CookieRule,
            _ => return None,
        })
    }
}

/// The kinds of misconfiguration already printed to stderr by this process.
static PRINTED: AtomicU16 = AtomicU16::new(0);

/// Whether `kind` goes to stderr: only when no subscriber would show the log line (the
/// quick start of many apps installs none, and a 500 with no trace is a dead end), and only
/// the first time, so a broken app does not flood its terminal.
fn should_print(printed: &AtomicU16, kind: Misconfiguration, subscribed: bool) -> bool {
    let bit = kind as u16;
    !subscribed && printed.fetch_or(bit, Ordering::Relaxed) & bit == 0
}

/// Whether a `tracing` subscriber, global or scoped to this thread, receives events.
fn subscriber_installed() -> bool {
    tracing::dispatcher::get_default(|dispatch| !dispatch.is::<NoSubscriber>())
}

/// The body of a misconfiguration's 500: the message, which names the fix, in debug builds
/// only, since a release body must not tell an attacker how the app is built.
fn debug_body(err: &SessionError, debug: bool) -> Option<String> {
    debug.then(|| {
        format!(
            "500 Internal Server Error: {err}\n\n(jwt-session explains this in debug builds only.)\n"
        )
    })
}

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
    remove_session_set_cookies(headers, |name| {
        config.chunks.is_session_cookie(&config.cookie.name, name)
    });
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

/// Removes `Set-Cookie` headers for the session cookie (and its chunks) that the handler
/// set itself, so the response carries only the session's own.
fn remove_session_set_cookies(headers: &mut HeaderMap, is_session: impl Fn(&[u8]) -> bool) {
    if !headers.contains_key(header::SET_COOKIE) {
        return;
    }
    let kept: Vec<HeaderValue> = headers
        .get_all(header::SET_COOKIE)
        .filter(|value| {
            let bytes = value.as_bytes();
            let name = bytes.split(|&b| b == b'=').next().unwrap_or(bytes);
            !(bytes.contains(&b'=') && is_session(name))
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

    #[test]
    fn each_misconfiguration_is_printed_once_and_only_without_a_subscriber() {
        let printed = AtomicU16::new(0);
        let missing = Misconfiguration::MissingConfig;
        let login = Misconfiguration::MissingAppData;
        assert!(!should_print(&printed, missing, true), "the log shows it");
        assert!(should_print(&printed, missing, false));
        assert!(!should_print(&printed, missing, false), "once per kind");
        assert!(should_print(&printed, login, false), "another kind prints");
        assert!(!should_print(&printed, login, false));
        assert!(should_print(
            &printed,
            Misconfiguration::RevocationNeedsLifetime,
            false
        ));
        assert!(should_print(
            &printed,
            Misconfiguration::AmbiguousConfig,
            false
        ));
    }

    #[test]
    fn only_misconfigurations_count_and_only_debug_bodies_explain() {
        let err = SessionError::MissingConfig;
        assert_eq!(
            Misconfiguration::of(&err),
            Some(Misconfiguration::MissingConfig)
        );
        let body = debug_body(&err, true).unwrap();
        assert!(body.contains(".app_data(Session::new(secret))"), "{body}");
        assert_eq!(debug_body(&err, false), None, "release bodies stay bare");
        let not_config = SessionError::TooLarge {
            size: 5000,
            limit: 4096,
        };
        assert_eq!(Misconfiguration::of(&not_config), None);
        assert!(!subscriber_installed(), "these unit tests install none");
    }

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
