//! How a config talks to its store: one bounded round trip per read, failures logged and
//! rate-limited, verdicts on verified token ids.

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{Map, Value};

use super::{Lookup, RevocationStore};
use crate::error::StoreError;
use crate::token::claims::TokenId;
use crate::token::clock::Clock;

/// Default bound on one store call.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_millis(250);

/// At most one warning per this interval per config when the store fails.
const WARN_INTERVAL_MS: u64 = 10_000;

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

/// The revocation settings of a config. The builder may set them in any order; the store
/// is checked against the lifetimes when the config is first used.
#[derive(Clone)]
pub(crate) struct Revocation {
    store: Option<Arc<dyn ErasedStore>>,
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

impl Revocation {
    /// No store yet, and `claim` naming the user for `revoke_user`.
    pub(crate) fn with_user_claim(claim: &str) -> Self {
        Self {
            user_claim: Some(claim.to_owned()),
            ..Self::default()
        }
    }

    pub(crate) fn set_store(&mut self, store: impl RevocationStore) {
        self.store = Some(Arc::new(store));
    }

    pub(crate) fn is_enabled(&self) -> bool {
        self.store.is_some()
    }

    /// The user a session belongs to: its `user_claim` entry, a string or an integer.
    pub(crate) fn user_of<'a>(&self, data: &'a Map<String, Value>) -> Option<Cow<'a, str>> {
        user_key(data.get(self.user_claim.as_deref()?)?)
    }

    /// Asks the store about `id` and `user`, within the timeout.
    pub(crate) async fn check(&self, id: &TokenId, user: Option<&str>) -> Verdict {
        let Some(store) = &self.store else {
            return Verdict::Valid;
        };
        let answer = self.bounded(store.lookup(&id.jti, user)).await;
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
        let answer = self.store.as_ref()?.lookup_now(&id.jti, user)?;
        Some(self.verdict(id, answer))
    }

    fn verdict(&self, id: &TokenId, answer: Result<Lookup, StoreError>) -> Verdict {
        match answer {
            Ok(lookup) if lookup.token_revoked => Verdict::Revoked("token revoked"),
            Ok(Lookup {
                user_revoked_at_ms: Some(at),
                ..
            }) if id.minted_ms.is_none_or(|minted| minted <= at) => {
                Verdict::Revoked("all sessions of the user revoked")
            }
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

    /// Denies `jti` for the longest lifetime `ttl`; failures are logged, since the
    /// response that logs out cannot wait for a store that does not answer.
    /// [`revoke_token`](Self::revoke_token) without waiting, for a synchronous logout:
    /// `false` when the store must be awaited, and nothing was written.
    pub(crate) fn revoke_token_now(&self, jti: &str, ttl: Duration) -> bool {
        let Some(store) = &self.store else {
            return true;
        };
        match store.revoke_token_now(jti, ttl) {
            Some(Ok(())) => true,
            Some(Err(err)) => {
                self.warn(&err, "a logged-out token could not be revoked");
                true
            }
            None => false,
        }
    }

    pub(crate) async fn revoke_token(&self, jti: &str, ttl: Duration) {
        let Some(store) = &self.store else { return };
        if let Err(err) = self.bounded(store.revoke_token(jti, ttl)).await {
            self.warn(&err, "a logged-out token could not be revoked");
        }
    }

    /// Denies every token of `user` minted up to now on `clock`, for `ttl`.
    pub(crate) async fn revoke_user(
        &self,
        user: &str,
        ttl: Duration,
        clock: &Clock,
    ) -> Result<(), StoreError> {
        let Some(store) = &self.store else {
            return Ok(());
        };
        let at_ms = clock.now_ms();
        self.bounded(store.revoke_user(user, at_ms, ttl)).await?;
        // Tokens minted in `at_ms` are denied; a login after this returns must mint later.
        // A test clock only moves when told, so it is not waited for.
        while clock.is_real() && clock.now_ms() <= at_ms {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        Ok(())
    }

    async fn bounded<T>(
        &self,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        tokio::time::timeout(self.timeout, call)
            .await
            .unwrap_or_else(|_| Err(StoreError::timeout(self.timeout)))
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
