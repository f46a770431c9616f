//! The `_remember` cookie: Microdot's remember-me token, `{"user_id", "days", "exp"}` signed
//! like a session, with the session cookie's attributes.

use std::time::Duration;

use actix_web::HttpRequest;
use actix_web::http::header::HeaderValue;
use serde::Serialize;
use serde_json::Value;

use super::USER_ID;
use crate::claims::Lifetimes;
use crate::config::Session;
use crate::cookie::CookieSettings;
use crate::error::SessionError;
use crate::payload::Entries;
use crate::request::{MAX_SET_COOKIE, RequestSession, find_cookie, fresh_id};
use crate::revocation::{TokenId, Verdict, user_key};
use crate::token::Rejection;

/// The cookie's name, as in Microdot.
pub(crate) const COOKIE: &str = "_remember";

const SECONDS_PER_DAY: u64 = 24 * 60 * 60;

/// Whether [`login_user`](crate::login_user) also sets the remember-me cookie, which logs
/// the user back in after the session cookie is gone (the browser was closed, say).
/// A login restored from it is not fresh.
///
/// `true` and `false` convert into it, so a checkbox maps straight onto it. Microdot's
/// `remember=True` is [`Remember::Yes`], and `remember=7` is `Remember::Days(7)`.
///
/// ```
/// use jwt_session::Remember;
///
/// assert_eq!(Remember::from(true), Remember::Yes);
/// assert_eq!(Remember::Yes.days(), Some(30));
/// assert_eq!(Remember::Days(7).days(), Some(7));
/// assert_eq!(Remember::from(false).days(), None);
/// assert_eq!(Remember::Days(0).days(), None);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Remember {
    /// No remember cookie: the login lasts as long as the session. A remember cookie left by
    /// an earlier login is cleared.
    No,
    /// A remember cookie valid for 30 days, Microdot's default.
    Yes,
    /// A remember cookie valid for this many days (`0` means [`Remember::No`]).
    Days(u32),
}

impl Remember {
    /// How many days the cookie lasts, or `None` when there is no cookie.
    ///
    /// ```
    /// assert_eq!(jwt_session::Remember::Days(14).days(), Some(14));
    /// ```
    #[must_use]
    pub fn days(self) -> Option<u32> {
        match self {
            Self::No | Self::Days(0) => None,
            Self::Yes => Some(30),
            Self::Days(days) => Some(days),
        }
    }
}

impl From<bool> for Remember {
    fn from(remember: bool) -> Self {
        if remember { Self::Yes } else { Self::No }
    }
}

/// Microdot's three claims, plus `iat` (which PyJWT checks and accepts), and under a
/// revocation store the token id (`jti`, `jti_ms`) that logouts and `revoke_user` deny.
#[derive(Serialize)]
struct Claims<'a, I> {
    user_id: &'a I,
    days: u32,
    exp: u64,
    iat: u64,
    #[serde(flatten)]
    id: Option<TokenId>,
}

/// The `Set-Cookie` value of a remember cookie for `user_id`, valid `days` days.
pub(crate) fn issue(
    session: &Session,
    user_id: &impl Serialize,
    days: u32,
) -> Result<HeaderValue, SessionError> {
    let lifetime = u64::from(days) * SECONDS_PER_DAY;
    let now = session.config().now() as u64;
    let claims = Claims {
        user_id,
        days,
        exp: now.saturating_add(lifetime),
        iat: now,
        id: fresh_id(session),
    };
    if claims.id.is_some() {
        session
            .config()
            .revocation
            .note_remember(Duration::from_secs(lifetime));
    }
    let token = session.config().codec.encode(&claims)?;
    let cookie = settings(session).set_cookie_value(&token, Some(Duration::from_secs(lifetime)));
    if cookie.len() > MAX_SET_COOKIE {
        return Err(SessionError::TooLarge {
            size: cookie.len(),
            limit: MAX_SET_COOKIE,
        });
    }
    HeaderValue::try_from(cookie).map_err(SessionError::InvalidHeader)
}

/// The `Set-Cookie` value that makes the browser forget the remember cookie.
pub(crate) fn removal(session: &Session) -> HeaderValue {
    settings(session).removal()
}

/// The session cookie's settings under the remember cookie's name: the same path, domain
/// and flags, which Microdot's lacks.
fn settings(session: &Session) -> CookieSettings {
    let mut settings = session.config().cookie.clone();
    settings.name = String::from(COOKIE);
    settings.refresh();
    settings
}

