//! `SessionDict`: the session data a handler reads and changes.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

use crate::engine::handle::Handle;
use crate::engine::state::RequestSession;
use crate::error::SessionError;
use crate::token::claims::insert_problem;
use crate::token::payload::Entries;

/// The session of the current request: a JSON object of key/value pairs.
///
/// `#[with_session]` passes it to the handler. Changes stay local until
/// [`save`](SessionDict::save) encodes them into the response's cookie;
/// [`delete`](SessionDict::delete) removes the cookie instead. The last call wins, and
/// with neither call the response carries no session cookie at all. Dropping it sends
/// nothing, except under `#[with_session(autosave)]` (see its [`Drop`] impl below).
///
/// ```
/// use actix_web::{App, HttpResponse, Responder, post, test};
/// use jwt_session::{Session, SessionDict, SessionError, with_session};
///
/// #[post("/visit")]
/// #[with_session]
/// async fn visit(mut session: SessionDict) -> Result<impl Responder, SessionError> {
///     let visits = session.get::<u64>("visits")?.unwrap_or(0) + 1;
///     session.insert("visits", visits)?;
///     session.save()?;
///     Ok(HttpResponse::Ok().json(&session))
/// }
///
/// # actix_web::rt::System::new().block_on(async {
/// let app = test::init_service(
///     App::new().app_data(Session::new([7u8; 32])).service(visit),
/// ).await;
/// let res = test::call_service(&app, test::TestRequest::post().uri("/visit").to_request()).await;
/// assert!(res.headers().contains_key("set-cookie"));
/// assert_eq!(test::read_body(res).await, r#"{"visits":1}"#);
/// # });
/// ```
pub struct SessionDict {
    /// Its own entries, once it changed them or when it was loaded after the request wrote
    /// the session; until then `None`, and it reads the entries the request's cookie
    /// carried from the request's state (verified once, unparsed until a method needs more
    /// than one lookup).
    own: Option<Entries>,
    handle: Handle,
}

impl SessionDict {
    pub(crate) fn new(own: Option<Entries>, request: Arc<RequestSession>) -> Self {
        Self {
            own,
            handle: Handle::new(request, false),
        }
    }

    /// Makes this session save itself when dropped, if it was modified and neither
    /// `save()` nor `delete()` was called: `#[with_session(autosave)]`.
    pub(crate) fn set_autosave(&mut self, autosave: bool) {
        self.handle.autosave = autosave;
    }

    /// Whether this session saves itself when dropped.
    pub(crate) fn autosaves(&self) -> bool {
        self.handle.autosave
    }

    /// Takes the entries out, leaving an unmodified empty session that will not autosave.
    pub(crate) fn take_data(&mut self) -> Map<String, Value> {
        self.handle.autosave = false;
        let own = self.own.replace(Entries::default());
        own.unwrap_or_else(|| self.handle.request().loaded_entries().to_parsed())
            .into_map()
    }

    /// The entries this handle reads.
    fn data(&self) -> &Entries {
        self.own
            .as_ref()
            .unwrap_or_else(|| self.handle.request().loaded_entries())
    }

    /// The entries this handle changes: its own, copied from the loaded ones on the first
    /// change.
    fn data_mut(&mut self) -> &mut Entries {
        let request = self.handle.request();
        self.own
            .get_or_insert_with(|| request.loaded_entries().to_parsed())
    }

    pub(crate) fn request_state(&self) -> Arc<RequestSession> {
        Arc::clone(self.handle.request())
    }

