//! The per-request session state shared by every handle of one request: loading the
//! cookie, and the one pending cookie change.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::{HttpMessage, HttpRequest, web};
use serde_json::{Map, Value};

use crate::claims::{SessionClaims, Times};
use crate::codec::Rejection;
use crate::config::Session;
use crate::dict::SessionDict;
use crate::error::SessionError;
use crate::keys::VerifiedBy;

/// Browsers drop `Set-Cookie` values larger than this (RFC 6265 §6.1 minimum they must keep).
pub(crate) const MAX_SET_COOKIE: usize = 4096;

/// What the response must do with the session cookie. The last `save()`/`delete()` wins.
pub(crate) enum Pending {
    Untouched,
    /// Re-sign the loaded session: it was signed with a previous key, or its idle window
    /// is half gone. Any `save()`/`delete()` replaces this.
    Reissue(Map<String, Value>),
    Save {
        token: String,
        set_cookie: HeaderValue,
    },
    Delete,
}

pub(crate) struct RequestSession {
    session: Session,
    /// The managed claims of the loaded token, carried into saves.
    loaded_times: Times,
    pending: Mutex<Pending>,
}

/// A cookie's verified content: the session's entries and its managed claims.
struct Loaded {
    data: Map<String, Value>,
    times: Times,
    verified_by: VerifiedBy,
}

/// The state of the session already loaded for `req`, if any.
pub(crate) fn loaded(req: &HttpRequest) -> Option<Arc<RequestSession>> {
    req.extensions().get::<Arc<RequestSession>>().cloned()
}

/// Loads the session of `req`. Every load in one request shares one state, so a response
/// carries one session cookie however many handles exist.
pub(crate) fn load(req: &HttpRequest) -> Result<SessionDict, SessionError> {
    if let Some(state) = loaded(req) {
        let data = state.current_data(req);
        return Ok(SessionDict::new(data, state));
    }
    let session = req
        .app_data::<Session>()
        .or_else(|| req.app_data::<web::Data<Session>>().map(|data| &***data))
        .ok_or(SessionError::MissingConfig)?
        .clone();
    let now = unix_now();
    let cookie = find_cookie(req.headers(), &session.config().cookie_name);
    let (data, times, pending) = match cookie.map(|token| verify(&session, token, now)) {
        None => (Map::new(), Times::default(), Pending::Untouched),
        Some(Ok(loaded)) => {
            let pending = initial_pending(&session, &loaded, now);
            (loaded.data, loaded.times, pending)
        }
        Some(Err(rejection)) => {
            tracing::debug!("ignoring session cookie: {rejection}");
            let pending = if session.config().clear_invalid {
                Pending::Delete
            } else {
                Pending::Untouched
            };
            (Map::new(), Times::default(), pending)
        }
    };
    let state = Arc::new(RequestSession {
        session,
        loaded_times: times,
        pending: Mutex::new(pending),
    });
    req.extensions_mut().insert(Arc::clone(&state));
    Ok(SessionDict::new(data, state))
}

pub(crate) fn encode_now(
    session: &Session,
    data: &Map<String, Value>,
) -> Result<String, SessionError> {
    let config = session.config();
    let times = config
        .lifetimes
        .times_for_save(Times::default(), unix_now() as u64);
    config.codec.encode(&SessionClaims { data, times })
}

pub(crate) fn verify_now(session: &Session, token: &str) -> bool {
    verify(session, token, unix_now()).is_ok()
}

fn verify(session: &Session, token: &str, now: f64) -> Result<Loaded, Rejection> {
    let config = session.config();
    let (mut data, verified_by) = config.codec.decode(token)?;
    let times = config
        .lifetimes
        .take_times(&mut data, now)
        .map_err(Rejection::Claims)?;
    Ok(Loaded {
        data,
        times,
        verified_by,
    })
}

/// Re-signs a session verified by a previous key, or refreshes one past half its idle window.
fn initial_pending(session: &Session, loaded: &Loaded, now: f64) -> Pending {
    let config = session.config();
    let rotate = loaded.verified_by == VerifiedBy::Previous;
    if config.codec.keys().can_sign()
        && (rotate || config.lifetimes.wants_refresh(loaded.times, now))
    {
        tracing::debug!(rotate, "re-issuing the session cookie");
        Pending::Reissue(loaded.data.clone())
    } else {
        Pending::Untouched
    }
}

impl std::fmt::Debug for RequestSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestSession")
            .field("session", &self.session)
            .finish_non_exhaustive()
    }
}

impl RequestSession {
    pub(crate) fn session(&self) -> &Session {
        &self.session
    }

    pub(crate) fn pending(&self) -> MutexGuard<'_, Pending> {
        // A panic elsewhere cannot leave `Pending` half-written, so a poisoned lock is safe to use.
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Encodes `data` now (a snapshot, as in Microdot) and schedules it for the response.
    pub(crate) fn save(&self, data: &Map<String, Value>) -> Result<(), SessionError> {
        let (token, set_cookie) = self.encode(data)?;
        *self.pending() = Pending::Save { token, set_cookie };
        Ok(())
    }

