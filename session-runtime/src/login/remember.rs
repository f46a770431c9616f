//! The `_remember` cookie: Microdot's remember-me token, `{"user_id", "days", "exp"}` signed
//! like a session, with the session cookie's attributes.

use std::borrow::Cow;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use super::USER_ID;
use super::config::{Login, LoginUser};
use crate::ext::{self, LayerRequest, RequestView, SideToken, Verdict};
use crate::{Session, SessionDict, SessionError};

/// The cookie's name, as in Microdot, unless the session cookie carries a name prefix.
const COOKIE: &str = "_remember";

/// The remember cookie's name under `session`: Microdot's `_remember`, or with the session
/// cookie's `__Host-` or `__Secure-` prefix (`__Host-remember`), so that the defence the
/// prefix gives the session cookie against a sibling subdomain planting one (cookie
/// tossing) covers the remember cookie too.
fn cookie_name(session: &Session) -> &'static str {
    let session_cookie = ext::session_cookie_name(session).as_bytes();
    let has_prefix = |prefix: &str| {
        session_cookie.len() >= prefix.len()
            && session_cookie[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
    };
    if has_prefix("__Host-") {
        "__Host-remember"
    } else if has_prefix("__Secure-") {
        "__Secure-remember"
    } else {
        COOKIE
    }
}

/// The `_purpose` of the remember cookie's side token: `remember`, bound to the session
/// cookie's name when it is not the default one, so that two configs sharing a key (users
/// and admins, say) cannot restore each other's logins. Microdot's tokens have none, and
/// are accepted without it only when the app's [`Login`] says so ([`note_login`]).
fn purpose(session: &Session) -> Cow<'static, str> {
    match ext::session_cookie_name(session) {
        "session" => Cow::Borrowed("remember"),
        name => Cow::Owned(format!("remember:{name}")),
    }
}

/// Whether this request accepts purpose-less (Microdot) remember cookies: set from the
/// request's [`Login`] by the adapter, which knows the user type; absent means no.
#[derive(Clone, Copy)]
struct MicrodotRemember(bool);

/// Records `login`'s remember-cookie settings for `req`, before its rules run.
pub(crate) fn note_login<U: LoginUser>(req: &impl LayerRequest, login: &Login<U>) {
    req.set_local(MicrodotRemember(login.microdot_remember));
}

const SECONDS_PER_DAY: u64 = 24 * 60 * 60;

impl Session {
    /// Sets the remember horizon: the longest a remember-me cookie lives (default 30 days,
    /// Microdot's [`Remember::Yes`]). A longer [`Remember::Days`] is clamped to it.
    ///
    /// Under a [revocation store](Session::revocation), every
    /// [`revoke_user`](Session::revoke_user) entry lives at least this long (plus the
    /// leeway), whichever process writes it, so a remember cookie minted before the call
    /// can never log the user back in. Give every instance and admin task the same value.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let session = jwt_session::Session::new([7u8; 32])
    ///     .remember_horizon(Duration::from_secs(7 * 24 * 60 * 60));
    /// # drop(session);
    /// ```
    #[must_use]
    pub fn remember_horizon(self, horizon: Duration) -> Self {
        ext::set_user_entry_floor(self, horizon)
    }
}

/// Whether [`login_user`](crate::login::login_user) also sets the remember-me cookie, which logs
/// the user back in after the session cookie is gone (the browser was closed, say).
/// A login restored from it is not fresh.
///
/// `true` and `false` convert into it, so a checkbox maps straight onto it. Microdot's
/// `remember=True` is [`Remember::Yes`], and `remember=7` is `Remember::Days(7)`.
///
/// ```
/// use jwt_session::login::Remember;
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
    /// assert_eq!(jwt_session::login::Remember::Days(14).days(), Some(14));
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

/// Microdot's claims: the user's id and the cookie's lifetime in days. The seam adds
/// `exp`, `iat`, `_purpose` and, under a revocation store, the token id.
#[derive(Serialize)]
struct Claims<'a, I> {
    user_id: &'a I,
    days: u32,
}

/// The claims a remember cookie may carry besides the times: Microdot's, and the token id
/// (left in the claims when this config has no store). A token with any other is a session
/// or something else, never a remember cookie.
const KNOWN_CLAIMS: [&str; 5] = ["user_id", "days", "jti", "jti_ms", "jti_gen"];

