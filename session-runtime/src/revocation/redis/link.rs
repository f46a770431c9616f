//! The link of a `RedisStore` to Redis: its health (does Redis take writes?), the local
//! replica and the task that keeps both current (subscription, heartbeat, resync).

use std::collections::{HashMap, HashSet};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use futures_core::Stream;
use redis::aio::{MultiplexedConnection, PubSub};
use redis::{Msg, RedisResult};

use super::scripts::{self, Mode};
use super::{Endpoint, LINK_TIMEOUT, within};
use crate::revocation::MemoryStore;
use crate::revocation::outbox::RETRY_EVERY;

/// A lost link is retried this often.
const RECONNECT_EVERY: Duration = Duration::from_millis(100);

/// A `PTTL` of -1 (a key written without expiry, by hand): kept this long.
const NO_EXPIRY_KEPT: Duration = Duration::from_secs(31 * 24 * 60 * 60);

/// After an outage, Redis must take writes this much longer than a heartbeat before reads
/// are trusted: time for every instance's outbox and write-back to land first.
const SETTLE_MARGIN: Duration = Duration::from_millis(250);

/// The longest [`Link::wait_trusted`] and [`Link::wait_marker`] wait.
const SYNC_WAIT: Duration = Duration::from_secs(5);

/// What the clones of one store share.
pub(super) struct Link {
    /// `None` under `per_request_lookups`.
    pub(super) replica: Option<Replica>,
    pub(super) heartbeat: Duration,
    /// The store's connection for writes and per-request reads, made at first use and
    /// dropped after an error or an outage, so the next call connects afresh (to the
    /// primary of now).
    pub(super) connection: tokio::sync::Mutex<Option<MultiplexedConnection>>,
    /// Redis took the last heartbeat, and no write has failed since.
    writable: AtomicBool,
    /// Since when heartbeats have succeeded after a failure (reads are trusted again once
    /// it is old enough).
    healthy_since: Mutex<Option<Instant>>,
    /// A task keeps the link (or is being spawned).
    running: AtomicBool,
    /// The eviction warning was logged.
    warned_eviction: AtomicBool,
}

/// The local copy of the deny-list.
#[derive(Default)]
pub(super) struct Replica {
    pub(super) entries: MemoryStore,
    /// Subscribed, and resynced since: every revocation is in `entries`.
    synced: AtomicBool,
    /// Completed resyncs, for tests and health checks.
    resyncs: AtomicU64,
    /// The data set's epoch at the last resync.
    epoch: Mutex<String>,
    /// The highest counter seen (resync or publication).
    seq: AtomicU64,
    /// Sync markers received.
    markers: Mutex<HashSet<u64>>,
}

/// What one heartbeat read: the data set's epoch and counter.
struct Beat {
    epoch: String,
    seq: u64,
}

impl Link {
    pub(super) fn new(replica: bool, heartbeat: Duration) -> Self {
        Self {
            replica: replica.then(Replica::default),
            heartbeat,
            connection: tokio::sync::Mutex::default(),
            writable: AtomicBool::new(true),
            healthy_since: Mutex::new(None),
            running: AtomicBool::new(false),
            warned_eviction: AtomicBool::new(false),
        }
    }

    /// The replica when reads may come from it alone.
    pub(super) fn trusted(&self) -> Option<&Replica> {
        let replica = self.replica.as_ref()?;
        (replica.synced.load(Ordering::Acquire) && self.writable()).then_some(replica)
    }

    pub(super) fn writable(&self) -> bool {
        self.writable.load(Ordering::Acquire)
    }

    pub(super) fn resyncs(&self) -> u64 {
        self.replica
            .as_ref()
            .map_or(0, |replica| replica.resyncs.load(Ordering::Relaxed))
    }

    /// Redis refused or missed a write: nothing it answers is trusted until it recovers,
    /// and the store's connection is made afresh (the primary may have moved).
    pub(super) fn failed(&self) {
        self.writable.store(false, Ordering::Release);
        *self.since() = None;
        if let Ok(mut connection) = self.connection.try_lock() {
            connection.take();
        }
    }

