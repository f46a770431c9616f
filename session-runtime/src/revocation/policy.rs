//! How a config talks to its store: bounded calls, failures logged and rate-limited,
//! verdicts on verified token ids; this process's own revocations enforced here at once,
//! and an outbox that retries those the store could not record until they land.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use super::{Lookup, MemoryStore, RevocationStore};
use crate::error::StoreError;
use crate::token::claims::TokenId;
use crate::token::clock::Clock;
use crate::token::payload::Entries;

/// Default bound on one store call.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_millis(250);

/// At most one warning per this interval per config when the store fails.
const WARN_INTERVAL_MS: u64 = 10_000;

/// The most revocations the outbox holds; one more is dropped with an error log (it stays
/// enforced on this instance). At about 100 bytes each, 10 000 is about 1 MB.
pub(crate) const OUTBOX_BOUND: usize = 10_000;

/// How often the outbox retries while it holds anything.
const RETRY_EVERY: Duration = Duration::from_millis(250);

type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// [`RevocationStore`] made object-safe, so a config holds any store behind one `Arc`.
trait ErasedStore: Send + Sync {
    fn lookup<'a>(&'a self, jti: &'a str, user: Option<&'a str>) -> StoreFuture<'a, Lookup>;
    fn lookup_now(&self, jti: &str, user: Option<&str>) -> Option<Result<Lookup, StoreError>>;
    fn revoke_token<'a>(&'a self, jti: &'a str, ttl: Duration) -> StoreFuture<'a, ()>;
    fn revoke_token_now(&self, jti: &str, ttl: Duration) -> Option<Result<(), StoreError>>;
    fn revoke_user<'a>(&'a self, user: &'a str, at_ms: u64, ttl: Duration) -> StoreFuture<'a, ()>;
}

impl<S: RevocationStore> ErasedStore for S {
    fn lookup<'a>(&'a self, jti: &'a str, user: Option<&'a str>) -> StoreFuture<'a, Lookup> {
        Box::pin(RevocationStore::lookup(self, jti, user))
    }
    fn lookup_now(&self, jti: &str, user: Option<&str>) -> Option<Result<Lookup, StoreError>> {
        RevocationStore::lookup_now(self, jti, user)
    }
    fn revoke_token<'a>(&'a self, jti: &'a str, ttl: Duration) -> StoreFuture<'a, ()> {
        Box::pin(RevocationStore::revoke_token(self, jti, ttl))
    }
    fn revoke_token_now(&self, jti: &str, ttl: Duration) -> Option<Result<(), StoreError>> {
        RevocationStore::revoke_token_now(self, jti, ttl)
    }
    fn revoke_user<'a>(&'a self, user: &'a str, at_ms: u64, ttl: Duration) -> StoreFuture<'a, ()> {
        Box::pin(RevocationStore::revoke_user(self, user, at_ms, ttl))
    }
}

/// A store with what this process adds around it: its own recent revocations and the
/// outbox of those the store has not recorded yet. One per `Session::revocation` call.
struct Backend {
    store: Box<dyn ErasedStore>,
    /// Revocations made here, enforced here whatever the store answers.
    recent: MemoryStore,
    /// Set on the first revocation made here: until then reads skip `recent`.
    recent_used: AtomicBool,
    outbox: Mutex<VecDeque<Queued>>,
    /// A retry task is running (or being spawned).
    retrying: AtomicBool,
    /// Store calls are bounded by this (the config's timeout when the store was set; the
    /// retry task reads it).
    timeout: Mutex<Duration>,
    warnings: WarnLimiter,
}

/// A revocation the store has not recorded yet.
#[derive(Clone)]
struct Queued {
    what: Queue,
    /// Past this, the tokens it denies have expired: it is dropped.
    until: Instant,
}

