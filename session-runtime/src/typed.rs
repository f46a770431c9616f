//! `TypedSession<T>`: the session as a Rust type instead of a dict.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::dict::SessionDict;
use crate::error::SessionError;
use crate::state::RequestSession;
use crate::token::claims::insert_problem;

/// What a [`TypedSession`] can hold: a type that serializes to a JSON object and has a
/// default for new visitors and unreadable cookies.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the data of a TypedSession",
    label = "TypedSession<T> needs T: Serialize + DeserializeOwned + Default",
    note = "derive them: #[derive(serde::Serialize, serde::Deserialize, Default)]"
)]
pub trait SessionData: Serialize + DeserializeOwned + Default {}

// Errors name `SessionData` (and its message above), not the one supertrait that is missing.
#[diagnostic::do_not_recommend]
impl<T: Serialize + DeserializeOwned + Default> SessionData for T {}

/// The session as a `T`: `#[with_session]` fills a `TypedSession<T>` parameter just like a
/// [`SessionDict`] one.
///
/// It derefs to `T`. [`save`](TypedSession::save) and [`delete`](TypedSession::delete)
/// behave as `SessionDict`'s. The wire format does not change: `T`'s fields are the claims,
/// so a Microdot app reads a typed session as a dict. A cookie whose payload does not fit
/// `T` gives `T::default()`, and the mismatch is logged at debug level (see below how
/// `#[serde(default)]` keeps older cookies readable). Dropping it sends nothing, except
/// under `#[with_session(autosave)]` (see its [`Drop`] impl below).
///
/// `SessionDict` and `TypedSession<T>` are `Send + Sync` (for `T: Send + Sync`): they can move
/// into spawned tasks.
///
/// ```
/// use actix_web::{App, HttpResponse, post, test};
/// use jwt_session::{Session, SessionError, TypedSession, with_session};
///
/// #[derive(serde::Serialize, serde::Deserialize, Default)]
/// struct Visits {
///     count: u32,
/// }
///
/// #[post("/")]
/// #[with_session]
/// async fn visit(mut visits: TypedSession<Visits>) -> Result<HttpResponse, SessionError> {
///     visits.count += 1;
///     visits.save()?;
///     Ok(HttpResponse::Ok().body(visits.count.to_string()))
/// }
///
/// # actix_web::rt::System::new().block_on(async {
/// let app = test::init_service(App::new().app_data(Session::new([7u8; 32])).service(visit)).await;
/// let res = test::call_service(&app, test::TestRequest::post().uri("/").to_request()).await;
/// assert_eq!(test::read_body(res).await, "1");
/// # });
/// ```
///
/// # Adding fields later
///
/// Cookies outlive deployments: a field added to `T` is missing from every cookie written
/// before. Without a default for it, such a cookie does not fit `T` and the whole session
/// becomes `T::default()`, which logs the user out. Mark session structs
/// `#[serde(default)]`, so that a missing field takes its value from `T::default()` and
/// the others are kept:
///
/// ```
/// use actix_web::{App, HttpResponse, get, post, test};
/// use jwt_session::{Session, SessionError, TypedSession, with_session};
///
/// // What version 1 of the app stored.
/// #[derive(serde::Serialize, serde::Deserialize, Default)]
/// struct UserV1 {
///     name: String,
/// }
///
/// // Version 2 adds a field.
/// #[derive(serde::Serialize, serde::Deserialize, Default)]
/// #[serde(default)]
/// struct User {
///     name: String,
///     theme: String,
/// }
///
/// #[post("/login")]
/// #[with_session]
/// async fn login_v1(mut user: TypedSession<UserV1>) -> Result<HttpResponse, SessionError> {
///     user.name = "ann".to_owned();
///     user.save()?;
///     Ok(HttpResponse::Ok().finish())
/// }
///
/// #[get("/")]
/// #[with_session]
/// async fn index(user: TypedSession<User>) -> String {
///     format!("{} ({:?})", user.name, user.theme)
/// }
///
/// # actix_web::rt::System::new().block_on(async {
/// let app = test::init_service(
///     App::new().app_data(Session::new([7u8; 32])).service(login_v1).service(index),
/// ).await;
/// let res = test::call_service(&app, test::TestRequest::post().uri("/login").to_request()).await;
/// let old_cookie = res.response().cookies().next().unwrap().into_owned();
/// let req = test::TestRequest::get().uri("/").cookie(old_cookie).to_request();
/// let res = test::call_service(&app, req).await;
/// assert_eq!(test::read_body(res).await, r#"ann ("")"#, "still logged in");
/// # });
/// ```
// No bound on `T` here (API guideline C-STRUCT-BOUNDS): a `TypedSession<T>` whose `T` is
// not `SessionData` fails once, where the session is filled, and not at every mention.
pub struct TypedSession<T> {
    value: T,
    request: Arc<RequestSession>,
    modified: bool,
    autosave: bool,
    /// `claims_of::<T>`, captured where `T: SessionData` is known, so that `Drop` (which
    /// cannot carry a bound the struct lacks) can autosave.
    claims: fn(&T) -> Result<Map<String, Value>, SessionError>,
}

