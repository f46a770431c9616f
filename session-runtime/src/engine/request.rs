//! What the engine needs of a request, which each framework adapter provides: its cookies,
//! and a place for the per-request session states.

use std::sync::Arc;

use crate::engine::config::Session;
use crate::engine::state::RequestSession;

/// A request as the engine sees it. Each adapter implements it over its own request type,
/// reading cookies with [`find_cookie`](crate::engine::cookie::find_cookie) from the
/// request's `Cookie` header values.
pub(crate) trait RequestView {
    /// The value of the first cookie called `name`.
    fn cookie(&self, name: &str) -> Option<&str>;

    /// The session states this request has loaded so far.
    fn states(&self) -> RequestStates;

    /// Records `state`, the first load of its config in this request.
    fn register(&self, state: Arc<RequestSession>);
}

/// Every session state of one request, one per config, in load order. The first is kept
/// inline: most requests load one config, and a `Vec` would be one more allocation.
#[derive(Clone, Default)]
pub(crate) struct RequestStates {
    first: Option<Arc<RequestSession>>,
    more: Vec<Arc<RequestSession>>,
}

impl RequestStates {
    /// The states in load order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Arc<RequestSession>> {
        self.first.iter().chain(&self.more)
    }

    /// The state of `session`, if this request loaded it.
    pub(crate) fn of(&self, session: &Session) -> Option<Arc<RequestSession>> {
        self.iter()
            .find(|state| state.session().is_same_config(session))
            .cloned()
    }

    pub(crate) fn push(&mut self, state: Arc<RequestSession>) {
        match self.first {
            None => self.first = Some(state),
            Some(_) => self.more.push(state),
        }
    }
}
