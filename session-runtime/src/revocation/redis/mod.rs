//! `RedisStore`: the revocation deny-list shared by many instances (cargo feature `redis`),
//! read from a local replica that Redis keeps current.
//!
//! Why pub/sub and a resync rather than server-assisted client-side caching: the deny-list
//! is tiny and written only by logouts, so holding all of it is cheaper than tracking the
//! keys each instance read (a `nil` per unknown token would have to be cached and tracked);
//! and the failure cases are explicit here: a lost subscription ends the message stream, a
//! heartbeat that *writes* fails when Redis stops taking writes (down, stalled, paused,
//! full, read-only), and a marker it reads shows a loss of data (a flush, a failover to a
//! replica that lagged). Each stops the replica being trusted, and a `SCAN` with a
//! write-back of what Redis lacks follows.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::sentinel::{SentinelClient, SentinelServerType};
use tokio::sync::Mutex;

use crate::revocation::{Lookup, RevocationStore, StoreError, bounded};
use link::Link;

mod cluster;
mod link;
mod scripts;

/// Default key prefix: keys are `jwt-session:t:<jti>` and `jwt-session:u:<user>`, and
/// revocations are published on the channel `jwt-session:revocations`.
const DEFAULT_PREFIX: &str = "jwt-session:";

/// Default [`RedisStore::heartbeat`].
const DEFAULT_HEARTBEAT: Duration = Duration::from_millis(500);

/// Bound on connecting, subscribing and each resync step.
const LINK_TIMEOUT: Duration = Duration::from_secs(2);

/// A revocation deny-list in Redis, for many instances of an app: a logout on one is seen
/// by all. Needs the cargo feature `redis`. What it guarantees, fault by fault, is in the
/// [module docs](crate::revocation).
///
/// **Reads are local.** By default each instance keeps the whole deny-list in memory (a
/// *replica*), kept current by Redis itself: every revocation is published on the channel
/// `<prefix>revocations`, which each instance subscribes to, and a `SCAN` over the prefix
/// fills the replica after every (re)subscription. While the replica is subscribed and
/// resynced, a read makes no Redis call at all, and a mint writes the user's generation
/// (`jti_gen`) from it, which makes [`revoke_user`](crate::Session::revoke_user)
/// independent of clock skew. When the subscription is lost, the replica is not trusted
/// until it has subscribed and resynced again: meanwhile every read is one `MGET`, as with
/// [`per_request_lookups`](RedisStore::per_request_lookups), and what the replica already
/// denies stays denied.
///
/// **A heartbeat that writes.** Every [`heartbeat`](RedisStore::heartbeat) (500 ms by
/// default) each instance writes a short-lived key and reads a marker of the data set (an
/// epoch, and a counter every revocation moves). When the write fails or takes longer than
/// the heartbeat (Redis down, stalled, paused with `CLIENT PAUSE .. WRITE`, full under
/// `maxmemory`, read-only after a failover, `LOADING`, `MASTERDOWN`, `NOPERM`), or when a
/// revocation written through this store fails, every read fails (closed, or open with
/// `revocation_fail_open`) until Redis has taken the heartbeat's writes again for a
/// heartbeat plus half a second, and the replica has resynced: a Redis that cannot record
/// logouts cannot vouch that a cookie was not logged out. When the marker shows that data
/// was lost (`FLUSHALL`, a failover to a replica that lacked recent writes), the replica
/// resyncs and writes back what Redis lacks. At connect the store reads
/// `maxmemory-policy` and logs a warning once when it evicts: run Redis with
/// `noeviction`, since an evicted entry is a revoked cookie accepted again.
///
/// **Writes** are one script each (`SET .. PX`, the counter and `PUBLISH`, atomically). The
/// connection for them and for per-request reads is one redis-rs multiplexed connection,
/// made at first use and made again after any failed write (so a connection left on a
/// primary that became a replica is replaced); the replica holds one pub/sub connection and
/// one for the heartbeat and resyncs. Clones share all of it. While Redis does not answer,
/// the session config's timeout applies (see
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
    endpoint: Endpoint,
    prefix: Arc<str>,
    link: Arc<Link>,
}

