//! `MemoryStore`: the revocation deny-list of a single process.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::revocation::{Lookup, RevocationStore, StoreError};

/// Sweeps never run on maps smaller than this, so small apps never pay for one.
const MIN_SWEEP: usize = 64;

/// A revocation deny-list in this process's memory: the default for one instance.
///
/// Clones share the same list. Entries are dropped once expired: an expired entry is never
/// read, and a write that finds the list at twice its size after the last sweep drops
/// every expired entry first (amortised O(1) per write). So memory stays bounded by the
/// revocations made within one longest configured lifetime, at most twice that plus 64
/// entries, each about 100 bytes (a 22-byte token id or a user name, plus its deadline).
/// For many instances use `RedisStore` (cargo feature `redis`), which they share.
///
/// ```
/// use std::time::Duration;
/// use jwt_session::{Session, revocation::MemoryStore};
///
/// let session = Session::new([7u8; 32])
///     .max_age(Duration::from_secs(3600))
///     .revocation(MemoryStore::new())
///     .user_claim("username");
/// # drop(session);
/// ```
#[derive(Clone, Debug, Default)]
pub struct MemoryStore {
    entries: Arc<Mutex<DenyList>>,
}

/// Every live entry, with the time it has left: token ids, then users with their number
/// and the op of the call that set it.
pub(crate) type Live = (Vec<(String, Duration)>, Vec<(String, u64, u64, Duration)>);

#[derive(Debug, Default)]
struct DenyList {
    tokens: HashMap<String, Instant>,
    /// The user's number, the `op` of the call that last moved it (0: none) and when the
    /// entry expires.
    users: HashMap<String, (u64, u64, Instant)>,
    /// Entries held right after the last sweep.
    after_sweep: usize,
}

impl MemoryStore {
    /// An empty deny-list.
    ///
    /// ```
    /// let store = jwt_session::revocation::MemoryStore::new();
    /// assert_eq!(store.len(), 0);
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of entries held, expired ones not yet swept included.
    ///
    /// ```
    /// # actix_web::rt::System::new().block_on(async {
    /// use std::time::Duration;
    /// use jwt_session::{revocation::{MemoryStore, RevocationStore}};
    ///
    /// let store = MemoryStore::new();
    /// store.revoke_token("some-token-id", Duration::from_secs(60)).await?;
    /// assert_eq!(store.len(), 1);
    /// # Ok::<(), jwt_session::revocation::StoreError>(())
    /// # }).unwrap();
    /// ```
    #[must_use]
    pub fn len(&self) -> usize {
        let entries = self.lock();
        entries.tokens.len() + entries.users.len()
    }

    /// Whether no entry is held.
    ///
    /// ```
    /// assert!(jwt_session::revocation::MemoryStore::new().is_empty());
    /// ```
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, DenyList> {
        // Every update is a single map operation, so a poisoned lock holds consistent maps.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The read path, synchronous: one lock, two hash lookups, and a clock read only when an
    /// entry is found (most reads find none).
    pub(crate) fn read(&self, jti: &str, user: Option<&str>) -> Lookup {
        let entries = self.lock();
        let live = |until: &Instant| *until > Instant::now();
        let token_revoked = entries.tokens.get(jti).is_some_and(live);
        let user_revoked_at_ms = user
            .and_then(|user| entries.users.get(user))
            .filter(|(_, _, until)| live(until))
            .map(|(at, _, _)| *at);
        Lookup {
            token_revoked,
            user_revoked_at_ms,
        }
    }

    /// Denies `jti` for `ttl` (a longer deadline already held stays).
    pub(crate) fn insert_token(&self, jti: &str, ttl: Duration) {
        self.write(|entries, now| {
            let until = entries
                .tokens
                .entry(jti.to_owned())
                .or_insert(expiry(now, ttl));
            *until = (*until).max(expiry(now, ttl));
        });
    }

    /// Raises the user's cut-off to `at_ms` (never lowers it), living at least `ttl`.
    pub(crate) fn raise_user(&self, user: &str, at_ms: u64, ttl: Duration) {
        self.write(|entries, now| {
            let entry =
                entries
                    .users
                    .entry(user.to_owned())
                    .or_insert((at_ms, 0, expiry(now, ttl)));
            *entry = (entry.0.max(at_ms), entry.1, entry.2.max(expiry(now, ttl)));
        });
    }

    /// Moves the user's number to `max(held + 1, at_ms)`, living at least `ttl`: a new
    /// generation, above every one handed out, whatever this clock says; unless `op` (not
    /// 0) is the call that moved it last (a retry). Returns the number.
    pub(crate) fn bump_user(&self, user: &str, at_ms: u64, op: u64, ttl: Duration) -> u64 {
        let mut number = 0;
        self.write(|entries, now| {
            let entry = entries.users.entry(user.to_owned()).or_insert((0, 0, now));
            if op == 0 || entry.1 != op {
                entry.0 = entry.0.saturating_add(1).max(at_ms);
            }
            *entry = (entry.0, op, entry.2.max(expiry(now, ttl)));
            number = entry.0;
        });
        number
    }

    /// Every live entry with the time it has left: what a replica seeds an emptied
    /// backend with, and what an outbox that overflowed writes again.
    pub(crate) fn live(&self) -> Live {
        let now = Instant::now();
        let entries = self.lock();
        let tokens = entries
            .tokens
            .iter()
            .filter(|(_, until)| **until > now)
            .map(|(jti, until)| (jti.clone(), *until - now))
            .collect();
        let users = entries
            .users
            .iter()
            .filter(|(_, (_, _, until))| *until > now)
            .map(|(user, (at, op, until))| (user.clone(), *at, *op, *until - now))
            .collect();
        (tokens, users)
    }

    fn write(&self, change: impl FnOnce(&mut DenyList, Instant)) {
        let now = Instant::now();
        let mut entries = self.lock();
        entries.sweep_if_grown(now);
        change(&mut entries, now);
    }
}

impl DenyList {
    fn sweep_if_grown(&mut self, now: Instant) {
        let len = self.tokens.len() + self.users.len();
        if len < MIN_SWEEP.max(self.after_sweep * 2) {
            return;
        }
        self.tokens.retain(|_, until| *until > now);
        self.users.retain(|_, (_, _, until)| *until > now);
        self.after_sweep = self.tokens.len() + self.users.len();
    }
}

impl RevocationStore for MemoryStore {
    async fn lookup(&self, jti: &str, user: Option<&str>) -> Result<Lookup, StoreError> {
        Ok(self.read(jti, user))
    }

