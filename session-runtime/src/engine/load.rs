//! Loading a request's session: the cookie through the token pipeline, then the
//! revocation check, into the request's [`RequestSession`].

use std::sync::Arc;

#[cfg(any(all(feature = "test-util", feature = "actix"), feature = "__internals"))]
use serde_json::{Map, Value};

#[cfg(feature = "__internals")]
use crate::engine::chunks::SetCookies;
use crate::engine::config::Session;
use crate::engine::decision::Pending;
use crate::engine::request::RequestView;
use crate::engine::state::RequestSession;
use crate::error::SessionError;
use crate::revocation::policy::Verdict;
use crate::token::claims::TokenId;
use crate::token::keys::KeyRole;
use crate::token::payload::Entries;
use crate::token::pipeline::Verified;

/// What loading found in the request, once every check is done.
enum Found {
    NoCookie,
    Accepted(Verified),
    /// Verification failed.
    Invalid,
    /// Verified, but revoked, unrevocable (no `jti` or `exp`) or not checkable now.
    Denied {
        clear: bool,
        /// The id of a token the store could not judge: a logout still owes its revocation.
        unchecked: Option<TokenId>,
    },
}

/// The first, synchronous step of a load.
pub(crate) enum LoadStart {
    /// The request's session state, and the entries a new handle starts from (`None`: the
    /// ones the request's cookie carried, read from the state).
    Done(Option<Entries>, Arc<RequestSession>),
    /// A verified token that the revocation store must clear first.
    Check(StoreCheck),
}

/// A verified token, with an id and an expiry, waiting for its revocation check.
pub(crate) struct StoreCheck {
    session: Session,
    loaded: Verified,
}

/// Loads the session of `req` under `session`, as far as it can without waiting: every
/// load under one config in one request shares one state, so a response carries one cookie
/// per config however many handles exist; loads under different configs never share
/// anything. Only a verified cookie under a revocation store that must be awaited needs
/// [`StoreCheck::finish`]; a request without a cookie never touches the store.
pub(crate) fn start_load(
    req: &impl RequestView,
    session: &Session,
) -> Result<LoadStart, SessionError> {
    if let Some(state) = req.states().of(session) {
        return Ok(LoadStart::Done(state.latest_entries(), state));
    }
    session.check()?;
    let config = session.config();
    let token = match config
        .chunks
        .read(&config.cookie.name, |name| req.cookie(name))
    {
        Ok(token) => token,
        Err(why) => {
            tracing::debug!(reason = "chunks", "ignoring the session cookies: {why}");
            return Ok(LoadStart::Done(
                None,
                settle_load(req, session, Found::Invalid),
            ));
        }
    };
    let found = match token.as_deref() {
        None => Found::NoCookie,
        Some(token) => match session.config().verify_counted(token) {
            Ok(loaded) if !config.revocation.is_enabled() => Found::Accepted(loaded),
            Ok(loaded) => match (&loaded.id, loaded.times.exp) {
                (Some(id), Some(_)) => {
                    let user = config.revocation.user_of_entries(&loaded.data);
                    match config.revocation.check_now(id, user.as_deref()) {
                        Some(verdict) => found_after(session, loaded, verdict),
                        None => {
                            return Ok(LoadStart::Check(StoreCheck {
                                session: session.clone(),
                                loaded,
                            }));
                        }
                    }
                }
                (id, _) => {
                    let missing = if id.is_none() { "jti" } else { "exp" };
                    tracing::debug!(
                        reason = "unrevocable",
                        "ignoring session cookie: it has no `{missing}`, so it could not be revoked"
                    );
                    Found::Denied {
                        clear: config.clear_invalid,
                        unchecked: None,
                    }
                }
            },
            Err(rejection) => {
                tracing::debug!(
                    reason = rejection.reason(),
                    "ignoring session cookie: {rejection}"
                );
                Found::Invalid
            }
        },
    };
    Ok(LoadStart::Done(None, settle_load(req, session, found)))
}

impl StoreCheck {
    /// Asks the store, then finishes the load as [`start_load`] would have.
    pub(crate) async fn finish(
        self,
        req: &impl RequestView,
    ) -> (Option<Entries>, Arc<RequestSession>) {
        let revocation = &self.session.config().revocation;
        let verdict = match &self.loaded.id {
            Some(id) => {
                let user = revocation.user_of_entries(&self.loaded.data);
                revocation.check(id, user.as_deref()).await
            }
            None => Verdict::Revoked("no token id"),
        };
        // Another load of this config may have finished while this one waited.
        if let Some(state) = req.states().of(&self.session) {
            return (state.latest_entries(), state);
        }
        let found = found_after(&self.session, self.loaded, verdict);
        (None, settle_load(req, &self.session, found))
    }
}

