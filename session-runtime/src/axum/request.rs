//! The engine's view of an axum request: its `Cookie` headers, and the states holder the
//! layer put in its extensions.

use std::sync::{Arc, Mutex, PoisonError};

use http::HeaderMap;
use http::header::COOKIE;

use crate::engine::config::Session;
use crate::engine::cookie::find_cookie;
use crate::engine::request::{RequestStates, RequestView};
use crate::engine::state::RequestSession;

/// The session states of one request, shared by the layer (which applies them to the
/// response) and the extractors (which load them).
pub(crate) type SharedStates = Arc<Mutex<RequestStates>>;

/// What [`SessionLayer`](super::SessionLayer) puts in each request's extensions.
#[derive(Clone)]
pub(crate) struct LayerContext {
    pub(crate) session: Session,
    pub(crate) autosave: bool,
    pub(crate) states: SharedStates,
}

/// A request's headers with its layer's states: what the engine loads from.
pub(crate) struct AxumRequest<'a> {
    pub(crate) headers: &'a HeaderMap,
    pub(crate) states: &'a Mutex<RequestStates>,
}

impl RequestView for AxumRequest<'_> {
    fn cookie(&self, name: &str) -> Option<&str> {
        let lines = self.headers.get_all(COOKIE).into_iter();
        find_cookie(lines.map(|line| line.as_bytes()), name)
    }

    fn states(&self) -> RequestStates {
        lock(self.states).clone()
    }

    fn register(&self, state: Arc<RequestSession>) {
        lock(self.states).push(state);
    }
}

/// The states, even after a panic elsewhere: they hold no invariant a panic could break.
pub(crate) fn lock(states: &Mutex<RequestStates>) -> std::sync::MutexGuard<'_, RequestStates> {
    states.lock().unwrap_or_else(PoisonError::into_inner)
}
