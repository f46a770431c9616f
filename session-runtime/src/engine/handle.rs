//! What `SessionDict` and `TypedSession` share: the request's state, the generation the
//! handle belongs to, and its autosave flags, with the calls that replace or save the
//! session.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Map, Value};

use crate::engine::state::RequestSession;
use crate::error::SessionError;

/// A handle on one config's session in one request.
pub(crate) struct Handle {
    request: Arc<RequestSession>,
    /// The request's session generation this handle holds: its saves are refused once
    /// another handle replaced the session (a login or a logout in the same request).
    generation: AtomicU64,
    /// Set by every change, for autosave.
    pub(crate) modified: bool,
    pub(crate) autosave: bool,
}

impl Handle {
    pub(crate) fn new(request: Arc<RequestSession>, autosave: bool) -> Self {
        Self {
            generation: AtomicU64::new(request.generation()),
            request,
            modified: false,
            autosave,
        }
    }

    pub(crate) fn request(&self) -> &Arc<RequestSession> {
        &self.request
    }

    /// Saves `data`, unless the session this handle loaded was replaced meanwhile.
    pub(crate) fn save(&self, data: &Map<String, Value>) -> Result<(), SessionError> {
        self.request
            .save_from(self.generation.load(Ordering::Relaxed), data)
    }

    /// `renew()`: the next save starts a new session; this handle follows it.
    pub(crate) fn renew(&mut self) {
        self.modified = true;
        self.generation
            .store(self.request.renew(), Ordering::Relaxed);
    }

    /// `delete()`: the cookie goes; this handle follows the replaced session.
    pub(crate) fn delete(&self) {
        self.generation
            .store(self.request.delete(), Ordering::Relaxed);
    }

    /// Whether a drop must save: autosave is on and the handle changed something.
    pub(crate) fn must_autosave(&self) -> bool {
        self.autosave && self.modified
    }

    /// The autosave of a dropped handle holding `data`.
    pub(crate) fn autosave(&self, data: &Map<String, Value>) {
        self.request
            .autosave(self.generation.load(Ordering::Relaxed), data);
    }
}
