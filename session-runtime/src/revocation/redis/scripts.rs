//! The keys, scripts and publications of `RedisStore`.
//!
//! Keys: `<prefix>t:<jti>` (a revoked token id), `<prefix>u:<user>` (the user's number),
//! `<prefix>o:<user>` (the op of the `revoke_user_once` that moved it last, as long-lived),
//! and the marker of the data set: `<prefix>m:epoch`
//! (random, written once), `<prefix>m:seq` (moved by every revocation) and `<prefix>m:beat`
//! (the heartbeat's write, short-lived). Publications on `<prefix>revocations`:
//! `t <seq> <ttl ms> <jti>`, `u <seq> <number> <ttl ms> <user>`, and `s <marker>` (a sync).

use std::time::Duration;

/// Sets `<prefix>t:<jti>` for at least `ttl`, moves the counter, publishes.
const TOKEN_SCRIPT: &str = "local ttl = tonumber(ARGV[1]) \
    local left = redis.call('PTTL', KEYS[1]) \
    if left > ttl then ttl = left end \
    local ms = string.format('%d', ttl) \
    redis.call('SET', KEYS[1], '1', 'PX', ms) \
    local seq = redis.call('INCR', KEYS[2]) \
    redis.call('PUBLISH', ARGV[2], 't ' .. seq .. ' ' .. ms .. ' ' .. ARGV[3])";

/// Moves `<prefix>u:<user>` to `max(stored + 1, ARGV[1])` (`bump`, a `revoke_user`, unless
/// ARGV[6] is the op that moved it last, kept in `<prefix>o:<user>`) or `max(stored,
/// ARGV[1])` (`raise`, a replica writing back what it knows, with the op that moved it
/// there), for at least `ttl`; moves the counter, publishes, and returns the number stored.
/// The user key holds the bare number: apps read it (the README's Python recipe).
const USER_SCRIPT: &str = "local stored = tonumber(redis.call('GET', KEYS[1]) or '0') or 0 \
    local last = redis.call('GET', KEYS[3]) or '' \
    local value = tonumber(ARGV[1]) \
    local moves = value > stored \
    if ARGV[3] == 'bump' then \
      if ARGV[6] ~= '' and ARGV[6] == last then return string.format('%d', stored) end \
      stored = stored + 1 \
      moves = true \
    end \
    if stored > value then value = stored end \
    local ttl = tonumber(ARGV[2]) \
    local left = redis.call('PTTL', KEYS[1]) \
    if left > ttl then ttl = left end \
    local text = string.format('%d', value) \
    local ms = string.format('%d', ttl) \
    redis.call('SET', KEYS[1], text, 'PX', ms) \
    if moves and ARGV[6] ~= '' then redis.call('SET', KEYS[3], ARGV[6], 'PX', ms) end \
    local seq = redis.call('INCR', KEYS[2]) \
    redis.call('PUBLISH', ARGV[4], 'u ' .. seq .. ' ' .. text .. ' ' .. ms .. ' ' .. ARGV[5]) \
    return text";

/// The heartbeat: a write that fails whenever Redis takes no writes, then the epoch
/// (written with ARGV[1] when missing) and the counter.
const BEAT_SCRIPT: &str = "redis.call('SET', KEYS[3], '1', 'PX', ARGV[2]) \
    local epoch = redis.call('GET', KEYS[1]) \
    if not epoch then \
      epoch = ARGV[1] \
      redis.call('SET', KEYS[1], epoch) \
    end \
    return {epoch, tonumber(redis.call('GET', KEYS[2]) or '0')}";

/// How a user's number is written.
#[derive(Clone, Copy)]
pub(super) enum Mode {
    /// A `revoke_user`, named by its op (0: none).
    Bump(u64),
    /// A write-back of a number a replica knows, with the op that moved it (0: none).
    Raise(u64),
}

pub(super) fn channel(prefix: &str) -> String {
    format!("{prefix}revocations")
}

pub(super) fn token_key(prefix: &str, jti: &str) -> String {
    format!("{prefix}t:{jti}")
}

pub(super) fn user_key(prefix: &str, user: &str) -> String {
    format!("{prefix}u:{user}")
}

fn meta_key(prefix: &str, name: &str) -> String {
    format!("{prefix}m:{name}")
}

/// The number in a user key's value (`<number>`; a `:` and what follows, as once written,
/// is ignored).
pub(super) fn user_number(value: &str) -> Option<u64> {
    value.split(':').next()?.parse().ok()
}

pub(super) fn write_token(prefix: &str, jti: &str, ttl: Duration) -> redis::Cmd {
    let mut cmd = redis::cmd("EVAL");
    cmd.arg(TOKEN_SCRIPT)
        .arg(2)
        .arg(token_key(prefix, jti))
        .arg(meta_key(prefix, "seq"))
        .arg(ttl_millis(ttl))
        .arg(channel(prefix))
        .arg(jti);
    cmd
}

pub(super) fn write_user(
    prefix: &str,
    user: &str,
    at: u64,
    ttl: Duration,
    mode: Mode,
) -> redis::Cmd {
    let (mode, op) = match mode {
        Mode::Bump(op) => ("bump", op),
        Mode::Raise(op) => ("raise", op),
    };
    let op = if op == 0 {
        String::new()
    } else {
        format!("{op:x}")
    };
    let mut cmd = redis::cmd("EVAL");
    cmd.arg(USER_SCRIPT)
        .arg(3)
        .arg(user_key(prefix, user))
        .arg(meta_key(prefix, "seq"))
        .arg(format!("{prefix}o:{user}"))
        .arg(at)
        .arg(ttl_millis(ttl))
        .arg(mode)
        .arg(channel(prefix))
        .arg(user)
        .arg(op);
    cmd
}

/// The heartbeat; `epoch` is written when Redis has none.
pub(super) fn beat(prefix: &str, epoch: &str, lives: Duration) -> redis::Cmd {
    let mut cmd = redis::cmd("EVAL");
    cmd.arg(BEAT_SCRIPT)
        .arg(3)
        .arg(meta_key(prefix, "epoch"))
        .arg(meta_key(prefix, "seq"))
        .arg(meta_key(prefix, "beat"))
        .arg(epoch)
        .arg(ttl_millis(lives));
    cmd
}

fn ttl_millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

/// `prefix` with the glob characters of `SCAN .. MATCH` escaped.
pub(super) fn glob_escape(prefix: &str) -> String {
    let mut escaped = String::with_capacity(prefix.len());
    for c in prefix.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}
