//! `Login`: the app's login settings and its user loader.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::unauthorized::Unauthorized;

/// A user the app can log in: something with an id to keep in the session.
///
/// The id is stored under the session key `_user_id` as JSON. Use a string or an integer
/// to share logins with Microdot, which stores whatever its `user.id` is.
///
/// ```
/// use jwt_session::login::LoginUser;
///
/// #[derive(Clone)]
/// struct User {
///     id: u64,
///     name: String,
/// }
///
/// impl LoginUser for User {
///     type Id = u64;
///
///     fn id(&self) -> u64 {
///         self.id
///     }
/// }
/// let ann = User { id: 7, name: "ann".into() };
/// assert_eq!((ann.id(), ann.name.as_str()), (7, "ann"));
/// ```
pub trait LoginUser: Clone + Send + Sync + 'static {
    /// The id's type: usually `String` or an integer.
    type Id: Serialize + DeserializeOwned + 'static;

    /// The id stored in the session and the remember cookie.
    fn id(&self) -> Self::Id;
}

type LocalLoad<U> = Pin<Box<dyn Future<Output = Option<U>>>>;
type SendLoad<U> = Pin<Box<dyn Future<Output = Option<U>> + Send>>;

/// The user loader, as built: any future ([`Login::new`]; actix polls a request on one
/// thread), or a `Send` one ([`Login::new_send`], which axum needs and actix takes too).
pub(crate) enum Loader<U: LoginUser> {
    Local(Arc<dyn Fn(U::Id) -> LocalLoad<U> + Send + Sync>),
    Sendable(Arc<dyn Fn(U::Id) -> SendLoad<U> + Send + Sync>),
}

impl<U: LoginUser> Loader<U> {
    /// The user of `id`, for a framework that polls on one thread.
    #[cfg_attr(not(feature = "actix"), allow(dead_code))]
    pub(crate) fn load_local(&self, id: U::Id) -> LocalLoad<U> {
        match self {
            Self::Local(load) => load(id),
            Self::Sendable(load) => load(id),
        }
    }

    /// The user of `id` as a `Send` future, when the loader was built `Send`.
    #[cfg_attr(not(feature = "axum"), allow(dead_code))]
    pub(crate) fn load_send(&self, id: U::Id) -> Option<SendLoad<U>> {
        match self {
            Self::Sendable(load) => Some(load(id)),
            Self::Local(_) => None,
        }
    }

    /// Whether [`load_send`](Self::load_send) answers.
    #[cfg_attr(not(feature = "axum"), allow(dead_code))]
    pub(crate) fn is_send(&self) -> bool {
        matches!(self, Self::Sendable(_))
    }
}

impl<U: LoginUser> Clone for Loader<U> {
    fn clone(&self) -> Self {
        match self {
            Self::Local(load) => Self::Local(Arc::clone(load)),
            Self::Sendable(load) => Self::Sendable(Arc::clone(load)),
        }
    }
}

/// The login settings of an app: where to send anonymous users, and how to load a user
/// from the id kept in the session. Microdot's `Login` with its `@login.user_loader`.
///
/// Register it with [`App::app_data`](actix_web::App::app_data), next to the
/// [`Session`](crate::Session); the extractors [`LoggedIn`](crate::login::LoggedIn),
/// [`FreshLogin`](crate::login::FreshLogin) and [`CurrentUser`](crate::login::CurrentUser) find it
/// there. Cloning is cheap (one `Arc`).
///
/// ```
/// use actix_web::App;
/// use jwt_session::{Session, login::{Login, LoginUser}};
///
/// #[derive(Clone)]
/// struct User {
///     id: String,
/// }
///
/// impl LoginUser for User {
///     type Id = String;
///     fn id(&self) -> String {
///         self.id.clone()
///     }
/// }
///
/// // The loader is async: look the id up in a database, or answer `None`.
/// let login = Login::new(|id: String| async move { (id == "user001").then(|| User { id }) })
///     .login_url("/signin");
/// let app = App::new().app_data(Session::new([7u8; 32])).app_data(login);
/// # drop(app);
/// ```
pub struct Login<U: LoginUser> {
    pub(crate) login_url: Arc<str>,
    pub(crate) redirect_url: Arc<str>,
    pub(crate) loader: Loader<U>,
    pub(crate) unauthorized: Unauthorized,
    pub(crate) microdot_remember: bool,
}

impl<U: LoginUser> Login<U> {
    /// Settings with `loader`, which turns a user id into the user, or `None` when the id
    /// is no longer valid (the user was deleted, say). The login URL is `/login` and the
    /// page after login `/`, as in Microdot.
    ///
    /// ```
    /// # #[derive(Clone)] struct User;
    /// # impl jwt_session::login::LoginUser for User { type Id = i64; fn id(&self) -> i64 { 1 } }
    /// let login = jwt_session::login::Login::new(|id: i64| async move { (id == 1).then_some(User) });
    /// # drop(login);
    /// ```
    #[must_use]
    pub fn new<F, Fut>(loader: F) -> Self
    where
        F: Fn(U::Id) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Option<U>> + 'static,
    {
        Self::with_loader(Loader::Local(Arc::new(move |id| {
            Box::pin(loader(id)) as LocalLoad<U>
        })))
    }