    /// Reads `key` as a `T`: `Ok(None)` when the key is absent, an error when the stored
    /// value is not a `T`.
    ///
    /// ```
    /// # use actix_web::{HttpResponse, web};
    /// # #[allow(unused_imports)]
    /// # use jwt_session::{Session, SessionDict, SessionError, with_session};
    /// #[with_session]
    /// async fn handler(mut session: SessionDict) -> Result<HttpResponse, SessionError> {
    ///     assert_eq!(session.get::<String>("username")?, None);
    ///     session.insert("username", "joe")?;
    ///     assert_eq!(session.get::<String>("username")?.as_deref(), Some("joe"));
    ///     assert!(session.get::<u32>("username").is_err(), "a string is not a u32");
    ///     Ok(HttpResponse::Ok().finish())
    /// }
    /// # actix_web::rt::System::new().block_on(async {
    /// #     let app = actix_web::test::init_service(actix_web::App::new()
    /// #         .app_data(Session::new([7u8; 32])).route("/", web::get().to(handler))).await;
    /// #     let res = actix_web::test::call_service(&app, actix_web::test::TestRequest::get().to_request()).await;
    /// #     assert!(res.status().is_success());
    /// # });
    /// ```
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, SessionError> {
        let value = match self.data().get(key) {
            None => return Ok(None),
            Some(Cow::Borrowed(value)) => T::deserialize(value),
            Some(Cow::Owned(value)) => T::deserialize(value),
        };
        value.map(Some).map_err(|source| SessionError::Deserialize {
            key: key.to_owned(),
            source,
        })
    }

    /// The raw JSON value stored under `key`.
    ///
    /// ```
    /// # use actix_web::{HttpResponse, web};
    /// # #[allow(unused_imports)]
    /// # use jwt_session::{Session, SessionDict, SessionError, with_session};
    /// #[with_session]
    /// async fn handler(mut session: SessionDict) -> Result<HttpResponse, SessionError> {
    ///     session.insert("admin", true)?;
    ///     assert_eq!(session.get_value("admin"), Some(&serde_json::Value::Bool(true)));
    ///     Ok(HttpResponse::Ok().finish())
    /// }
    /// # actix_web::rt::System::new().block_on(async {
    /// #     let app = actix_web::test::init_service(actix_web::App::new()
    /// #         .app_data(Session::new([7u8; 32])).route("/", web::get().to(handler))).await;
    /// #     let res = actix_web::test::call_service(&app, actix_web::test::TestRequest::get().to_request()).await;
    /// #     assert!(res.status().is_success());
    /// # });
    /// ```
    pub fn get_value(&self, key: &str) -> Option<&Value> {
        self.data().map().get(key)
    }

    /// Stores `value` under `key`, replacing any previous value. Call
    /// [`save`](SessionDict::save) to send it.
    ///
    /// Session keys are JWT claims on the wire, so the registered claims whose value would
    /// make the token invalid are refused with [`SessionError::RegisteredClaim`] instead of
    /// being silently lost on the next request: `exp`, `nbf` and `iat` must be numbers,
    /// `sub`, `jti` and `iss` strings, and `aud` is never accepted.
    ///
    /// ```
    /// # use actix_web::{HttpResponse, web};
    /// # #[allow(unused_imports)]
    /// # use jwt_session::{Session, SessionDict, SessionError, with_session};
    /// #[with_session]
    /// async fn handler(mut session: SessionDict) -> Result<HttpResponse, SessionError> {
    ///     session.insert("username", "joe")?;
    ///     session.insert("roles", ["admin", "dev"])?;
    ///     assert!(matches!(session.insert("sub", 42), Err(SessionError::RegisteredClaim { .. })));
    ///     session.save()?;
    ///     Ok(HttpResponse::Ok().finish())
    /// }
    /// # actix_web::rt::System::new().block_on(async {
    /// #     let app = actix_web::test::init_service(actix_web::App::new()
    /// #         .app_data(Session::new([7u8; 32])).route("/", web::get().to(handler))).await;
    /// #     let res = actix_web::test::call_service(&app, actix_web::test::TestRequest::get().to_request()).await;
    /// #     assert!(res.status().is_success());
    /// # });
    /// ```
    pub fn insert(
        &mut self,
        key: impl Into<String>,
        value: impl Serialize,
    ) -> Result<(), SessionError> {
        let key = key.into();
        let value = match serde_json::to_value(value) {
            Ok(value) => value,
            Err(source) => return Err(SessionError::Serialize { key, source }),
        };
        let problem =
            insert_problem(&key, &value).or(self.handle.request().config_claim_problem(&key));
        if let Some(reason) = problem {
            return Err(SessionError::RegisteredClaim { key, reason });
        }
        self.data_mut().map_mut().insert(key, value);
        self.handle.modified = true;
        Ok(())
    }

