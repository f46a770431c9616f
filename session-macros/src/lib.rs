//! The `#[with_session]` attribute of [`jwt-session`](https://docs.rs/jwt-session).
//!
//! Depend on `jwt-session`, which re-exports this macro together with the runtime that its
//! expansion calls; the macro's documentation lives there.

#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod args;
mod expand;
mod handler;

use proc_macro::TokenStream;

/// Loads the session into a handler's `SessionDict` parameter and writes the session
/// cookie on its response.
///
/// Put it on an actix-web handler that has exactly one `SessionDict` parameter, in any
/// position and next to any other extractors. The route attribute may stand above or below
/// it. On the way out, the cookie scheduled by `save()` or `delete()` is written (none on a
/// 5xx or error response) and `Vary: Cookie` is added.
///
/// ```
/// use actix_web::{App, HttpRequest, HttpResponse, get, test};
/// use jwt_session::{Session, SessionDict, SessionError, with_session};
///
/// #[get("/hello/{name}")]
/// #[with_session]
/// fn hello(req: HttpRequest, mut session: SessionDict) -> Result<HttpResponse, SessionError> {
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
/// Options: `#[with_session(crate = path)]` names the `jwt_session` crate when the
/// dependency is renamed. Misuse (no or two `SessionDict` parameters, a `self` receiver,
/// a `const fn`, anything other than a fn, unknown options) is a compile error at the
/// offending code.
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