impl<T: SessionData> TypedSession<T> {
    pub(crate) fn from_dict(mut dict: SessionDict, autosave: bool) -> Self {
        let request = dict.request_state();
        let value = T::deserialize(Value::Object(dict.take_data())).unwrap_or_else(|err| {
            tracing::debug!(
                "the session does not fit {}, using its default: {err}",
                std::any::type_name::<T>()
            );
            T::default()
        });
        Self {
            value,
            request,
            modified: false,
            autosave,
            claims: claims_of::<T>,
        }
    }

    /// Encodes the session now and schedules its cookie, as [`SessionDict::save`].
    ///
    /// # Errors
    ///
    /// [`SessionError::NotAnObject`] when `T` does not serialize to a JSON object,
    /// [`SessionError::RegisteredClaim`] when one of its fields is a claim the library
    /// refuses (as [`SessionDict::insert`]), and [`SessionError::TooLarge`].
    ///
    /// ```
    /// # use actix_web::{App, HttpResponse, test, web};
    /// # use jwt_session::{Session, SessionError, TypedSession, with_session};
    /// #[derive(serde::Serialize, serde::Deserialize, Default)]
    /// struct Cart {
    ///     items: Vec<String>,
    /// }
    ///
    /// #[with_session]
    /// async fn add(mut cart: TypedSession<Cart>) -> Result<HttpResponse, SessionError> {
    ///     cart.items.push("apple".to_owned());
    ///     cart.save()?;
    ///     Ok(HttpResponse::Ok().finish())
    /// }
    /// # actix_web::rt::System::new().block_on(async {
    /// #     let app = test::init_service(App::new().app_data(Session::new([7u8; 32])).route("/", web::post().to(add))).await;
    /// #     let res = test::call_service(&app, test::TestRequest::post().uri("/").to_request()).await;
    /// #     assert!(res.headers().get("set-cookie").unwrap().to_str().unwrap().starts_with("session=ey"));
    /// # });
    /// ```
    pub fn save(&self) -> Result<(), SessionError> {
        self.request.save(&(self.claims)(&self.value)?)
    }
}

impl<T> TypedSession<T> {
    /// Starts a new session at the next save, as [`SessionDict::renew`]: call it at login.
    ///
    /// ```
    /// # use actix_web::{App, HttpResponse, test, web};
    /// # use jwt_session::{Session, SessionError, TypedSession, with_session};
    /// #[derive(serde::Serialize, serde::Deserialize, Default)]
    /// struct Login {
    ///     user: Option<String>,
    /// }
    ///
    /// #[with_session]
    /// async fn login(mut session: TypedSession<Login>) -> Result<HttpResponse, SessionError> {
    ///     session.renew();
    ///     session.user = Some("ann".to_owned());
    ///     session.save()?;
    ///     Ok(HttpResponse::Ok().finish())
    /// }
    /// # actix_web::rt::System::new().block_on(async {
    /// #     let app = test::init_service(App::new().app_data(Session::new([7u8; 32])).route("/", web::post().to(login))).await;
    /// #     let res = test::call_service(&app, test::TestRequest::post().uri("/").to_request()).await;
    /// #     assert!(res.headers().contains_key("set-cookie"));
    /// # });
    /// ```
    pub fn renew(&mut self) {
        self.modified = true;
        self.request.renew();
    }

