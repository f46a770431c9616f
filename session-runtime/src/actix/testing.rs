//! Helpers for the app's own tests: a session cookie minted from any value, the session a
//! test response set, and a cookie jar that follows `Set-Cookie` as a browser does.
//! Rustdoc shows the first two with the rest of `Session`.

use actix_web::HttpResponse;
use actix_web::cookie::Cookie;
use actix_web::cookie::time::OffsetDateTime;
use actix_web::dev::ServiceResponse;
use actix_web::http::Method;
use actix_web::http::header::{self, HeaderMap};
use actix_web::test::TestRequest;
use std::time::Duration;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::engine::config::Session;
use crate::engine::load;
use crate::engine::typed::claims_of;
use crate::error::SessionError;

/// What a response did to the session cookie of one config, as read by
/// [`Session::session_set_by`].
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ResponseSession {
    /// The response sets no session cookie.
    Unchanged,
    /// The response sets a cookie holding these entries (managed claims taken out).
    Saved(Map<String, Value>),
    /// The response removes the session cookie.
    Removed,
    /// The response sets a cookie that this config does not accept (another config's, or
    /// one that expires at once).
    Invalid,
}

impl Session {
    /// `lifetime` plus this config's [leeway](Session::leeway): how far to move a
    /// [`TestClock`](crate::test::TestClock) for a token that lives `lifetime` to be
    /// refused. Verification tolerates that much clock skew (30 s by default) on `exp`,
    /// `nbf`, `iat` and the timeouts, so a test clock moved by the lifetime alone still
    /// finds the session valid.
    ///
    /// ```
    /// use std::time::Duration;
    /// use actix_web::HttpResponse;
    /// use jwt_session::{Session, test::{ResponseSession, TestClock}};
    ///
    /// let clock = TestClock::new();
    /// let config = Session::new([7u8; 32]).max_age(Duration::from_secs(60)).clock(clock.clone());
    /// let cookie = config.test_cookie(&serde_json::json!({"user": "ann"}))?;
    /// // Whether the config still accepts the cookie, as a response carrying it.
    /// let valid = || {
    ///     let response = HttpResponse::Ok().cookie(cookie.clone()).finish();
    ///     config.session_set_by(&response) != ResponseSession::Invalid
    /// };
    /// assert_eq!(config.past_leeway(Duration::from_secs(60)), Duration::from_secs(90));
    /// clock.advance(Duration::from_secs(60));
    /// assert!(valid(), "max_age has passed, the leeway has not");
    /// clock.set(clock.now() - Duration::from_secs(60));
    /// clock.advance(config.past_leeway(Duration::from_secs(60)));
    /// assert!(!valid(), "expired");
    /// # Ok::<(), jwt_session::SessionError>(())
    /// ```
    #[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
    #[must_use]
    pub fn past_leeway(&self, lifetime: Duration) -> Duration {
        lifetime.saturating_add(self.config().lifetimes.leeway)
    }

