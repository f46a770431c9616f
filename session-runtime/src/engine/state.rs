//! The per-request session state, one per config: what was loaded, the one pending
//! cookie change of that config, and the revocations the request owes.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use actix_web::http::header::HeaderValue;
use actix_web::{HttpMessage, HttpRequest};
use serde_json::{Map, Value};

use crate::engine::config::Session;
use crate::engine::cookie::find_cookie;
use crate::error::SessionError;
use crate::token::claims::{JTI_GEN, JTI_MS, SavedTimes, SessionClaims, Times, TokenId};
use crate::token::payload::Entries;

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
    /// The whole session a layer offered on the app's behalf (a login restored from a side
    /// token), and the entries of it the layer added, which any save that does not start a
    /// new session keeps.
    offered: Option<(Map<String, Value>, Map<String, Value>)>,
    /// What this request last wrote, kept after the response took its pending change, so
    /// that a later load or partial save builds on it and not on the request's cookie.
    written: Written,
    /// Bumped by every `renew()` and `delete()`: a handle loaded before can no longer save,
    /// since what it holds belongs to the session that was replaced (a logout, a login).
    generation: u64,
    /// The id of the request's token when the store could not judge it (down): the
    /// session reads as empty, but a logout must still revoke the token.
    unchecked_id: Option<TokenId>,
    /// Ids of other tokens this request retired (a layer's side token), each with how long
    /// it must stay denied, not yet sent to the store.
    retired: Vec<(String, Duration)>,
}

impl Outcome {
    /// `renew()` or `delete()`: the next save starts a new session, with a new token id.
    fn replace_session(&mut self) -> u64 {
        self.renewed = true;
        // An id minted for an offer (a restored login) belongs to the replaced session.
        self.fresh_id = None;
        self.generation += 1;
        self.generation
    }

    fn new(pending: Pending) -> Self {
        Self {
            pending,
            decided: false,
            renewed: false,
            fresh_id: None,
            revoked_loaded: false,
            offered: None,
            written: Written::Nothing,
            generation: 0,
            unchecked_id: None,
            retired: Vec::new(),
        }
    }
}