    /// [`new`](Self::new) for a loader whose future is `Send`, as axum requires (its
    /// extractors' futures are `Send`); such settings serve actix-web apps as well.
    ///
    /// ```
    /// # #[derive(Clone)] struct User;
    /// # impl jwt_session::login::LoginUser for User { type Id = i64; fn id(&self) -> i64 { 1 } }
    /// let login =
    ///     jwt_session::login::Login::new_send(|id: i64| async move { (id == 1).then_some(User) });
    /// # drop(login);
    /// ```
    #[must_use]
    pub fn new_send<F, Fut>(loader: F) -> Self
    where
        F: Fn(U::Id) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Option<U>> + Send + 'static,
    {
        Self::with_loader(Loader::Sendable(Arc::new(move |id| {
            Box::pin(loader(id)) as SendLoad<U>
        })))
    }

    fn with_loader(loader: Loader<U>) -> Self {
        Self {
            login_url: Arc::from("/login"),
            redirect_url: Arc::from("/"),
            loader,
            unauthorized: Unauthorized::Redirect,
            microdot_remember: false,
        }
    }

    /// Sets how [`LoggedIn`](crate::login::LoggedIn) and
    /// [`FreshLogin`](crate::login::FreshLogin) answer a request without the login they
    /// need: a redirect to the login page (the default), a `401` with a JSON body for a
    /// JSON API, or either by what the request asks for. See [`Unauthorized`] for the rule.
    ///
    /// ```
    /// # #[derive(Clone)] struct User;
    /// # impl jwt_session::login::LoginUser for User { type Id = i64; fn id(&self) -> i64 { 1 } }
    /// use jwt_session::login::{Login, Unauthorized};
    ///
    /// let api = Login::new(|_: i64| async { Some(User) }).unauthorized(Unauthorized::Json);
    /// # drop(api);
    /// ```
    #[must_use]
    pub fn unauthorized(mut self, answer: Unauthorized) -> Self {
        self.unauthorized = answer;
        self
    }

    /// Accepts remember cookies as Microdot writes them (`user_id`, `days`, `exp`, and no
    /// purpose marker), to share logins with a Microdot app on the same secret. Off by
    /// default: then a remember cookie must carry this library's `_purpose` marker.
    ///
    /// Turn it on only for that. A Microdot remember cookie is any token signed with the
    /// secret that holds `user_id` and `days` and nothing else of note, so with it on, a
    /// session (or any other token) of that shape signed with the same secret logs its
    /// `user_id` in when sent as the remember cookie.
    ///
    /// ```
    /// # #[derive(Clone)] struct User;
    /// # impl jwt_session::login::LoginUser for User { type Id = String; fn id(&self) -> String { String::new() } }
    /// let login = jwt_session::login::Login::new(|_: String| async { Some(User) })
    ///     .accept_microdot_remember_cookies(true);
    /// # drop(login);
    /// ```
    #[must_use]
    pub fn accept_microdot_remember_cookies(mut self, accept: bool) -> Self {
        self.microdot_remember = accept;
        self
    }

    /// Sets where anonymous users are sent (default `/login`). The original path and query
    /// follow as `?next=…` (or `&next=…` when `url` already has a query).
    ///
    /// # Panics
    ///
    /// If `url` holds a control character, which would break the `Location` header.
    ///
    /// ```
    /// # #[derive(Clone)] struct User;
    /// # impl jwt_session::login::LoginUser for User { type Id = i64; fn id(&self) -> i64 { 1 } }
    /// let login = jwt_session::login::Login::new(|_: i64| async { Some(User) }).login_url("/account/login");
    /// # drop(login);
    /// ```
    #[must_use]
    pub fn login_url(mut self, url: &str) -> Self {
        self.login_url = Arc::from(checked_url("login_url", url));
        self
    }

    /// Sets where [`login_user`](crate::login::login_user) sends the user when the request has no
    /// acceptable `next` (default `/`).
    ///
    /// # Panics
    ///
    /// If `url` holds a control character.
    ///
    /// ```
    /// # #[derive(Clone)] struct User;
    /// # impl jwt_session::login::LoginUser for User { type Id = i64; fn id(&self) -> i64 { 1 } }
    /// let login = jwt_session::login::Login::new(|_: i64| async { Some(User) }).redirect_url("/dashboard");
    /// # drop(login);
    /// ```
    #[must_use]
    pub fn redirect_url(mut self, url: &str) -> Self {
        self.redirect_url = Arc::from(checked_url("redirect_url", url));
        self
    }
}

fn checked_url<'u>(what: &str, url: &'u str) -> &'u str {
    assert!(
        !url.chars().any(char::is_control),
        "Login::{what}: {url:?} holds a control character, which would break the Location header"
    );
    url
}

impl<U: LoginUser> Clone for Login<U> {
    fn clone(&self) -> Self {
        Self {
            login_url: Arc::clone(&self.login_url),
            redirect_url: Arc::clone(&self.redirect_url),
            loader: self.loader.clone(),
            unauthorized: self.unauthorized,
            microdot_remember: self.microdot_remember,
        }
    }
}

impl<U: LoginUser> fmt::Debug for Login<U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Login")
            .field("user", &std::any::type_name::<U>())
            .field("login_url", &self.login_url)
            .field("redirect_url", &self.redirect_url)
            .field("unauthorized", &self.unauthorized)
            .field("microdot_remember", &self.microdot_remember)
            .finish_non_exhaustive()
    }
}
