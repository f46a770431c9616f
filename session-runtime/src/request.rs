//! The per-request session state, one per config: loading the cookie, and the one
//! pending cookie change of that config.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::{HttpMessage, HttpRequest, web};
use serde_json::{Map, Value};

use crate::claims::{ClaimRejection, SavedTimes, SessionClaims, Times};
use crate::config::Session;
use crate::error::SessionError;
use crate::keys::VerifiedBy;
use crate::payload::Entries;
use crate::revocation::{JTI_MS, TokenId, Verdict};
use crate::token::Rejection;

/// Browsers drop `Set-Cookie` values larger than this (RFC 6265 §6.1 minimum they must keep).
pub(crate) const MAX_SET_COOKIE: usize = 4096;

/// What the response must do with the session cookie. The last `save()`/`delete()` wins.
pub(crate) enum Pending {
    Untouched,
    /// Re-sign the loaded session: it was signed with a previous key (`refresh: false`,
    /// which keeps every time claim), or its idle window is half gone (`refresh: true`).
    /// Either way the token id is kept. Any `save()`/`delete()` replaces this.
    Reissue {
        data: Entries,
        refresh: bool,
    },
    Save {
        token: String,
        set_cookie: HeaderValue,
    },
    Delete,
}

/// The cookie decision of one config in one request.
struct Outcome {
    pending: Pending,
    /// Set by any `save()`, `delete()` or autosave in this request and never reset, so a
    /// later autosave (a middleware's session dropped after the handler answered) cannot
    /// override what was decided.
    decided: bool,
    /// Set by `renew()` and `delete()`: the next save starts a new session, with a fresh
    /// absolute-timeout clock and, under a revocation store, a fresh token id.
    renewed: bool,
    /// The token id minted for this request's saves once renewed: one per request, however
    /// many saves.
    fresh_id: Option<TokenId>,
    /// The request's token was already sent to the revocation store.
    revoked_loaded: bool,
    /// Ids of other cookies this request retired (a logout's remember cookie), each with
    /// how long it must stay denied, not yet sent to the store.
    retired: Vec<(String, Duration)>,
}

pub(crate) struct RequestSession {
    session: Session,
    /// The managed claims of the loaded token, carried into saves.
    loaded_times: Times,
    /// Under a revocation store: the id of the accepted token the request came with,
    /// carried into saves and re-issues, and revoked by `delete()` or a renewed save.
    loaded_id: Option<TokenId>,
    /// The cookie verified but the revocation check denied it: later loads in this request
    /// must not read it again.
    denied: bool,
    outcome: Mutex<Outcome>,
}

/// Every session state of one request, one per config, in load order. The first is kept
/// inline: most requests load one config, and a `Vec` would be one more allocation.
#[derive(Clone, Default)]
struct RequestStates {
    first: Option<Arc<RequestSession>>,
    more: Vec<Arc<RequestSession>>,
}

impl RequestStates {
    fn iter(&self) -> impl Iterator<Item = &Arc<RequestSession>> {
        self.first.iter().chain(&self.more)
    }

    fn push(&mut self, state: Arc<RequestSession>) {
        match self.first {
            None => self.first = Some(state),
            Some(_) => self.more.push(state),
        }
    }
}

/// A cookie's verified content: the session's entries and its managed claims.
struct Loaded {
    data: Entries,
    times: Times,
    verified_by: VerifiedBy,
    id: Option<TokenId>,
}

/// What loading found in the request, once every check is done.
enum Found {
    NoCookie,
    Accepted(Loaded),
    /// Verification failed.
    Invalid,
    /// Verified, but revoked, unrevocable (no `jti` or `exp`) or not checkable now.
    Denied {
        clear: bool,
    },
    /// Verified, but loaded where the store cannot be awaited, for a request that replaces
    /// the session anyway (login, logout): empty, yet its id is revoked by the replacement.
    Unchecked(Option<TokenId>),
}

/// The first, synchronous step of a load.
pub(crate) enum LoadStart {
    Done(Entries, Arc<RequestSession>),
    /// A verified token that the revocation store must clear first.
    Check(StoreCheck),
}

