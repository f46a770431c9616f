//! What a request without the login it needs is answered: the login page for a browser,
//! or a `401` with a JSON body for an API. Decided here; each adapter builds the response.

use std::fmt;
use std::future::Future;

use super::config::{Login, LoginUser};
use super::current;
use super::extract::LoginRedirect;
use super::redirect;
use crate::SessionError;
use crate::ext::LayerRequest;

/// How [`LoggedIn`](crate::login::LoggedIn) and [`FreshLogin`](crate::login::FreshLogin)
/// answer a request without the login they need; set it with [`Login::unauthorized`].
///
/// The `401` answers have `Content-Type: application/json`, no `Location`, and the body
/// `{"error":"login_required"}` (no login) or `{"error":"fresh_login_required"}` (a login
/// restored from the remember cookie where a fresh one is needed).
///
/// The rule of [`Unauthorized::Negotiate`]: a `401` when the request has an
/// `X-Requested-With` header (what XHR libraries send), or when its `Accept` header ranks
/// a JSON type (`application/json`, `*/*+json`) above `text/html`; a redirect otherwise.
/// A browser navigating asks for `text/html` first, so it gets the login page; a plain
/// `fetch()` sends `Accept: */*` and gets the redirect too, so an API whose clients do not
/// set `Accept` should use [`Unauthorized::Json`].
///
/// ```
/// use actix_web::{App, HttpResponse, get, test};
/// use jwt_session::{Session, login::{LoggedIn, Login, LoginUser, Unauthorized}};
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
/// #[get("/api/me")]
/// async fn me(user: LoggedIn<User>) -> HttpResponse {
///     HttpResponse::Ok().json(serde_json::json!({ "user": user.name }))
/// }
///
/// # actix_web::rt::System::new().block_on(async {
/// let login = Login::new(|name: String| async move { Some(User { name }) })
///     .unauthorized(Unauthorized::Json);
/// let app = test::init_service(
///     App::new().app_data(Session::new([7u8; 32])).app_data(login).service(me),
/// ).await;
/// let res = test::call_service(&app, test::TestRequest::get().uri("/api/me").to_request()).await;
/// assert_eq!(res.status(), 401);
/// assert_eq!(res.headers().get("content-type").unwrap(), "application/json");
/// assert!(res.headers().get("location").is_none());
/// assert_eq!(test::read_body(res).await, r#"{"error":"login_required"}"#);
/// # });
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Unauthorized {
    /// `302 Found` to [`Login::login_url`] with `?next=`: Microdot's answer, for HTML apps.
    #[default]
    Redirect,
    /// Always the `401` with a JSON body: for a JSON API.
    Json,
    /// The `401` for requests that ask for JSON, the redirect for the others (the rule
    /// above): for an app that serves pages and an API under one [`Login`].
    Negotiate,
}

/// The `401 Unauthorized` rejection of [`LoggedIn`](crate::login::LoggedIn) and
/// [`FreshLogin`](crate::login::FreshLogin) under [`Unauthorized::Json`] (or
/// [`Unauthorized::Negotiate`]), with the JSON body `{"error":"…"}`.
///
/// ```
/// use actix_web::ResponseError;
/// use jwt_session::login::LoginUnauthorized;
///
/// let rejection = LoginUnauthorized::login_required();
/// assert_eq!(rejection.error(), "login_required");
/// assert_eq!(rejection.body(), r#"{"error":"login_required"}"#);
/// assert_eq!(rejection.error_response().status(), 401);
/// assert_eq!(LoginUnauthorized::fresh_login_required().error(), "fresh_login_required");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoginUnauthorized {
    error: &'static str,
}

impl LoginUnauthorized {
    /// The answer when there is no login: `{"error":"login_required"}`.
    #[must_use]
    pub fn login_required() -> Self {
        Self {
            error: "login_required",
        }
    }

    /// The answer when the login is not fresh: `{"error":"fresh_login_required"}`.
    #[must_use]
    pub fn fresh_login_required() -> Self {
        Self {
            error: "fresh_login_required",
        }
    }

    /// The error code of the body.
    #[must_use]
    pub fn error(&self) -> &'static str {
        self.error
    }

    /// The JSON body. The codes are fixed identifiers, so nothing needs escaping.
    #[must_use]
    pub fn body(&self) -> String {
        format!(r#"{{"error":"{}"}}"#, self.error)
    }
}

