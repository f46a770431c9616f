//! The per-request session state shared by every handle of one request: loading the
//! cookie, and the one pending save or delete.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::{HttpMessage, HttpRequest, web};
use serde_json::{Map, Value};

use crate::claims::SessionClaims;
use crate::config::Session;
use crate::dict::SessionDict;
use crate::error::SessionError;

/// Browsers drop `Set-Cookie` values larger than this (RFC 6265 §6.1 minimum they must keep).
pub(crate) const MAX_SET_COOKIE: usize = 4096;

/// Clock skew tolerated on `exp`, `nbf` and `iat`; 0 as in Microdot.
const LEEWAY_SECONDS: f64 = 0.0;

/// What the response must do with the session cookie. The last `save()`/`delete()` wins.
pub(crate) enum Pending {
    Untouched,
    Save {
        token: String,
        set_cookie: HeaderValue,
    },
    Delete,
}

pub(crate) struct RequestSession {
    session: Session,
    pending: Mutex<Pending>,
}

/// Loads the session of `req`. Every load in one request shares one state, so a response
/// carries one session cookie however many handles exist.
pub(crate) fn load(req: &HttpRequest) -> Result<SessionDict, SessionError> {
    let existing = req.extensions().get::<Arc<RequestSession>>().cloned();
    if let Some(state) = existing {
        let data = state.current_data(req);
        return Ok(SessionDict::new(data, state));
    }
    let session = req
        .app_data::<Session>()
        .or_else(|| req.app_data::<web::Data<Session>>().map(|data| &***data))
        .ok_or(SessionError::MissingConfig)?
        .clone();
    let state = Arc::new(RequestSession {
        session,
        pending: Mutex::new(Pending::Untouched),
    });
    let data = state.decode_request_cookie(req.headers());
    req.extensions_mut().insert(Arc::clone(&state));
    Ok(SessionDict::new(data, state))
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
        let config = self.session.config();
        let exp = config
            .max_age
            .map(|max_age| unix_seconds().saturating_add(max_age.as_secs()));
        let token = config.codec.encode(&SessionClaims { data, exp })?;
        let cookie = config.cookie(&token).to_string();
        if cookie.len() > MAX_SET_COOKIE {
            return Err(SessionError::TooLarge {
                size: cookie.len(),
                limit: MAX_SET_COOKIE,
            });
        }
        let set_cookie = HeaderValue::try_from(cookie).map_err(SessionError::InvalidHeader)?;
        *self.pending() = Pending::Save { token, set_cookie };
        Ok(())
    }

    pub(crate) fn delete(&self) {
        *self.pending() = Pending::Delete;
    }

    /// The data a second load in this request sees: the last saved snapshot, nothing after a
    /// delete, or else the request's cookie.
    fn current_data(&self, req: &HttpRequest) -> Map<String, Value> {
        match &*self.pending() {
            Pending::Untouched => self.decode_request_cookie(req.headers()),
            Pending::Save { token, .. } => self.decode_or_empty(token),
            Pending::Delete => Map::new(),
        }
    }

    fn decode_request_cookie(&self, headers: &HeaderMap) -> Map<String, Value> {
        find_cookie(headers, &self.session.config().cookie_name)
            .map(|token| self.decode_or_empty(token))
            .unwrap_or_default()
    }

    /// A cookie that fails verification is an empty session, never an error.
    fn decode_or_empty(&self, token: &str) -> Map<String, Value> {
        let now = unix_seconds_f64();
        self.session
            .config()
            .codec
            .decode(token, now, LEEWAY_SECONDS)
            .unwrap_or_else(|rejection| {
                tracing::debug!("ignoring session cookie: {rejection}");
                Map::new()
            })
    }
}

/// The value of the first cookie called `name`. Parsed by hand so that one malformed
/// unrelated cookie cannot hide the session (actix's `HttpRequest::cookies` fails as a whole).
fn find_cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .filter_map(|value| value.to_str().ok())
        .flat_map(|line| line.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find_map(|(key, value)| (key.trim() == name).then_some(value.trim()))
}

fn unix_seconds_f64() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |since| since.as_secs_f64())
}

fn unix_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
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
        assert_eq!(find_cookie(&map, "session"), Some("tok"));
        assert_eq!(find_cookie(&map, "b"), Some("2"));
        assert_eq!(find_cookie(&map, "sess"), None);
        assert_eq!(find_cookie(&headers(&[]), "session"), None);
    }
}
