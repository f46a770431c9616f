//! Flash messages: set on one request, shown once on the next, kept in the session.

use serde_json::{Map, Value};

use crate::engine::dict::SessionDict;
use crate::error::SessionError;

/// The session key, and its shape, are Flask's: a list of `[category, message]` pairs.
pub(crate) const FLASHES: &str = "_flashes";

/// A message for the next page the user sees, set with [`SessionDict::flash`] and read
/// with [`SessionDict::take_flashes`].
///
/// ```
/// use jwt_session::Flash;
///
/// fn render(flash: &Flash) -> String {
///     format!("<p class=\"{}\">{}</p>", flash.category, flash.message)
/// }
/// let flash = Flash { category: "error".into(), message: "Wrong password".into() };
/// assert_eq!(render(&flash), r#"<p class="error">Wrong password</p>"#);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Flash {
    /// A free-form kind, such as `"error"` or `"info"`, for styling.
    pub category: String,
    /// The text to show; escape it before putting it in HTML.
    pub message: String,
}

impl SessionDict {
    /// Queues a flash message for the next request that calls
    /// [`take_flashes`](SessionDict::take_flashes), and saves the session, unless it is an
    /// autosave session, which saves itself when the handler returns.
    ///
    /// # Errors
    ///
    /// As [`save`](SessionDict::save).
    ///
    /// ```
    /// use actix_web::{App, HttpResponse, get, post, test};
    /// use jwt_session::{Session, SessionDict, SessionError, with_session};
    ///
    /// #[post("/login")]
    /// #[with_session]
    /// async fn failed_login(mut session: SessionDict) -> Result<HttpResponse, SessionError> {
    ///     session.flash("error", "Wrong username or password.")?;
    ///     Ok(HttpResponse::SeeOther().insert_header(("location", "/login")).finish())
    /// }
    ///
    /// #[get("/login")]
    /// #[with_session]
    /// async fn login_page(mut session: SessionDict) -> Result<HttpResponse, SessionError> {
    ///     let shown: Vec<String> = session.take_flashes()?.into_iter().map(|f| f.message).collect();
    ///     Ok(HttpResponse::Ok().body(shown.join("\n")))
    /// }
    ///
    /// # actix_web::rt::System::new().block_on(async {
    /// let app = test::init_service(App::new()
    ///     .app_data(Session::new([7u8; 32])).service(failed_login).service(login_page)).await;
    /// let res = test::call_service(&app, test::TestRequest::post().uri("/login").to_request()).await;
    /// let cookie = res.response().cookies().next().unwrap().into_owned();
    /// let req = test::TestRequest::get().uri("/login").cookie(cookie);
    /// let res = test::call_service(&app, req.to_request()).await;
    /// assert_eq!(test::read_body(res).await, "Wrong username or password.");
    /// # });
    /// ```
    pub fn flash(
        &mut self,
        category: impl Into<String>,
        message: impl Into<String>,
    ) -> Result<(), SessionError> {
        let mut pairs = pairs_of(self.get_value(FLASHES));
        pairs.push(pair(category.into(), message.into()));
        self.insert(FLASHES, pairs)?;
        self.save_unless_autosave()
    }

    /// Takes the queued flash messages, oldest first, so they show once. When there were
    /// some, the session is saved without them (or, for an autosave session, left for the
    /// autosave); when there were none, nothing is written, so a page that shows flashes does
    /// not re-issue the cookie on every request.
    ///
    /// # Errors
    ///
    /// As [`save`](SessionDict::save).
    ///
    /// ```
    /// # use actix_web::{App, HttpResponse, test, web};
    /// # use jwt_session::{Session, SessionDict, SessionError, with_session};
    /// #[with_session]
    /// async fn page(mut session: SessionDict) -> Result<HttpResponse, SessionError> {
    ///     let flashes = session.take_flashes()?;
    ///     Ok(HttpResponse::Ok().body(flashes.len().to_string()))
    /// }
    /// # actix_web::rt::System::new().block_on(async {
    /// #     let app = test::init_service(App::new().app_data(Session::new([7u8; 32])).route("/", web::get().to(page))).await;
    /// let res = test::call_service(&app, test::TestRequest::get().to_request()).await;
    /// assert!(!res.headers().contains_key("set-cookie"), "nothing to take, nothing saved");
    /// # });
    /// ```
    pub fn take_flashes(&mut self) -> Result<Vec<Flash>, SessionError> {
        if !self.contains_key(FLASHES) {
            return Ok(Vec::new());
        }
        let flashes = flashes_of(self.remove(FLASHES).as_ref());
        self.save_unless_autosave()?;
        Ok(flashes)
    }

    fn save_unless_autosave(&self) -> Result<(), SessionError> {
        if self.autosaves() {
            Ok(())
        } else {
            self.save()
        }
    }
}

/// The stored pairs, `[category, message]` as Microdot writes them.
fn pairs_of(stored: Option<&Value>) -> Vec<Value> {
    match stored {
        Some(Value::Array(items)) => items.clone(),
        _ => Vec::new(),
    }
}

fn pair(category: String, message: String) -> Value {
    Value::Array(vec![Value::String(category), Value::String(message)])
}

/// The well-formed flashes among the stored pairs, oldest first.
fn flashes_of(stored: Option<&Value>) -> Vec<Flash> {
    pairs_of(stored)
        .into_iter()
        .filter_map(|item| serde_json::from_value::<(String, String)>(item).ok())
        .map(|(category, message)| Flash { category, message })
        .collect()
}

/// Adds a flash to a session map (a `TypedSession`'s other entries).
pub(crate) fn push(entries: &mut Map<String, Value>, category: String, message: String) {
    let mut pairs = pairs_of(entries.get(FLASHES));
    pairs.push(pair(category, message));
    entries.insert(FLASHES.to_owned(), Value::Array(pairs));
}

/// Takes the flashes out of a session map.
pub(crate) fn take(entries: &mut Map<String, Value>) -> Vec<Flash> {
    flashes_of(entries.remove(FLASHES).as_ref())
}
