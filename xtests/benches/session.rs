//! Micro-benchmarks of the session hot path: `cargo bench -p jwt-session-xtests --bench session`.
//!
//! Each measures the real code a request runs, through `jwt_session_runtime::__internals`
//! hooks: decode+verify and encode of sessions of about 100 bytes (the typical session, 4
//! keys), 1 KB and 3 KB of JSON, signed and encrypted (`Session::encrypted`), finding the
//! session cookie among 10 others, and whole requests through actix-web. The `floor` group
//! measures, in the same run, the work no implementation can skip, so the session's
//! overhead can be read as a multiple of it.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use divan::{Bencher, black_box};
use jwt_session::Session;
use jwt_session_runtime::__internals::{
    encode_session, find_session_cookie, verify_cookie_value, verify_cookie_value_uncounted,
};
use serde_json::{Map, Value, json};

fn main() {
    divan::main();
}

const SECRET: &str = "benchmark secret: at least thirty-two bytes";

fn session() -> Session {
    Session::new(SECRET)
}

fn encrypted() -> Session {
    session().encrypted()
}

/// The sizes every size-dependent bench runs at: the JSON payload is about 100 bytes (the
/// typical session), 1 KB and 3 KB.
const SIZES: [&str; 3] = ["typical", "1KB", "3KB"];

/// The session data of `size` (one of `SIZES`).
fn data(size: &str) -> Map<String, Value> {
    // A cart of `items` entries of about 25 bytes, plus a note: 1 KB and 3 KB of JSON.
    let cart = |items: usize, note: usize| {
        let items: Vec<Value> = (0..items)
            .map(|i| json!({"sku": format!("SKU-{i:05}"), "qty": i % 7 + 1}))
            .collect();
        json!({"username": "ann.example", "cart": items, "note": "x".repeat(note)})
    };
    let data = match size {
        // 4 keys, about 100 bytes of JSON.
        "typical" => {
            json!({"username": "ann.example", "user_id": 1_234_567, "roles": ["admin", "editor", "viewer"], "theme": "dark-high-contrast"})
        }
        "1KB" => cart(30, 140),
        "3KB" => cart(90, 700),
        other => panic!("unknown size {other}"),
    };
    data.as_object().unwrap().clone()
}

/// The signed session token of `size` and its payload JSON, as a request would carry them.
fn token(size: &str) -> (String, Vec<u8>) {
    let token = encode_session(&session(), &data(size)).unwrap();
    let payload = URL_SAFE_NO_PAD
        .decode(token.split('.').nth(1).unwrap())
        .unwrap();
    (token, payload)
}

/// The work no implementation of signed cookie sessions can skip, on the same tokens as
/// `decode_verify`: HMAC-SHA256 over the signing input with a prepared key, a constant-time
/// compare, and base64url-decoding the signature and the payload (into reused buffers).
/// `and_parse_value` adds `serde_json::from_slice::<Value>` of the payload: the floor of a
/// decode that hands the handler parsed JSON.
#[divan::bench_group]
mod floor {
    use super::*;
    use hmac::{Hmac, Mac};
    use sha2::Sha256;
    use subtle::ConstantTimeEq;

    /// The floor's work on `token`; returns whether the signature matched.
    fn verify_and_decode(
        key: &Hmac<Sha256>,
        token: &str,
        signature: &mut Vec<u8>,
        payload: &mut Vec<u8>,
    ) -> bool {
        let (signing_input, encoded_signature) = token.rsplit_once('.').unwrap();
        let (_, encoded_payload) = signing_input.split_once('.').unwrap();
        signature.clear();
        URL_SAFE_NO_PAD
            .decode_vec(encoded_signature, signature)
            .unwrap();
        let mut mac = key.clone();
        mac.update(signing_input.as_bytes());
        let matched: bool = mac.finalize().into_bytes().ct_eq(&signature[..]).into();
        payload.clear();
        URL_SAFE_NO_PAD
            .decode_vec(encoded_payload, payload)
            .unwrap();
        matched
    }

    fn prepared_key() -> Hmac<Sha256> {
        Hmac::new_from_slice(SECRET.as_bytes()).unwrap()
    }

    #[divan::bench(args = SIZES)]
    fn crypto(bencher: Bencher, size: &str) {
        let (token, _) = token(size);
        let key = prepared_key();
        let (mut signature, mut payload) = (Vec::new(), Vec::new());
        assert!(verify_and_decode(
            &key,
            &token,
            &mut signature,
            &mut payload
        ));
        bencher
            .counter(divan::counter::BytesCount::new(token.len()))
            .bench_local(|| {
                verify_and_decode(&key, black_box(&token), &mut signature, &mut payload)
            });
    }

