//! The peer for scripts/bench.sh: the same three routes on actix-session's
//! `CookieSessionStore` in signed mode, in private (encrypted) mode with `PRIVATE=1`, or on
//! its `RedisSessionStore` (one round trip per read) with `STORE=redis` and `REDIS_URL`;
//! one worker.
//!
//! ```text
//! PORT=8081 cargo run --release -p jwt-session-xtests --example bench_actix_session
//! PRIVATE=1 PORT=8081 cargo run --release -p jwt-session-xtests --example bench_actix_session   # AES-256-GCM
//! STORE=redis REDIS_URL=redis://127.0.0.1/ PORT=8081 cargo run --release -p jwt-session-xtests --example bench_actix_session
//! ```

use actix_session::config::CookieContentSecurity;
use actix_session::storage::{CookieSessionStore, RedisSessionStore, SessionStore};
use actix_session::{Session, SessionMiddleware};
use actix_web::cookie::Key;
use actix_web::{App, HttpResponse, HttpServer, get, post};

#[get("/bare")]
async fn bare() -> HttpResponse {
    HttpResponse::Ok().body("ok")
}

#[get("/read")]
async fn read(session: Session) -> actix_web::Result<HttpResponse> {
    let username = session.get::<String>("username")?;
    Ok(HttpResponse::Ok().body(username.unwrap_or_default()))
}

#[post("/write")]
async fn write(session: Session) -> actix_web::Result<HttpResponse> {
    let counter = session.get::<u64>("counter")?.unwrap_or(0) + 1;
    session.insert("counter", counter)?;
    session.insert("username", "ann")?;
    Ok(HttpResponse::Ok().body(counter.to_string()))
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|port| port.parse().ok())
        .unwrap_or(8081);
    let key = Key::from(&[7u8; 64]);
    let security = if std::env::var_os("PRIVATE").is_some_and(|value| value == "1") {
        CookieContentSecurity::Private
    } else {
        CookieContentSecurity::Signed
    };
    if std::env::var("STORE").is_ok_and(|store| store == "redis") {
        let url = std::env::var("REDIS_URL").map_err(std::io::Error::other)?;
        let store = RedisSessionStore::new(url)
            .await
            .map_err(std::io::Error::other)?;
        // The cookie holds only the session key: actix-session's default, private.
        return serve(
            move || store.clone(),
            key,
            CookieContentSecurity::Private,
            port,
        )
        .await;
    }
    serve(CookieSessionStore::default, key, security, port).await
}

/// The three routes behind actix-session's middleware on the store `make_store` gives each
/// worker, one worker.
async fn serve<S: SessionStore + 'static>(
    make_store: impl Fn() -> S + Clone + Send + 'static,
    key: Key,
    security: CookieContentSecurity,
    port: u16,
) -> std::io::Result<()> {
    HttpServer::new(move || {
        App::new()
            .wrap(
                SessionMiddleware::builder(make_store(), key.clone())
                    .cookie_content_security(security)
                    .cookie_secure(false)
                    .build(),
            )
            .service(bare)
            .service(read)
            .service(write)
    })
    .workers(1)
    .bind(("127.0.0.1", port))?
    .run()
    .await
}
