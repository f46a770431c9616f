//! The axum glue of the login layer: `LoggedIn`, `FreshLogin` and `CurrentUser` as
//! extractors, the login redirect as a response, and [`LoginSession`] for the calls that log
//! users in and out. The rules are the login layer's, the same as on actix-web.

use std::future::Future;
use std::marker::PhantomData;

use axum_core::extract::FromRequestParts;
use axum_core::response::{IntoResponse, Response};
use http::header::{ACCEPT, CONTENT_TYPE, LOCATION, SET_COOKIE};
use http::request::Parts;
use http::{HeaderValue, StatusCode};

use super::extract::context;
use super::request::{AxumRequest, LayerContext};
use crate::ext::LayerRequest;
use crate::login::unauthorized::{self, Asks, Needed, Rejection};
use crate::login::{
    CurrentUser, FreshLogin, Keep, LoggedIn, Login, LoginRedirect, LoginUnauthorized, LoginUser,
    Remember, rules,
};
use crate::{Session, SessionError};

impl LayerRequest for AxumRequest<'_> {
    fn config(&self) -> Result<Session, SessionError> {
        Ok(self.context.session.clone())
    }

    fn app_data<T: Clone + Send + Sync + 'static>(&self) -> Option<T> {
        self.parts.extensions.get::<T>().cloned()
    }

    fn query(&self) -> &str {
        self.original_uri().query().unwrap_or_default()
    }

    fn path_and_query(&self) -> String {
        let uri = self.original_uri();
        uri.path_and_query()
            .map_or_else(|| uri.path(), |path_and_query| path_and_query.as_str())
            .to_owned()
    }

    fn local<T: Clone + Send + Sync + 'static>(&self) -> Option<T> {
        AxumRequest::local(self)
    }

    fn set_local<T: Clone + Send + Sync + 'static>(&self, value: T) {
        AxumRequest::set_local(self, value);
    }

    fn remove_local<T: Clone + Send + Sync + 'static>(&self) {
        AxumRequest::remove_local::<T>(self);
    }

    fn login_fix(&self) -> &'static str {
        "add one with `.layer(axum::Extension(Login::new_send(loader)))`"
    }
}

/// The redirect to the login page: `302 Found` with `Location`, as on actix-web.
impl IntoResponse for LoginRedirect {
    fn into_response(self) -> Response {
        match HeaderValue::try_from(self.location()) {
            Ok(location) => (StatusCode::FOUND, [(LOCATION, location)]).into_response(),
            Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        }
    }
}

/// The `Login<U>` of the request, with a loader axum can await.
fn login_of<U: LoginUser>(req: &AxumRequest<'_>) -> Result<Login<U>, SessionError> {
    let login = rules::login_of::<U>(req)?;
    if !login.loader.is_send() {
        return Err(SessionError::MissingAppData {
            type_name: std::any::type_name::<Login<U>>(),
            fix: "build it with `Login::new_send(loader)` for axum: its loader's future must be Send",
        });
    }
    Ok(login)
}

/// The user of `id`, through a loader `login_of` checked to be `Send`. The loader is
/// called at once, so the future holds only its own (`Send`) future, not `id`.
fn load_user<U: LoginUser>(login: &Login<U>, id: U::Id) -> impl Future<Output = Option<U>> + Send {
    let user = login.loader.load_send(id);
    async move {
        match user {
            Some(user) => user.await,
            None => None,
        }
    }
}

/// The user logged in on the request, loaded once per request (see
/// [`current_user`](crate::login::current_user) on actix-web).
async fn current<U: LoginUser>(req: &AxumRequest<'_>) -> Result<Option<U>, SessionError> {
    let login = login_of::<U>(req)?;
    rules::current_user(req, |id| load_user(&login, id)).await
}

