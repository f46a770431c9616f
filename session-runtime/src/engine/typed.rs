//! `TypedSession<T>`: the session as a Rust type instead of a dict.

use std::fmt;
use std::ops::{Deref, DerefMut};

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::engine::dict::SessionDict;
use crate::engine::flash::{self, Flash};
use crate::engine::handle::Handle;
use crate::error::SessionError;
use crate::token::claims::insert_problem;
use crate::token::payload::Entries;

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
/// so a Microdot app reads a typed session as a dict.
///
/// # A view, not the whole session
///
/// `T` owns the session entries named by its fields, as serde names them (after
/// `rename`, and including `alias`es); a save replaces exactly those and keeps every other
/// entry: the login's `_user_id` and `_fresh`, the flash messages, and what other handlers
/// or another `T` stored. A field that serializes to nothing (an `Option` with
/// `skip_serializing_if`) removes its entry. A `T` that names no fields of its own (a map,
/// or a struct with `#[serde(flatten)]`) owns the entries it held when loaded and those it
/// serializes: one it drops leaves the session, the others stay.
/// [`flash`](TypedSession::flash) and [`take_flashes`](TypedSession::take_flashes) work as
/// on a `SessionDict`. A cookie whose payload does not fit
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
    /// Every entry the session had at load: a save keeps those `T` does not own.
    rest: Map<String, Value>,
    /// `flash`/`take_flashes` changed the flashes in `rest`, which a save then writes.
    flashes_changed: bool,
    /// For a `T` without a field list (a map, a struct with `#[serde(flatten)]`): the
    /// entries it held at load, which it owns, so that one it drops leaves the session.
    loaded_keys: Vec<String>,
    /// As `SessionDict`'s: saves are refused once the session was replaced in this request.
    handle: Handle,
    /// [`entries`](Self::entries), captured where `T: SessionData` is known, so that `Drop`
    /// (which cannot carry a bound the struct lacks) can autosave.
    entries_of: fn(&Self) -> Result<Map<String, Value>, SessionError>,
}

