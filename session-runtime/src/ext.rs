//! The seam: everything a layer built on sessions may use beyond the public API.
//!
//! **The rule.** A layer (today `login/` and `csrf/`; tomorrow any other) imports public
//! items by their root paths (`crate::Session`, `crate::SessionDict`, `crate::SessionError`)
//! and everything else from this module, nothing more. `scripts/layers.sh` checks it in CI.
//! So the core keeps no hooks for any one layer: a layer that needs a new power adds a
//! function here, named for what it does, not for who calls it.
//!
//! What a layer may do through it:
//! - see the request as [`LayerRequest`], which each framework adapter implements: its
//!   cookies ([`request_cookie`]), config, app data, query and per-request values; load its
//!   session ([`load_session`]) and settle what the request owes the store
//!   ([`settle_sessions`]), so a layer's rules are written once for every framework;
//! - issue and verify a **side token**: a token of its own, signed (or encrypted) with the
//!   session's keys through the same pipeline as sessions, carrying a `_purpose` marker
//!   that sessions refuse ([`issue_side_token`], [`verify_side_token`]);
//! - judge a side token against the revocation store ([`judge_side_token`]) and retire it
//!   when the session's response is settled ([`retire_side_token`]);
//! - offer entries for the response, written unless the handler decides the cookie itself
//!   ([`offer_entries`]);
//! - set how long `revoke_user` entries live at least ([`set_user_entry_floor`]).

use std::time::Duration;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::engine::config::Session;
use crate::engine::dict::SessionDict;
pub(crate) use crate::engine::request::RequestView;
use crate::error::SessionError;
use crate::revocation::policy;
pub(crate) use crate::revocation::policy::Verdict;
use crate::token::claims::{Lifetimes, PURPOSE, TokenId};

/// The name of the session cookie of `session`.
pub(crate) fn session_cookie_name(session: &Session) -> &str {
    &session.config().cookie.name
}

/// The value of the request cookie called `name`, parsed as the session cookie is.
pub(crate) fn request_cookie<'r>(req: &'r impl RequestView, name: &str) -> Option<&'r str> {
    req.cookie(name)
}

/// The claims a side token carries besides the layer's own: its purpose, its times and,
/// under a revocation store, its id.
#[derive(Serialize)]
struct SideClaims<'a, C> {
    #[serde(flatten)]
    own: &'a C,
    #[serde(rename = "_purpose")]
    purpose: &'a str,
    exp: u64,
    iat: u64,
    #[serde(flatten)]
    id: Option<TokenId>,
}

/// The `Set-Cookie` value of a side token: `claims` plus `_purpose`, `iat`, `exp` (now plus
/// `lifetime`) and, under a revocation store, a token id (stamped with the `revoke_user`
/// generation of `user`, the user the token belongs to, if any); signed or encrypted as the
/// session is, in a cookie called `cookie_name` with the session cookie's attributes, and
/// size checked after encoding.
pub(crate) fn issue_side_token(
    session: &Session,
    cookie_name: &str,
    purpose: &str,
    claims: &impl Serialize,
    lifetime: Duration,
    user: Option<&Value>,
) -> Result<String, SessionError> {
    let config = session.config();
    let now = config.now() as u64;
    let claims = SideClaims {
        own: claims,
        purpose,
        exp: now.saturating_add(lifetime.as_secs()),
        iat: now,
        id: config.revocation.is_enabled().then(|| {
            let user = user.and_then(policy::user_key);
            config
                .revocation
                .mint(config.clock.now_ms(), user.as_deref())
        }),
    };
    config
        .issue_cookie(&config.cookie.renamed(cookie_name), &claims, Some(lifetime))
        .map(|(_, set_cookie)| set_cookie)
}

/// The `Set-Cookie` value that makes the browser forget the side-token cookie `cookie_name`.
pub(crate) fn side_token_removal(session: &Session, cookie_name: &str) -> String {
    session.config().cookie.renamed(cookie_name).removal()
}

