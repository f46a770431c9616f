//! The load-test server for scripts/bench.sh and scripts/soak.sh: one worker, three routes.
//!
//! - `GET /bare`: no session;
//! - `GET /read`: `#[with_session]`, reads `username`, never saves;
//! - `POST /write`: increments `counter`, sets `username`, saves.
//!
//! The same `/read` and `/write` under `/memory` check a `MemoryStore` deny-list, and under
//! `/redis` (when `REDIS_URL` is set) a `RedisStore` (its replica); under `/lifetime` they
//! run with the same one-hour lifetime and no store, the baseline the stores are measured
//! against (a store needs a lifetime, which adds `exp` and `iat` to every token).
//!
//! ```text
//! PORT=8080 cargo run --release --example bench_server
//! ENCRYPTED=1 PORT=8080 cargo run --release --example bench_server   # Session::encrypted
//! STORE=redis REDIS_URL=redis://127.0.0.1/ PORT=8080 cargo run --release --example bench_server
//! ```
//!
//! With `STORE=redis`, `/read` and `/write` themselves run under the `RedisStore` (its
//! replica), so scripts/bench.sh compares them with actix-session's `RedisSessionStore`.

use std::time::Duration;

use actix_web::{App, HttpResponse, HttpServer, get, post, web};
use jwt_session::{
    Session, SessionDict, SessionError,
    revocation::{MemoryStore, RedisStore, RevocationStore},
    with_session,
};

/// Shared with scripts/soak.sh, which forges hostile tokens with it.
pub const BENCH_SECRET: &str = "benchmark secret: not for production use!";

#[get("/bare")]
async fn bare() -> HttpResponse {
    HttpResponse::Ok().body("ok")
}

#[get("/read")]
#[with_session]
async fn read(session: SessionDict) -> Result<HttpResponse, SessionError> {
    let username = session.get::<String>("username")?;
    Ok(HttpResponse::Ok().body(username.unwrap_or_default()))
}

#[post("/write")]
#[with_session]
async fn write(mut session: SessionDict) -> Result<HttpResponse, SessionError> {
    let counter = session.get::<u64>("counter")?.unwrap_or(0) + 1;
    session.insert("counter", counter)?;
    session.insert("username", "ann")?;
    session.save()?;
    Ok(HttpResponse::Ok().body(counter.to_string()))
}

/// The three routes; the benchmarks and the allocation test measure these same handlers.
pub fn routes(config: &mut web::ServiceConfig) {
    config.service(bare).service(read).service(write);
}

/// The bench config with a revocation `store`: the same secret, a one-hour lifetime.
pub fn revocation_session(store: impl RevocationStore) -> Session {
    Session::new(BENCH_SECRET)
        .secure(false)
        .max_age(Duration::from_secs(3600))
        .revocation(store)
        .user_claim("username")
}

/// `/read` and `/write` under `/lifetime`: the stores' config without a store.
pub fn lifetime_routes(config: &mut web::ServiceConfig) {
    config.service(
        web::scope("/lifetime")
            .app_data(
                Session::new(BENCH_SECRET)
                    .secure(false)
                    .max_age(Duration::from_secs(3600)),
            )
            .service(read)
            .service(write),
    );
}

/// `/read` and `/write` under `prefix`, checked against `store`.
pub fn revocation_routes(
    config: &mut web::ServiceConfig,
    prefix: &str,
    store: impl RevocationStore,
) {
    config.service(
        web::scope(prefix)
            .app_data(revocation_session(store))
            .service(read)
            .service(write),
    );
}

#[allow(dead_code)] // the benches and tests include this file for its routes only
#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|port| port.parse().ok())
        .unwrap_or(8080);
    let mut session = Session::new(BENCH_SECRET).secure(false);
    if std::env::var_os("ENCRYPTED").is_some_and(|value| value == "1") {
        session = session.encrypted();
    }
    let memory = MemoryStore::new();
    // One store, so one connection manager, shared by every request.
    let redis = match std::env::var("REDIS_URL") {
        Ok(url) => Some(RedisStore::open(&url).map_err(std::io::Error::other)?),
        Err(_) => None,
    };
    if std::env::var("STORE").is_ok_and(|store| store == "redis") {
        let redis = redis
            .clone()
            .ok_or_else(|| std::io::Error::other("STORE=redis needs REDIS_URL"))?;
        session = revocation_session(redis);
    }
    HttpServer::new(move || {
        App::new()
            .app_data(session.clone())
            .configure(routes)
            .configure(lifetime_routes)
            .configure(|config| revocation_routes(config, "/memory", memory.clone()))
            .configure(|config| {
                if let Some(redis) = &redis {
                    revocation_routes(config, "/redis", redis.clone());
                }
            })
    })
    .workers(1)
    .bind(("127.0.0.1", port))?
    .run()
    .await
}
