//! The actix-web glue of the login layer: the extractors, the login redirect as a
//! `ResponseError`, and the calls that log users in and out on an `HttpRequest`. The rules
//! themselves are the login layer's, written once for every framework.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::{StatusCode, header};
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError, web};

use crate::ext::LayerRequest;
use crate::login::unauthorized::{self, Asks, Needed, Rejection};
use crate::login::{
    CurrentUser, FreshLogin, Keep, LoggedIn, LoginRedirect, LoginUnauthorized, LoginUser, Remember,
    rules,
};
use crate::{Session, SessionError};

type Extracting<T> = Pin<Box<dyn Future<Output = Result<T, actix_web::Error>>>>;

impl LayerRequest for HttpRequest {
    fn config(&self) -> Result<Session, SessionError> {
        super::config_source::config_for(self)
    }

    fn app_data<T: Clone + Send + Sync + 'static>(&self) -> Option<T> {
        HttpRequest::app_data::<T>(self)
            .or_else(|| HttpRequest::app_data::<web::Data<T>>(self).map(|data| &***data))
            .cloned()
    }

    fn query(&self) -> &str {
        self.query_string()
    }

    fn path_and_query(&self) -> String {
        let uri = self.uri();
        uri.path_and_query()
            .map_or_else(|| self.path(), |path_and_query| path_and_query.as_str())
            .to_owned()
    }

    fn local<T: Clone + Send + Sync + 'static>(&self) -> Option<T> {
        self.extensions().get::<T>().cloned()
    }

    fn set_local<T: Clone + Send + Sync + 'static>(&self, value: T) {
        self.extensions_mut().insert(value);
    }

    fn remove_local<T: Clone + Send + Sync + 'static>(&self) {
        self.extensions_mut().remove::<T>();
    }

    fn login_fix(&self) -> &'static str {
        "register one with `App::new().app_data(Login::new(loader))`"
    }
}

/// The user logged in on `req`, loaded with the [`Login`](crate::login::Login) loader once per request and
/// cached: Microdot's `get_current_user`.
///
/// The user id comes from the session's `_user_id`. When the session has none but the
/// request carries a valid remember cookie (same keys and pinned algorithm as the session,
/// `exp` enforced, and under a [revocation store](Session::revocation) a `jti` the store
/// does not deny), the login is restored from it: the session with `_user_id` and
/// `_fresh = false` goes out with the response of a `#[with_session]` handler (or one passed
/// through [`Session::apply`]). A save by the handler in the same request keeps the
/// restored `_user_id` and `_fresh` and decides the rest; a delete or a new login replaces
/// it. The restored session counts as minted when the remember cookie was, so a
/// `revoke_user` that denies the cookie denies it too.
///
/// # Errors
///
/// [`SessionError::MissingConfig`] or [`SessionError::MissingAppData`] when the app lacks the
/// [`Session`] or the [`Login`](crate::login::Login) app data.
///
/// ```
/// use actix_web::{App, HttpRequest, HttpResponse, test, web};
/// use jwt_session::{Session, SessionError, login::{Login, LoginUser, current_user}};
///
/// #[derive(Clone)]
/// struct User(String);
/// impl LoginUser for User {
///     type Id = String;
///     fn id(&self) -> String { self.0.clone() }
/// }
///
/// async fn whoami(req: HttpRequest) -> Result<HttpResponse, SessionError> {
///     Ok(match current_user::<User>(&req).await? {
///         Some(user) => HttpResponse::Ok().body(user.0),
///         None => HttpResponse::Ok().body("nobody"),
///     })
/// }
///
/// # actix_web::rt::System::new().block_on(async {
/// let login = Login::new(|id: String| async move { Some(User(id)) });
/// let app = test::init_service(App::new()
///     .app_data(Session::new([7u8; 32])).app_data(login).route("/", web::get().to(whoami))).await;
/// let res = test::call_service(&app, test::TestRequest::get().to_request()).await;
/// assert_eq!(test::read_body(res).await, "nobody");
/// # });
/// ```
pub async fn current_user<U: LoginUser>(req: &HttpRequest) -> Result<Option<U>, SessionError> {
    let login = rules::login_of::<U>(req)?;
    rules::current_user(req, |id| login.loader.load_local(id)).await
}

