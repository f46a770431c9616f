//! The engine's view of an axum request: its `Cookie` headers, and the per-request holder
//! the layer put in its extensions (the session states, and the login layer's values).

#[cfg(feature = "login")]
use std::any::{Any, TypeId};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use http::header::COOKIE;
use http::request::Parts;

use crate::engine::config::Session;
use crate::engine::cookie::find_cookie;
use crate::engine::request::{RequestStates, RequestView};
use crate::engine::state::RequestSession;

/// What one request holds beside its parts, shared by the layer (which applies the states
/// to the response) and the extractors (which load them).
#[derive(Default)]
pub(crate) struct PerRequest {
    pub(crate) states: RequestStates,
    /// Values of the layers on sessions (the current user, a logout), by type.
    #[cfg(feature = "login")]
    locals: Vec<(TypeId, Box<dyn Any + Send + Sync>)>,
}

pub(crate) type SharedStates = Arc<Mutex<PerRequest>>;

/// What [`SessionLayer`](super::SessionLayer) puts in each request's extensions.
#[derive(Clone)]
pub(crate) struct LayerContext {
    pub(crate) session: Session,
    pub(crate) autosave: bool,
    pub(crate) states: SharedStates,
}

/// A request's parts with its layer's context: what the engine and the login layer read.
pub(crate) struct AxumRequest<'a> {
    pub(crate) parts: &'a Parts,
    pub(crate) context: &'a LayerContext,
}

impl AxumRequest<'_> {
    /// The URI the client asked for: under `Router::nest` the request's own lost its prefix.
    #[cfg(feature = "login")]
    pub(crate) fn original_uri(&self) -> &http::Uri {
        original_uri(&self.parts.extensions, &self.parts.uri)
    }
}

/// The URI a request was sent to, before any `Router::nest` took its prefix off.
#[cfg(any(feature = "login", feature = "csrf"))]
pub(crate) fn original_uri<'a>(
    extensions: &'a http::Extensions,
    uri: &'a http::Uri,
) -> &'a http::Uri {
    extensions
        .get::<axum::extract::OriginalUri>()
        .map_or(uri, |original| &original.0)
}

impl RequestView for AxumRequest<'_> {
    fn cookie(&self, name: &str) -> Option<&str> {
        let lines = self.parts.headers.get_all(COOKIE).into_iter();
        find_cookie(lines.map(|line| line.as_bytes()), name)
    }

    fn states(&self) -> RequestStates {
        lock(&self.context.states).states.clone()
    }

    fn register(&self, state: Arc<RequestSession>) {
        lock(&self.context.states).states.push(state);
    }
}

#[cfg(feature = "login")]
impl AxumRequest<'_> {
    pub(crate) fn local<T: Clone + Send + Sync + 'static>(&self) -> Option<T> {
        let held = lock(&self.context.states);
        let (_, value) = held
            .locals
            .iter()
            .find(|(id, _)| *id == TypeId::of::<T>())?;
        value.downcast_ref::<T>().cloned()
    }

    pub(crate) fn set_local<T: Clone + Send + Sync + 'static>(&self, value: T) {
        self.remove_local::<T>();
        lock(&self.context.states)
            .locals
            .push((TypeId::of::<T>(), Box::new(value)));
    }

    pub(crate) fn remove_local<T: 'static>(&self) {
        lock(&self.context.states)
            .locals
            .retain(|(id, _)| *id != TypeId::of::<T>());
    }
}

/// The holder, even after a panic elsewhere: it holds no invariant a panic could break.
pub(crate) fn lock(states: &Mutex<PerRequest>) -> MutexGuard<'_, PerRequest> {
    states.lock().unwrap_or_else(PoisonError::into_inner)
}
