//! What `#[with_session]` expands to. Not public API: names may change in any release.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, HttpResponse, Responder};

use crate::actix::config_source::config_for;
use crate::engine::dict::SessionDict;
use crate::engine::load::{self, LoadStart};
use crate::engine::state::RequestSession;
use crate::error::SessionError;

/// Extracts the request's session in place of the handler's `SessionDict` parameter.
#[derive(Debug)]
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

impl SessionLoader {
    fn new(data: Option<crate::token::payload::Entries>, request: Arc<RequestSession>) -> Self {
        let session = SessionDict::new(data, Arc::clone(&request));
        Self { session, request }
    }
}

impl FromRequest for SessionLoader {
    type Error = SessionError;
    type Future = LoadFuture;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let start = config_for(req).and_then(|session| load::start_load(req, &session));
        LoadFuture(match start {
            Ok(LoadStart::Done(data, state)) => LoadState::Ready(Some(Ok(Self::new(data, state)))),
            Err(err) => LoadState::Ready(Some(Err(err))),
            Ok(LoadStart::Check(check)) => {
                let req = req.clone();
                LoadState::Checking(Box::pin(async move {
                    let (data, state) = check.finish(&req).await;
                    Self::new(data, state)
                }))
            }
        })
    }
}

/// The extractor's future: ready at once, unless a verified cookie awaits its revocation
/// check (the only case that allocates a boxed future).
pub struct LoadFuture(LoadState);

enum LoadState {
    Ready(Option<Result<SessionLoader, SessionError>>),
    Checking(Pin<Box<dyn Future<Output = SessionLoader>>>),
}

impl Future for LoadFuture {
    type Output = Result<SessionLoader, SessionError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.0 {
            LoadState::Ready(result) => {
                Poll::Ready(result.take().expect("LoadFuture polled after completion"))
            }
            LoadState::Checking(check) => check.as_mut().poll(cx).map(Ok),
        }
    }
}

/// The types `#[with_session]` fills: [`SessionDict`] and [`TypedSession`](crate::TypedSession).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a session type #[with_session] can fill",
    label = "use `jwt_session::SessionDict` or `jwt_session::TypedSession<T>` here",
    note = "the session parameter is found by its type's last path segment; is another type called SessionDict or TypedSession in scope?"
)]
pub trait SessionParam: Sized {
    /// Turns the loaded session into the parameter's type.
    fn from_dict(session: SessionDict, autosave: bool) -> Self;
}

impl SessionParam for SessionDict {
    fn from_dict(mut session: SessionDict, autosave: bool) -> Self {
        session.set_autosave(autosave);
        session
    }
}

impl<T: crate::SessionData> SessionParam for crate::TypedSession<T> {
    fn from_dict(session: SessionDict, autosave: bool) -> Self {
        crate::TypedSession::from_dict(session, autosave)
    }
}

/// What a `#[with_session]` `middleware::from_fn` function returns:
/// `Result<ServiceResponse<B>, E>`, finished with the session's cookie on the way out.
#[diagnostic::on_unimplemented(
    message = "a #[with_session] middleware must return `Result<ServiceResponse<B>, E>`, not `{Self}`",
    label = "return what `next.call(req).await` gives"
)]
pub trait MiddlewareReturn: Sized {
    /// Applies the session's `Vary` and `Set-Cookie` to the response.
    fn finish_session(self, handle: SessionHandle) -> Self;
}

impl<B, E> MiddlewareReturn for Result<actix_web::dev::ServiceResponse<B>, E> {
    fn finish_session(self, handle: SessionHandle) -> Self {
        self.map(|response| {
            let (request, response) = response.into_parts();
            actix_web::dev::ServiceResponse::new(
                request,
                crate::actix::response::finish(&handle.0, response),
            )
        })
    }
}

/// Keeps the request's session state until the response is built.
#[derive(Debug)]
pub struct SessionHandle(Arc<RequestSession>);

impl SessionHandle {
    /// Writes the revocation the handler owes (a `delete()` or a renewed save under a
    /// revocation store) before the response is built; returns at once otherwise.
    pub async fn settle(&self) {
        self.0.settle().await;
    }
}

/// The handler's responder, followed by the session's `Vary` and `Set-Cookie` headers.
pub struct SessionResponder<R> {
    inner: R,
    handle: SessionHandle,
}

impl<R: HandlerReturn> SessionResponder<R> {
    /// Wraps the handler's return value. The expansion gives this call the span of the
    /// user's return type, so a non-`Responder` type is reported there.
    pub fn new(inner: R, handle: SessionHandle) -> Self {
        Self { inner, handle }
    }
}

/// `Responder`, under a name whose error message tells a `#[with_session]` user what to do.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an actix-web `Responder`, so a #[with_session] handler cannot return it",
    label = "this return type must implement `actix_web::Responder`",
    note = "return a Responder such as `HttpResponse`, `impl Responder`, `String`, or `Result<impl Responder, E>` with `E: Into<actix_web::Error>`"
)]
pub trait HandlerReturn: Responder {}

impl<R: Responder> HandlerReturn for R {}

impl<R: Responder> Responder for SessionResponder<R> {
    type Body = R::Body;

    fn respond_to(self, req: &HttpRequest) -> HttpResponse<Self::Body> {
        crate::actix::response::finish(&self.handle.0, self.inner.respond_to(req))
    }
}
