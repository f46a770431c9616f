//! The per-request session state, one per config: what was loaded, the one pending
//! cookie change of that config, and the revocations the request owes.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde_json::{Map, Value};

use crate::engine::chunks::SetCookies;
use crate::engine::config::Session;
use crate::engine::decision::{CookieDecision, Pending, RevocationLedger, Written};
use crate::error::SessionError;
use crate::token::claims::{JTI_GEN, JTI_MS, SavedTimes, SessionClaims, Times, TokenId};
use crate::token::payload::Entries;

/// The decision and the ledger, under one lock: a delete or renewed save decides both.
struct Outcome {
    cookie: CookieDecision,
    ledger: RevocationLedger,
}

/// The session of one config in one request: verified once, at its first load; every
/// later load and handle reads it from here.
pub(crate) struct RequestSession {
    session: Session,
    /// The entries of the accepted token the request came with (empty when none was
    /// accepted). Handles read them until they change something.
    loaded: Entries,
    /// The managed claims of the loaded token, carried into saves.
    loaded_times: Times,
    /// Under a revocation store: the id of the accepted token the request came with,
    /// carried into saves and re-issues, and revoked by `delete()` or a renewed save.
    loaded_id: Option<TokenId>,
    outcome: Mutex<Outcome>,
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
    /// The state of `session` in one request, from what loading found.
    pub(crate) fn new(
        session: &Session,
        loaded: Entries,
        loaded_times: Times,
        loaded_id: Option<TokenId>,
        pending: Pending,
    ) -> Self {
        Self {
            session: session.clone(),
            loaded,
            loaded_times,
            loaded_id,
            outcome: Mutex::new(Outcome {
                cookie: CookieDecision::new(pending),
                ledger: RevocationLedger::default(),
            }),
        }
    }

    pub(crate) fn session(&self) -> &Session {
        &self.session
    }

    /// The entries the request's cookie carried.
    pub(crate) fn loaded_entries(&self) -> &Entries {
        &self.loaded
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
        self.outcome().ledger.unchecked_id = Some(id);
    }

    /// The `Set-Cookie` values this config's response carries (one, or the chunks and
    /// their removals), taking the pending change and leaving the decision standing; `None`
    /// when the cookie stays as it is. A `failed` response (a 5xx, an error) changes no
    /// session, as in Microdot.
    pub(crate) fn take_set_cookies(&self, failed: bool) -> Option<SetCookies> {
        let pending = std::mem::replace(&mut self.outcome().cookie.pending, Pending::Untouched);
        if matches!(pending, Pending::Untouched) {
            return None;
        }
        if failed {
            tracing::debug!("dropping the session cookie of a failed response");
            return None;
        }
        match pending {
            Pending::Save { set_cookies } => Some(set_cookies),
            Pending::Reissue { data, refresh } => self
                .reissue(data.map(), refresh)
                .inspect_err(|err| tracing::warn!("cannot re-issue the session cookie: {err}"))
                .ok(),
            Pending::Delete => {
                let config = self.session.config();
                Some(config.chunks.removals(&config.cookie))
            }
            Pending::Untouched => None,
        }
    }

    /// The generation handles loaded now belong to (see `CookieDecision::generation`).
    pub(crate) fn generation(&self) -> u64 {
        self.outcome().cookie.generation
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
        let merged = self.with_offered_login(data);
        let data = merged.as_ref().unwrap_or(data);
        let (renewed, id) = {
            let mut outcome = self.outcome();
            let id = self.id_for_save(&mut outcome.cookie, data);
            (outcome.cookie.renewed, id)
        };
        let (token, set_cookies) = self.encode(data, self.times_for_save(renewed), id.as_ref())?;
        let cookie = &mut self.outcome().cookie;
        cookie.written = Written::Token(token);
        cookie.pending = Pending::Save { set_cookies };
        cookie.decided = true;
        Ok(())
    }

    /// A login restored in this request survives the handler's own save (unless it starts
    /// a new session): `data` with the entries the layer added where it has none of its own,
    /// or `None` when there is nothing to add.
    fn with_offered_login(&self, data: &Map<String, Value>) -> Option<Map<String, Value>> {
        let outcome = self.outcome();
        let (_, added) = outcome.cookie.offered.as_ref()?;
        if outcome.cookie.renewed || added.keys().all(|key| data.contains_key(key)) {
            return None;
        }
        let mut with_login = data.clone();
        for (key, value) in added {
            with_login
                .entry(key.clone())
                .or_insert_with(|| value.clone());
        }
        Some(with_login)
    }

