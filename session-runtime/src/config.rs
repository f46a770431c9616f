//! `Session`: the app-wide configuration, shared by every request.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use actix_web::cookie::{Cookie, SameSite, time};

use crate::codec::Codec;
use crate::error::{MIN_SECRET_LEN, SessionError};

/// The session configuration of an app: the signing secret and the cookie's attributes.
///
/// Register it once with [`App::app_data`](actix_web::App::app_data); every
/// `#[with_session]` handler of that app finds it there. Cloning is cheap (one `Arc`),
/// so build it once outside `HttpServer::new` and clone it into each worker.
///
/// The defaults are the secure ones: cookie `session`, `Path=/`, `Secure`, `HttpOnly`,
/// `SameSite=Lax`, no `Max-Age` (a browser-session cookie) and no expiry in the token.
///
/// ```
/// use std::time::Duration;
/// use actix_web::{App, cookie::SameSite};
/// use jwt_session::Session;
///
/// let session = Session::new("a secret of at least thirty-two bytes!!")
///     .cookie_name("id")
///     .same_site(SameSite::Strict)
///     .max_age(Duration::from_secs(3600));
/// let app = App::new().app_data(session.clone());
/// # drop(app);
/// // The secret never shows up in logs.
/// assert!(!format!("{session:?}").contains("thirty-two"));
/// ```
#[derive(Clone)]
pub struct Session {
    inner: Arc<Config>,
}

#[derive(Clone)]
pub(crate) struct Config {
    pub(crate) codec: Codec,
    pub(crate) cookie_name: String,
    pub(crate) path: String,
    pub(crate) domain: Option<String>,
    pub(crate) secure: bool,
    pub(crate) http_only: bool,
    pub(crate) same_site: SameSite,
    pub(crate) max_age: Option<Duration>,
}

impl Session {
    /// Creates a configuration that signs sessions with `secret` (HS256).
    ///
    /// `secret` may be a `&str`, `String`, `&[u8]` or `Vec<u8>`. Load it from the
    /// environment or a secret store; never commit it.
    ///
    /// # Panics
    ///
    /// If `secret` is shorter than 32 bytes, which RFC 7518 §3.2 forbids for HS256. Use
    /// [`Session::try_new`] to handle that case yourself.
    ///
    /// ```
    /// let session = jwt_session::Session::new(b"0123456789abcdef0123456789abcdef".to_vec());
    /// # drop(session);
    /// ```
    #[must_use]
    pub fn new(secret: impl AsRef<[u8]>) -> Self {
        Self::try_new(secret).unwrap_or_else(|err| panic!("Session::new: {err}"))
    }

    /// Like [`Session::new`], but returns [`SessionError::SecretTooShort`] instead of panicking.
    ///
    /// ```
    /// use jwt_session::Session;
    ///
    /// let secret = std::env::var("SESSION_SECRET").unwrap_or_default();
    /// match Session::try_new(secret) {
    ///     Ok(session) => drop(session),
    ///     Err(err) => eprintln!("cannot start: {err}"),
    /// }
    /// ```
    pub fn try_new(secret: impl AsRef<[u8]>) -> Result<Self, SessionError> {
        let secret = secret.as_ref();
        if secret.len() < MIN_SECRET_LEN {
            return Err(SessionError::SecretTooShort { len: secret.len() });
        }
        Ok(Self {
            inner: Arc::new(Config {
                codec: Codec::hs256(secret),
                cookie_name: String::from("session"),
                path: String::from("/"),
                domain: None,
                secure: true,
                http_only: true,
                same_site: SameSite::Lax,
                max_age: None,
            }),
        })
    }

    /// Sets the cookie name (default `session`, as in Microdot).
    ///
    /// # Panics
    ///
    /// If `name` is empty or not an RFC 6265 token (letters, digits and ``!#$%&'*+-.^_`|~``).
    ///
    /// ```
    /// let session = jwt_session::Session::new([7u8; 32]).cookie_name("__Host-session");
    /// # drop(session);
    /// ```
    #[must_use]
    pub fn cookie_name(self, name: impl Into<String>) -> Self {
        let name = name.into();
        let is_token_char = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
        assert!(
            !name.is_empty() && name.chars().all(is_token_char),
            "Session::cookie_name: {name:?} is not a valid cookie name; use letters, digits and !#$%&'*+-.^_`|~"
        );
        self.with(|config| config.cookie_name = name)
    }

    /// Sets the cookie's `Path` (default `/`).
    ///
    /// # Panics
    ///
    /// If `path` holds `;` or a control character, which would break the `Set-Cookie` header.
    ///
    /// ```
    /// let session = jwt_session::Session::new([7u8; 32]).path("/app");
    /// # drop(session);
    /// ```
    #[must_use]
    pub fn path(self, path: impl Into<String>) -> Self {
        let path = checked_attribute("path", path.into());
        self.with(|config| config.path = path)
    }

