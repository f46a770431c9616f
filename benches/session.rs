//! Micro-benchmarks of the session hot path: `cargo bench --bench session`.
//!
//! Each measures the real code a request runs, through `jwt_session::__private` hooks:
//! decode+verify and encode of a typical session (3 keys, about 100 bytes of JSON) and a
//! large one (about 3 KB), signed and encrypted (`Session::encrypted`), and finding the
//! session cookie among 10 others.

use actix_web::http::header::{COOKIE, HeaderMap, HeaderValue};
use divan::{Bencher, black_box};
use jwt_session::Session;
use jwt_session_runtime::__internals::{encode_session, find_session_cookie, verify_cookie_value};
use serde_json::{Map, Value, json};

fn main() {
    divan::main();
}

fn session() -> Session {
    Session::new("benchmark secret: at least thirty-two bytes")
}

fn encrypted() -> Session {
    session().encrypted()
}

/// 3 keys, about 100 bytes of JSON.
fn typical() -> Map<String, Value> {
    let data = json!({"username": "ann.example", "user_id": 1_234_567, "roles": ["admin", "editor", "viewer"], "theme": "dark-high-contrast"});
    data.as_object().unwrap().clone()
}

/// About 3 KB of JSON.
fn large() -> Map<String, Value> {
    let items: Vec<Value> = (0..60)
        .map(|i| json!({"sku": format!("SKU-{i:05}"), "qty": i % 7 + 1}))
        .collect();
    json!({"username": "ann.example", "cart": items, "note": "x".repeat(400)})
        .as_object()
        .unwrap()
        .clone()
}

fn data(size: &str) -> Map<String, Value> {
    if size == "typical" {
        typical()
    } else {
        large()
    }
}

fn bench_decode(bencher: Bencher, session: Session, size: &str) {
    let token = encode_session(&session, &data(size)).unwrap();
    assert!(verify_cookie_value(&session, &token));
    bencher
        .counter(divan::counter::BytesCount::new(token.len()))
        .bench(|| verify_cookie_value(&session, black_box(&token)));
}

fn bench_encode(bencher: Bencher, session: Session, size: &str) {
    let data = data(size);
    bencher.bench(|| encode_session(&session, black_box(&data)).unwrap());
}

#[divan::bench(args = ["typical", "large"])]
fn decode_verify(bencher: Bencher, size: &str) {
    bench_decode(bencher, session(), size);
}

#[divan::bench(args = ["typical", "large"])]
fn encode(bencher: Bencher, size: &str) {
    bench_encode(bencher, session(), size);
}

/// Authenticated decryption (AES-256-GCM) instead of HMAC verification.
#[divan::bench(args = ["typical", "large"])]
fn decode_encrypted(bencher: Bencher, size: &str) {
    bench_decode(bencher, encrypted(), size);
}

/// Encryption, including the fresh IV from the OS RNG (one `getrandom` call).
#[divan::bench(args = ["typical", "large"])]
fn encode_encrypted(bencher: Bencher, size: &str) {
    bench_encode(bencher, encrypted(), size);
}

#[divan::bench]
fn find_cookie_among_ten(bencher: Bencher) {
    let session = session();
    let token = encode_session(&session, &typical()).unwrap();
    let others: Vec<String> = (0..10)
        .map(|i| format!("pref_{i}=value-{i}-abcdefghijklmnop"))
        .collect();
    let line = format!("{}; session={token}", others.join("; "));
    let mut headers = HeaderMap::new();
    headers.insert(COOKIE, HeaderValue::from_str(&line).unwrap());
    assert_eq!(
        find_session_cookie(&session, &headers),
        Some(token.as_str())
    );
    bencher.bench(|| find_session_cookie(&session, black_box(&headers)).map(str::len));
}

#[allow(dead_code)]
#[path = "../examples/bench_server.rs"]
mod bench_server;

