//! The axum load-test server for scripts/bench.sh (its `axum` mode): the routes of
//! `examples/bench_server.rs` behind `SessionLayer`, on one tokio thread.
//!
//! - `GET /bare`: outside the layer, the baseline (as on the peer);
//! - `GET /read`: reads `username`, never saves;
//! - `POST /write`: increments `counter`, sets `username`, saves.
//!
//! ```text
//! PORT=8080 cargo run --release --features axum --example bench_axum
//! ENCRYPTED=1 PORT=8080 cargo run --release --features axum --example bench_axum   # Session::encrypted
//! ```
//!
//! The peer is `examples/bench_tower_sessions.rs`, the same routes on tower-sessions.

use axum::Router;
use axum::routing::{get, post};
use jwt_session::axum::SessionLayer;
use jwt_session::{Session, SessionDict, SessionError};

/// The secret of `examples/bench_server.rs`, so both servers accept each other's cookies.
const BENCH_SECRET: &str = "benchmark secret: not for production use!";

async fn bare() -> &'static str {
    "ok"
}

async fn read(session: SessionDict) -> Result<String, SessionError> {
    Ok(session.get::<String>("username")?.unwrap_or_default())
}

async fn write(mut session: SessionDict) -> Result<String, SessionError> {
    let counter = session.get::<u64>("counter")?.unwrap_or(0) + 1;
    session.insert("counter", counter)?;
    session.insert("username", "ann")?;
    session.save()?;
    Ok(counter.to_string())
}

// One worker, as the actix servers of the script run: the current-thread runtime.
#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|port| port.parse().ok())
        .unwrap_or(8080);
    let mut session = Session::new(BENCH_SECRET).secure(false);
    if std::env::var_os("ENCRYPTED").is_some_and(|value| value == "1") {
        session = session.encrypted();
    }
    // `layer` wraps the routes added before it: /bare, added after, runs without it.
    let app = Router::new()
        .route("/read", get(read))
        .route("/write", post(write))
        .layer(SessionLayer::new(session))
        .route("/bare", get(bare));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    axum::serve(listener, app).await
}
