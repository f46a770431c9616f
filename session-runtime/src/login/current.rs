//! The current user, loaded once per request, and the rules of logging users in and out,
//! written once over [`LayerRequest`]: each adapter turns their outcome into its responses.

use std::future::Future;
use std::sync::Arc;

use serde_json::Value;
use tokio::sync::OnceCell;

use super::config::{Login, LoginUser};
use super::remember::{self, Remember};
use super::{FRESH, USER_ID, redirect};
use crate::ext::{self, LayerRequest};
use crate::{SessionDict, SessionError};

/// This request's user, shared by every extractor and call of the request so that the
/// loader runs at most once, even for extractors polled side by side.
struct UserSlot<U>(Arc<OnceCell<Option<U>>>);

impl<U> Clone for UserSlot<U> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

/// Set by a logout: the rest of the request sees no user, whatever its type.
#[derive(Clone)]
struct LoggedOut;

/// The user logged in on `req`, loaded once per request with `load` (the [`Login`]
/// loader, as the adapter calls it), restoring a login from the remember cookie when the
/// session has none.
pub(crate) async fn current_user<U, R, F>(
    req: &R,
    load: impl FnOnce(U::Id) -> F,
) -> Result<Option<U>, SessionError>
where
    U: LoginUser,
    R: LayerRequest,
    F: Future<Output = Option<U>>,
{
    // Async: a revocation store may need a round trip.
    let session = ext::load_session(req).await?;
    if req.local::<LoggedOut>().is_some() {
        return Ok(None);
    }
    let slot = slot::<U>(req);
    let user = slot.get_or_init(|| load_user(req, session, load)).await;
    Ok(user.clone())
}

/// The [`Login`] settings registered for `req`.
/// Also records its remember-cookie settings for the rest of the request.
pub(crate) fn login_of<U: LoginUser>(req: &impl LayerRequest) -> Result<Login<U>, SessionError> {
    let login = req
        .app_data::<Login<U>>()
        .ok_or(SessionError::MissingAppData {
            type_name: std::any::type_name::<Login<U>>(),
            fix: req.login_fix(),
        })?;
    remember::note_login(req, &login);
    Ok(login)
}

fn slot<U: LoginUser>(req: &impl LayerRequest) -> Arc<OnceCell<Option<U>>> {
    if let Some(UserSlot(slot)) = req.local::<UserSlot<U>>() {
        return slot;
    }
    let slot = Arc::new(OnceCell::new());
    req.set_local(UserSlot(Arc::clone(&slot)));
    slot
}

async fn load_user<U, F>(
    req: &impl LayerRequest,
    mut session: SessionDict,
    load: impl FnOnce(U::Id) -> F,
) -> Option<U>
where
    U: LoginUser,
    F: Future<Output = Option<U>>,
{
    let (id, restored) = match session.get_value(USER_ID) {
        Some(id) => (id.clone(), None),
        None => {
            let (id, token) = remember::user_id(req, &ext::config_of(&session)).await?;
            (id, Some(token))
        }
    };
    let typed = serde_json::from_value::<U::Id>(id.clone())
        .inspect_err(|err| tracing::debug!("the logged-in user id {id} is unusable: {err}"))
        .ok()?;
    let user = load(typed).await?;
    if let Some(token) = restored {
        // The loader may have waited: a logout in that time revoked the remember cookie.
        let config = ext::config_of(&session);
        if !remember::still_valid(&config, &token, &id).await {
            return None;
        }
        // Offered only once the loader knows the user, so a stale remember cookie writes
        // nothing; and only offered, so the handler's own save keeps the login but decides
        // the rest.
        match session
            .insert(USER_ID, id)
            .and_then(|()| session.insert(FRESH, false))
        {
            Ok(()) => ext::offer_entries(&mut session, &[USER_ID, FRESH], Some(&token)),
            Err(err) => {
                tracing::warn!("cannot keep the login restored from the remember cookie: {err}")
            }
        }
    }
    Some(user)
}

/// Whether `req`'s login is fresh: interactive, not restored from the remember cookie.
pub(crate) async fn is_fresh(req: &impl LayerRequest) -> Result<bool, SessionError> {
    // Async: a revocation store may need a round trip.
    let session = ext::load_session(req).await?;
    Ok(session.get_value(FRESH) == Some(&Value::Bool(true)))
}