impl RedisStore {
    /// A store for the Redis at `url` (`redis://host:port/db`, `redis+unix:///path`, or
    /// `rediss://host:port/db` for TLS: the server's certificate is verified against the
    /// platform's roots, or the file `SSL_CERT_FILE` names; there is no insecure mode),
    /// reading from a local replica. Does not connect: it fits in `main` and in
    /// `HttpServer::new` closures, and the app starts while Redis is down.
    ///
    /// # Errors
    ///
    /// When `url` is not a Redis URL.
    ///
    /// ```
    /// assert!(jwt_session::revocation::RedisStore::open("http://example.com").is_err());
    /// ```
    pub fn open(url: &str) -> Result<Self, StoreError> {
        let client = redis::Client::open(url).map_err(StoreError::new)?;
        Ok(Self::on(Endpoint::Direct(Arc::new(client))))
    }

    /// A store for the primary that the Sentinels at `sentinel_urls` name for
    /// `service_name`, asked again at every (re)connect: after a failover the old
    /// primary's `READONLY` counts as an outage (see above), and the store reconnects to
    /// the new one, resyncs, and writes back what a replica that lagged lacks. Does not
    /// connect.
    ///
    /// # Errors
    ///
    /// When no URL is given or one is not a Redis URL.
    ///
    /// ```
    /// use jwt_session::revocation::RedisStore;
    ///
    /// let store = RedisStore::open_sentinel(
    ///     ["redis://10.0.0.1:26379/", "redis://10.0.0.2:26379/", "redis://10.0.0.3:26379/"],
    ///     "sessions",
    /// )?;
    /// # drop(store);
    /// assert!(RedisStore::open_sentinel(Vec::<&str>::new(), "sessions").is_err());
    /// # Ok::<(), jwt_session::revocation::StoreError>(())
    /// ```
    pub fn open_sentinel<'a>(
        sentinel_urls: impl IntoIterator<Item = &'a str>,
        service_name: &str,
    ) -> Result<Self, StoreError> {
        let urls: Vec<&str> = sentinel_urls.into_iter().collect();
        let sentinel = SentinelClient::build(urls, service_name, None, SentinelServerType::Master)
            .map_err(StoreError::new)?;
        let name = service_name.into();
        Ok(Self::on(Endpoint::Sentinel(
            Arc::new(Mutex::new(sentinel)),
            name,
        )))
    }

    /// A store for a Redis Cluster, found through any of `urls` (its nodes, `redis://` or
    /// `rediss://`). Every key carries the prefix as a hash tag (`{jwt-session:}t:<jti>`),
    /// so the whole deny-list lives in one slot: each write is one script on one node, the
    /// resync is one `SCAN` of the node that owns the slot, and revocations are published
    /// with the cluster's broadcast `PUBLISH`. The owner is asked of the nodes at every
    /// (re)connect, so a `MOVED` or a failover is followed. Does not connect.
    ///
    /// # Errors
    ///
    /// When no URL is given or one is not a Redis URL.
    ///
    /// ```
    /// use jwt_session::revocation::RedisStore;
    ///
    /// let store = RedisStore::open_cluster(["redis://10.0.0.1:7000/", "redis://10.0.0.2:7000/"])?
    ///     .prefix("shop:");
    /// # drop(store);
    /// assert!(RedisStore::open_cluster(Vec::<&str>::new()).is_err());
    /// # Ok::<(), jwt_session::revocation::StoreError>(())
    /// ```
    pub fn open_cluster<'a>(urls: impl IntoIterator<Item = &'a str>) -> Result<Self, StoreError> {
        let seeds = urls
            .into_iter()
            .map(redis::Client::open)
            .collect::<Result<Vec<_>, _>>()
            .map_err(StoreError::new)?;
        if seeds.is_empty() {
            return Err(StoreError::new(
                "open_cluster needs at least one node's URL",
            ));
        }
        Ok(Self::on(Endpoint::Cluster(Arc::new(seeds))).prefix(DEFAULT_PREFIX))
    }

    fn on(endpoint: Endpoint) -> Self {
        // For `rediss://`: rustls picks no provider by itself when the app's tree enables
        // two; one installed already (by the app, say aws-lc-rs with post-quantum key
        // exchange, which ring lacks: hence the deprecation) stays.
        #[allow(deprecated)]
        let _ = rustls::crypto::ring::default_provider().install_default();
        Self {
            endpoint,
            prefix: DEFAULT_PREFIX.into(),
            link: Arc::new(Link::new(true, DEFAULT_HEARTBEAT)),
        }
    }

    /// Sets the prefix of every key (default `jwt-session:`), to share one Redis database
    /// between apps whose sessions must not revoke each other's. The revocation channel is
    /// `<prefix>revocations`. On a cluster the prefix is a hash tag: `{<prefix>}`.
    ///
    /// ```
    /// let store = jwt_session::revocation::RedisStore::open("redis://127.0.0.1/")?.prefix("app-a:");
    /// # drop(store);
    /// # Ok::<(), jwt_session::revocation::StoreError>(())
    /// ```
    #[must_use]
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        let prefix = prefix.into();
        self.prefix = match self.endpoint {
            // One hash tag: one slot for every key, so each script touches one slot.
            Endpoint::Cluster(_) => format!("{{{prefix}}}").into(),
            _ => prefix.into(),
        };
        let (replica, heartbeat) = (self.link.replica.is_some(), self.link.heartbeat);
        self.relink(replica, heartbeat)
    }

    /// No replica: every read with a session cookie is one `MGET` round trip (about 12 µs
    /// on loopback), and Redis sees one command per read instead of one per logout. For an
    /// instance that cannot hold a subscription open. Its revocations are still published,
    /// so the replicas of other instances see them; its mints carry no `jti_gen`, so its
    /// tokens fall under the `jti_ms` rule of `revoke_user` (clocks must agree). It still
    /// runs the heartbeat, so it fails closed while Redis takes no writes; but it holds no
    /// entries, so after a loss of data it relies on instances with a replica to write
    /// them back.
    ///
    /// ```
    /// let store = jwt_session::revocation::RedisStore::open("redis://127.0.0.1/")?
    ///     .per_request_lookups();
    /// assert!(!store.is_synced());
    /// # Ok::<(), jwt_session::revocation::StoreError>(())
    /// ```
    #[must_use]
    pub fn per_request_lookups(self) -> Self {
        let heartbeat = self.link.heartbeat;
        self.relink(false, heartbeat)
    }

    /// How often the store writes its heartbeat (default 500 ms; at least 10 ms). A
    /// stalled, paused, full or read-only Redis, or a flush, is noticed within about twice
    /// this; reads are trusted again a heartbeat plus 500 ms after Redis takes writes again.
    /// Tests use a short one.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let store = jwt_session::revocation::RedisStore::open("redis://127.0.0.1/")?
    ///     .heartbeat(Duration::from_millis(100));
    /// # drop(store);
    /// # Ok::<(), jwt_session::revocation::StoreError>(())
    /// ```
    #[must_use]
    pub fn heartbeat(self, every: Duration) -> Self {
        let replica = self.link.replica.is_some();
        self.relink(replica, every.max(Duration::from_millis(10)))
    }

    fn relink(mut self, replica: bool, heartbeat: Duration) -> Self {
        self.link = Arc::new(Link::new(replica, heartbeat));
        self
    }

    /// Whether the replica is subscribed and resynced now and Redis takes writes, so reads
    /// make no Redis call. Starts it when called from an async runtime; always `false`
    /// under [`per_request_lookups`](RedisStore::per_request_lookups). For health checks
    /// and tests.
    ///
    /// ```
    /// let store = jwt_session::revocation::RedisStore::open("redis://127.0.0.1:1/")?;
    /// assert!(!store.is_synced(), "nothing listens on port 1");
    /// # Ok::<(), jwt_session::revocation::StoreError>(())
    /// ```
    #[must_use]
    pub fn is_synced(&self) -> bool {
        self.start();
        self.link.trusted().is_some()
    }

    /// How many times the replica has resynced (at its first subscription, after each gap
    /// and after each loss of data).
    ///
    /// ```
    /// let store = jwt_session::revocation::RedisStore::open("redis://127.0.0.1/")?;
    /// assert_eq!(store.resyncs(), 0);
    /// # Ok::<(), jwt_session::revocation::StoreError>(())
    /// ```
    #[must_use]
    pub fn resyncs(&self) -> u64 {
        self.link.resyncs()
    }

    /// Starts the link's task (subscription and heartbeat) unless it runs.
    fn start(&self) {
        self.link.start(&self.endpoint, &self.prefix);
    }

    /// The shared connection, made at first use. A failed attempt leaves none, so the next
    /// call tries again.
    async fn connection(&self) -> Result<MultiplexedConnection, StoreError> {
        let mut slot = self.link.connection.lock().await;
        if let Some(connection) = &*slot {
            return Ok(connection.clone());
        }
        let client = self
            .endpoint
            .client(&self.prefix)
            .await
            .map_err(StoreError::new)?;
        let connection = link::linked(client.get_multiplexed_async_connection())
            .await
            .map_err(StoreError::new)?;
        *slot = Some(connection.clone());
        Ok(connection)
    }

    /// Runs `cmd` on the shared connection; on a connection error the connection is
    /// dropped, and with `retry` the command runs once more on a fresh one.
    async fn run<T: redis::FromRedisValue>(
        &self,
        cmd: &redis::Cmd,
        retry: bool,
    ) -> Result<T, StoreError> {
        let mut connection = self.connection().await?;
        match cmd.query_async(&mut connection).await {
            Err(err) if err.is_connection_dropped() || err.is_io_error() || err.is_timeout() => {
                self.link.connection.lock().await.take();
                if !retry {
                    return Err(StoreError::new(err));
                }
                let mut connection = self.connection().await?;
                cmd.query_async(&mut connection)
                    .await
                    .map_err(StoreError::new)
            }
            answer => answer.map_err(StoreError::new),
        }
    }

    /// [`run`](Self::run) for a write: any failure (`READONLY`, `OOM`, `LOADING`, ...)
    /// counts as an outage: the connection is made afresh (it may point at a primary that
    /// became a replica) and reads stop being trusted until the heartbeat recovers.
    async fn write<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T, StoreError> {
        self.start();
        let written = self.run(cmd, true).await;
        if let Err(err) = &written {
            tracing::warn!(
                "revocation store: Redis refused a write ({err}); reads fail until it takes \
                 writes again, and the revocation stays queued"
            );
            self.link.failed();
        }
        written
    }

    /// What Redis holds for `jti` and `user`: one `MGET`.
    async fn mget(&self, jti: &str, user: Option<&str>) -> Result<Lookup, StoreError> {
        let mut mget = redis::cmd("MGET");
        mget.arg(scripts::token_key(&self.prefix, jti));
        if let Some(user) = user {
            mget.arg(scripts::user_key(&self.prefix, user));
        }
        let values: Vec<Option<String>> = self.run(&mget, false).await?;
        Ok(Lookup {
            token_revoked: values.first().is_some_and(Option::is_some),
            user_revoked_at_ms: values
                .get(1)
                .and_then(|value| scripts::user_number(value.as_deref()?)),
        })
    }
}

