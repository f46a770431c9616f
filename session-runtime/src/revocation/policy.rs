//! How a config talks to its store: bounded calls, failures logged and rate-limited,
//! verdicts on verified token ids; this process's own revocations enforced here at once,
//! and an outbox that retries those the store could not record until they land.

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use super::outbox::{Backend, Revoked};
use super::{Lookup, RevocationStore, bounded};
use crate::error::StoreError;
use crate::token::claims::TokenId;
use crate::token::clock::Clock;
use crate::token::payload::Entries;

/// Default bound on one store call.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_millis(250);

/// At most one warning per this interval per config when the store fails.
const WARN_INTERVAL_MS: u64 = 10_000;

/// The longest [`Revocation::sync`] waits for the outbox, then for the store.
const SYNC_WAIT: Duration = Duration::from_secs(5);

/// The revocation settings of a config. The builder may set them in any order; the store
/// is checked against the lifetimes when the config is first used.
#[derive(Clone)]
pub(crate) struct Revocation {
    store: Option<Arc<Backend>>,
    pub(crate) user_claim: Option<String>,
    pub(crate) timeout: Duration,
    pub(crate) fail_open: bool,
    warnings: Arc<WarnLimiter>,
    /// The least a `revoke_user` entry lives, whatever the session lifetimes: a layer that
    /// issues longer-lived tokens of a user sets its horizon here, so an entry written by
    /// any process outlives those tokens.
    pub(crate) user_entry_floor: Duration,
}

/// The default [`Revocation::user_entry_floor`]: 30 days, the longest side token a layer
/// built on sessions issues by default.
pub(crate) const DEFAULT_USER_ENTRY_FLOOR: Duration = Duration::from_secs(30 * 24 * 60 * 60);

impl Default for Revocation {
    fn default() -> Self {
        Self {
            store: None,
            user_claim: None,
            timeout: DEFAULT_TIMEOUT,
            fail_open: false,
            warnings: Arc::default(),
            user_entry_floor: DEFAULT_USER_ENTRY_FLOOR,
        }
    }
}

impl fmt::Debug for Revocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Revocation")
            .field("store", &self.store.is_some())
            .field("user_claim", &self.user_claim)
            .field("timeout", &self.timeout)
            .field("fail_open", &self.fail_open)
            .field("user_entry_floor", &self.user_entry_floor)
            .field("backlog", &self.backlog())
            .finish()
    }
}

/// The key `revoke_user` files a user under: a string as it is, an integer in decimal.
pub(crate) fn user_key(value: &Value) -> Option<Cow<'_, str>> {
    match value {
        Value::String(user) => Some(Cow::Borrowed(user)),
        Value::Number(number) if number.is_i64() || number.is_u64() => {
            Some(Cow::Owned(number.to_string()))
        }
        _ => None,
    }
}

/// The verdict of the store on one verified token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Not revoked.
    Valid,
    /// Revoked, and why (for the debug log).
    Revoked(&'static str),
    /// The store failed and the config fails closed.
    Unavailable,
}

/// Whether a user's number `cut_off` denies the token `id`: by generation when the token
/// carries one (no clock compared), else by minting time.
fn user_denies(id: &TokenId, cut_off: u64) -> bool {
    match id.generation {
        Some(generation) => generation < cut_off,
        None => id.minted_ms.is_none_or(|minted| minted <= cut_off),
    }
}

impl Revocation {
    /// No store yet, and `claim` naming the user for `revoke_user`.
    pub(crate) fn with_user_claim(claim: &str) -> Self {
        Self {
            user_claim: Some(claim.to_owned()),
            ..Self::default()
        }
    }

    pub(crate) fn set_store(&mut self, store: impl RevocationStore) {
        self.store = Some(Arc::new(Backend::new(store)));
    }

    pub(crate) fn is_enabled(&self) -> bool {
        self.store.is_some()
    }

    /// Revocations waiting in the outbox for the store to record them.
    pub(crate) fn backlog(&self) -> usize {
        self.store.as_ref().map_or(0, |backend| backend.backlog())
    }