    /// The session cookie (name and value) a first save of `value` would send now: for
    /// building requests in `actix_web::test` without going through a login route. `value` is checked as
    /// [`SessionDict::insert`](crate::SessionDict::insert) checks keys, and the configured
    /// lifetimes are written as a save writes them.
    ///
    /// # Errors
    ///
    /// As [`TypedSession::save`](crate::TypedSession::save).
    ///
    /// ```
    /// use actix_web::{App, test, web};
    /// use jwt_session::{Session, SessionDict, SessionError, with_session};
    ///
    /// #[with_session]
    /// async fn whoami(session: SessionDict) -> Result<String, SessionError> {
    ///     Ok(session.get::<String>("user")?.unwrap_or_default())
    /// }
    ///
    /// # actix_web::rt::System::new().block_on(async {
    /// let config = Session::new([7u8; 32]);
    /// let cookie = config.test_cookie(&serde_json::json!({"user": "ann"}))?;
    /// let app = test::init_service(App::new().app_data(config).route("/", web::get().to(whoami))).await;
    /// let req = test::TestRequest::get().cookie(cookie).to_request();
    /// assert_eq!(test::call_and_read_body(&app, req).await, "ann");
    /// # Ok::<(), SessionError>(())
    /// # }).unwrap();
    /// ```
    #[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
    pub fn test_cookie(&self, value: &impl Serialize) -> Result<Cookie<'static>, SessionError> {
        let token = self.encode_new(&claims_of(value)?)?;
        Ok(Cookie::new(self.config().cookie.name.clone(), token))
    }

    /// What `response` did to this config's session cookie: for asserting on responses in
    /// `actix_web::test`. The last `Set-Cookie` for the cookie's name counts, and a saved
    /// token is verified under this config, lifetimes included.
    ///
    /// ```
    /// use actix_web::{App, HttpResponse, test, web};
    /// use jwt_session::{Session, SessionDict, SessionError, with_session, test::ResponseSession};
    ///
    /// #[with_session]
    /// async fn login(mut session: SessionDict) -> Result<HttpResponse, SessionError> {
    ///     session.insert("user", "ann")?;
    ///     session.save()?;
    ///     Ok(HttpResponse::Ok().finish())
    /// }
    ///
    /// #[with_session]
    /// async fn logout(session: SessionDict) -> HttpResponse {
    ///     session.delete();
    ///     HttpResponse::Ok().finish()
    /// }
    ///
    /// # actix_web::rt::System::new().block_on(async {
    /// let config = Session::new([7u8; 32]);
    /// let app = test::init_service(
    ///     App::new()
    ///         .app_data(config.clone())
    ///         .route("/login", web::post().to(login))
    ///         .route("/logout", web::post().to(logout)),
    /// )
    /// .await;
    /// let res = test::call_service(&app, test::TestRequest::post().uri("/login").to_request()).await;
    /// let ResponseSession::Saved(entries) = config.session_set_by(res.response()) else {
    ///     panic!("the login saves the session");
    /// };
    /// assert_eq!(entries["user"], "ann");
    ///
    /// let res = test::call_service(&app, test::TestRequest::post().uri("/logout").to_request()).await;
    /// assert_eq!(config.session_set_by(res.response()), ResponseSession::Removed);
    /// # });
    /// ```
    #[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
    #[must_use]
    pub fn session_set_by<B>(&self, response: &HttpResponse<B>) -> ResponseSession {
        let name = &self.config().cookie.name;
        let last = response
            .headers()
            .get_all(header::SET_COOKIE)
            .filter_map(|value| Cookie::parse(value.to_str().ok()?.to_owned()).ok())
            .filter(|cookie| cookie.name() == name)
            .last();
        let Some(cookie) = last else {
            return ResponseSession::Unchanged;
        };
        if cookie.value().is_empty() {
            return ResponseSession::Removed;
        }
        load::verified_data(self, cookie.value())
            .map_or(ResponseSession::Invalid, ResponseSession::Saved)
    }
}

/// A browser's cookie jar for `actix_web::test`: it stores what responses set, forgets what
/// they remove, and puts the right `Cookie` header on the next request, so a test can walk
/// through a login, a few pages and a logout as a browser would.
///
/// What it follows, as browsers do (RFC 6265): a `Set-Cookie` replaces the cookie of the
/// same name and path; `Max-Age=0` (or negative), or an `Expires` in the past without a
/// `Max-Age`, removes it; a request gets the cookies whose path matches its own, longest
/// path first. What it leaves out: one host only (`Domain` is kept, not matched), `Secure`
/// cookies go over plain `http` too, and a cookie never expires by time: the server's check
/// of the token's `exp` is what ends a session, so expiry tests move the server's
/// [`TestClock`](crate::test::TestClock), past the leeway (30 s by default).
///
/// ```
/// use actix_web::{App, HttpResponse, test, web};
/// use jwt_session::{Session, SessionDict, SessionError, with_session, test::CookieJar};
///
/// #[with_session]
/// async fn login(mut session: SessionDict) -> Result<HttpResponse, SessionError> {
///     session.insert("user", "ann")?;
///     session.save()?;
///     Ok(HttpResponse::Ok().finish())
/// }
///
/// #[with_session]
/// async fn whoami(session: SessionDict) -> Result<String, SessionError> {
///     Ok(session.get::<String>("user")?.unwrap_or_default())
/// }
///
/// #[with_session]
/// async fn logout(session: SessionDict) -> HttpResponse {
///     session.delete();
///     HttpResponse::Ok().finish()
/// }
///
/// # actix_web::rt::System::new().block_on(async {
/// let app = test::init_service(
///     App::new()
///         .app_data(Session::new([7u8; 32]))
///         .route("/login", web::post().to(login))
///         .route("/me", web::get().to(whoami))
///         .route("/logout", web::post().to(logout)),
/// )
/// .await;
/// let mut jar = CookieJar::new();
/// let res = test::call_service(&app, jar.post("/login").to_request()).await;
/// jar.update(&res);
/// assert!(jar.cookie("session").is_some());
/// assert_eq!(test::call_and_read_body(&app, jar.get("/me").to_request()).await, "ann");
///
/// let res = test::call_service(&app, jar.post("/logout").to_request()).await;
/// jar.update(&res);
/// assert!(jar.cookie("session").is_none(), "the removal is followed");
/// assert_eq!(test::call_and_read_body(&app, jar.get("/me").to_request()).await, "");
/// # });
/// ```
#[derive(Clone, Debug, Default)]
pub struct CookieJar {
    cookies: Vec<Cookie<'static>>,
}