    /// Always answers: reads never wait on a memory store.
    fn lookup_now(&self, jti: &str, user: Option<&str>) -> Option<Result<Lookup, StoreError>> {
        Some(Ok(self.read(jti, user)))
    }

    async fn revoke_token(&self, jti: &str, ttl: Duration) -> Result<(), StoreError> {
        self.insert_token(jti, ttl);
        Ok(())
    }

    /// Always records at once.
    fn revoke_token_now(&self, jti: &str, ttl: Duration) -> Option<Result<(), StoreError>> {
        self.insert_token(jti, ttl);
        Some(Ok(()))
    }

    async fn revoke_user(&self, user: &str, at_ms: u64, ttl: Duration) -> Result<(), StoreError> {
        self.bump_user(user, at_ms, 0, ttl);
        Ok(())
    }

    /// Keeps each user's last `op`: a retry moves nothing.
    async fn revoke_user_once(
        &self,
        user: &str,
        at_ms: u64,
        op: u64,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        self.bump_user(user, at_ms, op, ttl);
        Ok(())
    }

    /// Every revocation made through it is held here: a config keeps no second copy.
    fn keeps_own_revocations(&self) -> bool {
        true
    }
}

/// When an entry written at `now` for `ttl` expires; a `ttl` past what `Instant` can hold
/// never expires (within a hundred years).
fn expiry(now: Instant, ttl: Duration) -> Instant {
    now.checked_add(ttl)
        .or_else(|| now.checked_add(Duration::from_secs(100 * 365 * 24 * 3600)))
        .unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        actix_web::rt::System::new().block_on(future)
    }

    #[test]
    fn expired_entries_are_not_read_and_are_swept_on_growth() {
        let store = MemoryStore::new();
        block_on(async {
            for i in 0..MIN_SWEEP {
                store
                    .revoke_token(&format!("old-{i}"), Duration::ZERO)
                    .await
                    .unwrap();
            }
            assert!(!store.read("old-0", None).token_revoked, "expired");
            assert_eq!(store.len(), MIN_SWEEP);
            store
                .revoke_token("live", Duration::from_secs(60))
                .await
                .unwrap();
        });
        assert_eq!(
            store.len(),
            1,
            "the write at the threshold swept the expired ones"
        );
        assert!(store.read("live", None).token_revoked);
    }

    #[test]
    fn each_revoke_user_raises_the_generation() {
        let store = MemoryStore::new();
        block_on(async {
            let ttl = Duration::from_secs(60);
            store.revoke_user("ann", 20, ttl).await.unwrap();
            store.revoke_user("ann", 10, ttl).await.unwrap();
        });
        // A slower clock's call still moves the user past every generation handed out.
        assert_eq!(store.read("x", Some("ann")).user_revoked_at_ms, Some(21));
        assert_eq!(store.read("x", Some("bob")).user_revoked_at_ms, None);
    }
}
