//! The current user, loaded once per request, and the calls that log users in and out.

use std::rc::Rc;

use actix_web::http::header;
use actix_web::{HttpMessage, HttpRequest, HttpResponse};
use serde_json::Value;
use tokio::sync::OnceCell;

use super::config::{Login, LoginUser};
use super::remember::{self, Remember};
use super::{FRESH, USER_ID, redirect};
use crate::ext;
use crate::{Session, SessionDict, SessionError};

/// This request's user, shared by every extractor and call of the request so that the
/// loader runs at most once, even for extractors polled side by side.
struct UserSlot<U>(Rc<OnceCell<Option<U>>>);

/// Set by `logout_user`: the rest of the request sees no user, whatever its type.
struct LoggedOut;

/// The user logged in on `req`, loaded with the [`Login`] loader once per request and
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
/// [`Session`] or the [`Login`] app data.
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
    // Async: a revocation store may need a round trip.
    let session = Session::load_async(req).await?;
    let login = Login::<U>::of(req)?;
    if req.extensions().contains::<LoggedOut>() {
        return Ok(None);
    }
    let slot = slot::<U>(req);
    let user = slot.get_or_init(|| load_user(req, session, &login)).await;
    Ok(user.clone())
}

fn slot<U: LoginUser>(req: &HttpRequest) -> Rc<OnceCell<Option<U>>> {
    let mut extensions = req.extensions_mut();
    if let Some(UserSlot(slot)) = extensions.get::<UserSlot<U>>() {
        return Rc::clone(slot);
    }
    let slot = Rc::new(OnceCell::new());
    extensions.insert(UserSlot(Rc::clone(&slot)));
    slot
}

async fn load_user<U: LoginUser>(
    req: &HttpRequest,
    mut session: SessionDict,
    login: &Login<U>,
) -> Option<U> {
    let (id, restored) = match session.get_value(USER_ID) {
        Some(id) => (id.clone(), None),
        None => {
            let (id, token) = remember::user_id(req, &ext::config_of(&session)).await?;
            (id, Some(token))
        }
    };
    let typed = serde_json::from_value::<U::Id>(id.clone())
        .inspect_err(|err| tracing::debug!("the logged-in user id {id} is unusable: {err}"))
        .ok()?;
    let user = (login.loader)(typed).await?;
    if let Some(token) = restored {
        // Offered only once the loader knows the user, so a stale remember cookie writes
        // nothing; and only offered, so the handler's own save keeps the login but decides
        // the rest.
        match session
            .insert(USER_ID, id)
            .and_then(|()| session.insert(FRESH, false))
        {
            Ok(()) => ext::offer_entries(&mut session, &[USER_ID, FRESH], Some(&token)),
            Err(err) => {
                tracing::warn!("cannot keep the login restored from the remember cookie: {err}")
            }
        }
    }
    Some(user)
}

/// Whether `req`'s login is fresh: interactive, not restored from the remember cookie.
pub(crate) async fn is_fresh(req: &HttpRequest) -> Result<bool, SessionError> {
    // Async: a revocation store may need a round trip.
    let session = Session::load_async(req).await?;
    Ok(session.get_value(FRESH) == Some(&Value::Bool(true)))
}