    #[divan::bench(args = SIZES)]
    fn and_parse_value(bencher: Bencher, size: &str) {
        let (token, _) = token(size);
        let key = prepared_key();
        let (mut signature, mut payload) = (Vec::new(), Vec::new());
        bencher
            .counter(divan::counter::BytesCount::new(token.len()))
            .bench_local(|| {
                assert!(verify_and_decode(
                    &key,
                    black_box(&token),
                    &mut signature,
                    &mut payload
                ));
                serde_json::from_slice::<Value>(&payload).unwrap()
            });
    }

    /// `serde_json::from_slice::<Value>` of the payload alone.
    #[divan::bench(args = SIZES)]
    fn parse_value(bencher: Bencher, size: &str) {
        let (_, payload) = token(size);
        bencher
            .counter(divan::counter::BytesCount::new(payload.len()))
            .bench(|| serde_json::from_slice::<Value>(black_box(&payload)).unwrap());
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
    let token = encode_session(&session, &data).unwrap();
    bencher
        .counter(divan::counter::BytesCount::new(token.len()))
        .bench(|| encode_session(&session, black_box(&data)).unwrap());
}

#[divan::bench(args = SIZES)]
fn decode_verify(bencher: Bencher, size: &str) {
    bench_decode(bencher, session(), size);
}

#[divan::bench(args = SIZES)]
fn encode(bencher: Bencher, size: &str) {
    bench_encode(bencher, session(), size);
}

/// Authenticated decryption (AES-256-GCM) instead of HMAC verification.
#[divan::bench(args = SIZES)]
fn decode_encrypted(bencher: Bencher, size: &str) {
    bench_decode(bencher, encrypted(), size);
}

/// Encryption, including the fresh IV from the OS RNG (one `getrandom` call).
#[divan::bench(args = SIZES)]
fn encode_encrypted(bencher: Bencher, size: &str) {
    bench_encode(bencher, encrypted(), size);
}

/// Decode+verify of the typical session under a config with a key of each role, with the
/// `key_usage` count that every request's read makes (it is always on) against the same
/// read without it (`uncounted`, the read path before the count), in one run: tokens
/// verified by the current, a previous and a next key, each named by its `kid`. With 2
/// threads, both count on the same key, so the cost of sharing its counter shows.
#[divan::bench(args = ["uncounted", "current", "previous", "next"], threads = [1, 2])]
fn verify_with_key_usage(bencher: Bencher, key: &str) {
    const PREVIOUS: &str = "benchmark previous secret: thirty-two bytes";
    const NEXT: &str = "benchmark next secret: also thirty-two bytes";
    let session = session().previous_secrets([PREVIOUS]).next_secrets([NEXT]);
    let issuer = match key {
        "previous" => Session::new(PREVIOUS).next_secrets([SECRET]),
        "next" => Session::new(NEXT).previous_secrets([SECRET]),
        _ => session.clone(),
    };
    let token = encode_session(&issuer, &data("typical")).unwrap();
    let verify = if key == "uncounted" {
        verify_cookie_value_uncounted
    } else {
        verify_cookie_value
    };
    assert!(verify(&session, &token));
    bencher
        .counter(divan::counter::BytesCount::new(token.len()))
        .bench(|| verify(&session, black_box(&token)));
}

#[divan::bench]
fn find_cookie_among_ten(bencher: Bencher) {
    let session = session();
    let (token, _) = token("typical");
    let others: Vec<String> = (0..10)
        .map(|i| format!("pref_{i}=value-{i}-abcdefghijklmnop"))
        .collect();
    let line = format!("{}; session={token}", others.join("; "));
    let lines = [line.as_bytes()];
    assert_eq!(find_session_cookie(&session, &lines), Some(token.as_str()));
    bencher.bench(|| find_session_cookie(&session, black_box(&lines)).map(str::len));
}

#[allow(dead_code)]
#[path = "../../examples/bench_server.rs"]
mod bench_server;

/// A whole request through actix-web's service stack in process (no network), on the load-test
/// server's own routes: a bare handler against a `#[with_session]` read and write, signed and
/// encrypted, so the session's share is visible without kernel noise. The cookie holds the
/// typical session, the one the floor is measured on.
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
    let token = encode_session(&config, &data("typical")).unwrap();
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
/// (`MemoryStore`), `redis` (`RedisStore` with its replica, synced before timing) and
/// `redis_per_request` (`RedisStore::per_request_lookups`: one `MGET` per read), both on a
/// `redis-server` started here on a free loopback port (skipped, loudly, when it is
/// missing). The stores' tokens also carry `jti` and `jti_ms`, so the difference is the
/// whole cost of revocation; `plain_same_token` reads the store's token without a store, so
/// `memory` minus it is the store check alone.
#[divan::bench(args = ["plain", "plain_same_token", "memory", "redis", "redis_per_request"])]
fn read_with_revocation(bencher: Bencher, store: &str) {
    use actix_web::{App, test};
    use jwt_session::revocation::{MemoryStore, RedisStore};
    let runtime = actix_web::rt::System::new();
    let redis = store
        .starts_with("redis")
        .then(common::redis_server::RedisServer::start);
    let session = match (store, &redis) {
        ("plain" | "plain_same_token", _) => Session::new(bench_server::BENCH_SECRET)
            .secure(false)
            .max_age(std::time::Duration::from_secs(3600)),
        ("memory", _) => bench_server::revocation_session(MemoryStore::new()),
        ("redis", Some(Some(server))) => {
            let store = RedisStore::open(&server.url()).unwrap();
            runtime.block_on(async {
                while !store.is_synced() {
                    actix_web::rt::time::sleep(std::time::Duration::from_millis(5)).await;
                }
            });
            bench_server::revocation_session(store)
        }
        (_, Some(Some(server))) => bench_server::revocation_session(
            RedisStore::open(&server.url())
                .unwrap()
                .per_request_lookups(),
        ),
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
        bench_server::revocation_session(jwt_session::revocation::MemoryStore::new())
    };
    let token = encode_session(&session, json!({"username": "ann"}).as_object().unwrap()).unwrap();
    assert!(verify_cookie_value(&session, &token));
    bencher.bench(|| verify_cookie_value(&session, black_box(&token)));
}

/// Chunked sessions (`Session::max_chunks`): `GET /read` in process under `max_chunks(1)`
/// (`off`) and `max_chunks(3)` with the same 1 KB session in one plain cookie (`on_plain`):
/// the difference is what chunking costs a read when it is not used. Then sessions of
/// about 6 KB and 10 KB, in 2 and 3 chunks, beside `verify_*`: the same tokens verified
/// alone, so the cost per extra chunk is the request's time minus its token's.
#[divan::bench(args = ["off", "on_plain", "2_chunks", "3_chunks"])]
fn chunked_read_through_actix(bencher: Bencher, case: &str) {
    use actix_web::{App, test};
    let (config, data) = chunk_case(case);
    let runtime = actix_web::rt::System::new();
    let app = runtime.block_on(test::init_service(
        App::new()
            .app_data(config.clone())
            .configure(bench_server::routes),
    ));
    let cookies = chunk_cookies(&config, &data);
    let warm_up = runtime.block_on(async {
        let req = test::TestRequest::get()
            .uri("/read")
            .insert_header(("cookie", cookies.as_str()));
        test::read_body(test::call_service(&app, req.to_request()).await).await
    });
    assert_eq!(warm_up, "ann.example", "{case}: the read saw the session");
    bencher.bench_local(|| {
        runtime.block_on(async {
            let req = test::TestRequest::get()
                .uri("/read")
                .insert_header(("cookie", cookies.as_str()));
            let res = test::call_service(&app, req.to_request()).await;
            assert!(res.status().is_success());
        })
    });
}

/// The tokens of [`chunked_read_through_actix`], verified alone.
#[divan::bench(args = ["off", "on_plain", "2_chunks", "3_chunks"])]
fn chunked_verify_alone(bencher: Bencher, case: &str) {
    let (config, data) = chunk_case(case);
    let token = encode_session(&config, &data).unwrap();
    assert!(verify_cookie_value(&config, &token));
    bencher.bench(|| verify_cookie_value(&config, black_box(&token)));
}

/// The config and session of a chunk bench case.
fn chunk_case(case: &str) -> (Session, Map<String, Value>) {
    let with_blob = |bytes: usize| {
        let mut data = data("typical");
        let blob: String = (0..bytes)
            .map(|i| char::from(b'a' + ((i * 7 + i / 26) % 26) as u8))
            .collect();
        data.insert("blob".into(), blob.into());
        data
    };
    match case {
        "off" => (session(), data("1KB")),
        "on_plain" => (session().max_chunks(3), data("1KB")),
        "2_chunks" => (session().max_chunks(3), with_blob(4500)),
        "3_chunks" => (session().max_chunks(3), with_blob(7500)),
        other => panic!("unknown case {other}"),
    }
}

/// The `Cookie` header a browser sends for `data` saved under `config`: the plain cookie,
/// or `session.0=…; session.1=…` split as the library splits it.
fn chunk_cookies(config: &Session, data: &Map<String, Value>) -> String {
    let token = encode_session(config, data).unwrap();
    // The attributes of the default cookie and `Max-Age`-free saves: what `write` leaves
    // for the value in each chunk.
    let overhead = "session.0=; HttpOnly; SameSite=Lax; Secure; Path=/".len();
    if token.len() + "session=".len() + overhead - "session.0=".len() <= 4096 {
        return format!("session={token}");
    }
    token
        .as_bytes()
        .chunks(4096 - overhead)
        .enumerate()
        .map(|(i, piece)| format!("session.{i}={}", std::str::from_utf8(piece).unwrap()))
        .collect::<Vec<_>>()
        .join("; ")
}