impl<T: SessionData> TypedSession<T> {
    pub(crate) fn from_dict(mut dict: SessionDict, autosave: bool) -> Self {
        let request = dict.request_state();
        let loaded = Value::Object(dict.take_data());
        let value = T::deserialize(&loaded).unwrap_or_else(|err| {
            tracing::debug!(
                "the session does not fit {}, using its default: {err}",
                std::any::type_name::<T>()
            );
            T::default()
        });
        let Value::Object(rest) = loaded else {
            unreachable!("built as an object above")
        };
        let loaded_keys = if owned_fields::<T>().is_empty() {
            claims_of(&value)
                .map(|claims| claims.into_iter().map(|(key, _)| key).collect())
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        Self {
            value,
            rest,
            flashes_changed: false,
            loaded_keys,
            handle: Handle::new(request, autosave),
            entries_of: Self::entries,
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
        self.handle.save(&self.entries()?)
    }

    /// The whole session a save writes: `T`'s entries over the others.
    fn entries(&self) -> Result<Map<String, Value>, SessionError> {
        let own = claims_of(&self.value)?;
        // What this request already wrote or offered (a login, another handle) is newer
        // than what was loaded.
        let mut entries = self
            .handle
            .request()
            .latest_entries()
            .map_or_else(|| self.rest.clone(), Entries::into_map);
        for field in owned_fields::<T>() {
            entries.remove(*field);
        }
        for key in &self.loaded_keys {
            entries.remove(key);
        }
        if self.flashes_changed {
            match self.rest.get(flash::FLASHES) {
                Some(flashes) => entries.insert(flash::FLASHES.to_owned(), flashes.clone()),
                None => entries.remove(flash::FLASHES),
            };
        }
        entries.extend(own);
        Ok(entries)
    }

    /// Adds a flash message, as [`SessionDict::flash`] does: saved at once, or at the end of
    /// the request under `#[with_session(autosave)]`.
    ///
    /// # Errors
    ///
    /// As [`save`](TypedSession::save).
    ///
    /// ```
    /// use actix_web::{App, HttpResponse, post, test};
    /// use jwt_session::{Session, SessionError, TypedSession, with_session};
    ///
    /// #[derive(serde::Serialize, serde::Deserialize, Default)]
    /// struct Cart {
    ///     items: Vec<String>,
    /// }
    ///
    /// #[post("/add")]
    /// #[with_session]
    /// async fn add(mut cart: TypedSession<Cart>) -> Result<HttpResponse, SessionError> {
    ///     cart.items.push("tea".into());
    ///     cart.flash("info", "Added tea")?;
    ///     Ok(HttpResponse::Ok().finish())
    /// }
    ///
    /// # actix_web::rt::System::new().block_on(async {
    /// let session = Session::new([7u8; 32]);
    /// let app = test::init_service(App::new().app_data(session.clone()).service(add)).await;
    /// let res = test::call_service(&app, test::TestRequest::post().uri("/add").to_request()).await;
    /// let expected = serde_json::json!({"items": ["tea"], "_flashes": [["info", "Added tea"]]});
    /// assert_eq!(
    ///     session.session_set_by(res.response()),
    ///     jwt_session::test::ResponseSession::Saved(expected.as_object().unwrap().clone()),
    /// );
    /// # });
    /// ```
    pub fn flash(
        &mut self,
        category: impl Into<String>,
        message: impl Into<String>,
    ) -> Result<(), SessionError> {
        flash::push(&mut self.rest, category.into(), message.into());
        self.after_flash_change()
    }

    /// Takes the flash messages, oldest first, as [`SessionDict::take_flashes`] does.
    ///
    /// # Errors
    ///
    /// As [`save`](TypedSession::save).
    ///
    /// ```
    /// # use jwt_session::{SessionError, TypedSession};
    /// # #[derive(serde::Serialize, serde::Deserialize, Default)] struct Page;
    /// fn render(mut page: TypedSession<Page>) -> Result<String, SessionError> {
    ///     let flashes = page.take_flashes()?;
    ///     Ok(flashes.iter().map(|f| format!("{}: {}", f.category, f.message)).collect())
    /// }
    /// # let _ = render;
    /// ```
    pub fn take_flashes(&mut self) -> Result<Vec<Flash>, SessionError> {
        let flashes = flash::take(&mut self.rest);
        if !flashes.is_empty() {
            self.after_flash_change()?;
        }
        Ok(flashes)
    }

    /// Saves a flash change now, or marks it for autosave.
    fn after_flash_change(&mut self) -> Result<(), SessionError> {
        self.handle.modified = true;
        self.flashes_changed = true;
        if self.handle.autosave {
            Ok(())
        } else {
            self.save()
        }
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
        self.handle.renew();
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
        self.handle.delete();
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
        self.handle.modified = true;
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
        if self.handle.must_autosave() {
            match (self.entries_of)(self) {
                Ok(entries) => self.handle.autosave(&entries),
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

/// The entry names `T` reads its fields from, as serde's derive names them (after `rename`,
/// with `alias`es): asked of `T::deserialize` through a deserializer that only records the
/// field list of a struct. Empty for a map or a struct with `#[serde(flatten)]`, which
/// serde reads as a map: those own only what they serialize.
fn owned_fields<T: SessionData>() -> &'static [&'static str] {
    struct FieldNames(Option<&'static [&'static str]>);

    impl<'de> serde::Deserializer<'de> for &mut FieldNames {
        type Error = serde::de::value::Error;

        fn deserialize_struct<V: serde::de::Visitor<'de>>(
            self,
            _name: &'static str,
            fields: &'static [&'static str],
            _visitor: V,
        ) -> Result<V::Value, Self::Error> {
            self.0 = Some(fields);
            Err(serde::de::Error::custom("field names recorded"))
        }

        fn deserialize_any<V: serde::de::Visitor<'de>>(
            self,
            _visitor: V,
        ) -> Result<V::Value, Self::Error> {
            Err(serde::de::Error::custom("not a struct"))
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
            identifier ignored_any
        }
    }

    let mut names = FieldNames(None);
    let _ = T::deserialize(&mut names);
    names.0.unwrap_or_default()
}
