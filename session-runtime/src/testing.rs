//! Helpers for the app's own tests: a session cookie minted from any value, and the
//! session a test response set. Rustdoc shows these with the rest of `Session`.

use actix_web::HttpResponse;
use actix_web::cookie::Cookie;
use actix_web::http::header;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::config::Session;
use crate::error::SessionError;
use crate::typed::claims_of;
use crate::{load, state};

/// What a response did to the session cookie of one config, as read by
/// [`Session::session_set_by`].
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ResponseSession {
    /// The response sets no session cookie.
    Unchanged,
    /// The response sets a cookie holding these entries (managed claims taken out).
    Saved(Map<String, Value>),
    /// The response removes the session cookie.
    Removed,
    /// The response sets a cookie that this config does not accept (another config's, or
    /// one that expires at once).
    Invalid,
}

impl Session {
    /// The session cookie (name and value) a first save of `value` would send now: for
    /// building requests in `actix_web::test` without going through a login route. `value` is checked as
    /// [`SessionDict::insert`](crate::SessionDict::insert) checks keys, and the configured
    /// lifetimes are written as a save writes them.
    ///
    /// # Errors
    ///
    /// As [`TypedSession::save`](crate::TypedSession::save).
    ///
    /// ```
    /// use actix_web::{App, test, web};
    /// use jwt_session::{Session, SessionDict, SessionError, with_session};
    ///
    /// #[with_session]
    /// async fn whoami(session: SessionDict) -> Result<String, SessionError> {
    ///     Ok(session.get::<String>("user")?.unwrap_or_default())
    /// }
    ///
    /// # actix_web::rt::System::new().block_on(async {
    /// let config = Session::new([7u8; 32]);
    /// let cookie = config.test_cookie(&serde_json::json!({"user": "ann"}))?;
    /// let app = test::init_service(App::new().app_data(config).route("/", web::get().to(whoami))).await;
    /// let req = test::TestRequest::get().cookie(cookie).to_request();
    /// assert_eq!(test::call_and_read_body(&app, req).await, "ann");
    /// # Ok::<(), SessionError>(())
    /// # }).unwrap();
    /// ```
    pub fn test_cookie(&self, value: &impl Serialize) -> Result<Cookie<'static>, SessionError> {
        let token = state::encode_new(self, &claims_of(value)?)?;
        Ok(Cookie::new(self.config().cookie.name.clone(), token))
    }

    /// What `response` did to this config's session cookie: for asserting on responses in
    /// `actix_web::test`. The last `Set-Cookie` for the cookie's name counts, and a saved
    /// token is verified under this config, lifetimes included.
    ///
    /// ```
    /// use actix_web::{App, HttpResponse, test, web};
    /// use jwt_session::{Session, SessionDict, SessionError, with_session, test::ResponseSession};
    ///
    /// #[with_session]
    /// async fn login(mut session: SessionDict) -> Result<HttpResponse, SessionError> {
    ///     session.insert("user", "ann")?;
    ///     session.save()?;
    ///     Ok(HttpResponse::Ok().finish())
    /// }
    ///
    /// #[with_session]
    /// async fn logout(session: SessionDict) -> HttpResponse {
    ///     session.delete();
    ///     HttpResponse::Ok().finish()
    /// }
    ///
    /// # actix_web::rt::System::new().block_on(async {
    /// let config = Session::new([7u8; 32]);
    /// let app = test::init_service(
    ///     App::new()
    ///         .app_data(config.clone())
    ///         .route("/login", web::post().to(login))
    ///         .route("/logout", web::post().to(logout)),
    /// )
    /// .await;
    /// let res = test::call_service(&app, test::TestRequest::post().uri("/login").to_request()).await;
    /// let ResponseSession::Saved(entries) = config.session_set_by(res.response()) else {
    ///     panic!("the login saves the session");
    /// };
    /// assert_eq!(entries["user"], "ann");
    ///
    /// let res = test::call_service(&app, test::TestRequest::post().uri("/logout").to_request()).await;
    /// assert_eq!(config.session_set_by(res.response()), ResponseSession::Removed);
    /// # });
    /// ```
    #[must_use]
    pub fn session_set_by<B>(&self, response: &HttpResponse<B>) -> ResponseSession {
        let name = &self.config().cookie.name;
        let last = response
            .headers()
            .get_all(header::SET_COOKIE)
            .filter_map(|value| Cookie::parse(value.to_str().ok()?.to_owned()).ok())
            .filter(|cookie| cookie.name() == name)
            .last();
        let Some(cookie) = last else {
            return ResponseSession::Unchanged;
        };
        if cookie.value().is_empty() {
            return ResponseSession::Removed;
        }
        load::verified_data(self, cookie.value())
            .map_or(ResponseSession::Invalid, ResponseSession::Saved)
    }
}