impl RevocationStore for RedisStore {
    async fn lookup(&self, jti: &str, user: Option<&str>) -> Result<Lookup, StoreError> {
        self.start();
        if let Some(replica) = self.link.trusted() {
            return Ok(replica.entries.read(jti, user));
        }
        // What the replica already denies stays denied, trusted or not.
        let local = self
            .link
            .replica
            .as_ref()
            .map(|r| r.entries.read(jti, user));
        if !self.link.writable() {
            return Err(StoreError::new(
                "Redis takes no writes now (down, stalled, paused, full or read-only): a \
                 revocation may be missing, so no answer is trusted",
            ));
        }
        let remote = self.mget(jti, user).await?;
        Ok(local.map_or(remote, |local| Lookup {
            token_revoked: local.token_revoked || remote.token_revoked,
            user_revoked_at_ms: local.user_revoked_at_ms.max(remote.user_revoked_at_ms),
        }))
    }

    /// From the replica while it is trusted; `None` otherwise.
    fn lookup_now(&self, jti: &str, user: Option<&str>) -> Option<Result<Lookup, StoreError>> {
        self.start();
        Some(Ok(self.link.trusted()?.entries.read(jti, user)))
    }

    async fn revoke_token(&self, jti: &str, ttl: Duration) -> Result<(), StoreError> {
        if let Some(replica) = &self.link.replica {
            // Held even if the write fails: enforced here, and a resync writes it back.
            replica.entries.insert_token(jti, ttl);
        }
        self.write::<()>(&scripts::write_token(&self.prefix, jti, ttl))
            .await
    }

