//! Redis Cluster: the store's keys share one hash tag, so one node (the owner of that
//! slot) holds the whole deny-list; this finds it.

use redis::{ConnectionAddr, Value};

use super::link::{linked, refused};

/// A client for the primary that owns `key`'s slot, asked of each seed in turn.
pub(super) async fn slot_owner(
    seeds: &[redis::Client],
    key: &str,
) -> redis::RedisResult<redis::Client> {
    let mut last = refused("no cluster node given");
    for seed in seeds {
        match owner_through(seed, key).await {
            Ok(owner) => return Ok(owner),
            Err(err) => last = err,
        }
    }
    Err(last)
}

async fn owner_through(seed: &redis::Client, key: &str) -> redis::RedisResult<redis::Client> {
    let mut connection = linked(seed.get_multiplexed_async_connection()).await?;
    let mut keyslot = redis::cmd("CLUSTER");
    keyslot.arg("KEYSLOT").arg(key);
    let slot: i64 = linked(keyslot.query_async(&mut connection)).await?;
    let mut slots = redis::cmd("CLUSTER");
    slots.arg("SLOTS");
    let ranges: Vec<Value> = linked(slots.query_async(&mut connection)).await?;
    let (host, port) = ranges
        .iter()
        .find_map(|range| primary_of(range, slot))
        .ok_or_else(|| refused("no cluster node owns the store's slot"))?;
    let info = seed.get_connection_info().clone();
    let addr = match info.addr().clone() {
        ConnectionAddr::Tcp(seed_host, _) => ConnectionAddr::Tcp(host.unwrap_or(seed_host), port),
        ConnectionAddr::TcpTls {
            host: seed_host,
            insecure,
            tls_params,
            ..
        } => ConnectionAddr::TcpTls {
            host: host.unwrap_or(seed_host),
            port,
            insecure,
            tls_params,
        },
        _ => return Err(refused("a cluster node must be reached over TCP")),
    };
    redis::Client::open(info.set_addr(addr))
}

/// The primary of one `CLUSTER SLOTS` range (`[start, end, [host, port, ..], ..]`) when
/// it holds `slot`; its host is `None` when the node did not say (use the seed's).
fn primary_of(range: &Value, slot: i64) -> Option<(Option<String>, u16)> {
    let Value::Array(parts) = range else {
        return None;
    };
    let (Some(Value::Int(start)), Some(Value::Int(end)), Some(Value::Array(primary))) =
        (parts.first(), parts.get(1), parts.get(2))
    else {
        return None;
    };
    if !(*start..=*end).contains(&slot) {
        return None;
    }
    let host = match primary.first() {
        Some(Value::BulkString(host)) if !host.is_empty() => {
            Some(String::from_utf8_lossy(host).into_owned())
        }
        _ => None,
    };
    match primary.get(1) {
        Some(Value::Int(port)) => Some((host, u16::try_from(*port).ok()?)),
        _ => None,
    }
}
