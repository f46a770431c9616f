//! Sessions without the attribute: `Session::load` and `Session::apply`, as Microdot's
//! `Session.get(request)`. Rustdoc shows these with the rest of `Session`.

use actix_web::{HttpRequest, HttpResponse};

use crate::actix::config_source::config_for;
use crate::actix::response;
use crate::engine::config::Session;
use crate::engine::dict::SessionDict;
use crate::engine::load::{self, LoadStart};
use crate::engine::request::RequestView;
use crate::engine::typed::{SessionData, TypedSession};
use crate::error::SessionError;

impl Session {
    /// Loads the session of `req` outside `#[with_session]`, as Microdot's
    /// `Session.get(request)`: in a plain handler, a guard or middleware. The config is the
    /// innermost one registered for the handler (see [`Session`] for the lookup). Every load
    /// under one config in one request shares one state, so the session is decoded once and
    /// the response carries one cookie. A saved or deleted session reaches the response
    /// through [`Session::apply`].
    ///
    /// Under a [revocation store](Session::revocation) that must be awaited (Redis), a cookie
    /// is checked with `.await`: use [`Session::load_async`] there. `load` then works only
    /// when the session of this request was loaded already (by `#[with_session]`, a
    /// middleware or `load_async`), or when the store answers at once
    /// ([`MemoryStore`](crate::revocation::MemoryStore)).
    ///
    /// # Errors
    ///
    /// [`SessionError::MissingConfig`] when the app has no `Session` app data,
    /// [`SessionError::AmbiguousConfig`] when a `Session` and a different
    /// `web::Data<Session>` are both visible to the handler, and
    /// [`SessionError::NeedsAsyncLoad`] as said above.
    ///
    /// ```
    /// use actix_web::{App, HttpRequest, HttpResponse, test, web};
    /// use jwt_session::{Session, SessionError};
    ///
    /// async fn login(req: HttpRequest) -> Result<HttpResponse, SessionError> {
    ///     let mut session = Session::load(&req)?;
    ///     session.insert("user", "ann")?;
    ///     session.save()?;
    ///     Ok(Session::apply(&req, HttpResponse::Ok().finish()))
    /// }
    ///
    /// # actix_web::rt::System::new().block_on(async {
    /// let app = test::init_service(
    ///     App::new().app_data(Session::new([7u8; 32])).route("/", web::post().to(login)),
    /// ).await;
    /// let res = test::call_service(&app, test::TestRequest::post().uri("/").to_request()).await;
    /// assert!(res.headers().get("set-cookie").unwrap().to_str().unwrap().starts_with("session=ey"));
    /// # });
    /// ```
    pub fn load(req: &HttpRequest) -> Result<SessionDict, SessionError> {
        let session = config_for(req)?;
        match load::start_load(req, &session)? {
            LoadStart::Done(data, state) => Ok(SessionDict::new(data, state)),
            LoadStart::Check(_) => Err(SessionError::NeedsAsyncLoad),
        }
    }

    /// [`Session::load`] for any config, including one with a
    /// [revocation store](Session::revocation): a request with a verified cookie waits for
    /// one store round trip (bounded by the store timeout); other requests return at once.
    /// Pair it with [`Session::apply_async`].
    ///
    /// # Errors
    ///
    /// As [`Session::load`], except [`SessionError::NeedsAsyncLoad`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use actix_web::{App, HttpRequest, HttpResponse, test, web};
    /// use jwt_session::{Session, SessionError, revocation::MemoryStore};
    ///
    /// async fn logout(req: HttpRequest) -> Result<HttpResponse, SessionError> {
    ///     Session::load_async(&req).await?.delete();
    ///     Ok(Session::apply_async(&req, HttpResponse::Ok().finish()).await)
    /// }
    ///
    /// # actix_web::rt::System::new().block_on(async {
    /// let session = Session::new([7u8; 32]).max_age(Duration::from_secs(60)).revocation(MemoryStore::new());
    /// let app = test::init_service(App::new().app_data(session).route("/logout", web::post().to(logout))).await;
    /// let res = test::call_service(&app, test::TestRequest::post().uri("/logout").to_request()).await;
    /// assert!(res.status().is_success());
    /// # });
    /// ```
    pub async fn load_async(req: &HttpRequest) -> Result<SessionDict, SessionError> {
        let session = config_for(req)?;
        let (data, state) = match load::start_load(req, &session)? {
            LoadStart::Done(data, state) => (data, state),
            LoadStart::Check(check) => check.finish(req).await,
        };
        Ok(SessionDict::new(data, state))
    }

