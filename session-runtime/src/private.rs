//! What `#[with_session]` expands to. Not public API: names may change in any release.

use std::future::{Ready, ready};
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, HttpResponse, Responder};

use crate::dict::SessionDict;
use crate::error::SessionError;
use crate::request::{self, RequestSession};

/// Extracts the request's session in place of the handler's `SessionDict` parameter.
pub struct SessionLoader {
    session: SessionDict,
    request: Arc<RequestSession>,
}

impl SessionLoader {
    /// Splits into the handler's session and the handle that writes the response cookie.
    pub fn into_parts(self) -> (SessionDict, SessionHandle) {
        (self.session, SessionHandle(self.request))
    }
}

impl FromRequest for SessionLoader {
    type Error = SessionError;
    type Future = Ready<Result<Self, SessionError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(request::load(req).map(|session| {
            let request = session.request_state();
            Self { session, request }
        }))
    }
}

/// Keeps the request's session state until the response is built.
pub struct SessionHandle(Arc<RequestSession>);

/// The handler's responder, followed by the session's `Vary` and `Set-Cookie` headers.
pub struct SessionResponder<R> {
    inner: R,
    handle: SessionHandle,
}

impl<R> SessionResponder<R> {
    /// Wraps the handler's return value.
    pub fn new(inner: R, handle: SessionHandle) -> Self {
        Self { inner, handle }
    }
}

impl<R: Responder> Responder for SessionResponder<R> {
    type Body = R::Body;

    fn respond_to(self, req: &HttpRequest) -> HttpResponse<Self::Body> {
        crate::response::finish(&self.handle.0, self.inner.respond_to(req))
    }
}
