//! Revocation: a small deny-list, written only by logouts, that a signed cookie is checked
//! against. The [`RevocationStore`] trait is the seam; the rest of this module is how a
//! config talks to a store: one bounded round trip per read, failures logged, rate-limited.

use std::borrow::Cow;
use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};

/// The claim holding the millisecond a token id was minted, so that
/// [`Session::revoke_user`](crate::Session::revoke_user) can tell tokens issued just before
/// the call from a login just after it, within the same second.
pub(crate) const JTI_MS: &str = "jti_ms";

/// Default bound on one store call.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_millis(250);

/// At most one warning per this interval per config when the store fails.
const WARN_INTERVAL_MS: u64 = 10_000;

/// A deny-list of token ids and users: where logouts are written and every read with a
/// session cookie is checked. [`MemoryStore`](crate::MemoryStore) (one process) and
/// `RedisStore` (feature `redis`, many instances) implement it.
///
/// # Writing another store
///
/// Three calls, each one round trip to your backend (and an optional fourth, below):
///
/// - [`lookup`](RevocationStore::lookup) answers, for one token id and (optionally) one
///   user, whether that id was revoked and since when that user was. Read both in one
///   round trip (a pipeline, `MGET`, one `SELECT .. WHERE key IN (..)`): it runs on every
///   request that carries a session cookie.
/// - [`revoke_token`](RevocationStore::revoke_token) stores the id for `ttl`.
/// - [`revoke_user`](RevocationStore::revoke_user) stores `at_ms` for the user for `ttl`;
///   keep the larger value if one is already there.
///
/// A store that can answer reads without waiting (in memory) also implements
/// [`lookup_now`](RevocationStore::lookup_now), so a read costs no future and no timer.
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
/// use jwt_session::{Lookup, RevocationStore, Session, StoreError};
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
///         *entry = (*entry).max(at_ms);
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
    /// Whether the token id `jti` is revoked, and the latest `revoke_user` time of `user`
    /// (Unix milliseconds), in one round trip.
    fn lookup(
        &self,
        jti: &str,
        user: Option<&str>,
    ) -> impl Future<Output = Result<Lookup, StoreError>> + Send;

    /// [`lookup`](RevocationStore::lookup) for a store that can answer without waiting,
    /// such as one in memory: `Some(answer)` lets the request skip the async machinery (a
    /// boxed future and a timer) entirely. The default, `None`, means "await `lookup`".
    fn lookup_now(&self, jti: &str, user: Option<&str>) -> Option<Result<Lookup, StoreError>> {
        let _ = (jti, user);
        None
    }

    /// Denies the token id `jti` for `ttl`.
    fn revoke_token(
        &self,
        jti: &str,
        ttl: Duration,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Denies every token of `user` minted at or before `at_ms` (Unix milliseconds), for `ttl`.
    fn revoke_user(
        &self,
        user: &str,
        at_ms: u64,
        ttl: Duration,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// What a store knows about one token id and one user: the answer of
/// [`RevocationStore::lookup`].
///
/// ```
/// let nothing_known = jwt_session::Lookup::default();
/// assert!(!nothing_known.token_revoked && nothing_known.user_revoked_at_ms.is_none());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Lookup {
    /// The token id was revoked (a logout, or a `renew()` that replaced it).
    pub token_revoked: bool,
    /// The time of the user's latest `revoke_user`, in Unix milliseconds.
    pub user_revoked_at_ms: Option<u64>,
}

/// A revocation store could not answer: unreachable, timed out, or refused the command.
///
/// ```
/// let err = jwt_session::StoreError::new(std::io::Error::other("connection refused"));
/// assert_eq!(err.to_string(), "revocation store: connection refused");
/// ```
#[derive(Debug)]
pub struct StoreError(Box<dyn StdError + Send + Sync>);

impl StoreError {
    /// Wraps the backend's error.
    pub fn new(source: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        Self(source.into())
    }

    fn timeout(after: Duration) -> Self {
        Self::new(format!("no answer within {after:?}"))
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "revocation store: {}", self.0)
    }
}

impl StdError for StoreError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.0.source()
    }
}

type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// [`RevocationStore`] made object-safe, so a config holds any store behind one `Arc`.
trait ErasedStore: Send + Sync {
    fn lookup<'a>(&'a self, jti: &'a str, user: Option<&'a str>) -> StoreFuture<'a, Lookup>;
    fn lookup_now(&self, jti: &str, user: Option<&str>) -> Option<Result<Lookup, StoreError>>;
    fn revoke_token<'a>(&'a self, jti: &'a str, ttl: Duration) -> StoreFuture<'a, ()>;
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
    /// The longest lifetime of a remember cookie issued under this config, in seconds:
    /// `revoke_user` entries must outlive those cookies too.
    longest_remember: Arc<AtomicU64>,
}