    async fn revoke_user(&self, user: &str, at_ms: u64, ttl: Duration) -> Result<(), StoreError> {
        self.revoke_user_once(user, at_ms, 0, ttl).await
    }

    /// Moves the user's number to `max(stored + 1, at_ms)` and publishes it, atomically
    /// (a short Lua script), unless `op` moved it last (kept in `<prefix>o:<user>`).
    async fn revoke_user_once(
        &self,
        user: &str,
        at_ms: u64,
        op: u64,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        if let Some(replica) = &self.link.replica {
            // Enforced here even if the write fails, and written back by a resync.
            replica.entries.bump_user(user, at_ms, op, ttl);
        }
        let cmd = scripts::write_user(&self.prefix, user, at_ms, ttl, scripts::Mode::Bump(op));
        let stored: u64 = self.write(&cmd).await?;
        if let Some(replica) = &self.link.replica {
            // So a login right after this returns mints with the new number here.
            replica.entries.raise_user(user, stored, ttl);
        }
        Ok(())
    }

    /// With a replica, every revocation made through this store stays in it.
    fn keeps_own_revocations(&self) -> bool {
        self.link.replica.is_some()
    }

    /// With a replica: waits until it is trusted, then publishes a marker and waits for it
    /// (Redis delivers publications in order, so every earlier one has been applied).
    /// Without: waits until Redis takes writes.
    async fn sync(&self) -> Result<(), StoreError> {
        self.start();
        self.link.wait_trusted().await;
        if self.link.replica.is_none() {
            return Ok(());
        }
        let marker = self.link.new_marker();
        let mut publish = redis::cmd("PUBLISH");
        publish
            .arg(scripts::channel(&self.prefix))
            .arg(format!("s {marker}"));
        self.run::<()>(&publish, true).await?;
        self.link.wait_marker(marker).await;
        Ok(())
    }
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("endpoint", &self.endpoint)
            .field("prefix", &self.prefix)
            .field(
                "connected",
                &self
                    .link
                    .connection
                    .try_lock()
                    .is_ok_and(|slot| slot.is_some()),
            )
            .field("replica", &self.link.replica.is_some())
            .field("synced", &self.link.trusted().is_some())
            .field("writable", &self.link.writable())
            .finish()
    }
}