    /// Sets the cookie's `Domain` (default: none, so the cookie goes to this host only).
    ///
    /// # Panics
    ///
    /// If `domain` holds `;` or a control character, which would break the `Set-Cookie` header.
    ///
    /// ```
    /// let session = jwt_session::Session::new([7u8; 32]).domain("example.com");
    /// # drop(session);
    /// ```
    #[must_use]
    pub fn domain(self, domain: impl Into<String>) -> Self {
        let domain = checked_attribute("domain", domain.into());
        self.with(|config| config.domain = Some(domain))
    }

    /// Sets the cookie's `Secure` flag (default `true`).
    ///
    /// Browsers accept `Secure` cookies from `http://localhost` and `http://127.0.0.1`, so
    /// local development works without turning it off.
    ///
    /// ```
    /// let session = jwt_session::Session::new([7u8; 32]).secure(false);
    /// # drop(session);
    /// ```
    #[must_use]
    pub fn secure(self, secure: bool) -> Self {
        self.with(|config| config.secure = secure)
    }

    /// Sets the cookie's `HttpOnly` flag (default `true`), which keeps it away from scripts.
    ///
    /// ```
    /// let session = jwt_session::Session::new([7u8; 32]).http_only(false);
    /// # drop(session);
    /// ```
    #[must_use]
    pub fn http_only(self, http_only: bool) -> Self {
        self.with(|config| config.http_only = http_only)
    }

    /// Sets the cookie's `SameSite` attribute (default `Lax`).
    ///
    /// ```
    /// use jwt_session::{SameSite, Session};
    ///
    /// let session = Session::new([7u8; 32]).same_site(SameSite::Strict);
    /// # drop(session);
    /// ```
    #[must_use]
    pub fn same_site(self, same_site: SameSite) -> Self {
        self.with(|config| config.same_site = same_site)
    }

    /// Makes sessions expire `max_age` after each save.
    ///
    /// Every save sets the cookie's `Max-Age` and writes an `exp` claim into the token,
    /// so the server itself refuses the token once it is too old, even if a client replays
    /// it. Without it (the default) the cookie lasts until the browser closes and the token
    /// never expires.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let session = jwt_session::Session::new([7u8; 32]).max_age(Duration::from_secs(86_400));
    /// # drop(session);
    /// ```
    #[must_use]
    pub fn max_age(self, max_age: Duration) -> Self {
        self.with(|config| config.max_age = Some(max_age))
    }

    pub(crate) fn config(&self) -> &Config {
        &self.inner
    }

    fn with(mut self, change: impl FnOnce(&mut Config)) -> Self {
        change(Arc::make_mut(&mut self.inner));
        self
    }
}

impl Config {
    /// A `Set-Cookie` for `value` carrying every configured attribute.
    pub(crate) fn cookie<'c>(&'c self, value: &'c str) -> Cookie<'c> {
        let mut cookie = Cookie::build(self.cookie_name.as_str(), value)
            .path(self.path.as_str())
            .secure(self.secure)
            .http_only(self.http_only)
            .same_site(self.same_site)
            .finish();
        if let Some(domain) = &self.domain {
            cookie.set_domain(domain.as_str());
        }
        if let Some(max_age) = self.max_age {
            cookie.set_max_age(seconds(max_age));
        }
        cookie
    }

    /// The cookie that tells the browser to forget the session: same name, path and domain,
    /// an empty value, `Max-Age=0` and `Expires` in 1970.
    pub(crate) fn removal_cookie(&self) -> Cookie<'_> {
        let mut cookie = self.cookie("");
        cookie.set_max_age(time::Duration::ZERO);
        cookie.set_expires(time::OffsetDateTime::UNIX_EPOCH);
        cookie
    }
}

fn seconds(duration: Duration) -> time::Duration {
    time::Duration::seconds(i64::try_from(duration.as_secs()).unwrap_or(i64::MAX))
}

fn checked_attribute(what: &str, value: String) -> String {
    assert!(
        !value.chars().any(|c| c == ';' || c.is_control()),
        "Session::{what}: {value:?} holds `;` or a control character, which would break the Set-Cookie header"
    );
    value
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let config = self.config();
        f.debug_struct("Session")
            .field("secret", &"[redacted]")
            .field("cookie_name", &config.cookie_name)
            .field("path", &config.path)
            .field("domain", &config.domain)
            .field("secure", &config.secure)
            .field("http_only", &config.http_only)
            .field("same_site", &config.same_site)
            .field("max_age", &config.max_age)
            .finish()
    }
}