/// The `Set-Cookie` value of a remember cookie for `user_id`, valid `days` days.
pub(crate) fn issue(
    session: &Session,
    user_id: &impl Serialize,
    days: u32,
) -> Result<String, SessionError> {
    let horizon = ext::user_entry_floor(session);
    let lifetime = Duration::from_secs(u64::from(days) * SECONDS_PER_DAY).min(horizon);
    // Microdot's `days` claim says what the cookie really lasts, clamped or not.
    let days = u32::try_from(lifetime.as_secs() / SECONDS_PER_DAY).unwrap_or(days);
    // Its user for `revoke_user`, when that is the login's key: then the cookie carries
    // the user's generation, and a `revoke_user` denies it whatever the clocks say.
    let user = (ext::user_claim(session) == Some(USER_ID))
        .then(|| serde_json::to_value(user_id).ok())
        .flatten();
    ext::issue_side_token(
        session,
        cookie_name(session),
        &purpose(session),
        &Claims { user_id, days },
        lifetime,
        user.as_ref(),
    )
}

/// The `Set-Cookie` value that makes the browser forget the remember cookie.
pub(crate) fn removal(session: &Session) -> String {
    ext::side_token_removal(session, cookie_name(session))
}

/// Whether `req` carries a remember cookie at all.
pub(crate) fn present(req: &impl RequestView, session: &Session) -> bool {
    ext::request_cookie(req, cookie_name(session)).is_some()
}

/// The user id of `req`'s remember cookie, when it verifies with the session's keys and
/// pinned algorithm, its `exp` (required) has not passed, and it has Microdot's `days`.
/// Under a revocation store it also needs a `jti`, and the store must not deny it: its
/// id, or a `revoke_user` of its user since it was minted. Its user, for that check, is
/// its `user_id`, the `_user_id` of the session it restores: `revoke_user` reaches it when
/// the config names `_user_id` as its `user_claim`, as it reaches the sessions of logins.
pub(crate) async fn user_id(
    req: &impl LayerRequest,
    session: &Session,
) -> Option<(Value, SideToken)> {
    let (token, user_id) = verify(req, session)?;
    still_valid(session, &token, &user_id)
        .await
        .then_some((user_id, token))
}

/// Whether the store, asked now, still accepts `token`, the remember cookie of `user_id`:
/// asked again once the user loader has run, so that a logout made meanwhile (another tab,
/// a poll) wins over the restore.
pub(crate) async fn still_valid(session: &Session, token: &SideToken, user_id: &Value) -> bool {
    let user = (ext::user_claim(session) == Some(USER_ID)).then_some(user_id);
    match ext::judge_side_token(session, token, user).await {
        Verdict::Valid => true,
        Verdict::Revoked(why) => {
            tracing::debug!(reason = "revoked", "ignoring the remember cookie: {why}");
            false
        }
        // The store failed and the config fails closed: no restore, the cookie is kept.
        Verdict::Unavailable => false,
    }
}

/// Under a revocation store, has the request's remember cookie, if it verifies, denied
/// when `dict`'s request writes its revocations: a logout (or a new login) ends it, so a
/// copy of it cannot log anyone back in.
pub(crate) fn retire(req: &impl LayerRequest, dict: &SessionDict) {
    if let Some((token, _)) = verify(req, &ext::config_of(dict)) {
        ext::retire_side_token(dict, &token);
    }
}

/// Verifies `req`'s remember cookie, without asking the revocation store: the side token,
/// and its user id.
fn verify(req: &impl LayerRequest, session: &Session) -> Option<(SideToken, Value)> {
    let microdot = req
        .local::<MicrodotRemember>()
        .is_some_and(|MicrodotRemember(on)| on);
    let mut token = ext::verify_side_token(
        req,
        session,
        cookie_name(session),
        &purpose(session),
        microdot,
    )?;
    let refuse = |why: &str| {
        tracing::debug!(
            reason = "malformed_claim",
            "ignoring the remember cookie: {why}"
        )
    };
    // Microdot writes `days` into every remember token; a session token signed with the
    // same key lacks it, so it cannot pass for one.
    if !token.claims.get("days").is_some_and(Value::is_u64) {
        refuse("it has no whole number of `days`");
        return None;
    }
    // Under a store, `revoke_user` entries live as long as the horizon: a cookie that would
    // outlive it (issued before the horizon was lowered) could outlive a revocation.
    let horizon = ext::user_entry_floor(session).saturating_add(ext::leeway(session));
    if ext::revocation_enabled(session) && token.exp - ext::now(session) > horizon.as_secs_f64() {
        refuse("it lives longer than the remember horizon");
        return None;
    }
    if let Some(other) = token
        .claims
        .keys()
        .find(|key| !KNOWN_CLAIMS.contains(&key.as_str()))
    {
        refuse(&format!(
            "it carries `{other}`, which no remember cookie has"
        ));
        return None;
    }
    match token.claims.remove("user_id") {
        Some(Value::Null) | None => {
            refuse("it has no `user_id`");
            None
        }
        Some(user_id) => Some((token, user_id)),
    }
}