/// Logs `user` in after the app has checked their credentials, and returns the redirect
/// that ends the login: `303 See Other` to the request's `next` query parameter when it is
/// a path on this site, else to [`Login::redirect_url`](crate::login::Login::redirect_url) (default `/`). Microdot's
/// `login_user`.
///
/// The session is [renewed](crate::SessionDict::renew), gets `_user_id` and `_fresh = true` and is
/// saved; with `remember`, a
/// `_remember` cookie is set as well (without it, one left by an earlier login is cleared,
/// so it cannot bring back another user later). The returned response carries these
/// cookies already.
///
/// It loads the session itself, so changes made through another handle of this request
/// (the handler's `SessionDict`) must be saved before the call to be kept.
///
/// # Errors
///
/// As [`SessionDict::save`](crate::SessionDict::save), and [`SessionError::MissingConfig`].
///
/// ```
/// use actix_web::{App, HttpRequest, HttpResponse, test, web};
/// use jwt_session::{Session, SessionError, login::{Login, LoginUser, Remember, login_user}};
///
/// #[derive(Clone)]
/// struct User(u64);
/// impl LoginUser for User {
///     type Id = u64;
///     fn id(&self) -> u64 { self.0 }
/// }
///
/// async fn log_in(req: HttpRequest) -> Result<HttpResponse, SessionError> {
///     // A real app checks a password here.
///     login_user(&req, &User(7), Remember::Yes).await
/// }
///
/// # actix_web::rt::System::new().block_on(async {
/// let login = Login::new(|id: u64| async move { Some(User(id)) });
/// let app = test::init_service(App::new()
///     .app_data(Session::new([7u8; 32])).app_data(login).route("/login", web::post().to(log_in))).await;
/// let req = test::TestRequest::post().uri("/login?next=/orders%3Fpage=2");
/// let res = test::call_service(&app, req.to_request()).await;
/// assert_eq!(res.status(), 303);
/// assert_eq!(res.headers().get("location").unwrap(), "/orders?page=2");
/// let cookies: Vec<_> = res.response().cookies().map(|c| c.name().to_owned()).collect();
/// assert_eq!(cookies, ["session", "_remember"]);
/// # });
/// ```
pub async fn login_user<U: LoginUser>(
    req: &HttpRequest,
    user: &U,
    remember: impl Into<Remember>,
) -> Result<HttpResponse, SessionError> {
    let logged_in = log_in(req, user, remember).await?;
    let response = HttpResponse::SeeOther()
        .insert_header((header::LOCATION, logged_in.next))
        .finish();
    Ok(finish(req, response, logged_in.remember_cookie))
}

/// Logs `user` in as [`login_user`] does, and writes the outcome onto the app's own
/// `response` (a JSON answer, say) instead of a redirect: the session cookie and, with
/// `remember`, the `_remember` cookie (or the removal of an earlier one). `next` plays no
/// part. As with [`logout_user`], a failed response (a 5xx, or an error) gets no cookie.
///
/// # Errors
///
/// As [`login_user`].
///
/// ```
/// use actix_web::{App, HttpRequest, HttpResponse, test, web};
/// use jwt_session::{Session, SessionError, login::{Login, LoginUser, login_user_into}};
///
/// #[derive(Clone)]
/// struct User(u64);
/// impl LoginUser for User {
///     type Id = u64;
///     fn id(&self) -> u64 { self.0 }
/// }
///
/// async fn api_login(req: HttpRequest) -> Result<HttpResponse, SessionError> {
///     // A real app checks a password here.
///     let answer = HttpResponse::Ok().json(serde_json::json!({ "user": 7 }));
///     login_user_into(&req, &User(7), true, answer).await
/// }
///
/// # actix_web::rt::System::new().block_on(async {
/// let login = Login::new(|id: u64| async move { Some(User(id)) });
/// let app = test::init_service(App::new()
///     .app_data(Session::new([7u8; 32])).app_data(login).route("/api/login", web::post().to(api_login))).await;
/// let res = test::call_service(&app, test::TestRequest::post().uri("/api/login").to_request()).await;
/// assert_eq!(res.status(), 200);
/// let cookies: Vec<_> = res.response().cookies().map(|c| c.name().to_owned()).collect();
/// assert_eq!(cookies, ["session", "_remember"]);
/// assert_eq!(test::read_body(res).await, r#"{"user":7}"#);
/// # });
/// ```
pub async fn login_user_into<U: LoginUser, B>(
    req: &HttpRequest,
    user: &U,
    remember: impl Into<Remember>,
    response: HttpResponse<B>,
) -> Result<HttpResponse<B>, SessionError> {
    let logged_in = log_in(req, user, remember).await?;
    Ok(finish(req, response, logged_in.remember_cookie))
}