    /// Removes `key` and returns its value.
    ///
    /// ```
    /// # use actix_web::{HttpResponse, web};
    /// # #[allow(unused_imports)]
    /// # use jwt_session::{Session, SessionDict, SessionError, with_session};
    /// #[with_session]
    /// async fn handler(mut session: SessionDict) -> Result<HttpResponse, SessionError> {
    ///     session.insert("cart", [1, 2])?;
    ///     assert_eq!(session.remove("cart"), Some(serde_json::json!([1, 2])));
    ///     assert!(!session.contains_key("cart"));
    ///     Ok(HttpResponse::Ok().finish())
    /// }
    /// # actix_web::rt::System::new().block_on(async {
    /// #     let app = actix_web::test::init_service(actix_web::App::new()
    /// #         .app_data(Session::new([7u8; 32])).route("/", web::get().to(handler))).await;
    /// #     let res = actix_web::test::call_service(&app, actix_web::test::TestRequest::get().to_request()).await;
    /// #     assert!(res.status().is_success());
    /// # });
    /// ```
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        self.handle.modified = true;
        self.data_mut().map_mut().remove(key)
    }

    /// Whether `key` is present.
    ///
    /// ```
    /// # use actix_web::{HttpResponse, web};
    /// # #[allow(unused_imports)]
    /// # use jwt_session::{Session, SessionDict, SessionError, with_session};
    /// #[with_session]
    /// async fn handler(mut session: SessionDict) -> Result<HttpResponse, SessionError> {
    ///     assert!(!session.contains_key("username"));
    ///     session.insert("username", "joe")?;
    ///     assert!(session.contains_key("username"));
    ///     Ok(HttpResponse::Ok().finish())
    /// }
    /// # actix_web::rt::System::new().block_on(async {
    /// #     let app = actix_web::test::init_service(actix_web::App::new()
    /// #         .app_data(Session::new([7u8; 32])).route("/", web::get().to(handler))).await;
    /// #     let res = actix_web::test::call_service(&app, actix_web::test::TestRequest::get().to_request()).await;
    /// #     assert!(res.status().is_success());
    /// # });
    /// ```
    pub fn contains_key(&self, key: &str) -> bool {
        self.data().contains_key(key)
    }

    /// Removes every entry. Unlike [`delete`](SessionDict::delete), a following
    /// [`save`](SessionDict::save) sends a cookie holding an empty session.
    ///
    /// ```
    /// # use actix_web::{HttpResponse, web};
    /// # #[allow(unused_imports)]
    /// # use jwt_session::{Session, SessionDict, SessionError, with_session};
    /// #[with_session]
    /// async fn handler(mut session: SessionDict) -> Result<HttpResponse, SessionError> {
    ///     session.insert("a", 1)?;
    ///     session.clear();
    ///     assert!(session.is_empty());
    ///     session.save()?; // sends a cookie holding `{}`
    ///     Ok(HttpResponse::Ok().finish())
    /// }
    /// # actix_web::rt::System::new().block_on(async {
    /// #     let app = actix_web::test::init_service(actix_web::App::new()
    /// #         .app_data(Session::new([7u8; 32])).route("/", web::get().to(handler))).await;
    /// #     let res = actix_web::test::call_service(&app, actix_web::test::TestRequest::get().to_request()).await;
    /// #     assert!(res.status().is_success());
    /// # });
    /// ```
    pub fn clear(&mut self) {
        self.handle.modified = true;
        self.own = Some(Entries::default());
    }

    /// The number of entries.
    ///
    /// ```
    /// # use actix_web::{HttpResponse, web};
    /// # #[allow(unused_imports)]
    /// # use jwt_session::{Session, SessionDict, SessionError, with_session};
    /// #[with_session]
    /// async fn handler(mut session: SessionDict) -> Result<HttpResponse, SessionError> {
    ///     session.insert("a", 1)?;
    ///     session.insert("b", 2)?;
    ///     assert_eq!(session.len(), 2);
    ///     Ok(HttpResponse::Ok().finish())
    /// }
    /// # actix_web::rt::System::new().block_on(async {
    /// #     let app = actix_web::test::init_service(actix_web::App::new()
    /// #         .app_data(Session::new([7u8; 32])).route("/", web::get().to(handler))).await;
    /// #     let res = actix_web::test::call_service(&app, actix_web::test::TestRequest::get().to_request()).await;
    /// #     assert!(res.status().is_success());
    /// # });
    /// ```
    pub fn len(&self) -> usize {
        self.data().map().len()
    }

    /// Whether the session holds no entries: a new visitor, or a cookie that failed
    /// verification.
    ///
    /// ```
    /// # use actix_web::{HttpResponse, web};
    /// # #[allow(unused_imports)]
    /// # use jwt_session::{Session, SessionDict, SessionError, with_session};
    /// #[with_session]
    /// async fn handler(session: SessionDict) -> HttpResponse {
    ///     // The request below carries a forged cookie, so the session is empty.
    ///     assert!(session.is_empty());
    ///     HttpResponse::Ok().finish()
    /// }
    /// # actix_web::rt::System::new().block_on(async {
    /// #     let app = actix_web::test::init_service(actix_web::App::new()
    /// #         .app_data(Session::new([7u8; 32])).route("/", web::get().to(handler))).await;
    /// #     let res = actix_web::test::call_service(&app, actix_web::test::TestRequest::get().insert_header(("cookie", "session=a.b.c")).to_request()).await;
    /// #     assert!(res.status().is_success());
    /// # });
    /// ```
    pub fn is_empty(&self) -> bool {
        self.data().is_empty()
    }

    /// The entries, in key order.
    ///
    /// ```
    /// # use actix_web::{HttpResponse, web};
    /// # #[allow(unused_imports)]
    /// # use jwt_session::{Session, SessionDict, SessionError, with_session};
    /// #[with_session]
    /// async fn handler(mut session: SessionDict) -> Result<HttpResponse, SessionError> {
    ///     session.insert("b", 2)?;
    ///     session.insert("a", 1)?;
    ///     let keys: Vec<&str> = session.iter().map(|(key, _value)| key.as_str()).collect();
    ///     assert_eq!(keys, ["a", "b"]);
    ///     for (key, value) in &session {
    ///         assert!(value.is_number(), "{key}");
    ///     }
    ///     Ok(HttpResponse::Ok().finish())
    /// }
    /// # actix_web::rt::System::new().block_on(async {
    /// #     let app = actix_web::test::init_service(actix_web::App::new()
    /// #         .app_data(Session::new([7u8; 32])).route("/", web::get().to(handler))).await;
    /// #     let res = actix_web::test::call_service(&app, actix_web::test::TestRequest::get().to_request()).await;
    /// #     assert!(res.status().is_success());
    /// # });
    /// ```
    pub fn iter(&self) -> serde_json::map::Iter<'_> {
        self.data().map().iter()
    }

    /// Encodes the session now and schedules its cookie for the response.
    ///
    /// The cookie holds the session as it is at this call (a snapshot, as in Microdot):
    /// later changes are sent only if `save` is called again. A response that ends in a
    /// 5xx status or an error drops the scheduled cookie.
    ///
    /// # Errors
    ///
    /// [`SessionError::TooLarge`] when the `Set-Cookie` header would exceed 4096 bytes,
    /// which browsers drop silently; nothing is scheduled then, and the previous cookie
    /// stays as it was.
    ///
    /// ```
    /// # use actix_web::{HttpResponse, web};
    /// # #[allow(unused_imports)]
    /// # use jwt_session::{Session, SessionDict, SessionError, with_session};
    /// #[with_session]
    /// async fn handler(mut session: SessionDict) -> Result<HttpResponse, SessionError> {
    ///     session.insert("username", "joe")?;
    ///     session.save()?;
    ///     session.insert("ignored", "not saved again, so not sent")?;
    ///     Ok(HttpResponse::Ok().finish())
    /// }
    /// # actix_web::rt::System::new().block_on(async {
    /// #     let app = actix_web::test::init_service(actix_web::App::new()
    /// #         .app_data(Session::new([7u8; 32])).route("/", web::get().to(handler))).await;
    /// #     let res = actix_web::test::call_service(&app, actix_web::test::TestRequest::get().to_request()).await;
    /// #     assert!(res.status().is_success());
    /// # });
    /// ```
    pub fn save(&self) -> Result<(), SessionError> {
        self.handle.save(self.data().map())
    }

    /// Starts a new session: the next save writes a fresh session, as if no cookie had come
    /// with the request. Call it at login, before saving the user in, so a session planted
    /// before the login (session fixation) or an almost-expired absolute-timeout window is
    /// not carried over: the absolute-timeout clock (`session_start`) restarts at that save.
    /// The entries are kept; [`clear`](SessionDict::clear) them first to drop them too.
    /// [`delete`](SessionDict::delete) renews the same way.
    ///
    /// ```
    /// # use actix_web::{HttpResponse, web};
    /// # #[allow(unused_imports)]
    /// # use jwt_session::{Session, SessionDict, SessionError, with_session};
    /// #[with_session]
    /// async fn login(mut session: SessionDict) -> Result<HttpResponse, SessionError> {
    ///     session.renew();
    ///     session.insert("user", "ann")?;
    ///     session.save()?;
    ///     Ok(HttpResponse::Ok().finish())
    /// }
    /// # actix_web::rt::System::new().block_on(async {
    /// #     let app = actix_web::test::init_service(actix_web::App::new()
    /// #         .app_data(Session::new([7u8; 32])).route("/", web::post().to(login))).await;
    /// #     let res = actix_web::test::call_service(&app, actix_web::test::TestRequest::post().to_request()).await;
    /// #     assert!(res.headers().contains_key("set-cookie"));
    /// # });
    /// ```
    pub fn renew(&mut self) {
        self.handle.renew();
    }

    /// Schedules the removal of the session cookie: the browser forgets the session.
    ///
    /// The removal carries the configured path and domain, an empty value, `Max-Age=0` and
    /// an `Expires` date in 1970.
    ///
    /// ```
    /// # use actix_web::{HttpResponse, web};
    /// # #[allow(unused_imports)]
    /// # use jwt_session::{Session, SessionDict, SessionError, with_session};
    /// #[with_session]
    /// async fn handler(session: SessionDict) -> HttpResponse {
    ///     session.delete(); // logs the user out of this browser
    ///     HttpResponse::Ok().finish()
    /// }
    /// # actix_web::rt::System::new().block_on(async {
    /// #     let app = actix_web::test::init_service(actix_web::App::new()
    /// #         .app_data(Session::new([7u8; 32])).route("/", web::get().to(handler))).await;
    /// #     let res = actix_web::test::call_service(&app, actix_web::test::TestRequest::get().to_request()).await;
    /// #     assert!(res.status().is_success());
    /// # });
    /// ```
    pub fn delete(&self) {
        self.handle.delete();
    }
}