impl CookieJar {
    /// An empty jar: a browser that has never visited the app.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// A `GET` of `uri` carrying the jar's cookies for its path.
    #[must_use]
    pub fn get(&self, uri: &str) -> TestRequest {
        self.request(Method::GET, uri)
    }

    /// A `POST` to `uri` carrying the jar's cookies for its path; add a form or a body to it.
    #[must_use]
    pub fn post(&self, uri: &str) -> TestRequest {
        self.request(Method::POST, uri)
    }

    /// A request with `method` to `uri` carrying the jar's cookies for its path.
    #[must_use]
    pub fn request(&self, method: Method, uri: &str) -> TestRequest {
        let req = TestRequest::default().method(method).uri(uri);
        match self.header_for(uri) {
            Some(cookies) => req.insert_header((header::COOKIE, cookies)),
            None => req,
        }
    }

    /// Stores or removes what `response` sets, as a browser does. A cookie without `Path`
    /// gets the request's directory, as RFC 6265 §5.1.4 says.
    pub fn update<B>(&mut self, response: &ServiceResponse<B>) {
        let default_path = default_path(response.request().path());
        for value in response.headers().get_all(header::SET_COOKIE) {
            if let Ok(value) = value.to_str() {
                self.store_with_default(value, default_path);
            }
        }
    }

    /// Stores or removes what these response headers set (a cookie without `Path` gets `/`).
    pub fn update_from(&mut self, headers: &HeaderMap) {
        for value in headers.get_all(header::SET_COOKIE) {
            if let Ok(value) = value.to_str() {
                self.store(value);
            }
        }
    }

    /// Stores or removes what one `Set-Cookie` value sets; a value that does not parse is
    /// ignored, as browsers ignore it.
    pub fn store(&mut self, set_cookie: &str) {
        self.store_with_default(set_cookie, "/");
    }

    fn store_with_default(&mut self, set_cookie: &str, default_path: &str) {
        let Ok(mut cookie) = Cookie::parse(set_cookie.to_owned()) else {
            return;
        };
        if cookie.path().is_none_or(|path| !path.starts_with('/')) {
            cookie.set_path(default_path.to_owned());
        }
        let removed = match cookie.max_age() {
            Some(age) => age.is_zero() || age.is_negative(),
            None => cookie
                .expires_datetime()
                .is_some_and(|expires| expires <= OffsetDateTime::now_utc()),
        };
        if removed {
            self.forget(cookie.name(), cookie.path());
        } else {
            self.insert(cookie);
        }
    }

    /// Puts `cookie` in the jar, replacing the one of the same name and path (no `Path`
    /// means `/`): [`Session::test_cookie`]'s cookie, or one an attacker edits into their
    /// own browser.
    pub fn insert(&mut self, mut cookie: Cookie<'static>) {
        if cookie.path().is_none() {
            cookie.set_path("/");
        }
        self.forget(cookie.name(), cookie.path());
        self.cookies.push(cookie);
    }