    /// Schedules the removal of the session cookie, as [`SessionDict::delete`].
    ///
    /// ```
    /// # use actix_web::{App, HttpResponse, test, web};
    /// # use jwt_session::{Session, TypedSession, with_session};
    /// # #[derive(serde::Serialize, serde::Deserialize, Default)]
    /// # struct Cart {}
    /// #[with_session]
    /// async fn logout(cart: TypedSession<Cart>) -> HttpResponse {
    ///     cart.delete();
    ///     HttpResponse::Ok().finish()
    /// }
    /// # actix_web::rt::System::new().block_on(async {
    /// #     let app = test::init_service(App::new().app_data(Session::new([7u8; 32])).route("/", web::post().to(logout))).await;
    /// #     let res = test::call_service(&app, test::TestRequest::post().uri("/").to_request()).await;
    /// #     assert!(res.headers().get("set-cookie").unwrap().to_str().unwrap().starts_with("session=;"));
    /// # });
    /// ```
    pub fn delete(&self) {
        self.request.delete();
    }
}

/// The claims `value` serializes to, checked like `SessionDict::insert` checks keys.
pub(crate) fn claims_of<T: Serialize>(value: &T) -> Result<Map<String, Value>, SessionError> {
    let json = serde_json::to_value(value).map_err(|source| SessionError::Serialize {
        key: String::from("(the whole session)"),
        source,
    })?;
    let Value::Object(claims) = json else {
        let found = match json {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            _ => "an array",
        };
        return Err(SessionError::NotAnObject { found });
    };
    for (key, value) in &claims {
        if let Some(reason) = insert_problem(key, value) {
            return Err(SessionError::RegisteredClaim {
                key: key.clone(),
                reason,
            });
        }
    }
    Ok(claims)
}

impl<T> Deref for TypedSession<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

/// Any mutable access counts as a modification for `#[with_session(autosave)]`.
impl<T> DerefMut for TypedSession<T> {
    fn deref_mut(&mut self) -> &mut T {
        self.modified = true;
        &mut self.value
    }
}

/// Dropping a `TypedSession` sends nothing by itself, as for a
/// [`SessionDict`](SessionDict#impl-Drop-for-SessionDict): what `save()` or `delete()`
/// scheduled stays scheduled, and later changes are discarded. Under
/// `#[with_session(autosave)]`, a session changed through `&mut` access and neither saved
/// nor deleted is saved as it is when dropped, which must be before the response is built.
/// An autosave that cannot encode `T` is logged at error level and sends nothing.
///
/// ```
/// use actix_web::{App, HttpResponse, post, test};
/// use jwt_session::{Session, TypedSession, with_session};
///
/// #[derive(serde::Serialize, serde::Deserialize, Default)]
/// struct Draft {
///     text: String,
/// }
///
/// #[post("/discard")]
/// #[with_session]
/// async fn discard(mut draft: TypedSession<Draft>) -> HttpResponse {
///     draft.text.push_str("lost"); // no save(): dropped with the session
///     HttpResponse::Ok().finish()
/// }
///
/// #[post("/keep")]
/// #[with_session(autosave)]
/// async fn keep(mut draft: TypedSession<Draft>) -> HttpResponse {
///     draft.text.push_str("kept"); // saved when the session drops
///     HttpResponse::Ok().finish()
/// }
///
/// # actix_web::rt::System::new().block_on(async {
/// let app = test::init_service(
///     App::new().app_data(Session::new([7u8; 32])).service(discard).service(keep),
/// ).await;
/// let res = test::call_service(&app, test::TestRequest::post().uri("/discard").to_request()).await;
/// assert!(!res.headers().contains_key("set-cookie"));
/// let res = test::call_service(&app, test::TestRequest::post().uri("/keep").to_request()).await;
/// assert!(res.headers().contains_key("set-cookie"));
/// # });
/// ```
impl<T> Drop for TypedSession<T> {
    fn drop(&mut self) {
        if self.autosave && self.modified {
            match (self.claims)(&self.value) {
                Ok(claims) => self.request.autosave(&claims),
                Err(err) => tracing::error!(
                    "autosave of the modified session failed, the change is not sent: {err}"
                ),
            }
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for TypedSession<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.value.fmt(f)
    }
}
