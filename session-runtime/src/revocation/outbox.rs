//! A config's store with what this process adds around it: its own recent revocations
//! (unless the store keeps them itself) and the outbox of those the store has not
//! recorded yet, retried until they land.
//!
//! Nothing is dropped at the outbox's bound: user revocations coalesce (one entry per
//! user, whatever the number of calls), and token revocations past the bound are kept
//! only in the recent copy, which is written again, whole, once the outbox has drained.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::{Duration, Instant};

use super::policy::WarnLimiter;
use super::{Lookup, MemoryStore, RevocationStore, bounded};
use crate::error::StoreError;
use crate::token::clock::Clock;

/// The most token revocations the outbox holds one by one (about 100 bytes each, so about
/// 1 MB); past it they wait in the recent copy only, which is written again after.
pub(crate) const OUTBOX_BOUND: usize = 10_000;

/// How often the outbox retries while it holds anything.
pub(crate) const RETRY_EVERY: Duration = Duration::from_millis(250);

/// Bound on one retried write: nobody waits for it, so a slow store may take its time
/// (a write slower than the config's timeout still lands, once).
const RETRY_TIMEOUT: Duration = Duration::from_secs(2);

type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// [`RevocationStore`] made object-safe, so a config holds any store behind one `Arc`.
pub(super) trait ErasedStore: Send + Sync {
    fn lookup<'a>(&'a self, jti: &'a str, user: Option<&'a str>) -> StoreFuture<'a, Lookup>;
    fn lookup_now(&self, jti: &str, user: Option<&str>) -> Option<Result<Lookup, StoreError>>;
    fn revoke_token<'a>(&'a self, jti: &'a str, ttl: Duration) -> StoreFuture<'a, ()>;
    fn revoke_token_now(&self, jti: &str, ttl: Duration) -> Option<Result<(), StoreError>>;
    fn revoke_user<'a>(
        &'a self,
        user: &'a str,
        at: u64,
        op: u64,
        ttl: Duration,
    ) -> StoreFuture<'a, ()>;
    fn keeps_own_revocations(&self) -> bool;
    fn sync(&self) -> StoreFuture<'_, ()>;
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
    fn revoke_user<'a>(
        &'a self,
        user: &'a str,
        at: u64,
        op: u64,
        ttl: Duration,
    ) -> StoreFuture<'a, ()> {
        Box::pin(RevocationStore::revoke_user_once(self, user, at, op, ttl))
    }
    fn keeps_own_revocations(&self) -> bool {
        RevocationStore::keeps_own_revocations(self)
    }
    fn sync(&self) -> StoreFuture<'_, ()> {
        Box::pin(RevocationStore::sync(self))
    }
}

/// One revocation of this process: a token id, or a user with its call's clock and id.
#[derive(Clone, PartialEq, Eq)]
pub(super) enum Revoked {
    Token(String),
    User { user: String, at_ms: u64, op: u64 },
}

/// The store of one `Session::revocation` call, shared by the config's clones.
pub(super) struct Backend {
    pub(super) store: Box<dyn ErasedStore>,
    /// Revocations made here, enforced here whatever the store answers (unused when the
    /// store keeps its own).
    recent: MemoryStore,
    /// Set on the first entry in `recent`: until then reads skip it.
    recent_used: AtomicBool,
    outbox: Mutex<Outbox>,
    /// A retry task is running (or being spawned).
    retrying: AtomicBool,
    warnings: WarnLimiter,
}

/// What waits for the store.
#[derive(Default)]
struct Outbox {
    tokens: VecDeque<(String, Instant)>,
    /// One entry per user: a later call replaces an earlier one (one new generation
    /// denies what both would).
    users: HashMap<String, (u64, u64, Instant)>,
    /// Token revocations past the bound wait in `recent`: write all of it again.
    overflowed: bool,
}

impl Outbox {
    fn len(&self) -> usize {
        self.tokens.len() + self.users.len() + usize::from(self.overflowed)
    }
}

impl Backend {
    pub(super) fn new(store: impl RevocationStore) -> Self {
        Self {
            store: Box::new(store),
            recent: MemoryStore::new(),
            recent_used: AtomicBool::new(false),
            outbox: Mutex::default(),
            retrying: AtomicBool::new(false),
            warnings: WarnLimiter::default(),
        }
    }

    fn outbox(&self) -> MutexGuard<'_, Outbox> {
        // Every update is one collection operation, so a poisoned lock holds a consistent
        // outbox.
        self.outbox.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Revocations waiting for the store (an overflow counts as one).
    pub(super) fn backlog(&self) -> usize {
        self.outbox().len()
    }

    /// This process's own revocations about `jti` and `user`; `None` before the first.
    pub(super) fn recent_read(&self, jti: &str, user: Option<&str>) -> Option<Lookup> {
        self.recent_used
            .load(Ordering::Relaxed)
            .then(|| self.recent.read(jti, user))
    }

    /// Enforces `what` here from now on, unless the store does it itself; always under
    /// `fail_open`, where a failing store's answer is not asked for.
    pub(super) fn remember(&self, what: &Revoked, ttl: Duration, fail_open: bool) {
        if fail_open || !self.store.keeps_own_revocations() {
            self.keep(what, ttl);
        }
    }

