//! The extractors: Microdot's `@login` and `@login.fresh`, and its `get_current_user`.
//! Their framework impls are in the adapters.

use std::fmt;
use std::ops::Deref;

/// The logged-in user; anonymous requests are redirected to the login page: Microdot's
/// `@login` decorator as an extractor.
///
/// The rejection is a [`LoginRedirect`]: `302 Found` to
/// `login_url?next=<the request's path and query>`, so the login page can send the user back;
/// for a JSON API (see [`Login::unauthorized`](crate::login::Login::unauthorized)), a
/// [`LoginUnauthorized`](crate::login::LoginUnauthorized): `401` with
/// `{"error":"login_required"}`. It derefs to the user.
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
/// [`LoggedIn`] (or, for a JSON API, answered `401` with `{"error":"fresh_login_required"}`,
/// or `{"error":"login_required"}` when there is no login at all). Microdot's `@login.fresh`. Use it in front of password changes and the like.
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
    /// The redirect to `location`.
    pub(crate) fn to(location: String) -> Self {
        Self { location }
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