/// A verified token, with an id and an expiry, waiting for its revocation check.
pub(crate) struct StoreCheck {
    session: Session,
    loaded: Loaded,
}

/// The states of every config loaded for `req`, in load order.
pub(crate) fn loaded(req: &HttpRequest) -> Vec<Arc<RequestSession>> {
    req.extensions()
        .get::<RequestStates>()
        .map(|states| states.iter().cloned().collect())
        .unwrap_or_default()
}

/// The config that governs the handler `req` is routed to: the innermost one registered.
///
/// actix finds the innermost `Session` and the innermost `web::Data<Session>`, but cannot
/// say which of the two forms is more inner; when both are visible and differ, guessing
/// could let the outer config govern a scope that registered its own, so it is refused.
pub(crate) fn config_for(req: &HttpRequest) -> Result<Session, SessionError> {
    let plain = req.app_data::<Session>();
    let data = req.app_data::<web::Data<Session>>().map(|data| &***data);
    match (plain, data) {
        (Some(plain), Some(data)) if !plain.is_same_config(data) => {
            Err(SessionError::AmbiguousConfig {
                plain_cookie: plain.config().cookie.name.clone(),
                data_cookie: data.config().cookie.name.clone(),
            })
        }
        (Some(session), _) | (None, Some(session)) => Ok(session.clone()),
        (None, None) => Err(SessionError::MissingConfig),
    }
}

/// Loads the session of `req` under `session`, as far as it can without waiting: every
/// load under one config in one request shares one state, so a response carries one cookie
/// per config however many handles exist; loads under different configs never share
/// anything. Only a verified cookie under a revocation store needs [`StoreCheck::finish`];
/// a request without a cookie never touches the store.
pub(crate) fn start_load(req: &HttpRequest, session: &Session) -> Result<LoadStart, SessionError> {
    if let Some(state) = existing_state(req, session) {
        return Ok(LoadStart::Done(state.current_data(req), state));
    }
    session.check()?;
    let config = session.config();
    let found = match find_cookie(req.headers(), &config.cookie.name) {
        None => Found::NoCookie,
        Some(token) => match verify(session, token, config.now()) {
            Ok(loaded) if !config.revocation.is_enabled() => Found::Accepted(loaded),
            Ok(loaded) => match (&loaded.id, loaded.times.exp) {
                (Some(id), Some(_)) => {
                    let user = config.revocation.user_of(loaded.data.map());
                    match config.revocation.check_now(id, user.as_deref()) {
                        Some(verdict) => found_after(session, loaded, verdict),
                        None => {
                            return Ok(LoadStart::Check(StoreCheck {
                                session: session.clone(),
                                loaded,
                            }));
                        }
                    }
                }
                (id, _) => {
                    let missing = if id.is_none() { "jti" } else { "exp" };
                    tracing::debug!(
                        reason = "unrevocable",
                        "ignoring session cookie: it has no `{missing}`, so it could not be revoked"
                    );
                    Found::Denied {
                        clear: config.clear_invalid,
                    }
                }
            },
            Err(rejection) => {
                tracing::debug!(
                    reason = rejection.reason(),
                    "ignoring session cookie: {rejection}"
                );
                Found::Invalid
            }
        },
    };
    let (data, state) = settle_load(req, session, found);
    Ok(LoadStart::Done(data, state))
}

impl StoreCheck {
    /// Asks the store, then finishes the load as [`start_load`] would have.
    pub(crate) async fn finish(self, req: &HttpRequest) -> (Entries, Arc<RequestSession>) {
        let revocation = &self.session.config().revocation;
        let verdict = match &self.loaded.id {
            Some(id) => {
                let user = revocation.user_of(self.loaded.data.map());
                revocation.check(id, user.as_deref()).await
            }
            None => Verdict::Revoked("no token id"),
        };
        // Another load of this config may have finished while this one waited.
        if let Some(state) = existing_state(req, &self.session) {
            return (state.current_data(req), state);
        }
        let found = found_after(&self.session, self.loaded, verdict);
        settle_load(req, &self.session, found)
    }
}