impl fmt::Display for LoginUnauthorized {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unauthorized: {}", self.error)
    }
}

/// The login a request lacks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Needed {
    Login,
    FreshLogin,
}

/// A request's answer when it lacks the login it needs, for the adapter to build.
pub(crate) enum Rejection {
    Redirect(LoginRedirect),
    Unauthorized(LoginUnauthorized),
}

/// The user of `req` when it has the login `needed`, else what it lacks: no login at all
/// (`Needed::Login`, even where a fresh one is needed) or a fresh one. A login that is not
/// fresh is loaded too, to tell the two apart (Microdot does not load it).
pub(crate) async fn require<U, R, F>(
    req: &R,
    needed: Needed,
    load: impl FnOnce(U::Id) -> F,
) -> Result<Result<U, Needed>, SessionError>
where
    U: LoginUser,
    R: LayerRequest,
    F: Future<Output = Option<U>>,
{
    // The user first: a restore from the remember cookie offers `_fresh = false`, which the
    // freshness check must see (a leftover `_fresh` of the request's session must not pass).
    let Some(user) = current::current_user(req, load).await? else {
        return Ok(Err(Needed::Login));
    };
    if needed == Needed::FreshLogin && !current::is_fresh(req).await? {
        return Ok(Err(Needed::FreshLogin));
    }
    Ok(Ok(user))
}

/// The request's headers that choose between the answers, as the adapter reads them.
#[derive(Clone, Copy, Default)]
pub(crate) struct Asks<'a> {
    pub(crate) accept: Option<&'a str>,
    pub(crate) requested_with: Option<&'a str>,
}

/// What `req`, lacking `needed`, is answered under `U`'s [`Login`].
pub(crate) fn rejection<U: LoginUser>(
    req: &impl LayerRequest,
    needed: Needed,
    asks: Asks<'_>,
) -> Result<Rejection, SessionError> {
    let login = current::login_of::<U>(req)?;
    Ok(if answers_json(&login, asks) {
        Rejection::Unauthorized(match needed {
            Needed::Login => LoginUnauthorized::login_required(),
            Needed::FreshLogin => LoginUnauthorized::fresh_login_required(),
        })
    } else {
        Rejection::Redirect(to_login_page(&login, req))
    })
}

/// The redirect to `login`'s login page, with `req`'s path and query as `next`.
pub(crate) fn to_login_page<U: LoginUser>(
    login: &Login<U>,
    req: &impl LayerRequest,
) -> LoginRedirect {
    LoginRedirect::to(redirect::to_login(&login.login_url, &req.path_and_query()))
}

fn answers_json<U: LoginUser>(login: &Login<U>, asks: Asks<'_>) -> bool {
    match login.unauthorized {
        Unauthorized::Redirect => false,
        Unauthorized::Json => true,
        Unauthorized::Negotiate => wants_json(asks),
    }
}

/// [`Unauthorized::Negotiate`]'s rule.
fn wants_json(asks: Asks<'_>) -> bool {
    if asks.requested_with.is_some() {
        return true;
    }
    let Some(accept) = asks.accept else {
        return false;
    };
    let (mut json, mut html) = (0.0_f32, 0.0_f32);
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let quality = parts
            .filter_map(|param| param.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        if media == "application/json" || media.ends_with("+json") {
            json = json.max(quality);
        } else if media == "text/html" {
            html = html.max(quality);
        }
    }
    json > 0.0 && json > html
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> bool {
        wants_json(Asks {
            accept: Some(value),
            requested_with: None,
        })
    }

    #[test]
    fn json_only_when_the_request_ranks_it_above_html() {
        assert!(accept("application/json"));
        assert!(accept("application/problem+json, text/plain"));
        assert!(accept("text/html;q=0.5, application/json"));
        assert!(accept("APPLICATION/JSON ; q=0.9"));
        // A browser's navigation, fetch()'s default, and refusals.
        assert!(!accept(
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
        ));
        assert!(!accept("*/*"));
        assert!(!accept("application/json;q=0"));
        assert!(!accept("text/html, application/json"));
        assert!(!wants_json(Asks::default()));
        assert!(wants_json(Asks {
            accept: None,
            requested_with: Some("XMLHttpRequest"),
        }));
    }
}