    /// [`Session::load`] for a [`TypedSession`]: the session as your own type, outside
    /// `#[with_session]`.
    ///
    /// # Errors
    ///
    /// As [`Session::load`].
    ///
    /// ```
    /// use actix_web::{App, HttpRequest, HttpResponse, test, web};
    /// use jwt_session::{Session, SessionError};
    ///
    /// #[derive(serde::Serialize, serde::Deserialize, Default)]
    /// struct Visits {
    ///     count: u32,
    /// }
    ///
    /// async fn visit(req: HttpRequest) -> Result<HttpResponse, SessionError> {
    ///     let mut visits = Session::load_typed::<Visits>(&req)?;
    ///     visits.count += 1;
    ///     visits.save()?;
    ///     let body = visits.count.to_string();
    ///     Ok(Session::apply(&req, HttpResponse::Ok().body(body)))
    /// }
    ///
    /// # actix_web::rt::System::new().block_on(async {
    /// let app = test::init_service(
    ///     App::new().app_data(Session::new([7u8; 32])).route("/", web::post().to(visit)),
    /// ).await;
    /// let res = test::call_service(&app, test::TestRequest::post().uri("/").to_request()).await;
    /// assert!(res.headers().contains_key("set-cookie"));
    /// assert_eq!(test::read_body(res).await, "1");
    /// # });
    /// ```
    pub fn load_typed<T: SessionData>(req: &HttpRequest) -> Result<TypedSession<T>, SessionError> {
        Ok(TypedSession::from_dict(Self::load(req)?, false))
    }

    /// [`Session::load_async`] for a [`TypedSession`].
    ///
    /// # Errors
    ///
    /// As [`Session::load_async`].
    ///
    /// ```
    /// use actix_web::{HttpRequest, HttpResponse};
    /// use jwt_session::{Session, SessionError};
    ///
    /// #[derive(serde::Serialize, serde::Deserialize, Default)]
    /// struct Login {
    ///     user: Option<String>,
    /// }
    ///
    /// async fn whoami(req: HttpRequest) -> Result<HttpResponse, SessionError> {
    ///     let login = Session::load_typed_async::<Login>(&req).await?;
    ///     Ok(HttpResponse::Ok().body(login.user.clone().unwrap_or_default()))
    /// }
    /// # drop(actix_web::web::get().to(whoami));
    /// ```
    pub async fn load_typed_async<T: SessionData>(
        req: &HttpRequest,
    ) -> Result<TypedSession<T>, SessionError> {
        Ok(TypedSession::from_dict(Self::load_async(req).await?, false))
    }

    /// [`Session::apply`], after writing the revocations the request owes (its token, when
    /// it called `delete()` or saved after `renew()`) to the revocation store, so the
    /// logged-out cookie is dead everywhere before the response leaves. `apply` can only
    /// record them where the store answers at once (`MemoryStore`).
    ///
    /// ```
    /// use actix_web::{HttpRequest, HttpResponse};
    /// use jwt_session::{Session, SessionError};
    ///
    /// async fn logout(req: HttpRequest) -> Result<HttpResponse, SessionError> {
    ///     Session::load_async(&req).await?.delete();
    ///     Ok(Session::apply_async(&req, HttpResponse::Ok().finish()).await)
    /// }
    /// # drop(actix_web::web::post().to(logout));
    /// ```
    pub async fn apply_async<B>(req: &HttpRequest, response: HttpResponse<B>) -> HttpResponse<B> {
        for state in req.states().iter() {
            state.settle().await;
        }
        Self::apply(req, response)
    }

    /// Writes the outcome of the sessions loaded for `req` onto `response`: `Vary: Cookie`,
    /// and the cookie scheduled by `save()` or `delete()` (none on a 5xx or error response).
    /// Without a load for `req`, `response` is returned unchanged. This is what
    /// `#[with_session]` does after the handler returns; call it once per response.
    ///
    /// A response that logs a session out (a `delete()`, or a save after `renew()`) owes
    /// the revocation store the old token. `apply` records it at once where the store can
    /// ([`MemoryStore`](crate::revocation::MemoryStore)); under a store that must be awaited
    /// (Redis) it cannot, so rather than report a logout that did not happen, the response
    /// becomes a 500 with no cookie change and [`SessionError::NeedsAsyncApply`] is logged:
    /// use [`Session::apply_async`] there.
    ///
    /// ```
    /// use actix_web::{App, HttpRequest, HttpResponse, test, web};
    /// use jwt_session::{Session, SessionError};
    ///
    /// async fn logout(req: HttpRequest) -> Result<HttpResponse, SessionError> {
    ///     Session::load(&req)?.delete();
    ///     Ok(Session::apply(&req, HttpResponse::SeeOther().insert_header(("Location", "/")).finish()))
    /// }
    ///
    /// # actix_web::rt::System::new().block_on(async {
    /// let app = test::init_service(
    ///     App::new().app_data(Session::new([7u8; 32])).route("/logout", web::post().to(logout)),
    /// ).await;
    /// let res = test::call_service(&app, test::TestRequest::post().uri("/logout").to_request()).await;
    /// assert!(res.headers().get("set-cookie").unwrap().to_str().unwrap().contains("Max-Age=0"));
    /// # });
    /// ```
    pub fn apply<B>(req: &HttpRequest, response: HttpResponse<B>) -> HttpResponse<B> {
        req.states().iter().fold(response, |response, state| {
            response::finish(state, response)
        })
    }
}
