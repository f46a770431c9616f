//! The extractors: Microdot's `@login` and `@login.fresh`, and its `get_current_user`.

use std::fmt;
use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::{StatusCode, header};
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError};

use super::config::{Login, LoginUser};
use super::current::{current_user, is_fresh};
use super::redirect;

type Extracting<T> = Pin<Box<dyn Future<Output = Result<T, actix_web::Error>>>>;

/// The logged-in user; anonymous requests are redirected to the login page: Microdot's
/// `@login` decorator as an extractor.
///
/// The rejection is a [`LoginRedirect`]: `302 Found` to
/// `login_url?next=<the request's path and query>`, so the login page can send the user back.
/// It derefs to the user.
///
/// ```
/// use actix_web::{App, HttpResponse, get, test};
/// use jwt_session::{Session, login::{LoggedIn, Login, LoginUser}};
///
/// #[derive(Clone)]
/// struct User {
///     name: String,
/// }
/// impl LoginUser for User {
///     type Id = String;
///     fn id(&self) -> String { self.name.clone() }
/// }
///
/// #[get("/orders")]
/// async fn orders(user: LoggedIn<User>) -> HttpResponse {
///     HttpResponse::Ok().body(format!("orders of {}", user.name))
/// }
///
/// # actix_web::rt::System::new().block_on(async {
/// let login = Login::new(|name: String| async move { Some(User { name }) });
/// let app = test::init_service(
///     App::new().app_data(Session::new([7u8; 32])).app_data(login).service(orders),
/// ).await;
/// let res = test::call_service(&app, test::TestRequest::get().uri("/orders?page=2").to_request()).await;
/// assert_eq!(res.status(), 302);
/// assert_eq!(res.headers().get("location").unwrap(), "/login?next=/orders%3Fpage%3D2");
/// # });
/// ```
#[derive(Clone, Debug)]
pub struct LoggedIn<U>(pub U);

/// The logged-in user, when the login is fresh: made on the login page in this session,
/// not restored from the remember cookie. Others are redirected to the login page as by
/// [`LoggedIn`]. Microdot's `@login.fresh`. Use it in front of password changes and the like.
///
/// ```
/// use actix_web::{App, HttpResponse, get, test};
/// use jwt_session::{Session, login::{FreshLogin, Login, LoginUser}};
///
/// #[derive(Clone)]
/// struct User {
///     name: String,
/// }
/// impl LoginUser for User {
///     type Id = String;
///     fn id(&self) -> String { self.name.clone() }
/// }
///
/// #[get("/password")]
/// async fn change_password(user: FreshLogin<User>) -> HttpResponse {
///     HttpResponse::Ok().body(format!("change the password of {}", user.name))
/// }
///
/// # actix_web::rt::System::new().block_on(async {
/// let login = Login::new(|name: String| async move { Some(User { name }) });
/// let app = test::init_service(
///     App::new().app_data(Session::new([7u8; 32])).app_data(login).service(change_password),
/// ).await;
/// let res = test::call_service(&app, test::TestRequest::get().uri("/password").to_request()).await;
/// assert_eq!(res.headers().get("location").unwrap(), "/login?next=/password");
/// # });
/// ```
#[derive(Clone, Debug)]
pub struct FreshLogin<U>(pub U);

/// The logged-in user, or `None`: for pages that anyone may see but that greet a logged-in
/// user. Never rejects (but for a missing configuration).
///
/// ```
/// use actix_web::{App, HttpResponse, get, test};
/// use jwt_session::{Session, login::{CurrentUser, Login, LoginUser}};
///
/// #[derive(Clone)]
/// struct User(String);
/// impl LoginUser for User {
///     type Id = String;
///     fn id(&self) -> String { self.0.clone() }
/// }
///
/// #[get("/")]
/// async fn home(user: CurrentUser<User>) -> HttpResponse {
///     match &*user {
///         Some(user) => HttpResponse::Ok().body(format!("Hello, {}", user.0)),
///         None => HttpResponse::Ok().body("Hello, stranger"),
///     }
/// }
///
/// # actix_web::rt::System::new().block_on(async {
/// let login = Login::new(|id: String| async move { Some(User(id)) });
/// let app = test::init_service(
///     App::new().app_data(Session::new([7u8; 32])).app_data(login).service(home),
/// ).await;
/// let res = test::call_service(&app, test::TestRequest::get().to_request()).await;
/// assert_eq!(test::read_body(res).await, "Hello, stranger");
/// # });
/// ```
#[derive(Clone, Debug)]
pub struct CurrentUser<U>(pub Option<U>);

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
        Box::pin(async move { required::<U>(&req).await.map(Self) })
    }
}

impl<U: LoginUser> FromRequest for FreshLogin<U> {
    type Error = actix_web::Error;
    type Future = Extracting<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            // Checked first, as in Microdot: a stale login is not even loaded.
            if !is_fresh(&req).await? {
                return Err(LoginRedirect::for_request::<U>(&req)?.into());
            }
            required::<U>(&req).await.map(Self)
        })
    }
}

async fn required<U: LoginUser>(req: &HttpRequest) -> Result<U, actix_web::Error> {
    match current_user::<U>(req).await? {
        Some(user) => Ok(user),
        None => Err(LoginRedirect::for_request::<U>(req)?.into()),
    }
}

macro_rules! deref_to_user {
    ($($extractor:ident => $target:ty),*) => {$(
        impl<U> Deref for $extractor<U> {
            type Target = $target;

            fn deref(&self) -> &$target {
                &self.0
            }
        }
    )*};
}

deref_to_user!(LoggedIn => U, FreshLogin => U, CurrentUser => Option<U>);

/// The rejection of [`LoggedIn`] and [`FreshLogin`]: `302 Found` to the login page, with the
/// request's path and query as `next`.
///
/// ```
/// use actix_web::{ResponseError, test};
/// use jwt_session::{login::{Login, LoginRedirect, LoginUser}};
///
/// #[derive(Clone)]
/// struct User;
/// impl LoginUser for User {
///     type Id = u8;
///     fn id(&self) -> u8 { 1 }
/// }
///
/// let req = test::TestRequest::get()
///     .uri("/admin?tab=users")
///     .app_data(Login::new(|_: u8| async { Some(User) }).login_url("/signin"))
///     .to_http_request();
/// let redirect = LoginRedirect::for_request::<User>(&req)?;
/// assert_eq!(redirect.location(), "/signin?next=/admin%3Ftab%3Dusers");
/// assert_eq!(redirect.error_response().status(), 302);
/// # Ok::<(), jwt_session::SessionError>(())
/// ```
#[derive(Clone, Debug)]
pub struct LoginRedirect {
    location: String,
}

impl LoginRedirect {
    /// The redirect to `U`'s [`Login::login_url`] for `req`.
    ///
    /// # Errors
    ///
    /// [`SessionError::MissingAppData`](crate::SessionError::MissingAppData) without a
    /// `Login<U>` in the app data.
    pub fn for_request<U: LoginUser>(req: &HttpRequest) -> Result<Self, crate::SessionError> {
        let login = Login::<U>::of(req)?;
        Ok(Self {
            location: redirect::to_login(&login.login_url, req),
        })
    }

    /// Where it sends the browser.
    #[must_use]
    pub fn location(&self) -> &str {
        &self.location
    }
}

impl fmt::Display for LoginRedirect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "login required: redirecting to {}", self.location)
    }
}

impl ResponseError for LoginRedirect {
    fn status_code(&self) -> StatusCode {
        StatusCode::FOUND
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::Found()
            .insert_header((header::LOCATION, self.location.as_str()))
            .finish()
    }
}
