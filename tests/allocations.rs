//! Heap allocations per session read and per session write, counted by a global allocator.
//! `cargo test --test allocations -- --nocapture` prints the numbers; the asserts keep them
//! from growing unnoticed. BENCHMARKS.md says what each allocation is for.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use actix_web::App;
use actix_web::test as http;
use jwt_session::Session;
use jwt_session_runtime::__internals::{encode_session, verify_cookie_value};
use serde_json::json;

struct Counting;

thread_local! {
    /// Per thread, so tests running in parallel do not count each other's allocations.
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn count_one() {
    ALLOCATIONS.with(|count| count.set(count.get() + 1));
}

fn allocated() -> usize {
    ALLOCATIONS.with(Cell::get)
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_one();
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_one();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations made by `f`, after one warm-up call (thread-local caches fill once).
fn allocations(mut f: impl FnMut()) -> usize {
    f();
    let before = allocated();
    f();
    allocated() - before
}

fn session() -> Session {
    Session::new("allocation-count secret, 32 bytes or more")
}

/// The typical session of the benchmarks: 4 entries, about 100 bytes of JSON.
fn typical() -> serde_json::Map<String, serde_json::Value> {
    json!({"username": "ann.example", "user_id": 1_234_567, "roles": ["admin", "editor", "viewer"], "theme": "dark-high-contrast"})
        .as_object()
        .unwrap()
        .clone()
}

#[actix_web::test]
async fn codec_allocations() {
    // decode: only the verified (or decrypted) payload bytes the session keeps; the entries
    // are parsed when a handler needs them, and base64 goes to per-thread scratch buffers.
    // encode: the payload JSON, the token string, and for a signed token the signature; an
    // encrypted one is sealed in the payload's own buffer (the IV and tag live on the stack).
    for (session, mode, encodes) in [
        (session(), "signed", 3),
        (session().encrypted(), "encrypted", 2),
    ] {
        let token = encode_session(&session, &typical()).unwrap();
        let decode = allocations(|| assert!(verify_cookie_value(&session, &token)));
        let data = typical();
        let encode = allocations(|| drop(encode_session(&session, &data).unwrap()));
        println!("{mode}: decode typical: {decode} allocations; encode typical: {encode}");
        assert_eq!(decode, 1, "{mode} decode allocations");
        assert_eq!(encode, encodes, "{mode} encode allocations");
    }
}

/// Under a revocation store the token id is read in the same load pass as the other
/// claims: a decode adds only the `jti` string, and builds no entries map.
#[actix_web::test]
async fn token_id_allocations() {
    let session = session()
        .max_age(std::time::Duration::from_secs(3600))
        .revocation(jwt_session::revocation::MemoryStore::new());
    let token = encode_session(&session, &typical()).unwrap();
    let decode = allocations(|| assert!(verify_cookie_value(&session, &token)));
    println!("under a store: decode typical: {decode} allocations");
    assert_eq!(decode, 2, "the payload bytes and the `jti`");
}

#[allow(dead_code)]
#[path = "../examples/bench_server.rs"]
mod bench_server;

/// What a `#[with_session]` read adds over the bare handler: the verified payload bytes, the
/// per-request state (`Arc`) that save, delete and second loads share, actix's box for the
/// request extension that holds it, and the `String` the handler reads (parsed once, moved).
const READ_EXTRA: usize = 4;
/// What a write adds: the read's, then the parsed entries, the inserted values, encoding,
/// the `Set-Cookie` value and actix's storage for the new header.
const WRITE_EXTRA: usize = 15;

#[actix_web::test]
async fn per_request_allocations_over_a_bare_handler() {
    let app = http::init_service(
        App::new()
            .app_data(session())
            .configure(bench_server::routes),
    )
    .await;
    let token = encode_session(
        &session(),
        &json!({"username": "ann", "counter": 41})
            .as_object()
            .unwrap()
            .clone(),
    )
    .unwrap();
    let cookie = format!("session={token}");

    let routes = [
        ("GET", "/bare", "ok"),
        ("GET", "/read", "ann"),
        ("POST", "/write", "42"),
    ];
    // One request to a route, counted from building it to reading its body.
    let count = |(method, uri, body): (&'static str, &'static str, &'static str)| {
        let app = &app;
        let cookie = cookie.as_str();
        async move {
            let before = allocated();
            let req = match method {
                "GET" => http::TestRequest::get(),
                _ => http::TestRequest::post(),
            };
            let res = http::call_service(
                app,
                req.uri(uri).insert_header(("cookie", cookie)).to_request(),
            )
            .await;
            assert!(res.status().is_success());
            assert_eq!(http::read_body(res).await, body, "{uri} saw the session");
            allocated() - before
        }
    };
    // Warm every route up first (actix pools requests, thread-local caches fill once).
    for _ in 0..2 {
        for route in routes {
            count(route).await;
        }
    }
    let mut counts = Vec::new();
    for route in routes {
        counts.push(count(route).await);
    }
    let [plain, reading, writing] = counts[..] else {
        unreachable!()
    };
    let (read_extra, write_extra) = (reading - plain, writing - plain);
    println!(
        "per request: bare {plain}, read {reading} (+{read_extra}), write {writing} (+{write_extra})"
    );
    // BENCHMARKS.md lists what each one is for.
    assert_eq!(read_extra, READ_EXTRA, "allocations a session read adds");
    assert_eq!(write_extra, WRITE_EXTRA, "allocations a session write adds");
}
