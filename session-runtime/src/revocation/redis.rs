//! `RedisStore`: the revocation deny-list shared by many instances (cargo feature `redis`),
//! read from a local replica that Redis keeps current.
//!
//! Why pub/sub and a resync rather than server-assisted client-side caching: the deny-list
//! is tiny and written only by logouts, so holding all of it is cheaper than tracking the
//! keys each instance read (a `nil` per unknown token would have to be cached and tracked);
//! and the two failure cases are explicit here: a lost subscription ends the message
//! stream, the replica stops being trusted at that moment, and a `SCAN` after the next
//! `SUBSCRIBE` catches up whatever was published in the gap.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use futures_core::Stream;
use redis::aio::{MultiplexedConnection, PubSub};
use redis::{Msg, RedisResult};
use tokio::sync::Mutex;

use crate::revocation::{Lookup, MemoryStore, RevocationStore, StoreError};

/// Default key prefix: keys are `jwt-session:t:<jti>` and `jwt-session:u:<user>`, and
/// revocations are published on the channel `jwt-session:revocations`.
const DEFAULT_PREFIX: &str = "jwt-session:";

/// A lost link is retried this often.
const RECONNECT_EVERY: Duration = Duration::from_millis(100);

/// A quiet subscription is checked with a `PING` this often: a link that died without
/// closing (a partition) stops being trusted within about twice this.
const QUIET_CHECK: Duration = Duration::from_secs(2);

/// Bound on connecting, subscribing and each resync step.
const LINK_TIMEOUT: Duration = Duration::from_secs(2);

/// A `PTTL` of -1 (a key written without expiry, by hand): kept this long.
const NO_EXPIRY_KEPT: Duration = Duration::from_secs(31 * 24 * 60 * 60);

/// A revocation deny-list in Redis, for many instances of an app: a logout on one is seen
/// by all. Needs the cargo feature `redis`.
///
/// **Reads are local.** By default each instance keeps the whole deny-list in memory (a
/// *replica*), kept current by Redis itself: every revocation is published on the channel
/// `<prefix>revocations`, which each instance subscribes to, and a `SCAN` over the prefix
/// fills the replica after every (re)subscription. While the replica is subscribed and
/// resynced, a read makes no Redis call at all, and a mint writes the user's generation
/// (`jti_gen`) from it, which makes [`revoke_user`](crate::Session::revoke_user)
/// independent of clock skew. When the subscription is lost (Redis restarted or stopped,
/// the connection killed), the replica is not trusted until it has subscribed and
/// resynced again: meanwhile every read is one `MGET`, as with
/// [`per_request_lookups`](RedisStore::per_request_lookups), so fail closed while Redis
/// is down. After a restart that lost the data, the replica writes back what Redis lacks.
/// The replica starts at the first use from an async runtime; it holds every live entry,
/// about 100 bytes each.
///
/// **Writes** are one script each (`SET .. PX` and `PUBLISH`, atomically). The connection
/// for them and for per-request reads is one redis-rs multiplexed connection, made at first
/// use and made again after a connection error (a write retries once on a fresh one, so a
/// logout right after a Redis restart lands at once); the replica holds one pub/sub
/// connection and, while resyncing, one more. Clones share all of it. While Redis
/// does not answer, the session config's timeout applies (see
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
    /// The connection for writes and per-request reads, made at first use and dropped on a
    /// connection error, so the next call connects afresh.
    connection: Arc<Mutex<Option<MultiplexedConnection>>>,
    prefix: Arc<str>,
    /// `None` under [`per_request_lookups`](RedisStore::per_request_lookups).
    replica: Option<Arc<Replica>>,
}

/// The local copy of the deny-list.
#[derive(Default)]
struct Replica {
    entries: MemoryStore,
    /// Subscribed, and resynced since: every revocation is in `entries`.
    synced: AtomicBool,
    /// A task keeps the subscription (or is being spawned).
    listening: AtomicBool,
    /// Completed resyncs, for tests and health checks.
    resyncs: AtomicU64,
}

