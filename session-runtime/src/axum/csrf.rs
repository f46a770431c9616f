//! The CSRF rules as a tower layer: `.layer(Csrf::new())` on an axum `Router`, as
//! `.wrap(Csrf::new())` on actix-web.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use axum_core::body::Body;
use axum_core::response::{IntoResponse, Response};
use http::header::{CONTENT_TYPE, ORIGIN};
use http::{HeaderMap, Request, StatusCode};
use tower_layer::Layer;
use tower_service::Service;

use super::request::original_uri;
use super::response::add_vary;
use crate::csrf::{Csrf, CsrfVerdict, SEC_FETCH_SITE, VARY_ON};

/// The CSRF check in front of an axum service: the same rules as actix-web's middleware.
///
/// ```
/// use axum::{Router, routing::post};
/// use jwt_session::csrf::Csrf;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use tower::ServiceExt;
/// let app = Router::new().route("/transfer", post(|| async { "done" })).layer(Csrf::new());
/// let attack = http::Request::post("/transfer")
///     .header("sec-fetch-site", "cross-site")
///     .body(axum::body::Body::empty())
///     .unwrap();
/// assert_eq!(app.oneshot(attack).await.unwrap().status(), 403);
/// # }
/// ```
impl<S> Layer<S> for Csrf {
    type Service = CsrfService<S>;

    fn layer(&self, inner: S) -> CsrfService<S> {
        CsrfService {
            inner,
            csrf: self.clone(),
        }
    }
}

/// The service [`Csrf`] wraps around an axum one.
#[derive(Clone, Debug)]
pub struct CsrfService<S> {
    inner: S,
    csrf: Csrf,
}

impl<S, ReqBody> Service<Request<ReqBody>> for CsrfService<S>
where
    S: Service<Request<ReqBody>, Response = Response<Body>>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = CsrfFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let headers = request.headers();
        // The full path: patterns name it, and a nested router's URI lost its prefix.
        let path = original_uri(request.extensions(), request.uri()).path();
        let verdict = self.csrf.judge(
            request.method().as_str(),
            path,
            header_text(headers, SEC_FETCH_SITE),
            header_text(headers, ORIGIN.as_str()),
        );
        let checked = match verdict {
            CsrfVerdict::Unchecked => false,
            CsrfVerdict::Passed => true,
            CsrfVerdict::Refused(refusal) => {
                tracing::warn!(method = %request.method(), path = request.uri().path(), "CSRF check refused the request: {refusal}");
                let mut response = (
                    StatusCode::FORBIDDEN,
                    [(CONTENT_TYPE, "text/plain; charset=utf-8")],
                    format!("Forbidden: {refusal}"),
                )
                    .into_response();
                add_vary_on_checked_headers(response.headers_mut());
                return CsrfFuture {
                    state: State::Refused(Some(response)),
                };
            }
        };
        CsrfFuture {
            state: State::Inner {
                future: Box::pin(self.inner.call(request)),
                checked,
            },
        }
    }
}

/// A header's text; a value that is not visible ASCII is reported as such and never passes.
fn header_text<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get(name)
        .map(|value| value.to_str().unwrap_or("(not visible ASCII)"))
}

fn add_vary_on_checked_headers(headers: &mut HeaderMap) {
    for name in VARY_ON {
        add_vary(headers, name);
    }
}

enum State<F> {
    Inner { future: Pin<Box<F>>, checked: bool },
    Refused(Option<Response>),
}

/// The response future of [`CsrfService`].
pub struct CsrfFuture<F> {
    state: State<F>,
}

impl<F, E> Future for CsrfFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // Every field is `Unpin` (the inner future is boxed).
        let this = self.get_mut();
        match &mut this.state {
            State::Refused(response) => Poll::Ready(Ok(response.take().unwrap_or_default())),
            State::Inner { future, checked } => {
                let mut response = ready!(future.as_mut().poll(cx))?;
                if *checked {
                    add_vary_on_checked_headers(response.headers_mut());
                }
                Poll::Ready(Ok(response))
            }
        }
    }
}