/// A side token that verified.
pub(crate) struct SideToken {
    /// The layer's own claims: `_purpose`, the times and the id are taken out.
    pub(crate) claims: Map<String, Value>,
    /// Under a revocation store, its id (required there); `None` without a store.
    pub(crate) id: Option<TokenId>,
    /// Its `exp`, in Unix seconds.
    pub(crate) exp: f64,
}

/// The request's side token in cookie `cookie_name`, when it verifies under the session's
/// keys and pinned algorithm, its `exp` (required) has not passed, and its `_purpose` is
/// `purpose` (or absent, for a peer's token, when `purpose_optional`). Under a revocation
/// store it also needs a `jti`; the store is not asked here ([`judge_side_token`]).
/// A rejection is logged at debug level with the same `reason` vocabulary as sessions.
pub(crate) fn verify_side_token(
    req: &impl RequestView,
    session: &Session,
    cookie_name: &str,
    purpose: &str,
    purpose_optional: bool,
) -> Option<SideToken> {
    let token = request_cookie(req, cookie_name)?;
    let config = session.config();
    // The session's own lifetimes do not apply: the token is not a session, and its `exp`
    // (required below) is its whole lifetime.
    let lifetimes = Lifetimes {
        leeway: config.lifetimes.leeway,
        ..Lifetimes::default()
    };
    let rules = crate::token::pipeline::TokenRules {
        lifetimes: &lifetimes,
        // A side token is one cookie, never chunked: the session's chunked limit is not its.
        max_len: crate::engine::cookie::MAX_SET_COOKIE,
        ..config.rules()
    };
    let rejected = |reason: &'static str, why: &str| {
        tracing::debug!(reason, "ignoring the {cookie_name} cookie: {why}");
    };
    let now = config.now();
    let verified = match rules.verify(token, now) {
        Ok(verified) => {
            rules.count(&verified, now);
            verified
        }
        Err(rejection) => {
            rejected(rejection.reason(), &rejection.to_string());
            return None;
        }
    };
    let Some(exp) = verified.times.exp else {
        rejected("missing_claim", "it has no `exp`");
        return None;
    };
    if config.revocation.is_enabled() && verified.id.is_none() {
        rejected("unrevocable", "it has no `jti`, so it could not be revoked");
        return None;
    }
    let mut claims = verified.data.into_map();
    match claims.remove(PURPOSE) {
        Some(Value::String(found)) if found == purpose => {}
        None if purpose_optional => {}
        _ => {
            rejected("wrong_purpose", &format!("it is not a `{purpose}` token"));
            return None;
        }
    }
    Some(SideToken {
        claims,
        id: verified.id,
        exp,
    })
}

/// The revocation store's verdict on a side token of `user` (the user's key is that of
/// `revoke_user`: a string, or an integer in decimal). Without a store, valid.
pub(crate) async fn judge_side_token(
    session: &Session,
    token: &SideToken,
    user: Option<&Value>,
) -> Verdict {
    let Some(id) = &token.id else {
        return Verdict::Valid;
    };
    let user = user.and_then(policy::user_key);
    session.config().revocation.judge(id, user.as_deref()).await
}

pub(crate) fn revocation_enabled(session: &Session) -> bool {
    session.config().revocation.is_enabled()
}

/// The key `revoke_user` files `value` under: a string as it is, an integer in decimal.
pub(crate) fn user_key(value: &Value) -> Option<String> {
    policy::user_key(value).map(Into::into)
}

/// The session entry `revoke_user` files this config's sessions under, if any.
pub(crate) fn user_claim(session: &Session) -> Option<&str> {
    session.config().revocation.user_claim.as_deref()
}

/// The config `dict` was loaded under.
pub(crate) fn config_of(dict: &SessionDict) -> Session {
    dict.request_state().session().clone()
}