impl RedisStore {
    /// A store for the Redis at `url` (`redis://host:port/db`, `rediss://` for TLS when
    /// redis-rs is built with it, `redis+unix:///path`), reading from a local replica.
    /// Does not connect: it fits in `main` and in `HttpServer::new` closures, and the app
    /// starts while Redis is down.
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
            replica: Some(Arc::default()),
        })
    }

    /// Sets the prefix of every key (default `jwt-session:`), to share one Redis database
    /// between apps whose sessions must not revoke each other's. The revocation channel is
    /// `<prefix>revocations`.
    ///
    /// ```
    /// let store = jwt_session::revocation::RedisStore::open("redis://127.0.0.1/")?.prefix("app-a:");
    /// # drop(store);
    /// # Ok::<(), jwt_session::revocation::StoreError>(())
    /// ```
    #[must_use]
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into().into();
        if self.replica.is_some() {
            self.replica = Some(Arc::default());
        }
        self
    }

    /// No replica: every read with a session cookie is one `MGET` round trip (about 12 µs
    /// on loopback), and Redis sees one command per read instead of one per logout. For an
    /// instance that cannot hold a subscription open. Its revocations are still published,
    /// so the replicas of other instances see them; its mints carry no `jti_gen`, so its
    /// tokens fall under the `jti_ms` rule of `revoke_user` (clocks must agree).
    ///
    /// ```
    /// let store = jwt_session::revocation::RedisStore::open("redis://127.0.0.1/")?
    ///     .per_request_lookups();
    /// assert!(!store.is_synced());
    /// # Ok::<(), jwt_session::revocation::StoreError>(())
    /// ```
    #[must_use]
    pub fn per_request_lookups(mut self) -> Self {
        self.replica = None;
        self
    }

    /// Whether the replica is subscribed and resynced now, so reads make no Redis call.
    /// Starts it when called from an async runtime; always `false` under
    /// [`per_request_lookups`](RedisStore::per_request_lookups). For health checks and
    /// tests.
    ///
    /// ```
    /// let store = jwt_session::revocation::RedisStore::open("redis://127.0.0.1:1/")?;
    /// assert!(!store.is_synced(), "nothing listens on port 1");
    /// # Ok::<(), jwt_session::revocation::StoreError>(())
    /// ```
    #[must_use]
    pub fn is_synced(&self) -> bool {
        self.trusted_replica().is_some()
    }

    /// How many times the replica has resynced (at its first subscription and after each
    /// gap).
    ///
    /// ```
    /// let store = jwt_session::revocation::RedisStore::open("redis://127.0.0.1/")?;
    /// assert_eq!(store.resyncs(), 0);
    /// # Ok::<(), jwt_session::revocation::StoreError>(())
    /// ```
    #[must_use]
    pub fn resyncs(&self) -> u64 {
        self.replica
            .as_ref()
            .map_or(0, |replica| replica.resyncs.load(Ordering::Relaxed))
    }

    /// The replica when it can be trusted, starting its task first if none runs.
    fn trusted_replica(&self) -> Option<&Replica> {
        let replica = self.replica.as_ref()?;
        if !replica.listening.load(Ordering::Acquire) {
            self.listen(replica);
        }
        replica.synced.load(Ordering::Acquire).then_some(&**replica)
    }

    fn listen(&self, replica: &Arc<Replica>) {
        if replica.listening.swap(true, Ordering::AcqRel) {
            return;
        }
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn(keep_subscribed(
                Arc::downgrade(replica),
                self.client.clone(),
                self.prefix.clone(),
            ))),
            // Not from a runtime: the next call tries again.
            Err(_) => replica.listening.store(false, Ordering::Release),
        }
    }

    fn token_key(&self, jti: &str) -> String {
        format!("{}t:{jti}", self.prefix)
    }

    fn user_key(&self, user: &str) -> String {
        format!("{}u:{user}", self.prefix)
    }

    /// The shared connection, made at first use. A failed attempt leaves none, so the next
    /// call tries again.
    async fn connection(&self) -> Result<MultiplexedConnection, StoreError> {
        let mut slot = self.connection.lock().await;
        if let Some(connection) = &*slot {
            return Ok(connection.clone());
        }
        let connection = bounded(self.client.get_multiplexed_async_connection())
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
                self.connection.lock().await.take();
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
}