/// Dropping a `SessionDict` sends nothing by itself. What [`save`](SessionDict::save) or
/// [`delete`](SessionDict::delete) scheduled stays scheduled, and changes made after the
/// last `save()` (or without one) are discarded.
///
/// Under `#[with_session(autosave)]`, a session that was changed and neither saved nor
/// deleted is saved as it is when dropped. That must happen before the response is built,
/// as it does for a session dropped in the handler (at the latest when it returns); a
/// session moved into a task that outlives the handler misses its response.
///
/// ```
/// use actix_web::{App, HttpResponse, post, test};
/// use jwt_session::{Session, SessionDict, SessionError, with_session};
///
/// #[post("/discard")]
/// #[with_session]
/// async fn discard(mut session: SessionDict) -> Result<HttpResponse, SessionError> {
///     session.insert("draft", "lost")?; // no save(): dropped with the session
///     Ok(HttpResponse::Ok().finish())
/// }
///
/// #[post("/keep")]
/// #[with_session(autosave)]
/// async fn keep(mut session: SessionDict) -> Result<HttpResponse, SessionError> {
///     session.insert("draft", "kept")?; // saved when the session drops
///     Ok(HttpResponse::Ok().finish())
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
impl Drop for SessionDict {
    fn drop(&mut self) {
        if self.handle.must_autosave() {
            self.handle.autosave(self.data().map());
        }
    }
}

impl<'a> IntoIterator for &'a SessionDict {
    type Item = (&'a String, &'a Value);
    type IntoIter = serde_json::map::Iter<'a>;

    fn into_iter(self) -> Self::IntoIter {
        self.data().map().iter()
    }
}

/// Serializes as the JSON object of the entries, so `HttpResponse::Ok().json(&session)` works.
impl Serialize for SessionDict {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.data().map().serialize(serializer)
    }
}

impl fmt::Debug for SessionDict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.data().map()).finish()
    }
}
