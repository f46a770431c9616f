//! Which `Session` config governs a request.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};

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

/// A handler can take the config that governs its request, registered as
/// `app_data(Session)` or `web::Data<Session>` (the innermost one, as for sessions), to call
/// [`Session::revoke_user`] and the like. Without one, the request fails with the
/// [`SessionError::MissingConfig`] 500, as a session extractor does.
///
/// ```
/// use std::time::Duration;
/// use actix_web::{App, HttpResponse, post, test, web};
/// use jwt_session::{Session, SessionError, revocation::MemoryStore};
///
/// #[post("/admin/revoke/{user}")]
/// async fn revoke(config: Session, user: web::Path<String>) -> Result<HttpResponse, SessionError> {
///     config.revoke_user(&user).await?;
///     Ok(HttpResponse::NoContent().finish())
/// }
///
/// # actix_web::rt::System::new().block_on(async {
/// let session = Session::new([7u8; 32])
///     .max_age(Duration::from_secs(3600))
///     .revocation(MemoryStore::new());
/// let app = test::init_service(App::new().app_data(web::Data::new(session)).service(revoke)).await;
/// let req = test::TestRequest::post().uri("/admin/revoke/ann").to_request();
/// assert_eq!(test::call_service(&app, req).await.status(), 204);
/// # });
/// ```
impl FromRequest for Session {
    type Error = SessionError;
    type Future = Ready<Result<Self, SessionError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(config_for(req))
    }
}