    /// The user a session belongs to: its `user_claim` entry, a string or an integer.
    pub(crate) fn user_of<'a>(&self, data: &'a Map<String, Value>) -> Option<Cow<'a, str>> {
        user_key(data.get(self.user_claim.as_deref()?)?)
    }

    /// [`user_of`](Self::user_of) for a loaded session, read from its payload without
    /// building the entries map (the read path).
    pub(crate) fn user_of_entries(&self, entries: &Entries) -> Option<String> {
        let value = entries.get(self.user_claim.as_deref()?)?;
        user_key(&value).map(Cow::into_owned)
    }

    /// A fresh token id minted at `now_ms` for a session of `user`, carrying the user's
    /// generation when the store can tell it now (else the `jti_ms` rule applies to it).
    pub(crate) fn mint(&self, now_ms: u64, user: Option<&str>) -> TokenId {
        let id = TokenId::fresh(now_ms);
        let (Some(backend), Some(user)) = (&self.store, user) else {
            return id;
        };
        match backend.store.lookup_now("", Some(user)) {
            Some(Ok(known)) => id.with_generation(Some(generation(backend, known, user))),
            _ => id,
        }
    }

    /// [`mint`](Self::mint) for a session of `user` that must carry the user's generation
    /// whatever the store (a login restored from a remember cookie): asks the store, within
    /// the timeout, when it cannot tell at once. Without an answer the id carries none (the
    /// `jti_ms` rule applies to it).
    // For the per-request engine (restored logins); not wired yet.
    #[allow(dead_code)]
    pub(crate) async fn mint_for_user(&self, now_ms: u64, user: &str) -> TokenId {
        let id = self.mint(now_ms, Some(user));
        let Some(backend) = self.store.as_ref().filter(|_| id.generation.is_none()) else {
            return id;
        };
        match self.bounded(backend.store.lookup("", Some(user))).await {
            Ok(known) => id.with_generation(Some(generation(backend, known, user))),
            Err(err) => {
                self.warn(&err, "a restored login carries no generation");
                id
            }
        }
    }

    /// Asks the store about `id` and `user`, within the timeout.
    pub(crate) async fn check(&self, id: &TokenId, user: Option<&str>) -> Verdict {
        let Some(backend) = &self.store else {
            return Verdict::Valid;
        };
        let mine = backend.recent_read(&id.jti, user);
        if let Some(verdict) = self.denied(id, mine) {
            return verdict;
        }
        let answer = self.bounded(backend.store.lookup(&id.jti, user)).await;
        self.verdict(id, answer)
    }

    /// [`check`](Self::check), answered at once when the store can
    /// ([`check_now`](Self::check_now)).
    // Used by layers built on sessions (through the seam).
    #[cfg_attr(not(feature = "login"), allow(dead_code))]
    pub(crate) async fn judge(&self, id: &TokenId, user: Option<&str>) -> Verdict {
        match self.check_now(id, user) {
            Some(verdict) => verdict,
            None => self.check(id, user).await,
        }
    }

    /// [`check`](Self::check) without waiting, for stores that answer at once
    /// ([`RevocationStore::lookup_now`]); `None` when the store must be awaited.
    pub(crate) fn check_now(&self, id: &TokenId, user: Option<&str>) -> Option<Verdict> {
        let backend = self.store.as_ref()?;
        let mine = backend.recent_read(&id.jti, user);
        if let Some(verdict) = self.denied(id, mine) {
            return Some(verdict);
        }
        let answer = backend.store.lookup_now(&id.jti, user)?;
        Some(self.verdict(id, answer))
    }

    /// `Some` when this process's own revocations deny `id`.
    fn denied(&self, id: &TokenId, mine: Option<Lookup>) -> Option<Verdict> {
        match self.verdict(id, Ok(mine?)) {
            Verdict::Valid => None,
            verdict => Some(verdict),
        }
    }

    fn verdict(&self, id: &TokenId, answer: Result<Lookup, StoreError>) -> Verdict {
        match answer {
            Ok(lookup) if lookup.token_revoked => Verdict::Revoked("token revoked"),
            Ok(Lookup {
                user_revoked_at_ms: Some(at),
                ..
            }) if user_denies(id, at) => Verdict::Revoked("all sessions of the user revoked"),
            Ok(_) => Verdict::Valid,
            Err(err) if self.fail_open => {
                self.warn(&err, "treating the session as valid (fail open)");
                Verdict::Valid
            }
            Err(err) => {
                self.warn(&err, "treating the session as empty (fail closed)");
                Verdict::Unavailable
            }
        }
    }

    /// Denies `jti` for the longest lifetime `ttl`: at once on this instance, and in the
    /// store, or through the outbox when the store does not record it now (the response
    /// that logs out cannot wait for a store that does not answer).
    pub(crate) async fn revoke_token(&self, jti: &str, ttl: Duration) {
        let Some(backend) = &self.store else { return };
        let what = Revoked::Token(jti.to_owned());
        backend.remember(&what, ttl, self.fail_open);
        if let Err(err) = backend.write_or_queue(what, ttl, self.timeout).await {
            self.warn(
                &err,
                "a logged-out token is enforced here and queued for the store",
            );
        }
    }

    /// [`revoke_token`](Self::revoke_token) without waiting, for a response built
    /// synchronously (`Session::apply`): `true` once the store recorded it at once
    /// ([`RevocationStore::revoke_token_now`]), or tried and failed (then, as with
    /// `revoke_token`, it is enforced here and queued); `false`, with nothing done, when the
    /// store must be awaited, so that the caller refuses the logout rather than report it.
    pub(crate) fn revoke_token_now(&self, jti: &str, ttl: Duration) -> bool {
        let Some(backend) = &self.store else {
            return true;
        };
        let what = Revoked::Token(jti.to_owned());
        match backend.store.revoke_token_now(jti, ttl) {
            Some(Ok(())) => {
                backend.remember(&what, ttl, self.fail_open);
                true
            }
            Some(Err(err)) => {
                self.warn(
                    &err,
                    "a logged-out token is enforced here and queued for the store",
                );
                backend.remember(&what, ttl, self.fail_open);
                backend.queue(what, ttl)
            }
            None => false,
        }
    }

    /// Denies every token of `user` minted up to now (see [`RevocationStore::revoke_user`]),
    /// for `ttl`: at once on this instance, and in the store. When the store fails the
    /// cut-off stays enforced here and is queued for it (retries move the user's
    /// generation once: [`RevocationStore::revoke_user_once`]), and the error is returned.
    pub(crate) async fn revoke_user(
        &self,
        user: &str,
        ttl: Duration,
        clock: &Clock,
    ) -> Result<(), StoreError> {
        let Some(backend) = &self.store else {
            return Ok(());
        };
        let at_ms = clock.now_ms();
        let what = Revoked::User {
            user: user.to_owned(),
            at_ms,
            op: fresh_op(),
        };
        backend.remember(&what, ttl, self.fail_open);
        backend.write_or_queue(what, ttl, self.timeout).await?;
        // Tokens minted in `at_ms` are denied by the `jti_ms` rule; a login after this
        // returns must mint later. A test clock only moves when told, so it is not waited for.
        while clock.is_real() && clock.now_ms() <= at_ms {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        Ok(())
    }

    /// Returns once this config's outbox is empty and its store has seen every revocation
    /// written before the call ([`RevocationStore::sync`]), within 5 s.
    pub(crate) async fn sync(&self) -> Result<(), StoreError> {
        let Some(backend) = &self.store else {
            return Ok(());
        };
        let deadline = Instant::now() + SYNC_WAIT;
        while backend.backlog() > 0 {
            if Instant::now() >= deadline {
                return Err(StoreError::new(format!(
                    "{} revocations still wait in the outbox after {SYNC_WAIT:?}",
                    backend.backlog()
                )));
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        bounded(left, backend.store.sync(), || {
            StoreError::timeout(SYNC_WAIT)
        })
        .await
    }

    async fn bounded<T>(
        &self,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        bounded(self.timeout, call, || StoreError::timeout(self.timeout)).await
    }

    fn warn(&self, err: &StoreError, consequence: &str) {
        if let Some(suppressed) = self.warnings.allow(Clock::default().now_ms()) {
            tracing::warn!(
                suppressed,
                "{err}; {consequence} (at most one such warning every {} s)",
                WARN_INTERVAL_MS / 1000
            );
        }
    }
}

/// The generation a token of `user` minted now carries: the store's `known` number, or this
/// process's own when higher.
fn generation(backend: &Backend, known: Lookup, user: &str) -> u64 {
    let mine = backend
        .recent_read("", Some(user))
        .and_then(|mine| mine.user_revoked_at_ms);
    known.user_revoked_at_ms.max(mine).unwrap_or(0)
}

/// A random id for one `revoke_user` call, the same on each of its retries.
fn fresh_op() -> u64 {
    let mut bytes = [0u8; 8];
    // As for token ids: the OS RNG failing is practically unreachable.
    getrandom::getrandom(&mut bytes).expect("the OS random number generator failed");
    u64::from_le_bytes(bytes)
}

/// Lets one warning through per interval, counting those it holds back.
#[derive(Default)]
pub(super) struct WarnLimiter {
    last_ms: AtomicU64,
    suppressed: AtomicU64,
}

impl WarnLimiter {
    /// `Some(number held back since the last one)` when a warning may be logged now.
    pub(super) fn allow(&self, now_ms: u64) -> Option<u64> {
        let last = self.last_ms.load(Ordering::Relaxed);
        let due = last == 0 || now_ms.saturating_sub(last) >= WARN_INTERVAL_MS;
        if due
            && self
                .last_ms
                .compare_exchange(last, now_ms, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            return Some(self.suppressed.swap(0, Ordering::Relaxed));
        }
        self.suppressed.fetch_add(1, Ordering::Relaxed);
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warnings_are_rate_limited() {
        let limiter = WarnLimiter::default();
        assert_eq!(limiter.allow(1_000_000), Some(0));
        assert_eq!(limiter.allow(1_000_001), None);
        assert_eq!(limiter.allow(1_000_002), None);
        assert_eq!(limiter.allow(1_000_000 + WARN_INTERVAL_MS), Some(2));
    }
}