    /// Puts the cookie `name=value` with path `/` in the jar, replacing any of that name.
    pub fn set(&mut self, name: &str, value: &str) {
        self.remove(name);
        self.insert(Cookie::new(name.to_owned(), value.to_owned()));
    }

    /// Forgets every cookie called `name`, as closing the browser forgets session cookies.
    pub fn remove(&mut self, name: &str) {
        self.cookies.retain(|cookie| cookie.name() != name);
    }

    /// The cookie called `name` (of the longest path, when there are several).
    #[must_use]
    pub fn cookie(&self, name: &str) -> Option<&Cookie<'static>> {
        self.cookies
            .iter()
            .filter(|cookie| cookie.name() == name)
            .max_by_key(|cookie| cookie.path().map_or(1, str::len))
    }

    /// The `Cookie` header a browser sends for `uri` (a path, with any query), longest
    /// paths first; `None` when no cookie matches.
    #[must_use]
    pub fn header_for(&self, uri: &str) -> Option<String> {
        let path = &uri[..uri.find(['?', '#']).unwrap_or(uri.len())];
        let mut matching: Vec<&Cookie<'static>> = self
            .cookies
            .iter()
            .filter(|cookie| path_matches(cookie.path().unwrap_or("/"), path))
            .collect();
        // Stable: cookies of equal paths keep the order they were stored in.
        matching.sort_by_key(|cookie| std::cmp::Reverse(cookie.path().map_or(1, str::len)));
        let pairs: Vec<String> = matching
            .iter()
            .map(|cookie| format!("{}={}", cookie.name(), cookie.value()))
            .collect();
        (!pairs.is_empty()).then(|| pairs.join("; "))
    }

    fn forget(&mut self, name: &str, path: Option<&str>) {
        let path = path.unwrap_or("/");
        self.cookies
            .retain(|cookie| !(cookie.name() == name && cookie.path().unwrap_or("/") == path));
    }
}

/// RFC 6265 §5.1.4: the directory of the request path, the path of a cookie set without one.
fn default_path(request_path: &str) -> &str {
    match request_path.rfind('/') {
        Some(0) | None => "/",
        Some(last) => &request_path[..last],
    }
}

/// RFC 6265 §5.1.4: whether a cookie of `cookie_path` goes with a request for `request_path`.
fn path_matches(cookie_path: &str, request_path: &str) -> bool {
    request_path == cookie_path
        || (request_path.starts_with(cookie_path)
            && (cookie_path.ends_with('/') || request_path[cookie_path.len()..].starts_with('/')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_match_and_default_as_rfc_6265_says() {
        assert!(path_matches("/", "/anything"));
        assert!(path_matches("/admin", "/admin"));
        assert!(path_matches("/admin", "/admin/users"));
        assert!(!path_matches("/admin", "/administrator"));
        assert_eq!(default_path("/"), "/");
        assert_eq!(default_path("/login"), "/");
        assert_eq!(default_path("/admin/login"), "/admin");
    }

    #[test]
    fn removals_by_max_age_or_past_expires_are_followed() {
        let mut jar = CookieJar::new();
        jar.store("a=1; Path=/");
        jar.store("b=2; Path=/admin");
        jar.store("c=3");
        assert_eq!(
            jar.header_for("/admin/x?q=1").as_deref(),
            Some("b=2; a=1; c=3")
        );
        assert_eq!(jar.header_for("/").as_deref(), Some("a=1; c=3"));
        jar.store("a=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT");
        jar.store("b=; Path=/admin; Expires=Thu, 01 Jan 1970 00:00:00 GMT");
        jar.store("c=; Path=/other; Max-Age=0");
        assert_eq!(
            jar.header_for("/admin").as_deref(),
            Some("c=3"),
            "c's path differs"
        );
        jar.store("c=4; Max-Age=60; Expires=Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(
            jar.cookie("c").map(Cookie::value),
            Some("4"),
            "Max-Age wins"
        );
        jar.store("not a cookie");
        jar.remove("c");
        assert_eq!(jar.header_for("/"), None);
    }
}
