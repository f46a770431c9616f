//! Flash messages: set on one request, shown once on the next, kept in the session.

use serde_json::Value;

use crate::dict::SessionDict;
use crate::error::SessionError;

/// The session key, and its shape, are Flask's: a list of `[category, message]` pairs.
const FLASHES: &str = "_flashes";

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
        let mut pairs = self.flash_pairs();
        pairs.push((category.into(), message.into()));
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
        let pairs = self.flash_pairs();
        self.remove(FLASHES);
        self.save_unless_autosave()?;
        Ok(pairs
            .into_iter()
            .map(|(category, message)| Flash { category, message })
            .collect())
    }

    /// The queued `[category, message]` pairs; a malformed entry (written by someone else)
    /// is dropped rather than failing the page.
    fn flash_pairs(&self) -> Vec<(String, String)> {
        match self.get_value(FLASHES) {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|item| serde_json::from_value(item.clone()).ok())
                .collect(),
            _ => Vec::new(),
        }
    }

    fn save_unless_autosave(&self) -> Result<(), SessionError> {
        if self.autosaves() {
            Ok(())
        } else {
            self.save()
        }
    }
}
