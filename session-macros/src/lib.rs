//! The `#[with_session]` attribute of [`jwt-session`](https://docs.rs/jwt-session).
//!
//! Depend on `jwt-session`, which re-exports this macro together with the runtime that its
//! expansion calls. The attribute's documentation is the manual; docs.rs shows it under
//! `jwt_session::with_session`.

#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod args;
mod expand;
mod handler;

use proc_macro::TokenStream;

/// Gives an actix-web handler the request's session, and writes the session cookie on its
/// response.
///
/// Put it on a handler (or a `middleware::from_fn` function) that takes one session
/// parameter, [`SessionDict`] or [`TypedSession<T>`], by value (`mut` is fine), at any
/// position among any other extractors. The attribute loads the session from the request's
/// cookie and passes it in. On the way out it writes the cookie that `save()` or
/// `delete()` scheduled (the last call wins; none on a 5xx or error response), and adds
/// `Vary: Cookie`. The app must register a [`Session`] config with `App::app_data`.
///
/// [`SessionDict`]: https://docs.rs/jwt-session/latest/jwt_session/struct.SessionDict.html
/// [`TypedSession<T>`]: https://docs.rs/jwt-session/latest/jwt_session/struct.TypedSession.html
/// [`Session`]: https://docs.rs/jwt-session/latest/jwt_session/struct.Session.html
///
/// # `SessionDict`: the session as a JSON object
///
/// ```
/// use actix_web::{App, HttpRequest, HttpResponse, get, test};
/// use jwt_session::{Session, SessionDict, SessionError, with_session};
///
/// #[get("/hello/{name}")]
/// #[with_session]
/// async fn hello(req: HttpRequest, mut session: SessionDict) -> Result<HttpResponse, SessionError> {
///     let name = req.match_info().query("name").to_owned();
///     session.insert("name", &name)?;
///     session.save()?;
///     Ok(HttpResponse::Ok().body(format!("Hello {name}!")))
/// }
///
/// # actix_web::rt::System::new().block_on(async {
/// let app = test::init_service(App::new().app_data(Session::new([7u8; 32])).service(hello)).await;
/// let res = test::call_service(&app, test::TestRequest::get().uri("/hello/ann").to_request()).await;
/// assert_eq!(res.headers().get("vary").unwrap(), "Cookie");
/// assert!(res.headers().get("set-cookie").unwrap().to_str().unwrap().starts_with("session=ey"));
/// # });
/// ```
///
/// # `TypedSession<T>`: the session as your own type
///
/// `T` must be `Serialize + Deserialize + Default`; its fields are the cookie's claims, so
/// the wire format is the same. A cookie that does not fit `T` gives `T::default()`: mark
/// fields added later `#[serde(default)]`, so that older cookies keep their other fields.
///
/// ```
/// use actix_web::{App, HttpResponse, post, test};
/// use jwt_session::{Session, SessionError, TypedSession, with_session};
///
/// #[derive(serde::Serialize, serde::Deserialize, Default)]
/// struct Cart {
///     items: Vec<String>,
/// }
///
/// #[post("/add")]
/// #[with_session]
/// async fn add(mut cart: TypedSession<Cart>) -> Result<HttpResponse, SessionError> {
///     cart.items.push("apple".to_owned()); // TypedSession<Cart> derefs to Cart
///     cart.save()?;
///     Ok(HttpResponse::Ok().body(cart.items.len().to_string()))
/// }
///
/// # actix_web::rt::System::new().block_on(async {
/// let app = test::init_service(App::new().app_data(Session::new([7u8; 32])).service(add)).await;
/// let res = test::call_service(&app, test::TestRequest::post().uri("/add").to_request()).await;
/// assert!(res.headers().contains_key("set-cookie"));
/// assert_eq!(test::read_body(res).await, "1");
/// # });
/// ```
///
/// # `autosave`: save whatever the handler changed
///
/// `#[with_session(autosave)]` saves the session when it is dropped, if it was changed
/// (`insert`, `remove`, `clear`, or any `&mut` access to a `TypedSession`) and neither
/// `save()` nor `delete()` was called. An autosave that fails (a session too large for a
/// cookie) is logged at error level, and the response carries no cookie.
///
/// ```
/// use actix_web::{App, HttpResponse, post, test};
/// use jwt_session::{Session, SessionDict, SessionError, with_session};
///
/// #[post("/visit")]
/// #[with_session(autosave)]
/// async fn visit(mut session: SessionDict) -> Result<HttpResponse, SessionError> {
///     let visits = session.get::<u32>("visits")?.unwrap_or(0) + 1;
///     session.insert("visits", visits)?; // no save(): autosave sends it
///     Ok(HttpResponse::Ok().finish())
/// }
///
/// # actix_web::rt::System::new().block_on(async {
/// let app = test::init_service(App::new().app_data(Session::new([7u8; 32])).service(visit)).await;
/// let res = test::call_service(&app, test::TestRequest::post().uri("/visit").to_request()).await;
/// assert!(res.headers().get("set-cookie").unwrap().to_str().unwrap().starts_with("session=ey"));
/// # });
/// ```
///
/// # `crate = path`: a renamed dependency
///
/// The expansion refers to `::jwt_session`. When the dependency has another name (in
/// `Cargo.toml`, or re-exported by another crate), name it:
///
/// ```
/// use actix_web::{App, HttpResponse, get, test};
/// use jwt_session as sessions; // as if `sessions = { package = "jwt-session", .. }`
///
/// #[get("/")]
/// #[sessions::with_session(crate = sessions)]
/// async fn index(session: sessions::SessionDict) -> HttpResponse {
///     HttpResponse::Ok().body(session.len().to_string())
/// }
///
/// # actix_web::rt::System::new().block_on(async {
/// let app = test::init_service(App::new().app_data(sessions::Session::new([7u8; 32])).service(index)).await;
/// let res = test::call_service(&app, test::TestRequest::get().to_request()).await;
/// assert_eq!(test::read_body(res).await, "0");
/// # });
/// ```
///
/// Options are separated by commas: `#[with_session(autosave, crate = sessions)]`.
///
/// # `middleware::from_fn` functions
///
/// A function that takes actix-web's `Next` is a middleware: it keeps its return type, and
/// its session cookie is written on the response that `next.call(req)` produced. The
/// handlers behind it see what it saved.
///
/// ```
/// use actix_web::body::MessageBody;
/// use actix_web::dev::{ServiceRequest, ServiceResponse};
/// use actix_web::middleware::{Next, from_fn};
/// use actix_web::{App, Error, HttpResponse, get, test};
/// use jwt_session::{Session, SessionDict, SessionError, with_session};
///
/// #[with_session]
/// async fn count_requests(
///     mut session: SessionDict, // extractors first: actix wants `req` and `next` last
///     req: ServiceRequest,
///     next: Next<impl MessageBody>,
/// ) -> Result<ServiceResponse<impl MessageBody>, Error> {
///     let seen = session.get::<u32>("requests")?.unwrap_or(0) + 1;
///     session.insert("requests", seen)?;
///     session.save()?;
///     next.call(req).await
/// }
///
/// #[get("/")]
/// #[with_session]
/// async fn index(session: SessionDict) -> Result<HttpResponse, SessionError> {
///     let seen = session.get::<u32>("requests")?.unwrap_or(0);
///     Ok(HttpResponse::Ok().body(seen.to_string()))
/// }
///
/// # actix_web::rt::System::new().block_on(async {
/// let app = test::init_service(
///     App::new().app_data(Session::new([7u8; 32])).wrap(from_fn(count_requests)).service(index),
/// ).await;
/// let res = test::call_service(&app, test::TestRequest::get().to_request()).await;
/// assert!(res.headers().contains_key("set-cookie"));
/// assert_eq!(test::read_body(res).await, "1");
/// # });
/// ```
///
/// # Sync handlers
///
/// A handler without `async` works as written, as in Microdot; it runs on the async
/// worker, so keep it short.
///
/// ```
/// use actix_web::{App, get, test};
/// use jwt_session::{Session, SessionDict, with_session};
///
/// #[get("/")]
/// #[with_session]
/// fn count(session: SessionDict) -> String {
///     session.len().to_string()
/// }
///
/// # actix_web::rt::System::new().block_on(async {
/// let app = test::init_service(App::new().app_data(Session::new([7u8; 32])).service(count)).await;
/// let res = test::call_service(&app, test::TestRequest::get().to_request()).await;
/// assert_eq!(test::read_body(res).await, "0");
/// # });
/// ```
///
/// # Next to the route macros
///
/// The route attribute (`#[get]`, `#[post]`, `#[route]`, `#[routes]`) may stand above or
/// below `#[with_session]`, and a handler without one is registered with
/// `web::get().to(handler)` as usual. An attribute below `#[with_session]` that names the
/// handler's parameters, such as `#[tracing::instrument(skip(session))]`, finds them: the
/// generated handler keeps the names of plain parameters. Inner attributes (`#![allow(..)]`
/// opening the body) apply to the body as written.
///
/// ```
/// use actix_web::{App, HttpResponse, get, test, web};
/// use jwt_session::{Session, SessionDict, with_session};
///
/// #[with_session] // above the route macro
/// #[get("/above")]
/// async fn above(session: SessionDict) -> HttpResponse {
///     HttpResponse::Ok().body(session.len().to_string())
/// }
///
/// #[get("/below")]
/// #[with_session] // below the route macro
/// async fn below(session: SessionDict) -> HttpResponse {
///     HttpResponse::Ok().body(session.len().to_string())
/// }
///
/// #[with_session] // no route macro
/// async fn routed(session: SessionDict) -> HttpResponse {
///     #![allow(clippy::len_zero)]
///     HttpResponse::Ok().body((session.len() == 0).to_string())
/// }
///
/// # actix_web::rt::System::new().block_on(async {
/// let app = test::init_service(
///     App::new()
///         .app_data(Session::new([7u8; 32]))
///         .service(above)
///         .service(below)
///         .route("/routed", web::get().to(routed)),
/// ).await;
/// for (uri, body) in [("/above", "0"), ("/below", "0"), ("/routed", "true")] {
///     let res = test::call_service(&app, test::TestRequest::get().uri(uri).to_request()).await;
///     assert_eq!(test::read_body(res).await, body);
/// }
/// # });
/// ```
///
/// # What it refuses
///
/// Each of these is a compile error pointing at the offending code:
///
/// - no session parameter, or two; a session taken by reference, in an `Option` or any
///   other wrapper;
/// - anything but a fn; a `const`, `unsafe` or `extern "C"` fn; a `self` receiver;
/// - options other than `autosave` and `crate = path`, or one given twice (the handler is
///   still expanded, so that is the only error);
/// - a return type that is not a `Responder` (a middleware must return
///   `Result<ServiceResponse<B>, E>`), and a `TypedSession<T>` whose `T` is not
///   `SessionData`;
/// - `Self`, and the generic parameters of an enclosing `impl`: the body moves into a fn
///   nested in the handler, where neither is in scope (rustc reports the latter). Write the
///   type's name, or make the handler a free fn with generics of its own.
///
/// Forgetting the attribute is an error too: registering a handler that takes a
/// `SessionDict` or a `TypedSession<T>` without `#[with_session]` does not compile, and the
/// error names the attribute.
#[proc_macro_attribute]
pub fn with_session(args: TokenStream, item: TokenStream) -> TokenStream {
    let (args, args_error) = args::parse(args.into());
    let item = proc_macro2::TokenStream::from(item);
    let mut tokens = match handler::parse(item.clone()) {
        Ok(handler) => expand::expand(&args, handler),
        // The original item stays, so one mistake gives one error and IDEs keep working.
        Err(err) => {
            let mut tokens = handler::recovery(item);
            tokens.extend(err.to_compile_error());
            tokens
        }
    };
    if let Some(err) = args_error {
        tokens.extend(err.to_compile_error());
    }
    tokens.into()
}
