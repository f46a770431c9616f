//! The axum peer for scripts/bench.sh (its `axum` mode): the routes of
//! `examples/bench_axum.rs` on tower-sessions with its `MemoryStore`, on one tokio thread.
//!
//! - `GET /bare`: outside the session layer, as on `examples/bench_axum.rs`;
//! - `GET /read`: reads `username` (a store load), never saves;
//! - `POST /write`: increments `counter`, sets `username`; tower-sessions saves a modified
//!   session to the store when the response leaves.
//!
//! ```text
//! PORT=8081 cargo run --release --example bench_tower_sessions
//! ```

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, post};
use tower_sessions::{MemoryStore, Session, SessionManagerLayer};

async fn bare() -> &'static str {
    "ok"
}

fn failed(_: tower_sessions::session::Error) -> StatusCode {
    StatusCode::INTERNAL_SERVER_ERROR
}

async fn read(session: Session) -> Result<String, StatusCode> {
    let username = session.get::<String>("username").await.map_err(failed)?;
    Ok(username.unwrap_or_default())
}

async fn write(session: Session) -> Result<String, StatusCode> {
    let counter = session
        .get::<u64>("counter")
        .await
        .map_err(failed)?
        .unwrap_or(0)
        + 1;
    session.insert("counter", counter).await.map_err(failed)?;
    session.insert("username", "ann").await.map_err(failed)?;
    Ok(counter.to_string())
}

// One worker, as the actix servers of the script run: the current-thread runtime.
#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|port| port.parse().ok())
        .unwrap_or(8081);
    let layer = SessionManagerLayer::new(MemoryStore::default()).with_secure(false);
    // `layer` wraps the routes added before it: /bare, added after, runs without it.
    let app = Router::new()
        .route("/read", get(read))
        .route("/write", post(write))
        .layer(layer)
        .route("/bare", get(bare));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    axum::serve(listener, app).await
}
