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
    // decode: only the returned map: 1 node, 4 keys, 3 string values, 1 list, 2 more strings.
    // encode: the payload JSON, the token string, and for a signed token the signature; an
    // encrypted one is sealed in the payload's own buffer (the IV and tag live on the stack).
    for (session, mode, max_encode) in [
        (session(), "signed", 3),
        (session().encrypted(), "encrypted", 2),
    ] {
        let token = encode_session(&session, &typical()).unwrap();
        let decode = allocations(|| assert!(verify_cookie_value(&session, &token)));
        let data = typical();
        let encode = allocations(|| drop(encode_session(&session, &data).unwrap()));
        println!("{mode}: decode typical: {decode} allocations; encode typical: {encode}");
        assert!(decode <= 11, "{mode} decode allocates {decode} times");
        assert!(
            encode <= max_encode,
            "{mode} encode allocates {encode} times"
        );
    }
}

#[allow(dead_code)]
#[path = "../examples/bench_server.rs"]
mod bench_server;

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

    let mut counts = Vec::new();
    for (method, uri, body) in [
        ("GET", "/bare", "ok"),
        ("GET", "/read", "ann"),
        ("POST", "/write", "42"),
    ] {
        // Warm up, then count one request, including building it and reading the body.
        let mut count = 0;
        for round in 0..2 {
            let before = allocated();
            let req = match method {
                "GET" => http::TestRequest::get(),
                _ => http::TestRequest::post(),
            };
            let res = http::call_service(
                &app,
                req.uri(uri)
                    .insert_header(("cookie", cookie.as_str()))
                    .to_request(),
            )
            .await;
            assert!(res.status().is_success());
            assert_eq!(http::read_body(res).await, body, "{uri} saw the session");
            if round == 1 {
                count = allocated() - before;
            }
        }
        counts.push(count);
    }
    let [plain, reading, writing] = counts[..] else {
        unreachable!()
    };
    let (read_extra, write_extra) = (reading - plain, writing - plain);
    println!(
        "per request: bare {plain}, read {reading} (+{read_extra}), write {writing} (+{write_extra})"
    );
    assert!(
        read_extra <= 16,
        "a session read adds {read_extra} allocations"
    );
    assert!(
        write_extra <= 32,
        "a session write adds {write_extra} allocations"
    );
}
