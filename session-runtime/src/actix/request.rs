//! The engine's view of an actix-web request: its `Cookie` headers, and its extensions as
//! the home of the per-request session states.

use std::sync::Arc;

use actix_web::http::header;
use actix_web::{HttpMessage, HttpRequest};

use crate::engine::cookie::find_cookie;
use crate::engine::request::{RequestStates, RequestView};
use crate::engine::state::RequestSession;

impl RequestView for HttpRequest {
    fn cookie(&self, name: &str) -> Option<&str> {
        let lines = self.headers().get_all(header::COOKIE);
        find_cookie(lines.map(|line| line.as_bytes()), name)
    }

    fn states(&self) -> RequestStates {
        self.extensions()
            .get::<RequestStates>()
            .cloned()
            .unwrap_or_default()
    }

    fn register(&self, state: Arc<RequestSession>) {
        self.extensions_mut()
            .get_or_insert_with(RequestStates::default)
            .push(state);
    }
}
