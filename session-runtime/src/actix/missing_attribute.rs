//! A `SessionDict` or `TypedSession<T>` parameter on a handler without `#[with_session]`:
//! a compile error that names the fix.
//!
//! actix-web asks each handler parameter for `FromRequest`. Both session types implement it
//! under a bound that no type satisfies, so the error a user sees is this trait's message
//! instead of "`FromRequest` is not implemented". The attribute replaces the parameter's
//! type in its expansion, which never uses these impls; and since the bound never holds,
//! nothing extracts a session without the attribute (which writes the cookie back).

use std::future::Ready;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};

use crate::engine::dict::SessionDict;
use crate::engine::typed::TypedSession;
use crate::error::SessionError;

/// Implemented by no type: the bound under which the session types are `FromRequest`.
///
/// Public in a private module, so other crates can neither name nor implement it. The
/// lifetime keeps the bound on `SessionDict` from being a trivially false one, which
/// Rust refuses in a where clause.
#[diagnostic::on_unimplemented(
    message = "a `{Self}` parameter is filled only by #[with_session]",
    label = "this handler takes a session but has no working #[with_session]",
    note = "add #[with_session] to the handler, above or below its route attribute (it loads the session and writes the cookie on the response); if it is there, fix the error it reports"
)]
pub trait FilledByWithSession<'a>: Sized {
    /// Never called, as no type implements this trait.
    fn from_request() -> Ready<Result<Self, SessionError>>;
}

// Hidden: the bound never holds, so to a reader of the docs this impl would only suggest an
// extractor that does not exist.
#[doc(hidden)]
impl<'a> FromRequest for SessionDict
where
    SessionDict: FilledByWithSession<'a>,
{
    type Error = SessionError;
    type Future = Ready<Result<Self, SessionError>>;

    fn from_request(_: &HttpRequest, _: &mut Payload) -> Self::Future {
        <Self as FilledByWithSession<'a>>::from_request()
    }
}

#[doc(hidden)]
impl<'a, T> FromRequest for TypedSession<T>
where
    TypedSession<T>: FilledByWithSession<'a>,
{
    type Error = SessionError;
    type Future = Ready<Result<Self, SessionError>>;

    fn from_request(_: &HttpRequest, _: &mut Payload) -> Self::Future {
        <Self as FilledByWithSession<'a>>::from_request()
    }
}