/// The login layer's `log_in`, with `U`'s remember-cookie settings when it has a `Login`.
async fn log_in<U: LoginUser>(
    req: &HttpRequest,
    user: &U,
    remember: impl Into<Remember>,
) -> Result<rules::LoggedIn, SessionError> {
    rules::log_in(req, user, remember).await
}

/// Logs the user out and writes the outcome onto `response`: the session is cleared (every
/// entry: on a shared browser the next user sees nothing of this one; see
/// [`logout_user_keep_data`] to keep the app's entries), [renewed](crate::SessionDict::renew) and
/// saved, and the remember cookie is
/// cleared (and under a [revocation store](Session::revocation), revoked). Microdot's
/// `logout_user`. The rest of the request sees no current user.
///
/// The cookies go onto `response` right away, as [`Session::apply`] does, so a logout can
/// never be lost by a handler that forgets to apply the session.
///
/// # Errors
///
/// As [`SessionDict::save`](crate::SessionDict::save), and [`SessionError::MissingConfig`].
///
/// ```
/// use actix_web::{App, HttpRequest, HttpResponse, test, web};
/// use jwt_session::{Session, SessionError, login::logout_user};
///
/// async fn log_out(req: HttpRequest) -> Result<HttpResponse, SessionError> {
///     logout_user(&req, HttpResponse::SeeOther().insert_header(("location", "/")).finish()).await
/// }
///
/// # actix_web::rt::System::new().block_on(async {
/// let app = test::init_service(App::new()
///     .app_data(Session::new([7u8; 32])).route("/logout", web::post().to(log_out))).await;
/// let res = test::call_service(&app, test::TestRequest::post().uri("/logout").to_request()).await;
/// let remember = res.response().cookies().find(|c| c.name() == "_remember").unwrap();
/// assert_eq!(remember.max_age(), Some(actix_web::cookie::time::Duration::ZERO));
/// # });
/// ```
pub async fn logout_user<B>(
    req: &HttpRequest,
    response: HttpResponse<B>,
) -> Result<HttpResponse<B>, SessionError> {
    let removal = rules::log_out(req, Keep::Nothing).await?;
    Ok(finish(req, response, Some(removal)))
}

/// [`logout_user`], keeping the session's entries other than the login's (`_user_id`,
/// `_fresh`): Flask-Login's `logout_user`, for apps whose cart should survive a logout.
/// On a shared browser the next user then sees those entries: prefer `logout_user` unless
/// they hold nothing personal.
///
/// # Errors
///
/// As [`logout_user`].
///
/// ```
/// use actix_web::{HttpRequest, HttpResponse};
/// use jwt_session::SessionError;
/// use jwt_session::login::logout_user_keep_data;
///
/// async fn log_out(req: HttpRequest) -> Result<HttpResponse, SessionError> {
///     logout_user_keep_data(&req, HttpResponse::SeeOther().insert_header(("location", "/")).finish()).await
/// }
/// # drop(actix_web::web::post().to(log_out));
/// ```
pub async fn logout_user_keep_data<B>(
    req: &HttpRequest,
    response: HttpResponse<B>,
) -> Result<HttpResponse<B>, SessionError> {
    let removal = rules::log_out(req, Keep::AppEntries).await?;
    Ok(finish(req, response, Some(removal)))
}

/// Logs the current user out on every device: every session and remember cookie of the
/// user, on every instance sharing the [revocation store](Session::revocation), minted
/// before the call, is rejected from now on ([`Session::revoke_user`]); then this browser is
/// logged out as by [`logout_user`]. Use it for "log out everywhere" and after a password
/// change. An anonymous request is simply logged out.
///
/// The user is the session's [user claim](Session::user_claim) (`_user_id`, the login's
/// key, by default, so no other configuration is needed), or the remember cookie's user when
/// only that cookie is left. Remember cookies on other devices are reached when the user
/// claim is `_user_id`, the only user they know.
///
/// # Errors
///
/// [`SessionError::NoRevocationStore`] without a revocation store (nothing could reach the
/// other devices), [`SessionError::Store`] when the store fails, and as [`logout_user`].
///
/// ```
/// use std::time::Duration;
/// use actix_web::{App, HttpRequest, HttpResponse, test, web};
/// use jwt_session::revocation::MemoryStore;
/// use jwt_session::login::logout_everywhere;
/// use jwt_session::{Session, SessionError};
///
/// async fn everywhere(req: HttpRequest) -> Result<HttpResponse, SessionError> {
///     logout_everywhere(&req, HttpResponse::SeeOther().insert_header(("location", "/")).finish()).await
/// }
///
/// # actix_web::rt::System::new().block_on(async {
/// let session = Session::new([7u8; 32])
///     .max_age(Duration::from_secs(3600))
///     .revocation(MemoryStore::new());
/// let app = test::init_service(
///     App::new().app_data(session).route("/everywhere", web::post().to(everywhere)),
/// ).await;
/// let res = test::call_service(&app, test::TestRequest::post().uri("/everywhere").to_request()).await;
/// assert_eq!(res.status(), 303);
/// # });
/// ```
pub async fn logout_everywhere<B>(
    req: &HttpRequest,
    response: HttpResponse<B>,
) -> Result<HttpResponse<B>, SessionError> {
    let removal = rules::log_out_everywhere(req).await?;
    Ok(finish(req, response, Some(removal)))
}