/// A whole request through actix-web's service stack in process (no network), on the load-test
/// server's own routes: a bare handler against a `#[with_session]` read and write, signed and
/// encrypted, so the session's share is visible without kernel noise.
#[divan::bench(args = ["bare", "read", "write", "read-encrypted", "write-encrypted"])]
fn through_actix(bencher: Bencher, route: &str) {
    use actix_web::{App, test};
    let (route, config) = match route.strip_suffix("-encrypted") {
        Some(route) => (route, encrypted()),
        None => (route, session()),
    };
    let runtime = actix_web::rt::System::new();
    let app = runtime.block_on(test::init_service(
        App::new()
            .app_data(config.clone())
            .configure(bench_server::routes),
    ));
    let token = encode_session(
        &config,
        json!({"username": "ann", "counter": 1})
            .as_object()
            .unwrap(),
    )
    .unwrap();
    let cookie = format!("session={token}");
    let uri = format!("/{route}");
    bencher.bench_local(|| {
        runtime.block_on(async {
            let req = if route == "write" {
                test::TestRequest::post()
            } else {
                test::TestRequest::get()
            };
            let res = test::call_service(
                &app,
                req.uri(&uri)
                    .insert_header(("cookie", cookie.as_str()))
                    .to_request(),
            )
            .await;
            assert!(res.status().is_success());
        })
    });
}

/// Named `common` because the Redis helper reaches its sibling as `super::net`.
#[path = "support/mod.rs"]
mod common;

/// `GET /read` in process with a revocation store against the same read without one, in the
/// same run, each under its own scope and a one-hour `max_age`: `plain` (no store), `memory`
/// (`MemoryStore`) and `redis` (`RedisStore` on a `redis-server` started here on a free
/// loopback port; skipped when it is missing). The stores' tokens also carry `jti` and
/// `jti_ms`, so the difference is the whole cost of revocation; `plain_same_token` reads the
/// store's token without a store, so `memory` minus it is the store check alone.
#[divan::bench(args = ["plain", "plain_same_token", "memory", "redis"])]
fn read_with_revocation(bencher: Bencher, store: &str) {
    use actix_web::{App, test};
    use jwt_session::{MemoryStore, RedisStore};
    let runtime = actix_web::rt::System::new();
    let redis = (store == "redis").then(common::redis_server::RedisServer::start);
    let session = match (store, &redis) {
        ("plain" | "plain_same_token", _) => Session::new(bench_server::BENCH_SECRET)
            .secure(false)
            .max_age(std::time::Duration::from_secs(3600)),
        ("memory", _) => bench_server::revocation_session(MemoryStore::new()),
        (_, Some(Some(server))) => {
            bench_server::revocation_session(RedisStore::open(&server.url()).unwrap())
        }
        _ => return,
    };
    let app = runtime.block_on(test::init_service(
        App::new().service(
            actix_web::web::scope("/scoped")
                .app_data(session.clone())
                .configure(bench_server::routes),
        ),
    ));
    let minted_by = if store == "plain_same_token" {
        bench_server::revocation_session(MemoryStore::new())
    } else {
        session
    };
    let data = json!({"username": "ann"});
    let token = encode_session(&minted_by, data.as_object().unwrap()).unwrap();
    let cookie = format!("session={token}");
    bencher.bench_local(|| {
        runtime.block_on(async {
            let res = test::call_service(
                &app,
                test::TestRequest::get()
                    .uri("/scoped/read")
                    .insert_header(("cookie", cookie.as_str()))
                    .to_request(),
            )
            .await;
            assert_eq!(test::read_body(res).await, "ann");
        })
    });
}

/// Decode+verify of the same small session with and without a revocation store: the store's
/// token also carries `jti` and `jti_ms`, which the read takes out.
#[divan::bench(args = ["plain", "memory"])]
fn verify_with_token_id(bencher: Bencher, store: &str) {
    let session = if store == "plain" {
        Session::new(bench_server::BENCH_SECRET).max_age(std::time::Duration::from_secs(3600))
    } else {
        bench_server::revocation_session(jwt_session::MemoryStore::new())
    };
    let token = encode_session(&session, json!({"username": "ann"}).as_object().unwrap()).unwrap();
    assert!(verify_cookie_value(&session, &token));
    bencher.bench(|| verify_cookie_value(&session, black_box(&token)));
}
