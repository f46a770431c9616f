//! Which `Session` config governs a request.

use actix_web::{HttpRequest, web};

use crate::engine::config::Session;
use crate::error::SessionError;

/// The config that governs the handler `req` is routed to: the innermost one registered.
///
/// actix finds the innermost `Session` and the innermost `web::Data<Session>`, but cannot
/// say which of the two forms is more inner; when both are visible and differ, guessing
/// could let the outer config govern a scope that registered its own, so it is refused.
pub(crate) fn config_for(req: &HttpRequest) -> Result<Session, SessionError> {
    let plain = req.app_data::<Session>();
    let data = req.app_data::<web::Data<Session>>().map(|data| &***data);
    match (plain, data) {
        (Some(plain), Some(data)) if !plain.is_same_config(data) => {
            Err(SessionError::AmbiguousConfig {
                plain_cookie: plain.config().cookie.name.clone(),
                data_cookie: data.config().cookie.name.clone(),
            })
        }
        (Some(session), _) | (None, Some(session)) => Ok(session.clone()),
        (None, None) => Err(SessionError::MissingConfig),
    }
}