/// Where the store connects: one address, the primary Sentinel names, or the cluster node
/// that owns the store's slot.
#[derive(Clone)]
enum Endpoint {
    Direct(Arc<redis::Client>),
    Sentinel(Arc<Mutex<SentinelClient>>, Arc<str>),
    Cluster(Arc<Vec<redis::Client>>),
}

impl Endpoint {
    /// A client for the primary that holds the keys under `prefix` now.
    async fn client(&self, prefix: &str) -> redis::RedisResult<redis::Client> {
        match self {
            Self::Direct(client) => Ok(redis::Client::clone(client)),
            Self::Sentinel(sentinel, _) => {
                link::linked(async { sentinel.lock().await.async_get_client().await }).await
            }
            Self::Cluster(seeds) => cluster::slot_owner(seeds, &scripts::channel(prefix)).await,
        }
    }
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // The URL may hold a password: show only where it points.
            Self::Direct(client) => {
                let info = client.get_connection_info();
                write!(f, "{} db {}", info.addr(), info.redis_settings().db())
            }
            Self::Sentinel(_, service) => write!(f, "the primary Sentinel names {service:?}"),
            Self::Cluster(seeds) => write!(f, "a cluster, through {} nodes", seeds.len()),
        }
    }
}

/// [`bounded`] for a link step: [`LINK_TIMEOUT`] or `limit`, as an I/O timeout.
async fn within<T>(
    limit: Duration,
    call: impl Future<Output = redis::RedisResult<T>>,
) -> redis::RedisResult<T> {
    bounded(limit, call, || {
        redis::RedisError::from(std::io::Error::from(std::io::ErrorKind::TimedOut))
    })
    .await
}