impl StoreCheck {
    /// Finishes the load without asking the store, for a caller that cannot await and
    /// replaces the session (`login_user`, `logout_user`): the session is empty, and the
    /// replacement revokes the token.
    pub(crate) fn skip(self, req: &HttpRequest) -> (Entries, Arc<RequestSession>) {
        tracing::debug!("session loaded unchecked, to be replaced: its token will be revoked");
        settle_load(req, &self.session, Found::Unchecked(self.loaded.id))
    }
}

/// What loading found, once the store has judged a verified token.
fn found_after(session: &Session, loaded: Loaded, verdict: Verdict) -> Found {
    match verdict {
        Verdict::Valid => Found::Accepted(loaded),
        Verdict::Revoked(why) => {
            tracing::debug!(reason = "revoked", "ignoring session cookie: {why}");
            Found::Denied {
                clear: session.config().clear_invalid,
            }
        }
        // Not known to be revoked: leave the cookie, it works again once the store does.
        Verdict::Unavailable => Found::Denied { clear: false },
    }
}

fn existing_state(req: &HttpRequest, session: &Session) -> Option<Arc<RequestSession>> {
    req.extensions().get::<RequestStates>().and_then(|states| {
        states
            .iter()
            .find(|state| state.session.is_same_config(session))
            .cloned()
    })
}

/// Records the request's state for `session` from what loading found.
fn settle_load(
    req: &HttpRequest,
    session: &Session,
    found: Found,
) -> (Entries, Arc<RequestSession>) {
    let rejected = |clear: bool| {
        if clear {
            Pending::Delete
        } else {
            Pending::Untouched
        }
    };
    let (data, times, id, pending, denied) = match found {
        Found::NoCookie => (
            Entries::default(),
            Times::default(),
            None,
            Pending::Untouched,
            false,
        ),
        Found::Accepted(loaded) => {
            let pending = initial_pending(session, &loaded, session.config().now());
            (loaded.data, loaded.times, loaded.id, pending, false)
        }
        Found::Invalid => {
            let pending = rejected(session.config().clear_invalid);
            (Entries::default(), Times::default(), None, pending, false)
        }
        Found::Denied { clear } => (
            Entries::default(),
            Times::default(),
            None,
            rejected(clear),
            true,
        ),
        Found::Unchecked(id) => (
            Entries::default(),
            Times::default(),
            id,
            Pending::Untouched,
            true,
        ),
    };
    let state = Arc::new(RequestSession {
        session: session.clone(),
        loaded_times: times,
        loaded_id: id,
        denied,
        outcome: Mutex::new(Outcome {
            pending,
            decided: false,
            renewed: false,
            fresh_id: None,
            revoked_loaded: false,
            retired: Vec::new(),
        }),
    });
    req.extensions_mut()
        .get_or_insert_with(RequestStates::default)
        .push(Arc::clone(&state));
    (data, state)
}

#[cfg(feature = "__internals")]
pub(crate) fn encode_now(
    session: &Session,
    data: &Map<String, Value>,
) -> Result<String, SessionError> {
    let id = fresh_id(session);
    session.config().codec.encode(&SessionClaims {
        data,
        times: fresh_times(session),
        id: id.as_ref(),
    })
}

#[cfg(feature = "__internals")]
pub(crate) fn verify_now(session: &Session, token: &str) -> bool {
    verify(session, token, session.config().now()).is_ok()
}

/// The `Set-Cookie` a response to a request carrying `token` sends without any save, or
/// `None` when the token is rejected or needs no re-issue.
#[cfg(feature = "__internals")]
pub(crate) fn reissue_now(
    session: &Session,
    token: &str,
) -> Option<Result<HeaderValue, SessionError>> {
    let now = session.config().now();
    let loaded = verify(session, token, now).ok()?;
    match initial_pending(session, &loaded, now) {
        Pending::Reissue { data, refresh } => {
            let state = RequestSession::detached(session, loaded.times, loaded.id);
            Some(state.reissue(data.map(), refresh))
        }
        _ => None,
    }
}