/// What a login leaves for its response: the remember cookie to set (or clear), and where
/// an HTML login redirects to.
pub(crate) struct LoggedIn {
    pub(crate) remember_cookie: Option<String>,
    pub(crate) next: String,
}

/// Logs `user` in on `req` and settles what the request owes the store; the adapter then
/// applies the sessions and adds [`LoggedIn::remember_cookie`].
pub(crate) async fn log_in<U: LoginUser>(
    req: &impl LayerRequest,
    user: &U,
    remember: impl Into<Remember>,
) -> Result<LoggedIn, SessionError> {
    // First: its remember-cookie settings govern the retiring of the request's cookie.
    let login = login_of::<U>(req);
    let mut session = ext::load_session(req).await?;
    // A new session: one planted before the login (fixation) is not carried over.
    session.renew();
    let id = user.id();
    // Django's rule: the entries of another user's session are not handed to this one; an
    // anonymous session's (a cart) are kept.
    let id_value = serde_json::to_value(&id).map_err(|source| SessionError::Serialize {
        key: USER_ID.to_owned(),
        source,
    })?;
    if session
        .get_value(USER_ID)
        .is_some_and(|previous| *previous != id_value)
    {
        session.clear();
    }
    session.insert(USER_ID, &id)?;
    session.insert(FRESH, true)?;
    session.save()?;

    // Whether replaced or cleared, the remember cookie the request came with is done.
    remember::retire(req, &session);
    let config = ext::config_of(&session);
    let remember_cookie = match remember.into().days() {
        Some(days) => Some(remember::issue(&config, &id, days)?),
        None if remember::present(req, &config) => Some(remember::removal(&config)),
        None => None,
    };
    req.remove_local::<LoggedOut>();
    req.set_local(UserSlot(Arc::new(OnceCell::from(Some(user.clone())))));
    let next = redirect::next_of(req.query()).unwrap_or_else(|| {
        login.as_ref().map_or_else(
            |_| String::from("/"),
            |login| login.redirect_url.to_string(),
        )
    });
    // The replaced token and remember cookie are revoked before the response leaves.
    ext::settle_sessions(req).await;
    Ok(LoggedIn {
        remember_cookie,
        next,
    })
}

/// Logs everywhere out the user of `req`'s session (or of its remember cookie), then logs
/// the request out as [`log_out`] does.
pub(crate) async fn log_out_everywhere(req: &impl LayerRequest) -> Result<String, SessionError> {
    let session = ext::load_session(req).await?;
    let config = ext::config_of(&session);
    if !ext::revocation_enabled(&config) {
        return Err(SessionError::NoRevocationStore);
    }
    // The user as `revoke_user` files them: the config's user claim (`_user_id` unless
    // renamed). A login kept only by the remember cookie counts too, when that claim is the
    // login's own key (the remember cookie knows no other).
    let claim = ext::user_claim(&config).unwrap_or(USER_ID);
    let user = match session.get_value(claim).and_then(ext::user_key) {
        Some(user) => Some(user),
        None if claim == USER_ID => remember::user_id(req, &config)
            .await
            .and_then(|(id, _)| ext::user_key(&id)),
        None => None,
    };
    if let Some(user) = user {
        config.revoke_user(&user).await?;
    }
    drop(session);
    log_out(req, Keep::Nothing).await
}

/// What a logout keeps of the session.
pub(crate) enum Keep {
    Nothing,
    AppEntries,
}

/// Logs `req` out, settles what it owes the store, and returns the remember cookie's
/// removal, which the adapter adds to a response that did not fail.
pub(crate) async fn log_out(req: &impl LayerRequest, keep: Keep) -> Result<String, SessionError> {
    let mut session = ext::load_session(req).await?;
    // The logged-out session is a new one, as at login: nothing of the login carries over.
    session.renew();
    match keep {
        Keep::Nothing => session.clear(),
        Keep::AppEntries => {
            session.remove(USER_ID);
            session.remove(FRESH);
        }
    }
    session.save()?;
    // Cleared is not enough: a copy of the remember cookie must not log the user back in.
    remember::retire(req, &session);
    req.set_local(LoggedOut);
    let removal = remember::removal(&ext::config_of(&session));
    // The logged-out token and remember cookie are revoked before the response leaves.
    ext::settle_sessions(req).await;
    Ok(removal)
}
