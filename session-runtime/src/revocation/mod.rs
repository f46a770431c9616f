//! Revocation: a small deny-list, written only by logouts, that a signed cookie is checked
//! against. Part of the token core: nothing here knows actix-web.
//!
//! [`RevocationStore`] is the seam to a backend; `policy` is how a config talks to a store
//! (bounded calls, failures logged and rate-limited, verdicts), `outbox` what the config
//! adds around its store (its own recent revocations, and an outbox retrying those the
//! store missed); `memory` and `redis` are the stores shipped (`redis` keeps a local
//! replica current through pub/sub and a heartbeat that writes).
//!
//! # Guarantees
//!
//! When a revoked cookie is refused (`h` is `RedisStore::heartbeat`, 500 ms by default;
//! "closed": an empty session, or accepted under `revocation_fail_open(true)`, except the
//! instance's own revocations, which are always refused):
//!
//! | Case | Refused | Measured (tests, `h` = 100 ms, loopback) |
//! |---|---|---|
//! | the instance that revoked | its next request, whatever the store does | |
//! | other instances, `RedisStore` with its replica | once the publication arrives; tests wait with `Session::sync_revocations` | p99 2.2–4 ms under four writers |
//! | other instances, `per_request_lookups` | the first request after the write landed | |
//! | Redis down | closed at once | |
//! | stalled (`kill -STOP`), partitioned | closed within 2 `h` | noticed in 0.19 s |
//! | writes paused (`CLIENT PAUSE .. WRITE`) | closed within 2 `h`; open until then | noticed in 0.19 s |
//! | full (`OOM`), `READONLY`, `LOADING`, `MASTERDOWN`, `NOPERM` | closed within 2 `h` (at once where a write failed) | noticed in 0.09 s |
//! | flushed, or failed over to a lagging replica | replicas still refuse; Redis repaired from them within about `h`, `per_request_lookups` open until then | repaired in 0.09 s |
//! | failed over behind one endpoint | as read-only, then every instance follows the new primary | all on it, drained, in 0.8 s |
//! | Sentinel failover (`open_sentinel`) | as read-only; the Sentinels name the new primary | all on it, the split brain's logout written back, in 1.5 s |
//! | keys evicted (`maxmemory-policy` not `noeviction`) | **not detected** (a warning at connect): run `noeviction` | |
//!
//! After a fault, reads are trusted again once Redis has taken writes for `h` + 500 ms
//! and the replica has resynced and written back what Redis lacks; every outbox drains
//! within 250 ms of Redis taking writes. No revocation is dropped at the outbox's bound:
//! user revocations coalesce per user, token revocations past 10 000 wait in the config's
//! own copy and are written again whole. A `revoke_user` whose answer timed out says it may
//! have landed, and its retries move the user's generation once. Memory: at most about
//! 280 bytes per logout per lifetime per instance, every copy included
//! (`tests/revocation_memory.rs`). The repository's `docs/revocation.md` has the long form.

use std::future::Future;
use std::time::Duration;

pub use crate::error::StoreError;
pub use memory::MemoryStore;
// The verdict on one verified token, for the per-request code and the layers.
#[allow(unused_imports)]
pub(crate) use policy::Verdict;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use redis::RedisStore;

#[cfg(feature = "test-util")]
pub(crate) mod conformance;
mod memory;
mod outbox;
pub(crate) mod policy;
#[cfg(feature = "redis")]
mod redis;

/// Runs `call` for at most `limit`; past it, the error `timed_out` makes.
pub(crate) async fn bounded<T, E>(
    limit: Duration,
    call: impl Future<Output = Result<T, E>>,
    timed_out: impl FnOnce() -> E,
) -> Result<T, E> {
    tokio::time::timeout(limit, call)
        .await
        .unwrap_or_else(|_| Err(timed_out()))
}