/// What loading found, once the store has judged a verified token.
fn found_after(session: &Session, loaded: Verified, verdict: Verdict) -> Found {
    match verdict {
        Verdict::Valid => Found::Accepted(loaded),
        Verdict::Revoked(why) => {
            tracing::debug!(reason = "revoked", "ignoring session cookie: {why}");
            Found::Denied {
                clear: session.config().clear_invalid,
                unchecked: None,
            }
        }
        // Not known to be revoked: leave the cookie, it works again once the store does;
        // but a logout in this request must still revoke it (a copy may have been stolen).
        Verdict::Unavailable => Found::Denied {
            clear: false,
            unchecked: loaded.id,
        },
    }
}

/// Records the request's state for `session` from what loading found.
fn settle_load(req: &impl RequestView, session: &Session, found: Found) -> Arc<RequestSession> {
    let rejected = |clear: bool| {
        if clear {
            Pending::Delete
        } else {
            Pending::Untouched
        }
    };
    let mut unchecked_id = None;
    let (loaded, pending) = match found {
        Found::NoCookie => (None, Pending::Untouched),
        Found::Accepted(loaded) => {
            let pending = initial_pending(session, &loaded);
            (Some(loaded), pending)
        }
        Found::Invalid => (None, rejected(session.config().clear_invalid)),
        Found::Denied { clear, unchecked } => {
            unchecked_id = unchecked;
            (None, rejected(clear))
        }
    };
    let (data, times, id) = match loaded {
        Some(loaded) => (loaded.data, loaded.times, loaded.id),
        None => Default::default(),
    };
    let state = Arc::new(RequestSession::new(session, data, times, id, pending));
    if let Some(id) = unchecked_id {
        state.owe_if_replaced(id);
    }
    req.register(Arc::clone(&state));
    state
}

/// The entries of `token` when it is a valid session under `session` now (signature and
/// lifetimes; the revocation store is not asked).
#[cfg(any(all(feature = "test-util", feature = "actix"), feature = "__internals"))]
pub(crate) fn verified_data(session: &Session, token: &str) -> Option<Map<String, Value>> {
    session
        .config()
        .verify(token)
        .ok()
        .map(|loaded| loaded.data.into_map())
}

/// Re-signs a session verified by a previous key, or refreshes one past half its idle window.
/// A session verified by a next key is left as it is: it already carries the key this
/// config is moving to, and re-signing it would move it back (see `Session::next_secrets`).
fn initial_pending(session: &Session, loaded: &Verified) -> Pending {
    let config = session.config();
    let rotate = loaded.verified_by.role == KeyRole::Previous;
    let refresh = config.lifetimes.wants_refresh(loaded.times, config.now());
    if config.codec.keys().can_sign() && (rotate || refresh) {
        tracing::debug!(rotate, refresh, "re-issuing the session cookie");
        Pending::Reissue {
            data: loaded.data.clone(),
            refresh,
        }
    } else {
        Pending::Untouched
    }
}

/// Verifies `token` as a request's cookie is, counted in the key usage.
#[cfg(feature = "__internals")]
pub(crate) fn verify_now(session: &Session, token: &str) -> bool {
    session.config().verify_counted(token).is_ok()
}

#[cfg(feature = "__internals")]
pub(crate) fn verify_uncounted(session: &Session, token: &str) -> bool {
    session.config().verify(token).is_ok()
}

/// The `Set-Cookie` a response to a request carrying `token` sends without any save, or
/// `None` when the token is rejected or needs no re-issue.
#[cfg(feature = "__internals")]
pub(crate) fn reissue_now(
    session: &Session,
    token: &str,
) -> Option<Result<SetCookies, SessionError>> {
    let loaded = session.config().verify(token).ok()?;
    match initial_pending(session, &loaded) {
        Pending::Reissue { data, refresh } => {
            let state = RequestSession::new(
                session,
                Entries::default(),
                loaded.times,
                loaded.id,
                Pending::Untouched,
            );
            Some(state.reissue(data.map(), refresh))
        }
        _ => None,
    }
}