#[derive(Clone, PartialEq, Eq)]
enum Queue {
    Token(String),
    User(String, u64),
}

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
pub(crate) enum Verdict {
    Valid,
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
        self.store = Some(Arc::new(Backend {
            store: Box::new(store),
            recent: MemoryStore::new(),
            recent_used: AtomicBool::new(false),
            outbox: Mutex::default(),
            retrying: AtomicBool::new(false),
            timeout: Mutex::new(self.timeout),
            warnings: WarnLimiter::default(),
        }));
    }

    pub(crate) fn is_enabled(&self) -> bool {
        self.store.is_some()
    }

    /// Revocations waiting in the outbox for the store to record them.
    pub(crate) fn backlog(&self) -> usize {
        self.store
            .as_ref()
            .map_or(0, |backend| backend.queue().len())
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
            Some(Ok(known)) => {
                let mine = backend
                    .recent_read("", Some(user))
                    .and_then(|mine| mine.user_revoked_at_ms);
                let generation = known.user_revoked_at_ms.max(mine).unwrap_or(0);
                id.with_generation(Some(generation))
            }
            _ => id,
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
        backend.remember(&Queue::Token(jti.to_owned()), ttl);
        if let Err(err) = self.bounded(backend.store.revoke_token(jti, ttl)).await {
            self.warn(
                &err,
                "a logged-out token is enforced here and queued for the store",
            );
            self.queue(backend, Queue::Token(jti.to_owned()), ttl);
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
        let what = Queue::Token(jti.to_owned());
        match backend.store.revoke_token_now(jti, ttl) {
            Some(Ok(())) => {
                backend.remember(&what, ttl);
                true
            }
            Some(Err(err)) => {
                self.warn(
                    &err,
                    "a logged-out token is enforced here and queued for the store",
                );
                backend.remember(&what, ttl);
                self.queue(backend, what, ttl)
            }
            None => false,
        }
    }

    /// Denies every token of `user` minted up to now (see [`RevocationStore::revoke_user`]),
    /// for `ttl`: at once on this instance, and in the store. When the store fails the
    /// cut-off stays enforced here and is queued for it, and the error is returned.
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
        let what = Queue::User(user.to_owned(), at_ms);
        backend.remember(&what, ttl);
        if let Err(err) = self
            .bounded(backend.store.revoke_user(user, at_ms, ttl))
            .await
        {
            self.queue(backend, what, ttl);
            return Err(err);
        }
        // Tokens minted in `at_ms` are denied by the `jti_ms` rule; a login after this
        // returns must mint later. A test clock only moves when told, so it is not waited for.
        while clock.is_real() && clock.now_ms() <= at_ms {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        Ok(())
    }

    /// Puts `what` in the outbox and makes sure a task retries it; `false` when it could
    /// not be queued.
    fn queue(&self, backend: &Arc<Backend>, what: Queue, ttl: Duration) -> bool {
        *backend
            .timeout
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = self.timeout;
        {
            let mut queue = backend.queue();
            if queue.len() >= OUTBOX_BOUND {
                tracing::error!(
                    bound = OUTBOX_BOUND,
                    "the revocation outbox is full: a revocation is dropped (it stays enforced \
                     on this instance only)"
                );
                return false;
            }
            queue.push_back(Queued {
                what,
                until: Instant::now() + ttl,
            });
        }
        Backend::retry(backend)
    }

    async fn bounded<T>(
        &self,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        bounded(self.timeout, call).await
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

async fn bounded<T>(
    timeout: Duration,
    call: impl Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    tokio::time::timeout(timeout, call)
        .await
        .unwrap_or_else(|_| Err(StoreError::timeout(timeout)))
}

impl Backend {
    fn queue(&self) -> MutexGuard<'_, VecDeque<Queued>> {
        // Every update is one deque operation, so a poisoned lock holds a consistent queue.
        self.outbox.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// This process's own revocations about `jti` and `user`; `None` before the first.
    fn recent_read(&self, jti: &str, user: Option<&str>) -> Option<Lookup> {
        self.recent_used
            .load(Ordering::Relaxed)
            .then(|| self.recent.read(jti, user))
    }

    fn remember(&self, what: &Queue, ttl: Duration) {
        match what {
            Queue::Token(jti) => self.recent.insert_token(jti, ttl),
            Queue::User(user, at_ms) => self.recent.raise_user(user, *at_ms, ttl),
        }
        self.recent_used.store(true, Ordering::Relaxed);
    }

    /// Spawns the retry task unless one runs; `false` without an async runtime.
    fn retry(backend: &Arc<Self>) -> bool {
        if backend.retrying.swap(true, Ordering::AcqRel) {
            return true;
        }
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                drop(runtime.spawn(Self::drain(Arc::downgrade(backend))));
                true
            }
            Err(_) => {
                backend.retrying.store(false, Ordering::Release);
                tracing::error!(
                    "a revocation could not be queued: no async runtime to write it from"
                );
                false
            }
        }
    }

    /// Retries the outbox every [`RETRY_EVERY`] until it is empty; stops early when the
    /// config is gone.
    async fn drain(backend: std::sync::Weak<Self>) {
        loop {
            let Some(this) = backend.upgrade() else {
                return;
            };
            this.retry_once().await;
            let left = this.queue().len();
            if left == 0 {
                this.retrying.store(false, Ordering::Release);
                // A revocation queued while this task was stopping finds `retrying` set
                // and relies on it: take it back when there is one.
                if this.queue().is_empty() || this.retrying.swap(true, Ordering::AcqRel) {
                    return;
                }
            } else if let Some(suppressed) = this.warnings.allow(Clock::default().now_ms()) {
                tracing::warn!(
                    backlog = left,
                    suppressed,
                    "revocations wait in the outbox for the store; retried every {} ms",
                    RETRY_EVERY.as_millis()
                );
            }
            drop(this);
            tokio::time::sleep(RETRY_EVERY).await;
        }
    }

    /// One pass over the outbox, oldest first, stopping at the first failure (the store is
    /// still down: the rest would only wait out their timeouts).
    async fn retry_once(&self) {
        let timeout = *self.timeout.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            let Some(next) = self.queue().front().cloned() else {
                return;
            };
            let now = Instant::now();
            if next.until > now {
                let ttl = next.until - now;
                let written = match &next.what {
                    Queue::Token(jti) => bounded(timeout, self.store.revoke_token(jti, ttl)).await,
                    Queue::User(user, at_ms) => {
                        bounded(timeout, self.store.revoke_user(user, *at_ms, ttl)).await
                    }
                };
                if written.is_err() {
                    return;
                }
            }
            let mut queue = self.queue();
            if queue.front().is_some_and(|first| first.what == next.what) {
                queue.pop_front();
            }
        }
    }
}

/// Lets one warning through per interval, counting those it holds back.
#[derive(Default)]
struct WarnLimiter {
    last_ms: AtomicU64,
    suppressed: AtomicU64,
}

impl WarnLimiter {
    /// `Some(number held back since the last one)` when a warning may be logged now.
    fn allow(&self, now_ms: u64) -> Option<u64> {
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