    /// A heartbeat landed: writable again once they have landed for the settle time.
    fn beat_landed(&self) {
        if self.writable() {
            return;
        }
        let mut since = self.since();
        let first = *since.get_or_insert_with(Instant::now);
        if first.elapsed() >= self.heartbeat + RETRY_EVERY + SETTLE_MARGIN {
            self.writable.store(true, Ordering::Release);
            *since = None;
        }
    }

    fn since(&self) -> std::sync::MutexGuard<'_, Option<Instant>> {
        self.healthy_since
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn unsync(&self) {
        if let Some(replica) = &self.replica {
            replica.synced.store(false, Ordering::Release);
        }
    }

    /// Spawns the link's task unless one runs (not from an async runtime: the next call
    /// tries again).
    pub(super) fn start(self: &Arc<Self>, endpoint: &Endpoint, prefix: &Arc<str>) {
        if self.running.swap(true, Ordering::AcqRel) {
            return;
        }
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn(keep_linked(
                Arc::downgrade(self),
                endpoint.clone(),
                prefix.clone(),
            ))),
            Err(_) => self.running.store(false, Ordering::Release),
        }
    }

    /// Waits (at most 5 s) until reads are trusted: the replica synced, or, without one,
    /// Redis taking writes.
    pub(super) async fn wait_trusted(&self) {
        let deadline = Instant::now() + SYNC_WAIT;
        while Instant::now() < deadline {
            let ready = match &self.replica {
                Some(_) => self.trusted().is_some(),
                None => self.writable(),
            };
            if ready {
                return;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    pub(super) fn new_marker(&self) -> u64 {
        let mut bytes = [0u8; 8];
        getrandom::getrandom(&mut bytes).expect("the OS random number generator failed");
        u64::from_le_bytes(bytes)
    }

    /// Waits (at most 5 s) until the replica has received `marker`.
    pub(super) async fn wait_marker(&self, marker: u64) {
        let Some(replica) = &self.replica else { return };
        let deadline = Instant::now() + SYNC_WAIT;
        while Instant::now() < deadline {
            if lock(&replica.markers).remove(&marker) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Each update is one assignment or set operation: a poisoned lock holds a whole value.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// [`within`] the link timeout.
pub(super) async fn linked<T>(call: impl Future<Output = RedisResult<T>>) -> RedisResult<T> {
    within(LINK_TIMEOUT, call).await
}

/// Marks the link untrusted and idle when its task ends, however it ends (a runtime
/// shutting down drops it), so the next use starts another.
struct Idle(Weak<Link>);

impl Drop for Idle {
    fn drop(&mut self) {
        if let Some(link) = self.0.upgrade() {
            link.unsync();
            link.running.store(false, Ordering::Release);
        }
    }
}

/// The link's task: connect, wait until Redis takes writes, (with a replica) subscribe and
/// resync, then beat; on any failure distrust and start over. Ends with the store.
async fn keep_linked(link: Weak<Link>, endpoint: Endpoint, prefix: Arc<str>) {
    let _idle = Idle(link.clone());
    while let Some(strong) = link.upgrade() {
        let with_replica = strong.replica.is_some();
        drop(strong);
        let outcome = match outage(&link, endpoint.client(&prefix).await) {
            Ok(client) if with_replica => subscribed(&link, &client, &prefix).await,
            Ok(client) => beating(&link, &client, &prefix).await,
            Err(err) => Err(err),
        };
        if let Some(strong) = link.upgrade() {
            strong.unsync();
            if let Err(err) = outcome {
                tracing::debug!("revocation link: {err}; reconnecting");
            }
        }
        tokio::time::sleep(RECONNECT_EVERY).await;
    }
}

/// `answer`, after marking an outage when it failed: Redis unreachable, or taking no writes.
fn outage<T>(link: &Weak<Link>, answer: RedisResult<T>) -> RedisResult<T> {
    if answer.is_err()
        && let Some(strong) = link.upgrade()
    {
        strong.failed();
    }
    answer
}

/// One heartbeat on `connection`, bounded by the heartbeat itself; a failure is an outage.
async fn beat(
    link: &Link,
    connection: &mut MultiplexedConnection,
    prefix: &str,
) -> RedisResult<Beat> {
    let epoch = format!("{:016x}", link.new_marker());
    let cmd = scripts::beat(prefix, &epoch, link.heartbeat * 4);
    let answer = within(link.heartbeat, cmd.query_async(connection)).await;
    if answer.is_err() {
        link.failed();
    }
    let (epoch, seq) = answer?;
    link.beat_landed();
    Ok(Beat { epoch, seq })
}

/// Beats until Redis has taken writes for the settle time; `None` when the store is gone.
async fn settle(
    link: &Weak<Link>,
    connection: &mut MultiplexedConnection,
    prefix: &str,
) -> RedisResult<Option<Beat>> {
    loop {
        let Some(strong) = link.upgrade() else {
            return Ok(None);
        };
        let landed = beat(&strong, connection, prefix).await?;
        if strong.writable() {
            return Ok(Some(landed));
        }
        let pause = strong.heartbeat;
        drop(strong);
        tokio::time::sleep(pause).await;
    }
}

/// Logs once when Redis may evict keys (an evicted entry is a revoked cookie accepted
/// again). Managed Redis often refuses `CONFIG`: then nothing is said.
async fn warn_if_evicting(link: &Link, connection: &mut MultiplexedConnection) {
    let mut get = redis::cmd("CONFIG");
    get.arg("GET").arg("maxmemory-policy");
    let Ok(answer) = linked(get.query_async::<HashMap<String, String>>(connection)).await else {
        return;
    };
    let policy = answer.get("maxmemory-policy").map_or("", String::as_str);
    if policy != "noeviction" && !link.warned_eviction.swap(true, Ordering::Relaxed) {
        tracing::warn!(
            policy,
            "revocation store: Redis may evict keys (maxmemory-policy is not noeviction): an \
             evicted revocation lets a logged-out cookie in again; set noeviction"
        );
    }
}

/// The link's connection for heartbeats and resyncs, checked for an evicting policy.
async fn command_connection(
    link: &Weak<Link>,
    client: &redis::Client,
) -> RedisResult<MultiplexedConnection> {
    let connected = linked(client.get_multiplexed_async_connection()).await;
    let mut connection = outage(link, connected)?;
    if let Some(strong) = link.upgrade() {
        warn_if_evicting(&strong, &mut connection).await;
    }
    Ok(connection)
}

/// Without a replica: beat until a beat fails or the store is gone.
async fn beating(link: &Weak<Link>, client: &redis::Client, prefix: &str) -> RedisResult<()> {
    let mut connection = command_connection(link, client).await?;
    loop {
        let Some(strong) = link.upgrade() else {
            return Ok(());
        };
        beat(&strong, &mut connection, prefix).await?;
        let pause = strong.heartbeat;
        drop(strong);
        tokio::time::sleep(pause).await;
    }
}

/// One subscription, from `SUBSCRIBE` until the link is lost (`Ok` when the stream just
/// ended or the store is gone).
async fn subscribed(link: &Weak<Link>, client: &redis::Client, prefix: &str) -> RedisResult<()> {
    let mut pubsub = outage(link, linked(client.get_async_pubsub()).await)?;
    linked(pubsub.subscribe(scripts::channel(prefix))).await?;
    let mut connection = command_connection(link, client).await?;
    let Some(first) = settle(link, &mut connection, prefix).await? else {
        return Ok(());
    };
    if !resynced(link, &mut pubsub, &mut connection, prefix, &first).await? {
        return Ok(());
    }
    let mut next_beat = tokio::time::Instant::now();
    loop {
        let Some(heartbeat) = link.upgrade().map(|strong| strong.heartbeat) else {
            return Ok(());
        };
        if next_beat <= tokio::time::Instant::now() {
            next_beat = tokio::time::Instant::now() + heartbeat;
        }
        let next = std::future::poll_fn(|cx| poll_next(&mut pubsub, cx));
        match tokio::time::timeout_at(next_beat, next).await {
            Ok(Some(message)) => match link.upgrade() {
                Some(strong) => apply(&strong, &message),
                None => return Ok(()),
            },
            Ok(None) => return Ok(()),
            Err(_) => {
                if !checked(link, &mut pubsub, &mut connection, prefix).await? {
                    return Ok(());
                }
            }
        }
    }
}

/// The heartbeat of a subscribed replica: `Err` when Redis took no write (or a write of
/// this store failed since), a resync when data was lost; `false` when the store is gone.
async fn checked(
    link: &Weak<Link>,
    pubsub: &mut PubSub,
    connection: &mut MultiplexedConnection,
    prefix: &str,
) -> RedisResult<bool> {
    let Some(strong) = link.upgrade() else {
        return Ok(false);
    };
    if !strong.writable() {
        return Err(refused("a write failed"));
    }
    let Some(replica) = &strong.replica else {
        return Ok(false);
    };
    let seen = replica.seq.load(Ordering::Acquire);
    let landed = beat(&strong, connection, prefix).await?;
    if landed.epoch == *lock(&replica.epoch) && landed.seq >= seen {
        return Ok(true);
    }
    tracing::warn!(
        "revocation replica: Redis lost data (flushed, evicted, or failed over to a replica \
         that lagged); resyncing and writing back what it lacks"
    );
    replica.synced.store(false, Ordering::Release);
    drop(strong);
    resynced(link, pubsub, connection, prefix, &landed).await
}

pub(super) fn refused(why: &'static str) -> redis::RedisError {
    redis::RedisError::from(std::io::Error::other(why))
}

/// Resyncs the replica, applies what was published meanwhile, and trusts it; `false` when
/// the store is gone.
async fn resynced(
    link: &Weak<Link>,
    pubsub: &mut PubSub,
    connection: &mut MultiplexedConnection,
    prefix: &str,
    beat: &Beat,
) -> RedisResult<bool> {
    let Some(strong) = link.upgrade() else {
        return Ok(false);
    };
    let Some(replica) = &strong.replica else {
        return Ok(false);
    };
    *lock(&replica.epoch) = beat.epoch.clone();
    replica.seq.store(beat.seq, Ordering::Release);
    resync(replica, connection, prefix).await?;
    // Publications made during the resync are in the stream once this answers.
    linked(pubsub.ping::<()>()).await?;
    while let Poll::Ready(message) = poll_message(pubsub) {
        let Some(message) = message else {
            return Ok(false);
        };
        apply(&strong, &message);
    }
    replica.resyncs.fetch_add(1, Ordering::Relaxed);
    replica.synced.store(true, Ordering::Release);
    tracing::debug!("revocation replica: subscribed and resynced; reads are local");
    Ok(true)
}

fn poll_next(pubsub: &mut PubSub, cx: &mut Context<'_>) -> Poll<Option<Msg>> {
    let mut stream = pubsub.on_message();
    Pin::new(&mut stream).poll_next(cx)
}

/// A message already received, without waiting.
fn poll_message(pubsub: &mut PubSub) -> Poll<Option<Msg>> {
    poll_next(pubsub, &mut Context::from_waker(Waker::noop()))
}

/// Applies one publication (see [`scripts`] for the formats).
fn apply(link: &Link, message: &Msg) {
    let Some(replica) = &link.replica else { return };
    let Ok(text) = message.get_payload::<String>() else {
        return;
    };
    if apply_text(replica, &text).is_none() {
        tracing::warn!("revocation replica: ignored a malformed publication");
    }
}

fn apply_text(replica: &Replica, text: &str) -> Option<()> {
    let (kind, rest) = text.split_once(' ')?;
    if kind == "s" {
        let mut markers = lock(&replica.markers);
        // Markers of other processes are never taken: keep the set small.
        if markers.len() > 1_000 {
            markers.clear();
        }
        markers.insert(rest.parse().ok()?);
        return Some(());
    }
    let (seq, rest) = rest.split_once(' ')?;
    replica.seq.fetch_max(seq.parse().ok()?, Ordering::AcqRel);
    match kind {
        "t" => {
            let (ttl, jti) = rest.split_once(' ')?;
            let ttl = Duration::from_millis(ttl.parse().ok()?);
            replica.entries.insert_token(jti, ttl);
        }
        "u" => {
            let (number, rest) = rest.split_once(' ')?;
            let (ttl, user) = rest.split_once(' ')?;
            let ttl = Duration::from_millis(ttl.parse().ok()?);
            replica.entries.raise_user(user, number.parse().ok()?, ttl);
        }
        _ => return None,
    }
    Some(())
}

/// What a resync read from Redis: token ids, and users with their number.
#[derive(Default)]
struct Seen {
    tokens: HashSet<String>,
    users: HashMap<String, u64>,
}

/// Fills the replica from every key under `prefix`, then writes back what the replica
/// holds and Redis lacks (a restart or a flush that lost the data), publishing it.
async fn resync(
    replica: &Replica,
    connection: &mut MultiplexedConnection,
    prefix: &str,
) -> RedisResult<()> {
    let pattern = format!("{}*", scripts::glob_escape(prefix));
    let mut seen = Seen::default();
    let mut cursor = 0_u64;
    loop {
        let mut scan = redis::cmd("SCAN");
        scan.arg(cursor)
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(1000);
        let (next, keys): (u64, Vec<String>) = linked(scan.query_async(connection)).await?;
        read_keys(replica, connection, prefix, &keys, &mut seen).await?;
        cursor = next;
        if cursor == 0 {
            break;
        }
    }
    write_back(replica, connection, prefix, &seen).await
}

/// Reads `keys` (values and time left) into the replica.
async fn read_keys(
    replica: &Replica,
    connection: &mut MultiplexedConnection,
    prefix: &str,
    keys: &[String],
    seen: &mut Seen,
) -> RedisResult<()> {
    if keys.is_empty() {
        return Ok(());
    }
    let mut pipe = redis::pipe();
    for key in keys {
        pipe.cmd("GET").arg(key).cmd("PTTL").arg(key);
    }
    let answers: Vec<(Option<String>, i64)> = linked(pipe.query_async(connection)).await?;
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
            seen.tokens.insert(jti.to_owned());
        } else if let (Some(user), Some(number)) =
            (name.strip_prefix("u:"), scripts::user_number(&value))
        {
            replica.entries.raise_user(user, number, ttl);
            seen.users.insert(user.to_owned(), number);
        }
    }
    Ok(())
}

/// Writes back what the replica holds and Redis lacked at the resync.
async fn write_back(
    replica: &Replica,
    connection: &mut MultiplexedConnection,
    prefix: &str,
    seen: &Seen,
) -> RedisResult<()> {
    let (tokens, users) = replica.entries.live();
    let mut pipe = redis::pipe();
    let mut missing = 0_usize;
    for (jti, left) in tokens.iter().filter(|(jti, _)| !seen.tokens.contains(jti)) {
        pipe.add_command(scripts::write_token(prefix, jti, *left))
            .ignore();
        missing += 1;
    }
    for (user, number, op, left) in users {
        if seen.users.get(&user).is_none_or(|known| *known < number) {
            let raise = Mode::Raise(op);
            pipe.add_command(scripts::write_user(prefix, &user, number, left, raise))
                .ignore();
            missing += 1;
        }
    }
    if missing > 0 {
        tracing::warn!(
            missing,
            "revocation replica: Redis lacked revocations; wrote them back"
        );
        linked(pipe.query_async::<()>(connection)).await?;
    }
    Ok(())
}