impl Default for Revocation {
    fn default() -> Self {
        Self {
            store: None,
            user_claim: None,
            timeout: DEFAULT_TIMEOUT,
            fail_open: false,
            warnings: Arc::default(),
            longest_remember: Arc::default(),
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
            .finish()
    }
}

/// A token's id and the millisecond it was minted (absent on a peer's token that carries
/// only `jti`: then any `revoke_user` of its user denies it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TokenId {
    pub(crate) jti: String,
    pub(crate) minted_ms: Option<u64>,
}

impl TokenId {
    /// 128 random bits, base64url (22 characters), minted now.
    pub(crate) fn fresh() -> Self {
        let mut bytes = [0u8; 16];
        // The OS RNG failing leaves no safe way to mint ids; getrandom documents it as
        // practically unreachable on supported platforms.
        getrandom::getrandom(&mut bytes).expect("the OS random number generator failed");
        Self {
            jti: URL_SAFE_NO_PAD.encode(bytes),
            minted_ms: Some(unix_ms()),
        }
    }

    /// Writes `jti` and `jti_ms` into a token's claims: the one writer of both.
    pub(crate) fn write_claims<M: SerializeMap>(&self, map: &mut M) -> Result<(), M::Error> {
        map.serialize_entry("jti", &self.jti)?;
        if let Some(minted_ms) = self.minted_ms {
            map.serialize_entry(JTI_MS, &minted_ms)?;
        }
        Ok(())
    }

    /// Takes `jti` and `jti_ms` out of a verified payload. `Ok(None)` when there is no
    /// `jti`; an error when either has the wrong type.
    pub(crate) fn take(data: &mut Map<String, Value>) -> Result<Option<Self>, &'static str> {
        let minted_ms = match data.remove(JTI_MS) {
            None => None,
            Some(value) => Some(value.as_u64().ok_or("`jti_ms` is not a whole number")?),
        };
        match data.remove("jti") {
            None => Ok(None),
            Some(Value::String(jti)) if !jti.is_empty() => Ok(Some(Self { jti, minted_ms })),
            Some(_) => Err("`jti` is not a non-empty string"),
        }
    }
}

/// `{"jti", "jti_ms"}`, for `#[serde(flatten)]` into a token's claims.
impl Serialize for TokenId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        self.write_claims(&mut map)?;
        map.end()
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
    pub(crate) async fn revoke_token(&self, jti: &str, ttl: Duration) {
        let Some(store) = &self.store else { return };
        if let Err(err) = self.bounded(store.revoke_token(jti, ttl)).await {
            self.warn(&err, "a logged-out token could not be revoked");
        }
    }

    /// Notes that a remember cookie valid for `lifetime` was issued under this config.
    pub(crate) fn note_remember(&self, lifetime: Duration) {
        self.longest_remember
            .fetch_max(lifetime.as_secs(), Ordering::Relaxed);
    }

    /// The longest lifetime of a remember cookie issued under this config in this process.
    pub(crate) fn longest_remember(&self) -> Duration {
        Duration::from_secs(self.longest_remember.load(Ordering::Relaxed))
    }

    pub(crate) async fn revoke_user(&self, user: &str, ttl: Duration) -> Result<(), StoreError> {
        let Some(store) = &self.store else {
            return Ok(());
        };
        let at_ms = unix_ms();
        self.bounded(store.revoke_user(user, at_ms, ttl)).await?;
        // Tokens minted in `at_ms` are denied; a login after this returns must mint later.
        while unix_ms() <= at_ms {
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
        if let Some(suppressed) = self.warnings.allow(unix_ms()) {
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

pub(crate) fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fresh_ids_are_22_base64url_characters_and_distinct() {
        let (a, b) = (TokenId::fresh(), TokenId::fresh());
        assert_eq!(a.jti.len(), 22);
        assert!(
            a.jti
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
        assert_ne!(a.jti, b.jti);
        assert!(a.minted_ms.unwrap() > 1_700_000_000_000);
    }

    #[test]
    fn ids_are_taken_out_of_the_payload_and_checked() {
        let mut data = json!({"jti": "abc", "jti_ms": 5, "user": "ann"});
        let data = data.as_object_mut().unwrap();
        let id = TokenId::take(data).unwrap().unwrap();
        assert_eq!((id.jti.as_str(), id.minted_ms), ("abc", Some(5)));
        assert_eq!(data.len(), 1);
        for bad in [
            json!({"jti": 1}),
            json!({"jti": ""}),
            json!({"jti": "a", "jti_ms": -1}),
            json!({"jti": "a", "jti_ms": "5"}),
        ] {
            assert!(
                TokenId::take(&mut bad.as_object().unwrap().clone()).is_err(),
                "{bad}"
            );
        }
        assert_eq!(TokenId::take(&mut Map::new()), Ok(None));
    }

    #[test]
    fn warnings_are_rate_limited() {
        let limiter = WarnLimiter::default();
        assert_eq!(limiter.allow(1_000_000), Some(0));
        assert_eq!(limiter.allow(1_000_001), None);
        assert_eq!(limiter.allow(1_000_002), None);
        assert_eq!(limiter.allow(1_000_000 + WARN_INTERVAL_MS), Some(2));
    }
}
