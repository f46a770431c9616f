//! The tower layer: gives each request its session config and states, and applies them to
//! the response.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use http::{Request, Response};
use tower_layer::Layer;
use tower_service::Service;

use crate::axum::request::{LayerContext, SharedStates, lock};
use crate::axum::response::{add_vary_cookie, finish};
use crate::engine::config::Session;
use crate::engine::request::RequestStates;

/// Sessions for every route it wraps: the extractors ([`SessionDict`](crate::SessionDict),
/// [`TypedSession`](crate::TypedSession), [`Session`]) load the request's session under
/// this config when a handler asks, and the response gets `Vary: Cookie` and at most one
/// session `Set-Cookie`: only when the session changed, never on a 5xx. Revocations a
/// handler owes (a `delete()` under a revocation store) are recorded before the response
/// leaves.
///
/// ```
/// use axum::{Router, routing::get};
/// use jwt_session::{Session, SessionDict, SessionError};
/// use jwt_session::axum::SessionLayer;
/// use tower::ServiceExt;
///
/// async fn count(mut session: SessionDict) -> Result<String, SessionError> {
///     let n = session.get::<u64>("n")?.unwrap_or(0) + 1;
///     session.insert("n", n)?;
///     session.save()?;
///     Ok(n.to_string())
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let app = Router::new()
///     .route("/", get(count))
///     .layer(SessionLayer::new(Session::new([7u8; 32])));
/// let request = http::Request::get("/").body(axum::body::Body::empty()).unwrap();
/// let response = app.oneshot(request).await.unwrap();
/// assert!(response.headers().contains_key("set-cookie"));
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct SessionLayer {
    session: Session,
    autosave: bool,
}

impl SessionLayer {
    /// A layer that serves sessions under `session`.
    pub fn new(session: Session) -> Self {
        Self {
            session,
            autosave: false,
        }
    }

    /// Saves every session a handler changed without calling `save()` or `delete()`, as
    /// actix's `#[with_session(autosave)]` does (off by default: a change is kept only by
    /// `save()`).
    ///
    /// ```
    /// use jwt_session::Session;
    /// use jwt_session::axum::SessionLayer;
    ///
    /// let layer = SessionLayer::new(Session::new([7u8; 32])).autosave(true);
    /// # drop(layer);
    /// ```
    pub fn autosave(mut self, autosave: bool) -> Self {
        self.autosave = autosave;
        self
    }
}

impl<S> Layer<S> for SessionLayer {
    type Service = SessionService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SessionService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service [`SessionLayer`] wraps around a router or route.
#[derive(Clone, Debug)]
pub struct SessionService<S> {
    inner: S,
    layer: SessionLayer,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for SessionService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let states = SharedStates::default();
        request.extensions_mut().insert(LayerContext {
            session: self.layer.session.clone(),
            autosave: self.layer.autosave,
            states: Arc::clone(&states),
        });
        ResponseFuture {
            inner: self.inner.call(request),
            states,
            settling: None,
        }
    }
}

/// Revocations that must be awaited, and the response that waits for them.
struct Settling<B> {
    response: Response<B>,
    states: RequestStates,
    revocations: Pin<Box<dyn Future<Output = ()> + Send>>,
}

pin_project_lite::pin_project! {
    /// The response future of [`SessionService`]: the inner response, with the sessions the
    /// request loaded applied. `Send` when the inner future and the body are.
    pub struct ResponseFuture<F, B> {
        #[pin]
        inner: F,
        states: SharedStates,
        settling: Option<Settling<B>>,
    }
}

impl<F, B, E> Future for ResponseFuture<F, B>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            if let Some(settling) = this.settling {
                ready!(settling.revocations.as_mut().poll(cx));
                let Settling {
                    mut response,
                    states,
                    ..
                } = this.settling.take().expect("settling was just polled");
                apply(&states, &mut response);
                return Poll::Ready(Ok(response));
            }
            let mut response = ready!(this.inner.as_mut().poll(cx))?;
            let states = std::mem::take(&mut lock(this.states).states);
            // Every state tries its store at once; only one that cannot record now is
            // awaited (a `Box` only then), so the response never leaves before them.
            let owed = states
                .iter()
                .filter(|state| state.settle_now().is_err())
                .count();
            if owed == 0 {
                apply(&states, &mut response);
                return Poll::Ready(Ok(response));
            }
            let pending = states.clone();
            *this.settling = Some(Settling {
                response,
                states,
                revocations: Box::pin(async move {
                    for state in pending.iter() {
                        state.settle().await;
                    }
                }),
            });
        }
    }
}

/// `Vary: Cookie` when the request loaded a session, then each config's cookie.
fn apply<B>(states: &RequestStates, response: &mut Response<B>) {
    let mut loaded = states.iter().peekable();
    if loaded.peek().is_some() {
        add_vary_cookie(response.headers_mut());
    }
    for state in loaded {
        finish(state, response);
    }
}
