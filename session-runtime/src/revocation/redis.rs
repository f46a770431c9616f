//! `RedisStore`: the revocation deny-list shared by many instances (cargo feature `redis`).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::OnceCell;

use crate::revocation::{Lookup, RevocationStore, StoreError};

/// Default key prefix: keys are `jwt-session:t:<jti>` and `jwt-session:u:<user>`.
const DEFAULT_PREFIX: &str = "jwt-session:";

/// A revocation deny-list in Redis, for many instances of an app: a logout on one is seen
/// by all at once. Needs the cargo feature `redis`.
///
/// [`RedisStore::open`] only checks the URL; the connection is made at first use, through
/// one redis-rs [`ConnectionManager`] (a multiplexed connection that reconnects on its own
/// after Redis restarts). Clones share it. Each read is one `MGET` of the token's key and
/// the user's key; each revocation one `SET .. PX`. While Redis does not answer, the
/// session config's timeout applies (see
/// [`Session::revocation_timeout`](crate::Session::revocation_timeout)).
///
/// ```
/// use std::time::Duration;
/// use jwt_session::{Session, revocation::RedisStore};
///
/// let store = RedisStore::open("redis://127.0.0.1:6379/")?.prefix("shop:sessions:");
/// let session = Session::new([7u8; 32])
///     .max_age(Duration::from_secs(3600))
///     .revocation(store)
///     .user_claim("username");
/// # drop(session);
/// # Ok::<(), jwt_session::revocation::StoreError>(())
/// ```
#[derive(Clone)]
pub struct RedisStore {
    client: redis::Client,
    connection: Arc<OnceCell<ConnectionManager>>,
    prefix: Arc<str>,
}

impl RedisStore {
    /// A store for the Redis at `url` (`redis://host:port/db`, `rediss://` for TLS when
    /// redis-rs is built with it, `redis+unix:///path`). Does not connect: it fits in
    /// `main` and in `HttpServer::new` closures, and the app starts while Redis is down.
    ///
    /// # Errors
    ///
    /// When `url` is not a Redis URL.
    ///
    /// ```
    /// assert!(jwt_session::revocation::RedisStore::open("http://example.com").is_err());
    /// ```
    pub fn open(url: &str) -> Result<Self, StoreError> {
        Ok(Self {
            client: redis::Client::open(url).map_err(StoreError::new)?,
            connection: Arc::default(),
            prefix: DEFAULT_PREFIX.into(),
        })
    }

    /// Sets the prefix of every key (default `jwt-session:`), to share one Redis database
    /// between apps whose sessions must not revoke each other's.
    ///
    /// ```
    /// let store = jwt_session::revocation::RedisStore::open("redis://127.0.0.1/")?.prefix("app-a:");
    /// # drop(store);
    /// # Ok::<(), jwt_session::revocation::StoreError>(())
    /// ```
    #[must_use]
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into().into();
        self
    }

    fn token_key(&self, jti: &str) -> String {
        format!("{}t:{jti}", self.prefix)
    }

    fn user_key(&self, user: &str) -> String {
        format!("{}u:{user}", self.prefix)
    }

    /// The shared connection, made at first use. A failed attempt leaves the cell empty,
    /// so the next request tries again.
    async fn connection(&self) -> Result<ConnectionManager, StoreError> {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Duration::from_millis(500))
            .set_number_of_retries(1)
            .set_max_delay(100);
        self.connection
            .get_or_try_init(|| ConnectionManager::new_with_config(self.client.clone(), config))
            .await
            .cloned()
            .map_err(StoreError::new)
    }

    async fn set(&self, key: String, value: u64, ttl: Duration) -> Result<(), StoreError> {
        let mut connection = self.connection().await?;
        redis::cmd("SET")
            .arg(key)
            .arg(value)
            .arg("PX")
            .arg(ttl_millis(ttl))
            .query_async::<()>(&mut connection)
            .await
            .map_err(StoreError::new)
    }
}

impl RevocationStore for RedisStore {
    async fn lookup(&self, jti: &str, user: Option<&str>) -> Result<Lookup, StoreError> {
        let mut connection = self.connection().await?;
        let mut mget = redis::cmd("MGET");
        mget.arg(self.token_key(jti));
        if let Some(user) = user {
            mget.arg(self.user_key(user));
        }
        let values: Vec<Option<u64>> = mget
            .query_async(&mut connection)
            .await
            .map_err(StoreError::new)?;
        Ok(Lookup {
            token_revoked: values.first().copied().flatten().is_some(),
            user_revoked_at_ms: values.get(1).copied().flatten(),
        })
    }

    async fn revoke_token(&self, jti: &str, ttl: Duration) -> Result<(), StoreError> {
        self.set(self.token_key(jti), 1, ttl).await
    }

    /// Keeps the later of the stored and the new time, atomically (a short Lua script).
    async fn revoke_user(&self, user: &str, at_ms: u64, ttl: Duration) -> Result<(), StoreError> {
        let mut connection = self.connection().await?;
        redis::cmd("EVAL")
            .arg(KEEP_LATEST)
            .arg(1)
            .arg(self.user_key(user))
            .arg(at_ms)
            .arg(ttl_millis(ttl))
            .query_async::<()>(&mut connection)
            .await
            .map_err(StoreError::new)
    }
}

/// Stores `ARGV[1]` unless a later time is stored; either way the entry lives `ARGV[2]` ms.
const KEEP_LATEST: &str = "if tonumber(ARGV[1]) > tonumber(redis.call('GET', KEYS[1]) or '0') \
    then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) \
    else redis.call('PEXPIRE', KEYS[1], ARGV[2]) end";

fn ttl_millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URL may hold a password: show only where it points.
        let info = self.client.get_connection_info();
        f.debug_struct("RedisStore")
            .field("addr", &info.addr.to_string())
            .field("db", &info.redis.db)
            .field("prefix", &self.prefix)
            .field("connected", &self.connection.initialized())
            .finish()
    }
}