/// The logged-in user meeting `needed`, or the response the login layer answers without
/// one: the login redirect, or a `401` with a JSON body (see `Login::unauthorized`).
async fn required<U: LoginUser>(req: &AxumRequest<'_>, needed: Needed) -> Result<U, Response> {
    let login = login_of::<U>(req).map_err(IntoResponse::into_response)?;
    let lacking = match unauthorized::require(req, needed, |id| load_user(&login, id)).await {
        Ok(Ok(user)) => return Ok(user),
        Ok(Err(lacking)) => lacking,
        Err(err) => return Err(err.into_response()),
    };
    let header = |name| {
        let value = req.parts.headers.get(name)?;
        value.to_str().ok()
    };
    let asks = Asks {
        accept: header(ACCEPT.as_str()),
        requested_with: header("x-requested-with"),
    };
    Err(match unauthorized::rejection::<U>(req, lacking, asks) {
        Ok(Rejection::Redirect(redirect)) => redirect.into_response(),
        Ok(Rejection::Unauthorized(unauthorized)) => unauthorized.into_response(),
        Err(err) => err.into_response(),
    })
}

/// `401 Unauthorized` with the JSON body, as on actix-web.
impl IntoResponse for LoginUnauthorized {
    fn into_response(self) -> Response {
        let json = [(CONTENT_TYPE, "application/json")];
        (StatusCode::UNAUTHORIZED, json, self.body()).into_response()
    }
}

/// The request as the login layer sees it, or the error naming the missing layer.
fn view(parts: &Parts) -> Result<AxumRequest<'_>, SessionError> {
    Ok(AxumRequest {
        parts,
        context: context(parts)?,
    })
}

/// The logged-in user; anonymous requests get the login redirect (or a `401` under
/// `Login::unauthorized`). Needs the
/// [`SessionLayer`](super::SessionLayer) and a [`Login`] built with [`Login::new_send`] in
/// the request's extensions (`.layer(Extension(login))`).
impl<S: Send + Sync, U: LoginUser> FromRequestParts<S> for LoggedIn<U> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Response> {
        let req = view(parts).map_err(IntoResponse::into_response)?;
        required::<U>(&req, Needed::Login).await.map(Self)
    }
}

/// A user who logged in with their password in this session, not restored from the
/// remember cookie; others get the login redirect.
impl<S: Send + Sync, U: LoginUser> FromRequestParts<S> for FreshLogin<U> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Response> {
        let req = view(parts).map_err(IntoResponse::into_response)?;
        required::<U>(&req, Needed::FreshLogin).await.map(Self)
    }
}

/// The logged-in user, if any.
impl<S: Send + Sync, U: LoginUser> FromRequestParts<S> for CurrentUser<U> {
    type Rejection = SessionError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, SessionError> {
        current::<U>(&view(parts)?).await.map(Self)
    }
}

/// Logs users in and out on axum: the extractor counterpart of actix-web's
/// [`login_user`](crate::login::login_user) and [`logout_user`](crate::login::logout_user).
/// The session cookie goes out through the [`SessionLayer`](super::SessionLayer); these
/// calls add the remember cookie, and write what the request owes the revocation store
/// before they return.
///
/// ```
/// use axum::{Extension, Router, routing::post};
/// use jwt_session::Session;
/// use jwt_session::axum::{LoginSession, SessionLayer};
/// use jwt_session::login::{Login, LoginUser, Remember};
///
/// #[derive(Clone)]
/// struct User(String);
/// impl LoginUser for User {
///     type Id = String;
///     fn id(&self) -> String { self.0.clone() }
/// }
///
/// async fn log_in(logins: LoginSession<User>) -> axum::response::Response {
///     // The app checks the password first.
///     match logins.login_user(&User("ann".into()), Remember::No).await {
///         Ok(redirect) => redirect,
///         Err(err) => axum::response::IntoResponse::into_response(err),
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use tower::ServiceExt;
/// let app = Router::new()
///     .route("/login", post(log_in))
///     .layer(Extension(Login::new_send(|id: String| async move { Some(User(id)) })))
///     .layer(SessionLayer::new(Session::new([7u8; 32])));
/// let request = http::Request::post("/login").body(axum::body::Body::empty()).unwrap();
/// let response = app.oneshot(request).await.unwrap();
/// assert_eq!(response.status(), 303);
/// assert!(response.headers()["set-cookie"].to_str().unwrap().starts_with("session=ey"));
/// # }
/// ```
pub struct LoginSession<U> {
    parts: Parts,
    context: LayerContext,
    user: PhantomData<fn() -> U>,
}