/// The request's sessions on `response`, and the remember cookie (or its removal) unless
/// the response failed (as with the session cookie, a failed response changes nothing).
fn finish<B>(
    req: &HttpRequest,
    response: HttpResponse<B>,
    remember_cookie: Option<String>,
) -> HttpResponse<B> {
    let mut response = Session::apply(req, response);
    if let Some(cookie) = remember_cookie
        && !response.status().is_server_error()
        && response.error().is_none()
    {
        append_set_cookie(&mut response, cookie);
    }
    response
}

/// Appends a side cookie the library built (visible ASCII, size checked) to `response`.
fn append_set_cookie<B>(response: &mut HttpResponse<B>, set_cookie: String) {
    match header::HeaderValue::try_from(set_cookie) {
        Ok(value) => {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
        Err(_) => tracing::error!("a login cookie is not a valid header value"),
    }
}

impl<U: LoginUser> FromRequest for CurrentUser<U> {
    type Error = actix_web::Error;
    type Future = Extracting<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { Ok(Self(current_user::<U>(&req).await?)) })
    }
}

impl<U: LoginUser> FromRequest for LoggedIn<U> {
    type Error = actix_web::Error;
    type Future = Extracting<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { required::<U>(&req, Needed::Login).await.map(Self) })
    }
}

impl<U: LoginUser> FromRequest for FreshLogin<U> {
    type Error = actix_web::Error;
    type Future = Extracting<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { required::<U>(&req, Needed::FreshLogin).await.map(Self) })
    }
}

async fn required<U: LoginUser>(req: &HttpRequest, needed: Needed) -> Result<U, actix_web::Error> {
    let login = rules::login_of::<U>(req)?;
    match unauthorized::require(req, needed, |id| login.loader.load_local(id)).await? {
        Ok(user) => Ok(user),
        Err(lacking) => Err(rejection::<U>(req, lacking)?),
    }
}

/// The login layer's answer to `req`, lacking `needed`, as an actix error.
fn rejection<U: LoginUser>(
    req: &HttpRequest,
    needed: Needed,
) -> Result<actix_web::Error, SessionError> {
    let header = |name| {
        req.headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
    };
    let asks = Asks {
        accept: header(header::ACCEPT),
        requested_with: header(header::HeaderName::from_static("x-requested-with")),
    };
    Ok(match unauthorized::rejection::<U>(req, needed, asks)? {
        Rejection::Redirect(redirect) => redirect.into(),
        Rejection::Unauthorized(unauthorized) => unauthorized.into(),
    })
}

impl LoginRedirect {
    /// The redirect to `U`'s [`Login::login_url`](crate::login::Login::login_url) for `req`.
    ///
    /// # Errors
    ///
    /// [`SessionError::MissingAppData`](crate::SessionError::MissingAppData) without a
    /// `Login<U>` in the app data.
    pub fn for_request<U: LoginUser>(req: &HttpRequest) -> Result<Self, crate::SessionError> {
        let login = rules::login_of::<U>(req)?;
        Ok(unauthorized::to_login_page(&login, req))
    }
}

impl ResponseError for LoginRedirect {
    fn status_code(&self) -> StatusCode {
        StatusCode::FOUND
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::Found()
            .insert_header((header::LOCATION, self.location()))
            .finish()
    }
}

impl ResponseError for LoginUnauthorized {
    fn status_code(&self) -> StatusCode {
        StatusCode::UNAUTHORIZED
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::Unauthorized()
            .content_type("application/json")
            .body(self.body())
    }
}
