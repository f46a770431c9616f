//! The extractors: the request's session, loaded under its layer's config on demand.

use axum_core::extract::FromRequestParts;
use http::request::Parts;

use crate::axum::request::{AxumRequest, LayerContext};
use crate::engine::config::Session;
use crate::engine::dict::SessionDict;
use crate::engine::load::{LoadStart, start_load};
use crate::engine::typed::{SessionData, TypedSession};
use crate::error::SessionError;

/// The layer's context, or the error that names the layer to add.
pub(crate) fn context(parts: &Parts) -> Result<&LayerContext, SessionError> {
    parts
        .extensions
        .get::<LayerContext>()
        .ok_or(SessionError::MissingLayer)
}

/// Loads the request's session: the first load of a request verifies its cookie, every
/// later one (another extractor) shares that state.
async fn load(parts: &Parts) -> Result<(SessionDict, bool), SessionError> {
    let context = context(parts)?;
    let view = AxumRequest { parts, context };
    let (data, state) = match start_load(&view, &context.session)? {
        LoadStart::Done(data, state) => (data, state),
        LoadStart::Check(check) => check.finish(&view).await,
    };
    Ok((SessionDict::new(data, state), context.autosave))
}

/// The request's session under the [`SessionLayer`](super::SessionLayer)'s config.
/// Rejected with [`SessionError`] (a 500) when the route has no layer, or the config cannot
/// load.
impl<S: Send + Sync> FromRequestParts<S> for SessionDict {
    type Rejection = SessionError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let (mut dict, autosave) = load(parts).await?;
        dict.set_autosave(autosave);
        Ok(dict)
    }
}

/// The request's session as a `T`, a view over the same state as any [`SessionDict`] of
/// the request.
impl<S: Send + Sync, T: SessionData> FromRequestParts<S> for TypedSession<T> {
    type Rejection = SessionError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let (dict, autosave) = load(parts).await?;
        Ok(TypedSession::from_dict(dict, autosave))
    }
}

/// The config of the route's [`SessionLayer`](super::SessionLayer), for a handler that
/// needs it (to call [`Session::revoke_user`], say).
impl<S: Send + Sync> FromRequestParts<S> for Session {
    type Rejection = SessionError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        context(parts).map(|context| context.session.clone())
    }
}