/// Whether `req` carries a remember cookie at all.
pub(crate) fn present(req: &HttpRequest) -> bool {
    find_cookie(req.headers(), COOKIE).is_some()
}

/// A remember cookie that verified.
struct Verified {
    user_id: Value,
    /// Under a revocation store, its id (required there); `None` without a store.
    id: Option<TokenId>,
    /// Its `exp`, in Unix seconds.
    exp: f64,
}

/// The user id of `req`'s remember cookie, when it verifies with the session's keys and
/// pinned algorithm, its `exp` (required) has not passed, and it has Microdot's `days`.
/// Under a revocation store it also needs a `jti`, and the store must not deny it: its
/// id, or a `revoke_user` of its user since it was minted. Its user, for that check, is
/// its `user_id`, the `_user_id` of the session it restores: `revoke_user` reaches it when
/// the config names `_user_id` as its `user_claim`, as it reaches the sessions of logins.
pub(crate) async fn user_id(req: &HttpRequest, session: &Session) -> Option<Value> {
    let verified = verify(req, session)?;
    let Some(id) = &verified.id else {
        return Some(verified.user_id);
    };
    let revocation = &session.config().revocation;
    let user = match revocation.user_claim.as_deref() {
        Some(USER_ID) => user_key(&verified.user_id),
        _ => None,
    };
    match revocation.judge(id, user.as_deref()).await {
        Verdict::Valid => Some(verified.user_id),
        Verdict::Revoked(why) => {
            tracing::debug!(reason = "revoked", "ignoring the remember cookie: {why}");
            None
        }
        // The store failed and the config fails closed: no restore, the cookie is kept.
        Verdict::Unavailable => None,
    }
}

/// Under a revocation store, has the request's remember cookie, if it verifies, denied
/// when `state` writes its revocations: a logout (or a new login) ends it, so a copy of
/// it cannot log anyone back in.
pub(crate) fn retire(req: &HttpRequest, state: &RequestSession) {
    let session = state.session();
    if !session.config().revocation.is_enabled() {
        return;
    }
    if let Some(Verified {
        id: Some(id), exp, ..
    }) = verify(req, session)
    {
        // Denied for as long as it verifies; `as` saturates, so no `exp` can panic here.
        let left = Duration::from_secs((exp - session.config().now()).ceil() as u64);
        let ttl = left.saturating_add(session.config().lifetimes.leeway);
        state.retire(id.jti, ttl);
    }
}

/// Verifies `req`'s remember cookie, without asking the revocation store.
fn verify(req: &HttpRequest, session: &Session) -> Option<Verified> {
    let token = find_cookie(req.headers(), COOKIE)?;
    let config = session.config();
    // The session's own lifetimes do not apply: the token is not a session, and its `exp`
    // (required below) is its whole lifetime.
    let lifetimes = Lifetimes {
        leeway: config.lifetimes.leeway,
        ..Lifetimes::default()
    };
    let verified = config
        .codec
        .decode(token)
        .map_err(|rejection| rejection.to_string());
    let checked = verified.and_then(|(payload, _)| {
        let (entries, registered) =
            Entries::load(payload).map_err(|err| Rejection::Json("payload", err).to_string())?;
        let times = lifetimes
            .check(&registered, config.now())
            .map_err(|rejection| rejection.to_string())?;
        let Some(exp) = times.exp else {
            return Err(String::from("it has no `exp`"));
        };
        let mut claims = entries.into_map();
        // Microdot writes `days` into every remember token; a session token signed with the
        // same key lacks it, so it cannot pass for one.
        if !claims.get("days").is_some_and(Value::is_u64) {
            return Err(String::from("it has no whole number of `days`"));
        }
        // Under a store, a token without an id could never be revoked (one issued before
        // the store was configured, or by Microdot): refused, as session tokens are.
        let id = if config.revocation.is_enabled() {
            match TokenId::take(&mut claims) {
                Ok(Some(id)) => Some(id),
                Ok(None) => {
                    return Err(String::from("it has no `jti`, so it could not be revoked"));
                }
                Err(why) => return Err(why.to_owned()),
            }
        } else {
            None
        };
        match claims.remove("user_id") {
            Some(Value::Null) | None => Err(String::from("it has no `user_id`")),
            Some(user_id) => Ok(Verified { user_id, id, exp }),
        }
    });
    checked
        .inspect_err(|why| tracing::debug!("ignoring the remember cookie: {why}"))
        .ok()
}
