//! `RedisStore` over TLS (`rediss://`) against a `redis-server` with a TLS port and a
//! certificate this test makes: trusted through `SSL_CERT_FILE` (as the platform's roots
//! are read), the store syncs, propagates and passes the conformance suite; a server whose
//! certificate another CA signed is never trusted (no insecure mode). Its own binary, since
//! it sets `SSL_CERT_FILE` for the process.

mod common;

use std::time::Duration;

use jwt_session::revocation::{RedisStore, RevocationStore};

use common::net::free_port;
use common::redis_server::RedisServer;
use common::redis_tls::Certs;

fn tls_server(certs: &Certs, server: &str) -> Option<(RedisServer, String)> {
    let port = free_port();
    let args = certs.server_args(port, server);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let redis = RedisServer::start_with(&args)?;
    common::net::wait_for_port(port);
    Some((redis, format!("rediss://127.0.0.1:{port}/")))
}

fn store(url: &str) -> RedisStore {
    RedisStore::open(url)
        .unwrap()
        .heartbeat(Duration::from_millis(100))
}

async fn synced(store: &RedisStore) -> bool {
    for _ in 0..300 {
        if store.is_synced() {
            return true;
        }
        actix_web::rt::time::sleep(Duration::from_millis(10)).await;
    }
    false
}

#[actix_web::test]
async fn tls_with_a_verified_certificate_only() {
    let Some(certs) = Certs::make() else {
        return;
    };
    // SAFETY: the only test of this binary, and no other thread reads the environment yet.
    unsafe { std::env::set_var("SSL_CERT_FILE", certs.path("ca.crt")) };
    let Some((_trusted, url)) = tls_server(&certs, "server") else {
        return;
    };
    let (a, b) = (store(&url), store(&url));
    assert!(
        synced(&a).await && synced(&b).await,
        "the replicas sync over TLS"
    );
    a.revoke_token("over-tls", Duration::from_secs(60))
        .await
        .unwrap();
    b.sync().await.unwrap();
    assert!(
        b.lookup_now("over-tls", None)
            .unwrap()
            .unwrap()
            .token_revoked
    );
    jwt_session::test::revocation_store_conformance(store(&url)).await;
    jwt_session::test::revocation_store_conformance(store(&url).per_request_lookups()).await;

    let (_untrusted, url) = tls_server(&certs, "untrusted").unwrap();
    let refused = store(&url);
    assert!(!synced(&refused).await, "a certificate no root signed");
    assert!(refused.lookup("any", None).await.is_err());
    assert!(
        refused
            .revoke_token("any", Duration::from_secs(60))
            .await
            .is_err()
    );
}