fn verify(session: &Session, token: &str, now: f64) -> Result<Loaded, Rejection> {
    let config = session.config();
    let (payload, verified_by) = config.codec.decode(token)?;
    let (mut data, claims) =
        Entries::load(payload).map_err(|err| Rejection::Json("payload", err))?;
    let times = config
        .lifetimes
        .check(&claims, now)
        .map_err(Rejection::Claims)?;
    let id = if config.revocation.is_enabled() {
        // The token id is taken out of the entries: under a store the session is parsed.
        TokenId::take(data.map_mut())
            .map_err(|reason| Rejection::Claims(ClaimRejection::Malformed { key: "jti", reason }))?
    } else {
        None
    };
    Ok(Loaded {
        data,
        times,
        verified_by,
        id,
    })
}

/// The token and `Set-Cookie` value for `data` with `times` (and, under a revocation store,
/// the token id `id`), checked against the browser limit after encoding.
fn encode(
    session: &Session,
    data: &Map<String, Value>,
    times: SavedTimes,
    id: Option<&TokenId>,
) -> Result<(String, HeaderValue), SessionError> {
    let config = session.config();
    let now = config.now() as u64;
    let claims = SessionClaims { data, times, id };
    let token = config.codec.encode(&claims)?;
    let max_age = times
        .exp
        .filter(|_| config.lifetimes.is_configured())
        .map(|exp| Duration::from_secs(exp.saturating_sub(now)));
    let cookie = config.cookie.set_cookie_value(&token, max_age);
    if cookie.len() > MAX_SET_COOKIE {
        return Err(SessionError::TooLarge {
            size: cookie.len(),
            limit: MAX_SET_COOKIE,
        });
    }
    let set_cookie = HeaderValue::try_from(cookie).map_err(SessionError::InvalidHeader)?;
    Ok((token, set_cookie))
}

/// The token a first save of `data` under `session` sends now, size checked.
pub(crate) fn encode_new(
    session: &Session,
    data: &Map<String, Value>,
) -> Result<String, SessionError> {
    let id = fresh_id(session);
    encode(session, data, fresh_times(session), id.as_ref()).map(|(token, _)| token)
}

/// The managed claims of a first save now.
fn fresh_times(session: &Session) -> SavedTimes {
    let config = session.config();
    config
        .lifetimes
        .times_for_save(Times::default(), config.now() as u64)
}

/// A new token id, under a revocation store.
pub(crate) fn fresh_id(session: &Session) -> Option<TokenId> {
    session
        .config()
        .revocation
        .is_enabled()
        .then(TokenId::fresh)
}

/// The entries of `token` when it is a valid session under `session` now (signature and
/// lifetimes; the revocation store is not asked).
pub(crate) fn verified_data(session: &Session, token: &str) -> Option<Map<String, Value>> {
    verify(session, token, session.config().now())
        .ok()
        .map(|loaded| loaded.data.into_map())
}