impl RevocationStore for RedisStore {
    async fn lookup(&self, jti: &str, user: Option<&str>) -> Result<Lookup, StoreError> {
        if let Some(replica) = self.trusted_replica() {
            return Ok(replica.entries.read(jti, user));
        }
        let mut mget = redis::cmd("MGET");
        mget.arg(self.token_key(jti));
        if let Some(user) = user {
            mget.arg(self.user_key(user));
        }
        let values: Vec<Option<u64>> = self.run(&mget, false).await?;
        Ok(Lookup {
            token_revoked: values.first().copied().flatten().is_some(),
            user_revoked_at_ms: values.get(1).copied().flatten(),
        })
    }

    /// From the replica while it is subscribed and resynced; `None` otherwise.
    fn lookup_now(&self, jti: &str, user: Option<&str>) -> Option<Result<Lookup, StoreError>> {
        Some(Ok(self.trusted_replica()?.entries.read(jti, user)))
    }

    async fn revoke_token(&self, jti: &str, ttl: Duration) -> Result<(), StoreError> {
        if let Some(replica) = &self.replica {
            // Held even if the write fails, so a resync can write it back.
            replica.entries.insert_token(jti, ttl);
        }
        self.run::<()>(&write_token(&self.prefix, jti, ttl), true)
            .await
    }

    /// Moves the user's number to `max(stored + 1, at_ms)` and publishes it, atomically
    /// (a short Lua script).
    async fn revoke_user(&self, user: &str, at_ms: u64, ttl: Duration) -> Result<(), StoreError> {
        // A retry after a lost answer moves the number one further: harmless.
        let stored: u64 = self
            .run(
                &write_user(&self.prefix, user, at_ms, ttl, Mode::Bump),
                true,
            )
            .await?;
        if let Some(replica) = &self.replica {
            // So a login right after this returns mints with the new number here.
            replica.entries.raise_user(user, stored, ttl);
        }
        Ok(())
    }
}

/// Sets `<prefix>t:<jti>` for at least `ttl` and publishes it.
const TOKEN_SCRIPT: &str = "local ttl = tonumber(ARGV[1]) \
    local left = redis.call('PTTL', KEYS[1]) \
    if left > ttl then ttl = left end \
    local ms = string.format('%d', ttl) \
    redis.call('SET', KEYS[1], '1', 'PX', ms) \
    redis.call('PUBLISH', ARGV[2], 't ' .. ms .. ' ' .. ARGV[3])";

/// Moves `<prefix>u:<user>` to `max(stored + 1, ARGV[1])` (`bump`, a `revoke_user`) or
/// `max(stored, ARGV[1])` (`raise`, a replica writing back what it knows), for at least
/// `ttl`; publishes and returns the number stored.
const USER_SCRIPT: &str = "local stored = tonumber(redis.call('GET', KEYS[1]) or '0') \
    local value = tonumber(ARGV[1]) \
    if ARGV[3] == 'bump' then stored = stored + 1 end \
    if stored > value then value = stored end \
    local ttl = tonumber(ARGV[2]) \
    local left = redis.call('PTTL', KEYS[1]) \
    if left > ttl then ttl = left end \
    local text = string.format('%d', value) \
    local ms = string.format('%d', ttl) \
    redis.call('SET', KEYS[1], text, 'PX', ms) \
    redis.call('PUBLISH', ARGV[4], 'u ' .. text .. ' ' .. ms .. ' ' .. ARGV[5]) \
    return text";

#[derive(Clone, Copy)]
enum Mode {
    Bump,
    Raise,
}

fn channel(prefix: &str) -> String {
    format!("{prefix}revocations")
}

fn write_token(prefix: &str, jti: &str, ttl: Duration) -> redis::Cmd {
    let mut cmd = redis::cmd("EVAL");
    cmd.arg(TOKEN_SCRIPT)
        .arg(1)
        .arg(format!("{prefix}t:{jti}"))
        .arg(ttl_millis(ttl))
        .arg(channel(prefix))
        .arg(jti);
    cmd
}