/// Has `token` denied when the response of `dict`'s request is settled (a logout, or a
/// new login that replaces it), for as long as it verifies.
pub(crate) fn retire_side_token(dict: &SessionDict, token: &SideToken) {
    let state = dict.request_state();
    let config = state.session().config();
    if let Some(id) = &token.id {
        // `as` saturates, so no `exp` can panic here.
        let left = Duration::from_secs((token.exp - config.now()).ceil() as u64);
        state.retire(id.jti.clone(), left.saturating_add(config.lifetimes.leeway));
    }
}

/// Offers `dict`'s entries for the response, as a re-issue is: written unless the request
/// decides the session cookie itself. For changes a layer makes on the app's behalf (a
/// login restored from a side token), which must never cost the handler its own changes:
/// the entries named `added` are kept by the handler's saves in this request (unless it
/// starts a new session), the others are the handler's to change. The session is minted as
/// of `from`, the side token it comes from, so what revoked that token revokes it too.
pub(crate) fn offer_entries(dict: &mut SessionDict, added: &[&str], from: Option<&SideToken>) {
    let data = dict.take_data();
    let added = data
        .iter()
        .filter(|(key, _)| added.contains(&key.as_str()))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    let from = from.and_then(|token| token.id.as_ref());
    dict.request_state().offer(data, added, from);
}

/// Sets the least a `revoke_user` entry lives, so that it outlives the side tokens of a
/// user that a layer issues.
pub(crate) fn set_user_entry_floor(session: Session, floor: Duration) -> Session {
    session.with(|config| config.revocation.user_entry_floor = floor)
}

/// The config's clock skew tolerance.
pub(crate) fn leeway(session: &Session) -> Duration {
    session.config().lifetimes.leeway
}

/// Now on the config's clock, in Unix seconds.
pub(crate) fn now(session: &Session) -> f64 {
    session.config().now()
}

/// The least a `revoke_user` entry lives.
pub(crate) fn user_entry_floor(session: &Session) -> Duration {
    session.config().revocation.user_entry_floor
}

/// A request as a layer sees it: the engine's view, and what a layer needs of the
/// framework besides. Each adapter implements it; a layer's rules are written once over it.
pub(crate) trait LayerRequest: RequestView {
    /// The config that governs this request.
    fn config(&self) -> Result<Session, SessionError>;

    /// The app's value of type `T` for this request (a layer's settings), if registered.
    fn app_data<T: Clone + Send + Sync + 'static>(&self) -> Option<T>;

    /// The request's query string, without the `?`.
    fn query(&self) -> &str;

    /// The request's path with its query, as the browser asked for it.
    fn path_and_query(&self) -> String;

    /// This request's value of type `T`, set by a layer earlier in the request.
    fn local<T: Clone + Send + Sync + 'static>(&self) -> Option<T>;

    /// Sets this request's value of type `T`.
    fn set_local<T: Clone + Send + Sync + 'static>(&self, value: T);

    /// Forgets this request's value of type `T`.
    fn remove_local<T: Clone + Send + Sync + 'static>(&self);

    /// How an app of this framework registers its `Login` settings, for the error that
    /// says they are missing.
    fn login_fix(&self) -> &'static str;
}

/// The request's session under its config, waiting for the revocation store if it must.
pub(crate) async fn load_session(req: &impl LayerRequest) -> Result<SessionDict, SessionError> {
    let session = req.config()?;
    let (own, state) = match crate::engine::load::start_load(req, &session)? {
        crate::engine::load::LoadStart::Done(own, state) => (own, state),
        crate::engine::load::LoadStart::Check(check) => check.finish(req).await,
    };
    Ok(SessionDict::new(own, state))
}

/// Writes the revocations every session of the request owes, before its response leaves.
pub(crate) async fn settle_sessions(req: &impl RequestView) {
    for state in req.states().iter() {
        state.settle().await;
    }
}