    fn keep(&self, what: &Revoked, ttl: Duration) {
        match what {
            Revoked::Token(jti) => self.recent.insert_token(jti, ttl),
            Revoked::User { user, at_ms, .. } => self.recent.raise_user(user, *at_ms, ttl),
        }
        self.recent_used.store(true, Ordering::Relaxed);
    }

    /// Writes `what` to the store, within `limit`.
    async fn write(
        &self,
        what: &Revoked,
        ttl: Duration,
        limit: Duration,
    ) -> Result<(), StoreError> {
        let call = match what {
            Revoked::Token(jti) => self.store.revoke_token(jti, ttl),
            Revoked::User { user, at_ms, op } => self.store.revoke_user(user, *at_ms, *op, ttl),
        };
        bounded(limit, call, || write_timed_out(limit)).await
    }

    /// [`write`](Self::write), and on failure into the outbox.
    pub(super) async fn write_or_queue(
        self: &Arc<Self>,
        what: Revoked,
        ttl: Duration,
        limit: Duration,
    ) -> Result<(), StoreError> {
        let written = self.write(&what, ttl, limit).await;
        if written.is_err() {
            self.queue(what, ttl);
        }
        written
    }

    /// Puts `what` in the outbox and makes sure a task retries it; `false` without an async
    /// runtime to retry from (it stays enforced here).
    pub(super) fn queue(self: &Arc<Self>, what: Revoked, ttl: Duration) -> bool {
        let until = Instant::now() + ttl;
        let overflowed = {
            let mut outbox = self.outbox();
            match what.clone() {
                Revoked::User { user, at_ms, op } => {
                    let entry = outbox.users.entry(user).or_insert((at_ms, op, until));
                    *entry = (entry.0.max(at_ms), op, entry.2.max(until));
                    false
                }
                Revoked::Token(jti) if outbox.tokens.len() < OUTBOX_BOUND => {
                    outbox.tokens.push_back((jti, until));
                    false
                }
                Revoked::Token(_) => !std::mem::replace(&mut outbox.overflowed, true),
            }
        };
        if overflowed {
            tracing::error!(
                bound = OUTBOX_BOUND,
                "the revocation outbox is full: further logouts wait in this instance's copy \
                 of its revocations, written again whole once the store records writes"
            );
        }
        if matches!(what, Revoked::Token(_)) && self.outbox().overflowed {
            self.keep(&what, ttl);
        }
        Self::retry(self)
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
    async fn drain(backend: Weak<Self>) {
        loop {
            let Some(this) = backend.upgrade() else {
                return;
            };
            this.retry_once().await;
            let left = this.backlog();
            if left == 0 {
                this.retrying.store(false, Ordering::Release);
                // A revocation queued while this task was stopping finds `retrying` set
                // and relies on it: take it back when there is one.
                if this.backlog() == 0 || this.retrying.swap(true, Ordering::AcqRel) {
                    return;
                }
            } else if let Some(suppressed) = this.warnings.allow(Clock::default().now_ms()) {
                tracing::warn!(
                    backlog = left,
                    suppressed,
                    "revocations wait in the outbox for the store (kept, and enforced on this \
                     instance); retried every {} ms",
                    RETRY_EVERY.as_millis()
                );
            }
            drop(this);
            tokio::time::sleep(RETRY_EVERY).await;
        }
    }

    /// One pass over the outbox: users, then tokens oldest first, then the recent copy
    /// after an overflow; stops at the first failure (the store is still down).
    async fn retry_once(&self) -> Option<()> {
        while let Some((what, until)) = self.next_queued() {
            if let Some(ttl) = until.checked_duration_since(Instant::now()) {
                self.write(&what, ttl, RETRY_TIMEOUT).await.ok()?;
            }
            self.written(&what);
        }
        if self.outbox().overflowed {
            self.write_recent().await?;
            self.outbox().overflowed = false;
        }
        Some(())
    }

    fn next_queued(&self) -> Option<(Revoked, Instant)> {
        let outbox = self.outbox();
        if let Some((user, (at_ms, op, until))) = outbox.users.iter().next() {
            let what = Revoked::User {
                user: user.clone(),
                at_ms: *at_ms,
                op: *op,
            };
            return Some((what, *until));
        }
        let (jti, until) = outbox.tokens.front()?;
        Some((Revoked::Token(jti.clone()), *until))
    }

    /// Takes `what` out of the outbox, unless a newer call replaced it meanwhile.
    fn written(&self, what: &Revoked) {
        let mut outbox = self.outbox();
        match what {
            Revoked::User { user, op, .. } => {
                if outbox.users.get(user).is_some_and(|queued| queued.1 == *op) {
                    outbox.users.remove(user);
                }
            }
            Revoked::Token(jti) => {
                if outbox.tokens.front().is_some_and(|(first, _)| first == jti) {
                    outbox.tokens.pop_front();
                }
            }
        }
    }

    /// Writes every token revocation of the recent copy again (idempotent).
    async fn write_recent(&self) -> Option<()> {
        let (tokens, _) = self.recent.live();
        for (jti, ttl) in tokens {
            self.write(&Revoked::Token(jti), ttl, RETRY_TIMEOUT)
                .await
                .ok()?;
        }
        Some(())
    }
}

/// A write without an answer in time: it may still land, and it is retried.
pub(super) fn write_timed_out(after: Duration) -> StoreError {
    StoreError::new(format!(
        "no answer within {after:?}: the revocation may have landed; it is enforced on this \
         instance and retried until the store confirms it"
    ))
}