/// What a request wrote of the session so far.
enum Written {
    Nothing,
    Token(String),
    Deleted,
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

/// The states of every config loaded for `req`, in load order.
pub(crate) fn loaded(req: &HttpRequest) -> Vec<Arc<RequestSession>> {
    req.extensions()
        .get::<RequestStates>()
        .map(|states| states.iter().cloned().collect())
        .unwrap_or_default()
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
    /// The state of `session` already loaded in this request, if any.
    pub(crate) fn existing(req: &HttpRequest, session: &Session) -> Option<Arc<Self>> {
        req.extensions().get::<RequestStates>().and_then(|states| {
            states
                .iter()
                .find(|state| state.session.is_same_config(session))
                .cloned()
        })
    }

    /// Records the state of `session` for this request, from what loading found.
    pub(crate) fn register(
        req: &HttpRequest,
        session: &Session,
        loaded_times: Times,
        loaded_id: Option<TokenId>,
        pending: Pending,
        denied: bool,
    ) -> Arc<Self> {
        let state = Arc::new(Self {
            session: session.clone(),
            loaded_times,
            loaded_id,
            denied,
            outcome: Mutex::new(Outcome::new(pending)),
        });
        req.extensions_mut()
            .get_or_insert_with(RequestStates::default)
            .push(Arc::clone(&state));
        state
    }

    /// A state outside any request, for the `__internals` hooks.
    #[cfg(feature = "__internals")]
    pub(crate) fn detached(
        session: &Session,
        loaded_times: Times,
        loaded_id: Option<TokenId>,
    ) -> Self {
        Self {
            session: session.clone(),
            loaded_times,
            loaded_id,
            denied: false,
            outcome: Mutex::new(Outcome::new(Pending::Untouched)),
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
        (self.session.config().revocation.is_enabled()
            && (key == "jti" || key == JTI_MS || key == JTI_GEN))
            .then_some(REVOCATION_MANAGED)
    }

    /// Makes a `delete()` or renewed save revoke `id`, a token the store could not judge.
    pub(crate) fn owe_if_replaced(&self, id: TokenId) {
        self.outcome().unchecked_id = Some(id);
    }

    /// Takes the pending change for the response, leaving the decision standing.
    pub(crate) fn take_pending(&self) -> Pending {
        std::mem::replace(&mut self.outcome().pending, Pending::Untouched)
    }

    /// The generation handles loaded now belong to (see `Outcome::generation`).
    pub(crate) fn generation(&self) -> u64 {
        self.outcome().generation
    }

    /// [`save`](Self::save) for a handle loaded in `generation`: refused once the session it
    /// was loaded from has been replaced in this request.
    pub(crate) fn save_from(
        &self,
        generation: u64,
        data: &Map<String, Value>,
    ) -> Result<(), SessionError> {
        if generation != self.generation() {
            return Err(SessionError::SessionReplaced);
        }
        self.save(data)
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
        let added = self
            .outcome()
            .offered
            .as_ref()
            .map(|(_, added)| added.clone());
        // A login restored in this request survives the handler's own save (unless it
        // starts a new session): the entries the layer added, where the handler's data has
        // none of its own.
        let merged;
        let data = match added {
            Some(added)
                if !self.outcome().renewed && added.keys().any(|key| !data.contains_key(key)) =>
            {
                let mut with_login = data.clone();
                for (key, value) in added {
                    with_login.entry(key).or_insert(value);
                }
                merged = with_login;
                &merged
            }
            _ => data,
        };
        let (renewed, id) = {
            let mut outcome = self.outcome();
            (outcome.renewed, self.id_for_save(&mut outcome, data))
        };
        let (token, set_cookie) = self.encode(data, self.times_for_save(renewed), id.as_ref())?;
        let mut outcome = self.outcome();
        outcome.written = Written::Token(token);
        outcome.pending = Pending::Save { set_cookie };
        outcome.decided = true;
        Ok(())
    }

    /// The token id a save writes under a revocation store: the loaded one, or after
    /// `renew()`/`delete()` (or with none loaded) one minted once for this request.
    fn id_for_save(&self, outcome: &mut Outcome, data: &Map<String, Value>) -> Option<TokenId> {
        let config = self.session.config();
        if !config.revocation.is_enabled() {
            return None;
        }
        match &self.loaded_id {
            Some(id) if !outcome.renewed => Some(id.clone()),
            _ => Some(
                outcome
                    .fresh_id
                    .get_or_insert_with(|| {
                        let user = config.revocation.user_of(data);
                        config
                            .revocation
                            .mint(config.clock.now_ms(), user.as_deref())
                    })
                    .clone(),
            ),
        }
    }

    /// `#[with_session(autosave)]`: saves `data` unless a `save()`, `delete()` or earlier
    /// autosave already decided this request's cookie. Runs on drop, so a failure can only
    /// be logged.
    pub(crate) fn autosave(&self, generation: u64, data: &Map<String, Value>) {
        if self.outcome().decided {
            tracing::debug!("autosave skipped: this request already decided the session cookie");
            return;
        }
        if let Err(err) = self.save_from(generation, data) {
            tracing::error!(
                "autosave of the modified session failed, the change is not sent: {err}"
            );
        }
    }

    /// Schedules the cookie's removal; returns the new generation.
    pub(crate) fn delete(&self) -> u64 {
        let mut outcome = self.outcome();
        outcome.pending = Pending::Delete;
        outcome.written = Written::Deleted;
        outcome.decided = true;
        outcome.replace_session()
    }

    /// Makes the next save start a new session (see `SessionDict::renew`); returns the new
    /// generation.
    pub(crate) fn renew(&self) -> u64 {
        self.outcome().replace_session()
    }

    /// Schedules `data` as a re-issue is scheduled: written unless this request decides the
    /// cookie, since any save, delete or autosave replaces it. For changes the library makes
    /// on the app's behalf (a login restored from the remember cookie), which must never
    /// cost the handler its own changes.
    /// `added` are the entries of `data` the layer added, which later saves keep;
    /// `minted_ms`, when the offer comes from a side token, its minting time, which the
    /// offered session inherits so that a `revoke_user` covering the side token covers it.
    #[cfg_attr(not(feature = "login"), allow(dead_code))]
    pub(crate) fn offer(
        &self,
        data: Map<String, Value>,
        added: Map<String, Value>,
        minted_ms: Option<u64>,
    ) {
        let mut outcome = self.outcome();
        outcome.offered = Some((data.clone(), added));
        if let Some(minted_ms) = minted_ms.filter(|_| self.session.config().revocation.is_enabled())
        {
            outcome.fresh_id = Some(TokenId::fresh(minted_ms));
        }
        if !outcome.decided {
            outcome.pending = Pending::Reissue {
                data: Entries::Parsed(data),
                refresh: true,
            };
        }
    }

    /// The entries this request has written or offered so far (a save's snapshot, a
    /// delete's nothing, a layer's offer), or `None` when it has not touched them: what a
    /// partial save (a `TypedSession`, a view of some entries) must build on.
    pub(crate) fn latest_entries(&self) -> Option<Map<String, Value>> {
        let outcome = self.outcome();
        match &outcome.written {
            Written::Token(token) => {
                let token = token.clone();
                drop(outcome);
                self.session
                    .config()
                    .verify(&token)
                    .ok()
                    .map(|saved| saved.data.into_map())
            }
            Written::Deleted => Some(Map::new()),
            Written::Nothing => outcome.offered.as_ref().map(|(data, _)| data.clone()),
        }
    }

    /// Denies `jti`, the id of another token of this config (a layer's side token), for
    /// `ttl` when this request's revocations are written.
    #[cfg_attr(not(feature = "login"), allow(dead_code))]
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
        let loaded = self.loaded_id.as_ref().or(outcome.unchecked_id.as_ref());
        if let Some(jti) = loaded.filter(|_| replaced).map(|id| id.jti.clone())
            && !std::mem::replace(&mut outcome.revoked_loaded, true)
        {
            owed.push((jti, self.session.revocation_ttl()));
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

    /// [`settle`](Self::settle) for a response built synchronously (`Session::apply`),
    /// where the store can record without waiting. When it cannot, nothing is reported as
    /// done: [`SessionError::NeedsAsyncApply`], and what is still owed stays owed (a later
    /// `apply_async` writes it).
    pub(crate) fn settle_now(&self) -> Result<(), SessionError> {
        let revocation = &self.session.config().revocation;
        let owed = self.take_revocations();
        let Some(failed) = owed
            .iter()
            .position(|(jti, ttl)| !revocation.revoke_token_now(jti, *ttl))
        else {
            return Ok(());
        };
        // What was not written stays owed: the loaded id through its flag, the others as
        // retired ids.
        let mut outcome = self.outcome();
        for (jti, ttl) in owed.into_iter().skip(failed) {
            if self.loaded_id.as_ref().is_some_and(|id| id.jti == jti) {
                outcome.revoked_loaded = false;
            } else {
                outcome.retired.push((jti, ttl));
            }
        }
        Err(SessionError::NeedsAsyncApply)
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
            None => self.id_for_save(&mut self.outcome(), data),
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
    pub(crate) fn current_data(&self, req: &HttpRequest) -> Entries {
        let outcome = self.outcome();
        let cookie = match (&outcome.written, &outcome.offered) {
            (Written::Token(token), _) => token.clone(),
            (Written::Deleted, _) => return Entries::default(),
            // A layer's offer (a restored login) is what this request's session holds now.
            (Written::Nothing, Some((data, _))) => return Entries::Parsed(data.clone()),
            (Written::Nothing, None) if self.denied => return Entries::default(),
            (Written::Nothing, None) => {
                match find_cookie(req.headers(), &self.session.config().cookie.name) {
                    Some(cookie) => cookie.to_owned(),
                    None => return Entries::default(),
                }
            }
        };
        drop(outcome);
        self.session
            .config()
            .verify(&cookie)
            .map(|loaded| loaded.data)
            .unwrap_or_default()
    }
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
    let token = config.rules().issue(&claims)?;
    let max_age = times
        .exp
        .filter(|_| config.lifetimes.is_configured())
        .map(|exp| Duration::from_secs(exp.saturating_sub(now)));
    let set_cookie = config.cookie.set_cookie(&token, max_age)?;
    Ok((token, set_cookie))
}

/// The token a first save of `data` under `session` sends now, size checked.
#[cfg(any(feature = "test-util", feature = "__internals"))]
pub(crate) fn encode_new(
    session: &Session,
    data: &Map<String, Value>,
) -> Result<String, SessionError> {
    let id = fresh_id(session, data);
    encode(session, data, fresh_times(session), id.as_ref()).map(|(token, _)| token)
}

/// The managed claims of a first save now.
#[cfg(any(feature = "test-util", feature = "__internals"))]
fn fresh_times(session: &Session) -> SavedTimes {
    let config = session.config();
    config
        .lifetimes
        .times_for_save(Times::default(), config.now() as u64)
}

/// A new token id, under a revocation store.
#[cfg(any(feature = "test-util", feature = "__internals"))]
fn fresh_id(session: &Session, data: &Map<String, Value>) -> Option<TokenId> {
    let config = session.config();
    let revocation = &config.revocation;
    revocation.is_enabled().then(|| {
        let user = revocation.user_of(data);
        revocation.mint(config.clock.now_ms(), user.as_deref())
    })
}

#[cfg(feature = "__internals")]
pub(crate) fn encode_now(
    session: &Session,
    data: &Map<String, Value>,
) -> Result<String, SessionError> {
    let id = fresh_id(session, data);
    session.config().rules().issue(&SessionClaims {
        data,
        times: fresh_times(session),
        id: id.as_ref(),
    })
}

async fn revoke_all(session: &Session, owed: Vec<(String, Duration)>) {
    for (jti, ttl) in owed {
        session.config().revocation.revoke_token(&jti, ttl).await;
    }
}