    /// The token id a save writes under a revocation store: the loaded one, or after
    /// `renew()`/`delete()` (or with none loaded) one minted once for this request.
    fn id_for_save(
        &self,
        cookie: &mut CookieDecision,
        data: &Map<String, Value>,
    ) -> Option<TokenId> {
        let config = self.session.config();
        if !config.revocation.is_enabled() {
            return None;
        }
        match &self.loaded_id {
            Some(id) if !cookie.renewed => Some(id.clone()),
            _ => Some(
                cookie
                    .fresh_id
                    .get_or_insert_with(|| self.session.mint_id(data))
                    .clone(),
            ),
        }
    }

    /// `#[with_session(autosave)]`: saves `data` unless a `save()`, `delete()` or earlier
    /// autosave already decided this request's cookie. Runs on drop, so a failure can only
    /// be logged.
    pub(crate) fn autosave(&self, generation: u64, data: &Map<String, Value>) {
        if self.outcome().cookie.decided {
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
        let cookie = &mut self.outcome().cookie;
        cookie.pending = Pending::Delete;
        cookie.written = Written::Deleted;
        cookie.decided = true;
        cookie.replace_session()
    }

    /// Makes the next save start a new session (see `SessionDict::renew`); returns the new
    /// generation.
    pub(crate) fn renew(&self) -> u64 {
        self.outcome().cookie.replace_session()
    }

    /// Schedules `data` as a re-issue is scheduled: written unless this request decides the
    /// cookie, since any save, delete or autosave replaces it. For changes the library makes
    /// on the app's behalf (a login restored from the remember cookie), which must never
    /// cost the handler its own changes.
    /// `added` are the entries of `data` the layer added, which later saves keep; `from`,
    /// when the offer comes from a side token, its id (see [`Self::restored_id`]).
    #[cfg_attr(not(feature = "login"), allow(dead_code))]
    pub(crate) fn offer(
        &self,
        data: Map<String, Value>,
        added: Map<String, Value>,
        from: Option<&TokenId>,
    ) {
        let restored = from
            .filter(|_| self.session.config().revocation.is_enabled())
            .map(|from| self.restored_id(from, &data));
        let cookie = &mut self.outcome().cookie;
        if restored.is_some() {
            cookie.fresh_id = restored;
        }
        cookie.offered = Some((data.clone(), added));
        if !cookie.decided {
            cookie.pending = Pending::Reissue {
                data: Entries::Parsed(data),
                refresh: true,
            };
        }
    }

    /// The id of a session restored from side token `from`: a fresh `jti`, minted when
    /// `from` was and in its user's `revoke_user` generation (else the one the store knows
    /// now), so that whatever denies `from` denies the session too, under any clock skew.
    fn restored_id(&self, from: &TokenId, data: &Map<String, Value>) -> TokenId {
        let minted = self.session.mint_id(data);
        TokenId {
            minted_ms: from.minted_ms.or(minted.minted_ms),
            generation: from.generation.or(minted.generation),
            ..minted
        }
    }

    /// The entries this request has written or offered so far (a save's snapshot, a
    /// delete's nothing, a layer's offer), or `None` when it has not touched them: what a
    /// partial save (a `TypedSession`, a view of some entries) and a later load build on.
    /// Only a token this request wrote itself is decoded again, never the request's own.
    pub(crate) fn latest_entries(&self) -> Option<Entries> {
        let outcome = self.outcome();
        match &outcome.cookie.written {
            Written::Token(token) => {
                let token = token.clone();
                drop(outcome);
                Some(
                    self.session
                        .config()
                        .verify(&token)
                        .map(|saved| saved.data)
                        .unwrap_or_default(),
                )
            }
            Written::Deleted => Some(Entries::default()),
            Written::Nothing => outcome
                .cookie
                .offered
                .as_ref()
                .map(|(data, _)| Entries::Parsed(data.clone())),
        }
    }

    /// Denies `jti`, the id of another token of this config (a layer's side token), for
    /// `ttl` when this request's revocations are written.
    #[cfg_attr(not(feature = "login"), allow(dead_code))]
    pub(crate) fn retire(&self, jti: String, ttl: Duration) {
        self.outcome().ledger.retired.push((jti, ttl));
    }

    /// The token ids this request owes the store, each with its entry's lifetime: the
    /// loaded one, once the request deleted the session or saved it renewed, and those it
    /// [retired](Self::retire). Marks them as revoked.
    fn take_revocations(&self) -> Vec<(String, Duration)> {
        let outcome = &mut *self.outcome();
        let replaced = outcome.cookie.replaces_loaded();
        outcome.ledger.take(
            self.loaded_id.as_ref(),
            replaced,
            self.session.revocation_ttl(),
        )
    }

    /// Writes the revocations this request owes, before its response is sent: with
    /// `#[with_session]` this runs when the handler returns, so a logged-out cookie is dead
    /// everywhere by the time the browser sees the response. Nothing to do, and no store
    /// call, when the request did not replace its token.
    pub(crate) async fn settle(&self) {
        for (jti, ttl) in self.take_revocations() {
            self.session
                .config()
                .revocation
                .revoke_token(&jti, ttl)
                .await;
        }
    }

    /// [`settle`](Self::settle) for a response built synchronously (`Session::apply`),
    /// where the store can record without waiting. When it cannot, nothing is reported as
    /// done: [`SessionError::NeedsAsyncApply`], and what is still owed stays owed (a later
    /// `apply_async` writes it).
    pub(crate) fn settle_now(&self) -> Result<(), SessionError> {
        let revocation = &self.session.config().revocation;
        let mut owed = self.take_revocations();
        let Some(failed) = owed
            .iter()
            .position(|(jti, ttl)| !revocation.revoke_token_now(jti, *ttl))
        else {
            return Ok(());
        };
        let unsent = owed.split_off(failed);
        let ledger = &mut self.outcome().ledger;
        let loaded = self.loaded_id.as_ref().or(ledger.unchecked_id.as_ref());
        let loaded_jti = loaded.map(|id| id.jti.clone());
        ledger.restore(loaded_jti.as_deref(), unsent);
        Err(SessionError::NeedsAsyncApply)
    }

    /// The managed claims of a save now: a renewed session starts afresh.
    fn times_for_save(&self, renewed: bool) -> SavedTimes {
        let loaded = if renewed {
            Times::default()
        } else {
            self.loaded_times
        };
        self.session.times_for_save(loaded)
    }

    /// The `Set-Cookie` value that re-issues the loaded session: a refresh takes fresh
    /// times as a save does; a rotation only changes the key, keeping every time claim.
    /// Both keep the token id, so a re-issue cannot revive a revoked session.
    pub(crate) fn reissue(
        &self,
        data: &Map<String, Value>,
        refresh: bool,
    ) -> Result<SetCookies, SessionError> {
        let times = if refresh {
            self.times_for_save(false)
        } else {
            self.loaded_times.as_saved()
        };
        // A login restored on the app's behalf (`offer`) has no loaded id: it gets a fresh one.
        let id = match &self.loaded_id {
            Some(id) => Some(id.clone()),
            None => self.id_for_save(&mut self.outcome().cookie, data),
        };
        self.encode(data, times, id.as_ref())
            .map(|(_, set_cookies)| set_cookies)
    }

    fn encode(
        &self,
        data: &Map<String, Value>,
        times: SavedTimes,
        id: Option<&TokenId>,
    ) -> Result<(String, SetCookies), SessionError> {
        self.session.issue_session(data, times, id)
    }
}

impl Session {
    /// The token and `Set-Cookie` values for session `data` with `times` (and, under a
    /// revocation store, the token id `id`): every session token is issued here.
    pub(crate) fn issue_session(
        &self,
        data: &Map<String, Value>,
        times: SavedTimes,
        id: Option<&TokenId>,
    ) -> Result<(String, SetCookies), SessionError> {
        let config = self.config();
        config.warn_if_unrevocable(data);
        let max_age = times
            .exp
            .filter(|_| config.lifetimes.is_configured())
            .map(|exp| Duration::from_secs(exp.saturating_sub(config.now() as u64)));
        config.issue_session_cookies(&SessionClaims { data, times, id }, max_age)
    }

    /// The managed claims of a save now, building on `loaded`.
    pub(crate) fn times_for_save(&self, loaded: Times) -> SavedTimes {
        let config = self.config();
        config.lifetimes.times_for_save(loaded, config.now() as u64)
    }

    /// A new token id for a session holding `data`, under a revocation store.
    pub(crate) fn mint_id(&self, data: &Map<String, Value>) -> TokenId {
        let config = self.config();
        let user = config.revocation.user_of(data);
        config
            .revocation
            .mint(config.clock.now_ms(), user.as_deref())
    }

    /// The token a first save of `data` sends now, size checked.
    #[cfg(any(all(feature = "test-util", feature = "actix"), feature = "__internals"))]
    pub(crate) fn encode_new(&self, data: &Map<String, Value>) -> Result<String, SessionError> {
        let id = self
            .config()
            .revocation
            .is_enabled()
            .then(|| self.mint_id(data));
        self.issue_session(data, self.times_for_save(Times::default()), id.as_ref())
            .map(|(token, _)| token)
    }
}