impl<S: Send + Sync, U: LoginUser> FromRequestParts<S> for LoginSession<U> {
    type Rejection = SessionError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, SessionError> {
        let context = context(parts)?.clone();
        Ok(Self {
            parts: parts.clone(),
            context,
            user: PhantomData,
        })
    }
}

impl<U: LoginUser> LoginSession<U> {
    fn view(&self) -> AxumRequest<'_> {
        AxumRequest {
            parts: &self.parts,
            context: &self.context,
        }
    }

    /// Logs `user` in after the app checked their credentials, and answers the redirect
    /// that ends an HTML login: `303 See Other` to the request's safe `next`, else the
    /// [`Login`]'s `redirect_url`. As actix-web's [`login_user`](crate::login::login_user):
    /// a new session, `_user_id` and `_fresh = true`, and the remember cookie when asked.
    ///
    /// # Errors
    ///
    /// As a session save, or without a [`Login`] in the request's extensions.
    pub async fn login_user(
        &self,
        user: &U,
        remember: impl Into<Remember>,
    ) -> Result<Response, SessionError> {
        let logged_in = rules::log_in(&self.view(), user, remember).await?;
        let mut response = StatusCode::SEE_OTHER.into_response();
        if let Ok(location) = HeaderValue::try_from(logged_in.next) {
            response.headers_mut().insert(LOCATION, location);
        }
        Ok(with_cookie(response, logged_in.remember_cookie))
    }

    /// [`login_user`](Self::login_user) onto the app's own `response` (a JSON answer, say)
    /// instead of the redirect.
    ///
    /// # Errors
    ///
    /// As [`login_user`](Self::login_user).
    pub async fn login_user_into(
        &self,
        user: &U,
        remember: impl Into<Remember>,
        response: impl IntoResponse,
    ) -> Result<Response, SessionError> {
        let logged_in = rules::log_in(&self.view(), user, remember).await?;
        Ok(with_cookie(
            response.into_response(),
            logged_in.remember_cookie,
        ))
    }

    /// Logs the request out: a new, empty session, and the remember cookie revoked (under a
    /// store) and cleared on `response`, unless it failed. As actix-web's
    /// [`logout_user`](crate::login::logout_user).
    ///
    /// # Errors
    ///
    /// As a session save.
    pub async fn logout_user(&self, response: impl IntoResponse) -> Result<Response, SessionError> {
        let removal = rules::log_out(&self.view(), Keep::Nothing).await?;
        Ok(finish_logout(response.into_response(), removal))
    }

    /// [`logout_user`](Self::logout_user), keeping the app's own entries (a cart).
    ///
    /// # Errors
    ///
    /// As [`logout_user`](Self::logout_user).
    pub async fn logout_user_keep_data(
        &self,
        response: impl IntoResponse,
    ) -> Result<Response, SessionError> {
        let removal = rules::log_out(&self.view(), Keep::AppEntries).await?;
        Ok(finish_logout(response.into_response(), removal))
    }

    /// Logs the user out everywhere ([`Session::revoke_user`]), then this request as
    /// [`logout_user`](Self::logout_user) does.
    ///
    /// # Errors
    ///
    /// [`SessionError::NoRevocationStore`] without a store, and as `revoke_user`.
    pub async fn logout_everywhere(
        &self,
        response: impl IntoResponse,
    ) -> Result<Response, SessionError> {
        let removal = rules::log_out_everywhere(&self.view()).await?;
        Ok(finish_logout(response.into_response(), removal))
    }
}

/// `response` with the side cookie `set_cookie`, if any, unless the response failed: a
/// failed response changes no login, as the session layer drops its cookie then.
fn with_cookie(mut response: Response, set_cookie: Option<String>) -> Response {
    if response.status().is_server_error() {
        return response;
    }
    if let Some(value) = set_cookie.and_then(|cookie| HeaderValue::try_from(cookie).ok()) {
        response.headers_mut().append(SET_COOKIE, value);
    }
    response
}

/// The logout's `response`, clearing the remember cookie unless it failed.
fn finish_logout(response: Response, removal: String) -> Response {
    with_cookie(response, Some(removal))
}
