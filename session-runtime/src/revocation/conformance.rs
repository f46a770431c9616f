//! The [`RevocationStore`] contract as a test any store can run (feature `test-util`).

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use super::{Lookup, RevocationStore, StoreError};

const TTL: Duration = Duration::from_secs(60);

/// Runs the [`RevocationStore`] contract against `store` and panics, naming the rule, at
/// the first one it breaks. For the tests of your own store (Postgres, DynamoDB, ...); the
/// crate runs it on `MemoryStore` and on `RedisStore` (with its replica and with
/// per-request lookups, on one Redis, a cluster and behind Sentinel).
///
/// The rules: an unknown id and user are not revoked; a revoked id is, for at least its
/// `ttl`, and a shorter `ttl` later never shortens it; `revoke_user` moves the user's
/// number to `max(stored + 1, at_ms)`, atomically (concurrent calls each move it), and
/// touches no other user; a retried [`revoke_user_once`](RevocationStore::revoke_user_once)
/// (same `op`) moves it once; `lookup_now` and `revoke_token_now`, when they answer, agree
/// with `lookup`. [`sync`](RevocationStore::sync) is called before each read. Names are
/// random, so runs can share a backend. Takes a few hundred milliseconds.
///
/// ```
/// # actix_web::rt::System::new().block_on(async {
/// jwt_session::test::revocation_store_conformance(jwt_session::revocation::MemoryStore::new()).await;
/// # });
/// ```
pub async fn revocation_store_conformance<S: RevocationStore>(store: S) {
    let run = Names::fresh();
    unknown_names_are_not_revoked(&store, &run).await;
    tokens(&store, &run).await;
    users(&store, &run).await;
    retries_move_the_number_once(&store, &run).await;
    concurrent_calls_each_move_the_number(&store, &run).await;
}

/// Names unique to one run.
struct Names(String);

impl Names {
    fn fresh() -> Self {
        let mut bytes = [0u8; 8];
        getrandom::getrandom(&mut bytes).expect("the OS random number generator failed");
        Self(format!("conformance-{:016x}", u64::from_le_bytes(bytes)))
    }

    fn name(&self, what: &str) -> String {
        format!("{}-{what}", self.0)
    }
}

/// `lookup` after `sync`, checked against `lookup_now` when the store answers at once.
async fn read(store: &impl RevocationStore, jti: &str, user: Option<&str>) -> Lookup {
    store.sync().await.expect("sync() failed");
    let answer = store.lookup(jti, user).await.expect("lookup failed");
    if let Some(now) = store.lookup_now(jti, user) {
        assert_eq!(
            now.expect("lookup_now failed"),
            answer,
            "lookup_now({jti:?}, {user:?}) disagrees with lookup"
        );
    }
    answer
}

async fn unknown_names_are_not_revoked(store: &impl RevocationStore, run: &Names) {
    let (jti, user) = (run.name("unknown-token"), run.name("unknown-user"));
    assert_eq!(
        read(store, &jti, Some(&user)).await,
        Lookup::default(),
        "an id and a user nobody revoked"
    );
}

async fn tokens(store: &impl RevocationStore, run: &Names) {
    let (kept, other) = (run.name("token"), run.name("other-token"));
    store.revoke_token(&kept, TTL).await.expect("revoke_token");
    assert!(read(store, &kept, None).await.token_revoked, "a revoked id");
    assert!(
        !read(store, &other, None).await.token_revoked,
        "revoking one id revoked another"
    );
    store
        .revoke_token(&kept, Duration::from_millis(1))
        .await
        .expect("revoke_token");
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(
        read(store, &kept, None).await.token_revoked,
        "a shorter ttl later shortened a revocation"
    );
    let now = run.name("token-now");
    if let Some(written) = store.revoke_token_now(&now, TTL) {
        written.expect("revoke_token_now");
        assert!(
            read(store, &now, None).await.token_revoked,
            "revoke_token_now answered Ok but lookup does not see it"
        );
    }
}

async fn users(store: &impl RevocationStore, run: &Names) {
    let (ann, bob, jti) = (run.name("ann"), run.name("bob"), run.name("any"));
    let number = async |user: &str| read(store, &jti, Some(user)).await.user_revoked_at_ms;
    store
        .revoke_user(&ann, 1_000, TTL)
        .await
        .expect("revoke_user");
    assert_eq!(number(&ann).await, Some(1_000), "max(0 + 1, at_ms)");
    store
        .revoke_user(&ann, 500, TTL)
        .await
        .expect("revoke_user");
    assert_eq!(
        number(&ann).await,
        Some(1_001),
        "a call from a clock behind must still move the number (stored + 1)"
    );
    store
        .revoke_user(&ann, 5_000, TTL)
        .await
        .expect("revoke_user");
    assert_eq!(number(&ann).await, Some(5_000), "max(stored + 1, at_ms)");
    assert_eq!(
        number(&bob).await,
        None,
        "revoking one user revoked another"
    );
    assert_eq!(
        read(store, &jti, None).await.user_revoked_at_ms,
        None,
        "a lookup without a user"
    );
}

async fn retries_move_the_number_once(store: &impl RevocationStore, run: &Names) {
    let (user, jti) = (run.name("retried"), run.name("any"));
    for _ in 0..3 {
        store
            .revoke_user_once(&user, 7, 42, TTL)
            .await
            .expect("revoke_user_once");
    }
    assert_eq!(
        read(store, &jti, Some(&user)).await.user_revoked_at_ms,
        Some(7),
        "three tries of one revoke_user_once (same op) must move the number once \
         (implement revoke_user_once)"
    );
    store
        .revoke_user_once(&user, 7, 43, TTL)
        .await
        .expect("revoke_user_once");
    assert_eq!(
        read(store, &jti, Some(&user)).await.user_revoked_at_ms,
        Some(8),
        "another op is another call"
    );
}

async fn concurrent_calls_each_move_the_number(store: &impl RevocationStore, run: &Names) {
    const CALLS: u64 = 20;
    let (user, jti) = (run.name("concurrent"), run.name("any"));
    let calls = (0..CALLS)
        .map(|_| {
            Box::pin(store.revoke_user(&user, 1, TTL))
                as Pin<Box<dyn Future<Output = Result<(), StoreError>>>>
        })
        .collect();
    for answer in join_all(calls).await {
        answer.expect("revoke_user");
    }
    assert_eq!(
        read(store, &jti, Some(&user)).await.user_revoked_at_ms,
        Some(CALLS),
        "{CALLS} concurrent revoke_user calls must each move the number (atomically)"
    );
}

/// Polls every future until all are done; their outputs in order.
async fn join_all<T>(mut futures: Vec<Pin<Box<dyn Future<Output = T> + '_>>>) -> Vec<T> {
    let mut outputs: Vec<Option<T>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        for (future, output) in futures.iter_mut().zip(&mut outputs) {
            if output.is_none()
                && let Poll::Ready(value) = future.as_mut().poll(cx)
            {
                *output = Some(value);
            }
        }
        if outputs.iter().all(Option::is_some) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}