/// A deny-list of token ids and users: where logouts are written and every read with a
/// session cookie is checked. [`MemoryStore`] (one process) and
/// `RedisStore` (feature `redis`, many instances) implement it.
///
/// # Writing another store
///
/// Three calls, each one round trip to your backend (and two optional ones, below):
///
/// - [`lookup`](RevocationStore::lookup) answers, for one token id and (optionally) one
///   user, whether that id was revoked and since when that user was. Read both in one
///   round trip (a pipeline, `MGET`, one `SELECT .. WHERE key IN (..)`): it runs on every
///   request that carries a session cookie.
/// - [`revoke_token`](RevocationStore::revoke_token) stores the id for `ttl`.
/// - [`revoke_user`](RevocationStore::revoke_user) moves the user's number (its cut-off,
///   also its *generation*) to `max(stored + 1, at_ms)` for `ttl`, atomically: strictly
///   above every value stored before, whatever the caller's clock says.
///
/// A store that can answer reads without waiting (in memory) also implements
/// [`lookup_now`](RevocationStore::lookup_now), so a read costs no future and no timer, and
/// [`revoke_token_now`](RevocationStore::revoke_token_now).
///
/// The user's number serves two rules. A token minted while the store answered
/// `lookup_now` carries the number it read for its user (`jti_gen`) and is denied once the
/// stored number is above it: no clock is compared. A token without it (minted by a peer,
/// or under a store that must be awaited) is denied when its minting millisecond `jti_ms`
/// is at or below the number. The contract was once "keep the larger of the stored
/// and the new `at_ms`"; a store written for it still works, but a `revoke_user` from a
/// clock behind the last one then leaves tokens minted in between valid.
///
/// Entries may be dropped once their `ttl` has passed: the tokens they deny have expired by
/// then. Return an error rather than guess when the backend cannot answer; the session
/// config bounds every call with its timeout and treats errors as "revoked" (fail closed)
/// unless configured otherwise. The futures must be `Send`.
///
/// ```
/// use std::collections::HashMap;
/// use std::sync::Mutex;
/// use std::time::Duration;
/// use jwt_session::Session;
/// use jwt_session::revocation::{Lookup, RevocationStore, StoreError};
///
/// /// A toy store that never forgets (a real one honours `ttl`).
/// #[derive(Default)]
/// struct Forever {
///     tokens: Mutex<Vec<String>>,
///     users: Mutex<HashMap<String, u64>>,
/// }
///
/// impl RevocationStore for Forever {
///     async fn lookup(&self, jti: &str, user: Option<&str>) -> Result<Lookup, StoreError> {
///         Ok(Lookup {
///             token_revoked: self.tokens.lock().unwrap().iter().any(|t| t == jti),
///             user_revoked_at_ms: user.and_then(|u| self.users.lock().unwrap().get(u).copied()),
///         })
///     }
///     async fn revoke_token(&self, jti: &str, _ttl: Duration) -> Result<(), StoreError> {
///         self.tokens.lock().unwrap().push(jti.to_owned());
///         Ok(())
///     }
///     async fn revoke_user(&self, user: &str, at_ms: u64, _ttl: Duration) -> Result<(), StoreError> {
///         let mut users = self.users.lock().unwrap();
///         let entry = users.entry(user.to_owned()).or_default();
///         *entry = (*entry + 1).max(at_ms);
///         Ok(())
///     }
/// }
///
/// let session = Session::new([7u8; 32])
///     .max_age(Duration::from_secs(3600))
///     .revocation(Forever::default());
/// # drop(session);
/// ```
pub trait RevocationStore: Send + Sync + 'static {
    /// Whether the token id `jti` is revoked, and the number `revoke_user` stored for
    /// `user`, in one round trip.
    fn lookup(
        &self,
        jti: &str,
        user: Option<&str>,
    ) -> impl Future<Output = Result<Lookup, StoreError>> + Send;

    /// [`lookup`](RevocationStore::lookup) for a store that can answer without waiting,
    /// such as one in memory: `Some(answer)` lets the request skip the async machinery (a
    /// boxed future and a timer) entirely. The default, `None`, means "await `lookup`".
    ///
    /// A mint asks it too, with an empty `jti`, for the user's number it writes into the
    /// token (`jti_gen`); answer only what is current (a replica that may have missed a
    /// write returns `None`).
    fn lookup_now(&self, jti: &str, user: Option<&str>) -> Option<Result<Lookup, StoreError>> {
        let _ = (jti, user);
        None
    }

    /// [`revoke_token`](RevocationStore::revoke_token) for a store that can record without
    /// waiting, such as one in memory: `Some(result)` lets a synchronous logout
    /// ([`Session::apply`](crate::Session::apply)) finish before its response. The default,
    /// `None`, means "await `revoke_token`", which a synchronous path refuses to skip.
    fn revoke_token_now(&self, jti: &str, ttl: Duration) -> Option<Result<(), StoreError>> {
        let _ = (jti, ttl);
        None
    }

    /// Denies the token id `jti` for `ttl`.
    fn revoke_token(
        &self,
        jti: &str,
        ttl: Duration,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Denies every token of `user` minted before this call: moves the user's number to
    /// `max(stored + 1, at_ms)` (`at_ms` is the caller's clock, Unix milliseconds), for
    /// `ttl`.
    fn revoke_user(
        &self,
        user: &str,
        at_ms: u64,
        ttl: Duration,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// [`revoke_user`](RevocationStore::revoke_user), retried safely: `op` names this one
    /// call (random, the same on every retry of it), and a store that keeps the last `op`
    /// of each user moves the number once however often the call is retried (a write whose
    /// answer was lost lands twice otherwise, and each landing is a new generation: a login
    /// made in between would be logged out). The default forgets `op`.
    fn revoke_user_once(
        &self,
        user: &str,
        at_ms: u64,
        op: u64,
        ttl: Duration,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        let _ = op;
        self.revoke_user(user, at_ms, ttl)
    }

    /// `true` when the store itself denies every revocation made through it from this
    /// process's memory, even one its backend failed to record ([`MemoryStore`], and
    /// `RedisStore` with its replica): the config then keeps no second copy of its own
    /// revocations. The default, `false`, makes the config keep one.
    fn keeps_own_revocations(&self) -> bool {
        false
    }

    /// Returns once this store has seen every revocation written to its backend, by any
    /// process, before the call: for tests that revoke on one instance and read on
    /// another. The default returns at once (right for a store that reads its backend on
    /// every lookup).
    fn sync(&self) -> impl Future<Output = Result<(), StoreError>> + Send {
        std::future::ready(Ok(()))
    }
}

/// What a store knows about one token id and one user: the answer of
/// [`RevocationStore::lookup`].
///
/// ```
/// let nothing_known = jwt_session::revocation::Lookup::default();
/// assert!(!nothing_known.token_revoked && nothing_known.user_revoked_at_ms.is_none());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Lookup {
    /// The token id was revoked (a logout, or a `renew()` that replaced it).
    pub token_revoked: bool,
    /// The number the user's latest `revoke_user` stored: its Unix millisecond or one above
    /// the number before it, whichever is larger. Tokens minted at or before it (`jti_ms`),
    /// or that carry a lower generation (`jti_gen`), are denied.
    pub user_revoked_at_ms: Option<u64>,
}