fn write_user(prefix: &str, user: &str, at: u64, ttl: Duration, mode: Mode) -> redis::Cmd {
    let mut cmd = redis::cmd("EVAL");
    cmd.arg(USER_SCRIPT)
        .arg(1)
        .arg(format!("{prefix}u:{user}"))
        .arg(at)
        .arg(ttl_millis(ttl))
        .arg(match mode {
            Mode::Bump => "bump",
            Mode::Raise => "raise",
        })
        .arg(channel(prefix))
        .arg(user);
    cmd
}

fn ttl_millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

/// Marks the replica untrusted and idle when its task ends, however it ends (a runtime
/// shutting down drops it), so the next use starts another.
struct Idle(Weak<Replica>);

impl Drop for Idle {
    fn drop(&mut self) {
        if let Some(replica) = self.0.upgrade() {
            replica.synced.store(false, Ordering::Release);
            replica.listening.store(false, Ordering::Release);
        }
    }
}

/// The replica's task: subscribe, resync, apply publications; on any gap stop trusting
/// the replica and start over. Ends when every clone of the store is gone.
async fn keep_subscribed(replica: Weak<Replica>, client: redis::Client, prefix: Arc<str>) {
    let _idle = Idle(replica.clone());
    while replica.strong_count() > 0 {
        let outcome = subscribed(&replica, &client, &prefix).await;
        if let Some(replica) = replica.upgrade() {
            replica.synced.store(false, Ordering::Release);
        }
        if let Err(err) = outcome {
            tracing::debug!("revocation replica: link lost ({err}); reads go to Redis");
        }
        tokio::time::sleep(RECONNECT_EVERY).await;
    }
}

async fn bounded<T>(call: impl Future<Output = RedisResult<T>>) -> RedisResult<T> {
    tokio::time::timeout(LINK_TIMEOUT, call)
        .await
        .unwrap_or_else(|_| {
            Err(redis::RedisError::from(std::io::Error::from(
                std::io::ErrorKind::TimedOut,
            )))
        })
}

/// One subscription, from `SUBSCRIBE` until the link is lost (`Ok` when the stream just
/// ended or the store is gone).
async fn subscribed(
    replica: &Weak<Replica>,
    client: &redis::Client,
    prefix: &str,
) -> RedisResult<()> {
    let mut pubsub = bounded(client.get_async_pubsub()).await?;
    bounded(pubsub.subscribe(channel(prefix))).await?;
    {
        let mut connection = bounded(client.get_multiplexed_async_connection()).await?;
        let Some(replica) = replica.upgrade() else {
            return Ok(());
        };
        resync(&replica, &mut connection, prefix).await?;
        // Publications made during the resync are in the stream once this answers.
        bounded(pubsub.ping::<()>()).await?;
        while let Poll::Ready(message) = poll_message(&mut pubsub) {
            let Some(message) = message else {
                return Ok(());
            };
            apply(&replica, &message);
        }
        replica.resyncs.fetch_add(1, Ordering::Relaxed);
        replica.synced.store(true, Ordering::Release);
        tracing::debug!("revocation replica: subscribed and resynced; reads are local");
    }
    loop {
        let next = std::future::poll_fn(|cx| poll_next(&mut pubsub, cx));
        match tokio::time::timeout(QUIET_CHECK, next).await {
            Ok(Some(message)) => match replica.upgrade() {
                Some(replica) => apply(&replica, &message),
                None => return Ok(()),
            },
            Ok(None) => return Ok(()),
            Err(_) if replica.strong_count() == 0 => return Ok(()),
            Err(_) => bounded(pubsub.ping::<()>()).await?,
        }
    }
}

fn poll_next(pubsub: &mut PubSub, cx: &mut Context<'_>) -> Poll<Option<Msg>> {
    let mut stream = pubsub.on_message();
    Pin::new(&mut stream).poll_next(cx)
}

/// A message already received, without waiting.
fn poll_message(pubsub: &mut PubSub) -> Poll<Option<Msg>> {
    poll_next(pubsub, &mut Context::from_waker(Waker::noop()))
}