    /// `#[with_session(autosave)]`: saves `data` unless `save()` or `delete()` already
    /// decided this response's cookie. Runs on drop, so a failure can only be logged.
    pub(crate) fn autosave(&self, data: &Map<String, Value>) {
        if matches!(*self.pending(), Pending::Save { .. } | Pending::Delete) {
            return;
        }
        if let Err(err) = self.save(data) {
            tracing::error!(
                "autosave of the modified session failed, the change is not sent: {err}"
            );
        }
    }

    pub(crate) fn delete(&self) {
        *self.pending() = Pending::Delete;
    }

    /// The token and `Set-Cookie` value for `data`, checked against the browser limit.
    pub(crate) fn encode(
        &self,
        data: &Map<String, Value>,
    ) -> Result<(String, HeaderValue), SessionError> {
        let config = self.session.config();
        let now = unix_now() as u64;
        let times = config.lifetimes.times_for_save(self.loaded_times, now);
        let token = config.codec.encode(&SessionClaims { data, times })?;
        let max_age = times
            .exp
            .filter(|_| config.lifetimes.is_configured())
            .map(|exp| Duration::from_secs(exp.saturating_sub(now)));
        let cookie = config.set_cookie_value(&token, max_age);
        if cookie.len() > MAX_SET_COOKIE {
            return Err(SessionError::TooLarge {
                size: cookie.len(),
                limit: MAX_SET_COOKIE,
            });
        }
        let set_cookie = HeaderValue::try_from(cookie).map_err(SessionError::InvalidHeader)?;
        Ok((token, set_cookie))
    }

    /// The data a second load in this request sees: the last saved snapshot, nothing after a
    /// delete, or else the request's cookie.
    fn current_data(&self, req: &HttpRequest) -> Map<String, Value> {
        let cookie = match &*self.pending() {
            Pending::Save { token, .. } => token.clone(),
            Pending::Delete => return Map::new(),
            Pending::Untouched | Pending::Reissue(_) => {
                match find_cookie(req.headers(), &self.session.config().cookie_name) {
                    Some(cookie) => cookie.to_owned(),
                    None => return Map::new(),
                }
            }
        };
        verify(&self.session, &cookie, unix_now())
            .map(|loaded| loaded.data)
            .unwrap_or_default()
    }
}

/// The value of the first cookie called `name`. Parsed by hand, pair by pair, so that one
/// malformed or non-UTF-8 unrelated cookie cannot hide the session (actix's
/// `HttpRequest::cookies` fails as a whole). RFC 6265 quotes around the value are removed.
pub(crate) fn find_cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    let name = name.as_bytes();
    headers
        .get_all(header::COOKIE)
        .flat_map(|line| cookie_pairs(line.as_bytes()))
        .find_map(|pair| {
            // Compare bytes first: only the matching pair is checked for UTF-8.
            let rest = pair
                .trim_ascii_start()
                .strip_prefix(name)?
                .trim_ascii_start()
                .strip_prefix(b"=")?;
            std::str::from_utf8(rest.trim_ascii()).ok().map(unquote)
        })
}

/// The `;`-separated pairs of one `Cookie` line, split with a SIMD search.
fn cookie_pairs(line: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut start = 0;
    memchr::memchr_iter(b';', line)
        .chain(std::iter::once(line.len()))
        .map(move |end| {
            let pair = &line[start..end];
            start = end + 1;
            pair
        })
}

fn unquote(value: &str) -> &str {
    value
        .strip_prefix('"')
        .and_then(|inner| inner.strip_suffix('"'))
        .unwrap_or(value)
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |since| since.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::HeaderName;

    fn headers(lines: &[&'static str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for line in lines {
            map.append(
                HeaderName::from_static("cookie"),
                HeaderValue::from_static(line),
            );
        }
        map
    }

    #[test]
    fn finds_the_cookie_among_others_and_malformed_ones() {
        let map = headers(&["a=1; broken; session = tok ;b=2", "session=second"]);
        let mut non_utf8 = HeaderMap::new();
        let line = HeaderValue::from_bytes(b"theme=caf\xe9; session=\"tok\"").unwrap();
        non_utf8.append(HeaderName::from_static("cookie"), line);
        assert_eq!(
            find_cookie(&non_utf8, "session"),
            Some("tok"),
            "a non-UTF-8 neighbour and quotes"
        );
        assert_eq!(find_cookie(&map, "session"), Some("tok"));
        assert_eq!(find_cookie(&map, "b"), Some("2"));
        assert_eq!(find_cookie(&map, "sess"), None);
        assert_eq!(find_cookie(&headers(&[]), "session"), None);
    }
}
