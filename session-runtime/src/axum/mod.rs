//! The axum adapter (feature `axum`): a tower [`SessionLayer`], and the session types as
//! extractors.
//!
//! On actix a handler gets its session from the `#[with_session]` attribute; on axum there
//! is no attribute: add [`SessionLayer::new(session)`](SessionLayer::new) to the router,
//! and take [`SessionDict`](crate::SessionDict), [`TypedSession<T>`](crate::TypedSession)
//! or [`Session`](crate::Session) as extractors (`FromRequestParts`). They are the same
//! types, with the same methods and meaning as on actix, and the same cookies: an actix app
//! and an axum app that share a secret read each other's sessions.
//!
//! - Sessions load on demand: a route that takes no session extractor costs nothing.
//! - Several extractors in one handler share one state, and the token is verified once.
//! - The response carries `Set-Cookie` only when the session changed (the last of `save`,
//!   `delete` and `renew` wins), never on a 5xx, and `Vary: Cookie` when a session loaded.
//! - A [`SessionError`](crate::SessionError) rejection, or `?` in a handler, is a 500; a
//!   route without the layer answers 500 with a body (debug builds) and a log line naming
//!   the layer to add.
//!
//! ```
//! use axum::{Router, routing::get};
//! use jwt_session::{Session, SessionError, TypedSession};
//! use jwt_session::axum::SessionLayer;
//! use serde::{Deserialize, Serialize};
//! use tower::ServiceExt;
//!
//! #[derive(Default, Serialize, Deserialize)]
//! struct Visits {
//!     count: u32,
//! }
//!
//! async fn visit(mut visits: TypedSession<Visits>) -> Result<String, SessionError> {
//!     visits.count += 1;
//!     visits.save()?;
//!     Ok(format!("visit {}", visits.count))
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let app = Router::new()
//!     .route("/", get(visit))
//!     .layer(SessionLayer::new(Session::new([7u8; 32])));
//! let request = http::Request::get("/").body(axum::body::Body::empty()).unwrap();
//! let response = app.oneshot(request).await.unwrap();
//! assert_eq!(response.headers()["vary"], "Cookie");
//! # }
//! ```

#[cfg(feature = "csrf")]
mod csrf;
mod extract;
mod layer;
#[cfg(feature = "login")]
mod login;
mod request;
mod response;

#[cfg(feature = "csrf")]
pub use csrf::{CsrfFuture, CsrfService};
pub use layer::{ResponseFuture, SessionLayer, SessionService};
#[cfg(feature = "login")]
pub use login::LoginSession;
