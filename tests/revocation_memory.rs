//! Issue 25, finding 7: the memory a revocation store costs, measured. A flood of anonymous
//! renewals (each one revokes the token it replaces) runs for three lifetimes of 1 s; the
//! peak of the heap this thread holds above the start, divided by the logouts made per
//! lifetime, is the figure docs/revocation.md states: it counts every copy (the store's,
//! a replica's, and the config's own copy of its recent revocations when the store does not
//! keep them), the maps' spare capacity and the expired entries not swept yet.
//! `cargo test --test revocation_memory -- --nocapture` prints the numbers.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::{Duration, Instant};

use actix_web::{App, HttpResponse, post, test};
use jwt_session::revocation::{MemoryStore, RedisStore, RevocationStore};
use jwt_session::{Session, SessionDict, SessionError, with_session};

use common::redis_server::RedisServer;
use common::{SECRET, send, session_cookie, with_token};

struct Tracking;

thread_local! {
    /// Bytes this thread holds (allocated here, freed here), and the peak since a reset.
    static HELD: Cell<(isize, isize)> = const { Cell::new((0, 0)) };
}

fn add(bytes: isize) {
    // `try_with`: the allocator runs while thread-locals are torn down.
    let _ = HELD.try_with(|held| {
        let (now, peak) = held.get();
        held.set((now + bytes, peak.max(now + bytes)));
    });
}

unsafe impl GlobalAlloc for Tracking {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        add(layout.size().cast_signed());
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        add(-layout.size().cast_signed());
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        add(new_size.cast_signed() - layout.size().cast_signed());
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Tracking = Tracking;

/// The session lifetime of the flood: revocations live this long.
const LIFETIME: Duration = Duration::from_secs(1);

/// The most a revocation may cost per logout per lifetime, every copy included; the
/// measured figure is printed and goes in docs/revocation.md.
const BOUND_BYTES: usize = 400;

#[post("/renew")]
#[with_session]
async fn renew(mut session: SessionDict) -> Result<HttpResponse, SessionError> {
    session.renew();
    session.insert("n", 1)?;
    session.save()?;
    Ok(HttpResponse::Ok().finish())
}

/// Peak bytes held per logout per lifetime during a renewal flood of three lifetimes.
async fn bytes_per_logout(store: impl RevocationStore) -> usize {
    let session = Session::new(SECRET)
        .max_age(LIFETIME)
        .leeway(Duration::ZERO)
        .revocation(store);
    let app = test::init_service(App::new().app_data(session).service(renew)).await;
    let mut token = String::new();
    let mut flood = async |rounds: usize| {
        for _ in 0..rounds {
            let mut req = test::TestRequest::post().uri("/renew");
            if !token.is_empty() {
                req = with_token(req, &token);
            }
            token = session_cookie(&send(&app, req).await).value().to_owned();
        }
    };
    flood(100).await;
    let start = HELD.with(|held| {
        let (now, _) = held.get();
        held.set((now, now));
        now
    });
    let began = Instant::now();
    let mut logouts = 0_usize;
    while began.elapsed() < LIFETIME * 3 {
        flood(100).await;
        logouts += 100;
    }
    let per_lifetime = logouts / 3;
    let peak = HELD.with(Cell::get).1 - start;
    usize::try_from(peak).unwrap() / per_lifetime
}

#[actix_web::test]
async fn memory_per_logout_is_within_the_documented_bound() {
    let memory = bytes_per_logout(MemoryStore::new()).await;
    eprintln!("measured: MemoryStore {memory} bytes per logout per lifetime");
    assert!(memory <= BOUND_BYTES, "MemoryStore: {memory} bytes");
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let replica = RedisStore::open(&redis.url()).unwrap();
    let replica = bytes_per_logout(replica).await;
    eprintln!("measured: RedisStore (replica) {replica} bytes per logout per lifetime");
    assert!(replica <= BOUND_BYTES, "RedisStore: {replica} bytes");
    let lookups = RedisStore::open(&redis.url())
        .unwrap()
        .per_request_lookups();
    let lookups = bytes_per_logout(lookups).await;
    eprintln!(
        "measured: RedisStore::per_request_lookups {lookups} bytes per logout per lifetime \
         (the config's own copy)"
    );
    assert!(
        lookups <= BOUND_BYTES,
        "per_request_lookups: {lookups} bytes"
    );
}