/// Re-signs a session verified by a previous key, or refreshes one past half its idle window.
fn initial_pending(session: &Session, loaded: &Loaded, now: f64) -> Pending {
    let config = session.config();
    let rotate = loaded.verified_by == VerifiedBy::Previous;
    let refresh = config.lifetimes.wants_refresh(loaded.times, now);
    if config.codec.keys().can_sign() && (rotate || refresh) {
        tracing::debug!(rotate, refresh, "re-issuing the session cookie");
        Pending::Reissue {
            data: loaded.data.clone(),
            refresh,
        }
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

/// Why `key` cannot be a session entry under a revocation store.
const REVOCATION_MANAGED: &str = "jwt-session manages it under Session::revocation: it holds \
    the token id (`jti`) and its minting time (`jti_ms`)";

impl RequestSession {
    /// A state outside any request, for the `__internals` hooks.
    #[cfg(feature = "__internals")]
    fn detached(session: &Session, loaded_times: Times, loaded_id: Option<TokenId>) -> Self {
        Self {
            session: session.clone(),
            loaded_times,
            loaded_id,
            denied: false,
            outcome: Mutex::new(Outcome {
                pending: Pending::Untouched,
                decided: false,
                renewed: false,
                fresh_id: None,
                revoked_loaded: false,
                retired: Vec::new(),
            }),
        }
    }

    pub(crate) fn session(&self) -> &Session {
        &self.session
    }

    fn outcome(&self) -> MutexGuard<'_, Outcome> {
        // A panic elsewhere cannot leave `Outcome` half-written, so a poisoned lock is safe to use.
        self.outcome.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Why `key` may not be stored under this config, beyond the claim rules every config
    /// shares: under a revocation store, `jti` and `jti_ms` are managed.
    pub(crate) fn config_claim_problem(&self, key: &str) -> Option<&'static str> {
        (self.session.config().revocation.is_enabled() && (key == "jti" || key == JTI_MS))
            .then_some(REVOCATION_MANAGED)
    }

    /// Takes the pending change for the response, leaving the decision standing.
    pub(crate) fn take_pending(&self) -> Pending {
        std::mem::replace(&mut self.outcome().pending, Pending::Untouched)
    }

    /// Encodes `data` now (a snapshot, as in Microdot) and schedules it for the response.
    pub(crate) fn save(&self, data: &Map<String, Value>) -> Result<(), SessionError> {
        if let Some((key, reason)) = data
            .keys()
            .find_map(|key| Some((key, self.config_claim_problem(key)?)))
        {
            return Err(SessionError::RegisteredClaim {
                key: key.clone(),
                reason,
            });
        }
        let (renewed, id) = {
            let mut outcome = self.outcome();
            (outcome.renewed, self.id_for_save(&mut outcome))
        };
        let (token, set_cookie) = self.encode(data, self.times_for_save(renewed), id.as_ref())?;
        let mut outcome = self.outcome();
        outcome.pending = Pending::Save { token, set_cookie };
        outcome.decided = true;
        Ok(())
    }

    /// The token id a save writes under a revocation store: the loaded one, or after
    /// `renew()`/`delete()` (or with none loaded) one minted once for this request.
    fn id_for_save(&self, outcome: &mut Outcome) -> Option<TokenId> {
        if !self.session.config().revocation.is_enabled() {
            return None;
        }
        match &self.loaded_id {
            Some(id) if !outcome.renewed => Some(id.clone()),
            _ => Some(outcome.fresh_id.get_or_insert_with(TokenId::fresh).clone()),
        }
    }

    /// `#[with_session(autosave)]`: saves `data` unless a `save()`, `delete()` or earlier
    /// autosave already decided this request's cookie. Runs on drop, so a failure can only
    /// be logged.
    pub(crate) fn autosave(&self, data: &Map<String, Value>) {
        if self.outcome().decided {
            tracing::debug!("autosave skipped: this request already decided the session cookie");
            return;
        }
        if let Err(err) = self.save(data) {
            tracing::error!(
                "autosave of the modified session failed, the change is not sent: {err}"
            );
        }
    }

    pub(crate) fn delete(&self) {
        let mut outcome = self.outcome();
        outcome.pending = Pending::Delete;
        outcome.decided = true;
        outcome.renewed = true;
    }

    /// Makes the next save start a new session (see `SessionDict::renew`).
    pub(crate) fn renew(&self) {
        self.outcome().renewed = true;
    }

    /// Schedules `data` as a re-issue is scheduled: written unless this request decides the
    /// cookie, since any save, delete or autosave replaces it. For changes the library makes
    /// on the app's behalf (a login restored from the remember cookie), which must never
    /// cost the handler its own changes.
    pub(crate) fn offer(&self, data: Map<String, Value>) {
        let mut outcome = self.outcome();
        if !outcome.decided {
            outcome.pending = Pending::Reissue {
                data: Entries::Parsed(data),
                refresh: true,
            };
        }
    }

    /// Denies `jti`, the id of another cookie of this config (a remember cookie), for
    /// `ttl` when this request's revocations are written.
    pub(crate) fn retire(&self, jti: String, ttl: Duration) {
        self.outcome().retired.push((jti, ttl));
    }

    /// The token ids this request owes the store, each with its entry's lifetime: the
    /// loaded one, once the request deleted the session or saved it renewed, and those it
    /// [retired](Self::retire). Marks them as revoked.
    fn take_revocations(&self) -> Vec<(String, Duration)> {
        let mut outcome = self.outcome();
        let mut owed = std::mem::take(&mut outcome.retired);
        let replaced = match outcome.pending {
            Pending::Delete => true,
            Pending::Save { .. } => outcome.renewed,
            Pending::Untouched | Pending::Reissue { .. } => false,
        };
        if let Some(id) = self.loaded_id.as_ref().filter(|_| replaced)
            && !std::mem::replace(&mut outcome.revoked_loaded, true)
        {
            owed.push((id.jti.clone(), self.session.revocation_ttl()));
        }
        owed
    }

    /// Writes the revocations this request owes, before its response is sent: with
    /// `#[with_session]` this runs when the handler returns, so a logged-out cookie is dead
    /// everywhere by the time the browser sees the response. Nothing to do, and no store
    /// call, when the request did not replace its token.
    pub(crate) async fn settle(&self) {
        revoke_all(&self.session, self.take_revocations()).await;
    }

    /// [`settle`](Self::settle) for a response built synchronously (`Session::apply`): the
    /// revocations are written in the background, soon after the response.
    pub(crate) fn settle_in_background(&self) {
        let owed = self.take_revocations();
        if owed.is_empty() {
            return;
        }
        let session = self.session.clone();
        let write = async move { revoke_all(&session, owed).await };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn(write)),
            Err(_) => tracing::warn!(
                "a logged-out token could not be revoked: no async runtime to write it from; \
                 use Session::apply_async"
            ),
        }
    }

    /// The managed claims of a save now: a renewed session starts afresh.
    fn times_for_save(&self, renewed: bool) -> SavedTimes {
        let loaded = if renewed {
            Times::default()
        } else {
            self.loaded_times
        };
        self.session
            .config()
            .lifetimes
            .times_for_save(loaded, self.session.config().now() as u64)
    }

    /// The `Set-Cookie` value that re-issues the loaded session: a refresh takes fresh
    /// times as a save does; a rotation only changes the key, keeping every time claim.
    /// Both keep the token id, so a re-issue cannot revive a revoked session.
    pub(crate) fn reissue(
        &self,
        data: &Map<String, Value>,
        refresh: bool,
    ) -> Result<HeaderValue, SessionError> {
        let times = if refresh {
            self.times_for_save(false)
        } else {
            self.loaded_times.as_saved()
        };
        // A login restored on the app's behalf (`offer`) has no loaded id: it gets a fresh one.
        let id = match &self.loaded_id {
            Some(id) => Some(id.clone()),
            None => self.id_for_save(&mut self.outcome()),
        };
        self.encode(data, times, id.as_ref())
            .map(|(_, set_cookie)| set_cookie)
    }

    fn encode(
        &self,
        data: &Map<String, Value>,
        times: SavedTimes,
        id: Option<&TokenId>,
    ) -> Result<(String, HeaderValue), SessionError> {
        encode(&self.session, data, times, id)
    }

    /// The data a second load in this request sees: the last saved snapshot, nothing after a
    /// delete or a denied cookie, or else the request's cookie.
    fn current_data(&self, req: &HttpRequest) -> Entries {
        let cookie = match &self.outcome().pending {
            Pending::Save { token, .. } => token.clone(),
            Pending::Delete => return Entries::default(),
            Pending::Untouched | Pending::Reissue { .. } if self.denied => {
                return Entries::default();
            }
            Pending::Untouched | Pending::Reissue { .. } => {
                match find_cookie(req.headers(), &self.session.config().cookie.name) {
                    Some(cookie) => cookie.to_owned(),
                    None => return Entries::default(),
                }
            }
        };
        verify(&self.session, &cookie, self.session.config().now())
            .map(|loaded| loaded.data)
            .unwrap_or_default()
    }
}

async fn revoke_all(session: &Session, owed: Vec<(String, Duration)>) {
    for (jti, ttl) in owed {
        session.config().revocation.revoke_token(&jti, ttl).await;
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