/// Applies one publication: `t <ttl ms> <jti>` or `u <number> <ttl ms> <user>`.
fn apply(replica: &Replica, message: &Msg) {
    let Ok(text) = message.get_payload::<String>() else {
        return;
    };
    let mut parts = text.splitn(2, ' ');
    let (Some(kind), Some(rest)) = (parts.next(), parts.next()) else {
        return;
    };
    let parsed = match kind {
        "t" => rest.split_once(' ').and_then(|(ttl, jti)| {
            let ttl = Duration::from_millis(ttl.parse().ok()?);
            replica.entries.insert_token(jti, ttl);
            Some(())
        }),
        "u" => rest.split_once(' ').and_then(|(number, rest)| {
            let (ttl, user) = rest.split_once(' ')?;
            let ttl = Duration::from_millis(ttl.parse().ok()?);
            replica.entries.raise_user(user, number.parse().ok()?, ttl);
            Some(())
        }),
        _ => None,
    };
    if parsed.is_none() {
        tracing::warn!("revocation replica: ignored a malformed publication");
    }
}

/// Fills the replica from every key under `prefix`, then writes back what the replica
/// holds and Redis lacks (a restart that lost the data), publishing it.
async fn resync(
    replica: &Replica,
    connection: &mut MultiplexedConnection,
    prefix: &str,
) -> RedisResult<()> {
    let pattern = format!("{}*", glob_escape(prefix));
    let mut seen_tokens = HashSet::new();
    let mut seen_users = HashMap::new();
    let mut cursor = 0_u64;
    loop {
        let (next, keys): (u64, Vec<String>) = bounded(
            redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(1000)
                .query_async(connection),
        )
        .await?;
        if !keys.is_empty() {
            let mut pipe = redis::pipe();
            for key in &keys {
                pipe.cmd("GET").arg(key).cmd("PTTL").arg(key);
            }
            let answers: Vec<(Option<String>, i64)> = bounded(pipe.query_async(connection)).await?;
            for (key, (value, left)) in keys.iter().zip(answers) {
                let (Some(value), Some(name)) = (value, key.strip_prefix(prefix)) else {
                    continue;
                };
                let ttl = match left {
                    -1 => NO_EXPIRY_KEPT,
                    left => match u64::try_from(left) {
                        Ok(left) if left > 0 => Duration::from_millis(left),
                        _ => continue,
                    },
                };
                if let Some(jti) = name.strip_prefix("t:") {
                    replica.entries.insert_token(jti, ttl);
                    seen_tokens.insert(jti.to_owned());
                } else if let (Some(user), Ok(number)) =
                    (name.strip_prefix("u:"), value.parse::<u64>())
                {
                    replica.entries.raise_user(user, number, ttl);
                    seen_users.insert(user.to_owned(), number);
                }
            }
        }
        cursor = next;
        if cursor == 0 {
            break;
        }
    }
    let (tokens, users) = replica.entries.live();
    let mut pipe = redis::pipe();
    let mut missing = 0_usize;
    for (jti, left) in tokens.iter().filter(|(jti, _)| !seen_tokens.contains(jti)) {
        pipe.add_command(write_token(prefix, jti, *left)).ignore();
        missing += 1;
    }
    for (user, number, left) in users {
        if seen_users.get(&user).is_none_or(|seen| *seen < number) {
            pipe.add_command(write_user(prefix, &user, number, left, Mode::Raise))
                .ignore();
            missing += 1;
        }
    }
    if missing > 0 {
        tracing::warn!(
            missing,
            "revocation replica: Redis lacked revocations; wrote them back"
        );
        bounded(pipe.query_async::<()>(connection)).await?;
    }
    Ok(())
}

/// `prefix` with the glob characters of `SCAN .. MATCH` escaped.
fn glob_escape(prefix: &str) -> String {
    let mut escaped = String::with_capacity(prefix.len());
    for c in prefix.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URL may hold a password: show only where it points.
        let info = self.client.get_connection_info();
        f.debug_struct("RedisStore")
            .field("addr", &info.addr.to_string())
            .field("db", &info.redis.db)
            .field("prefix", &self.prefix)
            .field(
                "connected",
                &self.connection.try_lock().is_ok_and(|slot| slot.is_some()),
            )
            .field("replica", &self.replica.is_some())
            .field(
                "synced",
                &self
                    .replica
                    .as_ref()
                    .is_some_and(|replica| replica.synced.load(Ordering::Relaxed)),
            )
            .finish()
    }
}