/// Logs `user` in after the app has checked their credentials, and returns the redirect
/// that ends the login: `303 See Other` to the request's `next` query parameter when it is
/// a path on this site, else to [`Login::redirect_url`] (default `/`). Microdot's
/// `login_user`.
///
/// The session is [renewed](SessionDict::renew), gets `_user_id` and `_fresh = true` and is
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
/// As [`SessionDict::save`], and [`SessionError::MissingConfig`].
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
    let mut session = Session::load_async(req).await?;
    // A new session: one planted before the login (fixation) is not carried over.
    session.renew();
    let id = user.id();
    // Django's rule: the entries of another user's session are not handed to this one; an
    // anonymous session's (a cart) are kept.
    let id_value = serde_json::to_value(&id).map_err(|source| SessionError::Serialize {
        key: USER_ID.to_owned(),
        source,
    })?;
    if session
        .get_value(USER_ID)
        .is_some_and(|previous| *previous != id_value)
    {
        session.clear();
    }
    session.insert(USER_ID, &id)?;
    session.insert(FRESH, true)?;
    session.save()?;

    // Whether replaced or cleared, the remember cookie the request came with is done.
    remember::retire(req, &session);
    let config = ext::config_of(&session);
    let remember_cookie = match remember.into().days() {
        Some(days) => Some(remember::issue(&config, &id, days)?),
        None if remember::present(req, &config) => Some(remember::removal(&config)),
        None => None,
    };

    {
        let mut extensions = req.extensions_mut();
        extensions.remove::<LoggedOut>();
        let cell = OnceCell::from(Some(user.clone()));
        extensions.insert(UserSlot(Rc::new(cell)));
    }

    let target = redirect::next_of(req).unwrap_or_else(|| {
        Login::<U>::of(req).map_or_else(
            |_| String::from("/"),
            |login| login.redirect_url.to_string(),
        )
    });
    let response = HttpResponse::SeeOther()
        .insert_header((header::LOCATION, target))
        .finish();
    // The replaced token and remember cookie are revoked before the response leaves.
    let mut response = Session::apply_async(req, response).await;
    if let Some(cookie) = remember_cookie {
        append_set_cookie(&mut response, cookie);
    }
    Ok(response)
}

/// Logs the user out and writes the outcome onto `response`: the session is cleared (every
/// entry: on a shared browser the next user sees nothing of this one; see
/// [`logout_user_keep_data`] to keep the app's entries), [renewed](SessionDict::renew) and
/// saved, and the remember cookie is
/// cleared (and under a [revocation store](Session::revocation), revoked). Microdot's
/// `logout_user`. The rest of the request sees no current user.
///
/// The cookies go onto `response` right away, as [`Session::apply`] does, so a logout can
/// never be lost by a handler that forgets to apply the session.
///
/// # Errors
///
/// As [`SessionDict::save`], and [`SessionError::MissingConfig`].
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
    log_out(req, response, Keep::Nothing).await
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
    log_out(req, response, Keep::AppEntries).await
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
    let session = Session::load_async(req).await?;
    let config = ext::config_of(&session);
    if !ext::revocation_enabled(&config) {
        return Err(SessionError::NoRevocationStore);
    }
    // The user as `revoke_user` files them: the config's user claim (`_user_id` unless
    // renamed). A login kept only by the remember cookie counts too, when that claim is the
    // login's own key (the remember cookie knows no other).
    let claim = ext::user_claim(&config).unwrap_or(USER_ID);
    let user = match session.get_value(claim).and_then(ext::user_key) {
        Some(user) => Some(user),
        None if claim == USER_ID => remember::user_id(req, &config)
            .await
            .and_then(|(id, _)| ext::user_key(&id)),
        None => None,
    };
    if let Some(user) = user {
        config.revoke_user(&user).await?;
    }
    drop(session);
    log_out(req, response, Keep::Nothing).await
}

/// What a logout keeps of the session.
enum Keep {
    Nothing,
    /// Everything but the login's own entries.
    AppEntries,
}

async fn log_out<B>(
    req: &HttpRequest,
    response: HttpResponse<B>,
    keep: Keep,
) -> Result<HttpResponse<B>, SessionError> {
    let mut session = Session::load_async(req).await?;
    // The logged-out session is a new one, as at login: nothing of the login carries over.
    session.renew();
    match keep {
        Keep::Nothing => session.clear(),
        Keep::AppEntries => {
            session.remove(USER_ID);
            session.remove(FRESH);
        }
    }
    session.save()?;
    // Cleared is not enough: a copy of the remember cookie must not log the user back in.
    remember::retire(req, &session);
    req.extensions_mut().insert(LoggedOut);
    let removal = remember::removal(&ext::config_of(&session));
    // The logged-out token and remember cookie are revoked before the response leaves.
    let mut response = Session::apply_async(req, response).await;
    // As with the session cookie, a failed response changes nothing.
    if !response.status().is_server_error() && response.error().is_none() {
        append_set_cookie(&mut response, removal);
    }
    Ok(response)
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
