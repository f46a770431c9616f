//! Secure signed-cookie user sessions for actix-web in one attribute: `#[with_session]`.
//!
//! The session is a JSON object stored in the `session` cookie as a JWT signed with
//! HS256, in the same wire format as Python's Microdot and PyJWT, so an actix app and a
//! Microdot app that share a secret share their users' sessions.
//!
//! # Quick start
//!
//! ```
//! use actix_web::{App, HttpResponse, Responder, get, post, test, web};
//! use jwt_session::{Session, SessionDict, SessionError, with_session};
//!
//! #[derive(serde::Deserialize)]
//! struct Login {
//!     username: String,
//! }
//!
//! #[post("/login")]
//! #[with_session]
//! async fn login(form: web::Form<Login>, mut session: SessionDict) -> Result<impl Responder, SessionError> {
//!     session.insert("username", &form.username)?;
//!     session.save()?;
//!     Ok(HttpResponse::SeeOther().insert_header(("Location", "/")).finish())
//! }
//!
//! #[get("/")]
//! #[with_session]
//! async fn index(session: SessionDict) -> Result<String, SessionError> {
//!     Ok(match session.get::<String>("username")? {
//!         Some(name) => format!("Logged in as {name}"),
//!         None => "Not logged in".to_owned(),
//!     })
//! }
//!
//! # actix_web::rt::System::new().block_on(async {
//! // In a real app the secret comes from the environment: at least 32 random bytes.
//! let session = Session::new("an example secret of at least 32 bytes");
//! let app = test::init_service(App::new().app_data(session).service(login).service(index)).await;
//!
//! let req = test::TestRequest::post().uri("/login").set_form([("username", "joe")]).to_request();
//! let res = test::call_service(&app, req).await;
//! let cookie = res.response().cookies().next().unwrap().into_owned();
//! assert_eq!(cookie.name(), "session");
//!
//! let res = test::call_service(&app, test::TestRequest::get().uri("/").cookie(cookie).to_request()).await;
//! assert_eq!(test::read_body(res).await, "Logged in as joe");
//! # });
//! ```
//!
//! # The attribute
//!
//! `#[with_session]` goes on an actix-web handler with one `SessionDict` parameter,
//! anywhere in its parameter list and next to any other extractors. It loads the session
//! from the request's cookie, passes it in, and when the handler returns:
//!
//! - writes the cookie scheduled by [`SessionDict::save`] or [`SessionDict::delete`], if
//!   any (the last call wins; a response carries at most one session cookie);
//! - drops that cookie when the response is a 5xx or comes from an error;
//! - adds `Vary: Cookie`.
//!
//! The route attribute (`#[get]`, `#[post]`, `#[route]`, `#[routes]`) may stand above or
//! below it, and `web::get().to(handler)` works too. Sync handlers are accepted, as in
//! Microdot. Any `Responder` may be returned, and `return` and `?` work as usual.
//!
//! A cookie that is missing, tampered with, signed with another key or algorithm, or
//! expired gives an empty session; the reason is logged at debug level with `tracing`.
//!
//! `#[with_session(crate = path)]` names the crate when the dependency is renamed.

#![deny(missing_docs)]
#![doc(test(attr(deny(warnings))))]

pub use jwt_session_macros::with_session;
pub use jwt_session_runtime::{
    Algorithm, DecodingKey, EncodingKey, ResponseSession, SameSite, Session, SessionData,
    SessionDict, SessionError, TestClock, TypedSession,
};

#[doc(hidden)]
pub use jwt_session_runtime::__private;

/// Compiles the README's examples as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
