//! `Session`: the app-wide configuration, shared by every request.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use actix_web::cookie::{Cookie, SameSite, time};
use actix_web::http::header::HeaderValue;
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, EncodingKey};

use crate::claims::Lifetimes;
use crate::codec::Codec;
use crate::error::SessionError;
use crate::keys::KeyRing;

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
    pub(crate) lifetimes: Lifetimes,
    pub(crate) clear_invalid: bool,
    /// Prepared by `refresh` from the fields above, so a save only appends the token.
    prepared: PreparedCookies,
}

/// The parts of `Set-Cookie` that do not change from one response to the next.
#[derive(Clone)]
struct PreparedCookies {
    /// Everything after `name=value`: `; HttpOnly; SameSite=Lax; Secure; Path=/`…
    attributes: String,
    /// The whole removal cookie.
    removal: HeaderValue,
}

/// Clock skew tolerated by default on `exp`, `nbf`, `iat` and the timeouts.
const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);

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
        Ok(Self::with_keys(KeyRing::hmac(
            secret.as_ref(),
            Algorithm::HS256,
        )?))
    }

    /// A config that signs with `encoding_key` and verifies with `decoding_key` using an
    /// asymmetric algorithm: `EdDSA`, `ES256`/`ES384`, `RS256`/`RS384`/`RS512` or `PS*`.
    ///
    /// The algorithm is pinned: tokens naming any other are rejected, which closes the
    /// RS256-public-key-as-HS256-secret confusion. See [`Session::from_pem`] for PEM files.
    ///
    /// # Errors
    ///
    /// [`SessionError::KeyMismatch`] when a key does not fit `algorithm`, or `algorithm` is
    /// an HMAC one (use [`Session::new`] and [`Session::algorithm`] for those).
    ///
    /// ```
    /// use jwt_session::{Algorithm, DecodingKey, EncodingKey, Session};
    ///
    /// let private = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIETxOo5fE3eYIQvc2rvYTdA3f8h7rLKBpYJ3SF+hdZNZ\n-----END PRIVATE KEY-----\n";
    /// let public = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA5pVUfnZRuxlxeG4tYoqSoLN/5nBmpASDPBIB0J2bqF8=\n-----END PUBLIC KEY-----\n";
    /// let session = Session::from_keys(
    ///     EncodingKey::from_ed_pem(private.as_bytes())?,
    ///     DecodingKey::from_ed_pem(public.as_bytes())?,
    ///     Algorithm::EdDSA,
    /// )?;
    /// # drop(session);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_keys(
        encoding_key: EncodingKey,
        decoding_key: DecodingKey,
        algorithm: Algorithm,
    ) -> Result<Self, SessionError> {
        Ok(Self::with_keys(KeyRing::asymmetric(
            Some(encoding_key),
            decoding_key,
            algorithm,
        )?))
    }

    /// A config for a service that reads sessions but never issues them: it holds only the
    /// public key. [`SessionDict::save`](crate::SessionDict::save) returns
    /// [`SessionError::ReadOnly`]; [`SessionDict::delete`](crate::SessionDict::delete) still
    /// clears the cookie.
    ///
    /// # Errors
    ///
    /// As [`Session::from_keys`].
    ///
    /// ```
    /// use jwt_session::{Algorithm, DecodingKey, Session};
    ///
    /// let public = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA5pVUfnZRuxlxeG4tYoqSoLN/5nBmpASDPBIB0J2bqF8=\n-----END PUBLIC KEY-----\n";
    /// let reader = Session::verify_only(DecodingKey::from_ed_pem(public.as_bytes())?, Algorithm::EdDSA)?;
    /// # drop(reader);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn verify_only(
        decoding_key: DecodingKey,
        algorithm: Algorithm,
    ) -> Result<Self, SessionError> {
        Ok(Self::with_keys(KeyRing::asymmetric(
            None,
            decoding_key,
            algorithm,
        )?))
    }

    /// [`Session::from_keys`] from PEM text: a PKCS#8 private key and the matching public
    /// key (SPKI, or PKCS#1 for RSA).
    ///
    /// # Errors
    ///
    /// [`SessionError::KeyMismatch`] when a PEM cannot be read as a key of `algorithm`'s family.
    ///
    /// ```
    /// use jwt_session::{Algorithm, Session};
    ///
    /// let private = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIETxOo5fE3eYIQvc2rvYTdA3f8h7rLKBpYJ3SF+hdZNZ\n-----END PRIVATE KEY-----\n";
    /// let public = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA5pVUfnZRuxlxeG4tYoqSoLN/5nBmpASDPBIB0J2bqF8=\n-----END PUBLIC KEY-----\n";
    /// let issuer = Session::from_pem(Algorithm::EdDSA, private, public)?;
    /// let reader = Session::verify_only_pem(Algorithm::EdDSA, public)?;
    /// # drop((issuer, reader));
    /// # Ok::<(), jwt_session::SessionError>(())
    /// ```
    pub fn from_pem(
        algorithm: Algorithm,
        private_pem: impl AsRef<[u8]>,
        public_pem: impl AsRef<[u8]>,
    ) -> Result<Self, SessionError> {
        let encoding_key = match algorithm.family() {
            AlgorithmFamily::Ed => EncodingKey::from_ed_pem(private_pem.as_ref()),
            AlgorithmFamily::Ec => EncodingKey::from_ec_pem(private_pem.as_ref()),
            AlgorithmFamily::Rsa => EncodingKey::from_rsa_pem(private_pem.as_ref()),
            AlgorithmFamily::Hmac => return Err(SessionError::KeyMismatch(HMAC_HAS_NO_PEM)),
        }
        .map_err(|_| {
            SessionError::KeyMismatch("the private key PEM is not a key of this algorithm's family")
        })?;
        Self::from_keys(
            encoding_key,
            public_key_from_pem(algorithm, public_pem.as_ref())?,
            algorithm,
        )
    }

    /// [`Session::verify_only`] from a public key in PEM.
    ///
    /// # Errors
    ///
    /// As [`Session::from_pem`].
    ///
    /// ```
    /// # let public = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA5pVUfnZRuxlxeG4tYoqSoLN/5nBmpASDPBIB0J2bqF8=\n-----END PUBLIC KEY-----\n";
    /// let reader = jwt_session::Session::verify_only_pem(jwt_session::Algorithm::EdDSA, public)?;
    /// # drop(reader);
    /// # Ok::<(), jwt_session::SessionError>(())
    /// ```
    pub fn verify_only_pem(
        algorithm: Algorithm,
        public_pem: impl AsRef<[u8]>,
    ) -> Result<Self, SessionError> {
        Self::verify_only(
            public_key_from_pem(algorithm, public_pem.as_ref())?,
            algorithm,
        )
    }

    fn with_keys(keys: KeyRing) -> Self {
        Self::with_config(Config {
            codec: Codec::new(keys),
            cookie_name: String::from("session"),
            path: String::from("/"),
            domain: None,
            secure: true,
            http_only: true,
            same_site: SameSite::Lax,
            lifetimes: Lifetimes {
                leeway: DEFAULT_LEEWAY,
                ..Lifetimes::default()
            },
            clear_invalid: false,
            prepared: PreparedCookies {
                attributes: String::new(),
                removal: HeaderValue::from_static(""),
            },
        })
    }

    fn with_config(mut config: Config) -> Self {
        config.refresh();
        Self {
            inner: Arc::new(config),
        }
    }

    /// Selects the HMAC algorithm: `HS256` (the default, and Microdot's), `HS384` or `HS512`.
    ///
    /// # Panics
    ///
    /// For a non-HMAC algorithm, or on a config built from asymmetric keys.
    ///
    /// ```
    /// use jwt_session::{Algorithm, Session};
    ///
    /// let session = Session::new([7u8; 64]).algorithm(Algorithm::HS512);
    /// # drop(session);
    /// ```
    #[must_use]
    pub fn algorithm(self, algorithm: Algorithm) -> Self {
        let keys = self.config().codec.keys().with_hmac_algorithm(algorithm);
        let keys = keys.unwrap_or_else(|err| panic!("Session::algorithm: {err}"));
        self.with(|config| config.codec = Codec::new(keys))
    }

    /// Accepts sessions signed with earlier secrets, for rotating the secret without
    /// logging anyone out. A request bearing such a session gets it back re-signed with the
    /// current secret. While previous secrets are configured, new tokens carry a `kid`
    /// header (an HMAC of a fixed label, useless for recovering the secret), so each token
    /// costs one signature check; tokens without one (Microdot's) are tried against each key.
    ///
    /// # Panics
    ///
    /// If a secret is shorter than 32 bytes, or on a config built from asymmetric keys.
    ///
    /// ```
    /// let session = jwt_session::Session::new("the new secret, 32 bytes or longer!")
    ///     .previous_secrets(["the old secret, 32 bytes or longer!"]);
    /// # drop(session);
    /// ```
    #[must_use]
    pub fn previous_secrets<S: AsRef<[u8]>>(self, secrets: impl IntoIterator<Item = S>) -> Self {
        let mut keys = self.config().codec.keys().clone();
        for secret in secrets {
            keys.add_previous_secret(secret.as_ref())
                .unwrap_or_else(|err| panic!("Session::previous_secrets: {err}"));
        }
        self.with(|config| config.codec = Codec::new(keys))
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
    /// it. Without any lifetime (the default) the cookie lasts until the browser closes and
    /// the token never expires.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let session = jwt_session::Session::new([7u8; 32]).max_age(Duration::from_secs(86_400));
    /// # drop(session);
    /// ```
    #[must_use]
    pub fn max_age(self, max_age: Duration) -> Self {
        self.with(|config| config.lifetimes.max_age = Some(max_age))
    }

    /// Ends sessions that go unused for `idle` (sliding expiry).
    ///
    /// Tokens carry `iat` and an `exp` at most `idle` ahead. While the session is in use,
    /// a response re-issues the cookie with a fresh expiry once more than half of `idle`
    /// has passed since it was issued, with no `save()` needed: at most once per half
    /// window, not on every request.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let session = jwt_session::Session::new([7u8; 32]).idle_timeout(Duration::from_secs(30 * 60));
    /// # drop(session);
    /// ```
    #[must_use]
    pub fn idle_timeout(self, idle: Duration) -> Self {
        self.with(|config| config.lifetimes.idle = Some(idle))
    }

    /// Ends every session `absolute` after its first save, however active. The start time
    /// travels in the token (`session_start`) and no save or re-issue extends past it.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let session = jwt_session::Session::new([7u8; 32]).absolute_timeout(Duration::from_secs(12 * 3600));
    /// # drop(session);
    /// ```
    #[must_use]
    pub fn absolute_timeout(self, absolute: Duration) -> Self {
        self.with(|config| config.lifetimes.absolute = Some(absolute))
    }

    /// Sets the clock skew tolerated on `exp`, `nbf`, `iat` and the timeouts (default 30 s),
    /// for apps whose servers' clocks differ slightly.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let strict = jwt_session::Session::new([7u8; 32]).leeway(Duration::ZERO);
    /// # drop(strict);
    /// ```
    #[must_use]
    pub fn leeway(self, leeway: Duration) -> Self {
        self.with(|config| config.lifetimes.leeway = leeway)
    }

    /// When `true`, a response to a request whose session cookie failed verification clears
    /// that cookie, so the browser stops sending it. Default `false`, as in Microdot: the
    /// cookie is left alone (it may belong to another app on the same domain).
    ///
    /// ```
    /// let session = jwt_session::Session::new([7u8; 32]).clear_invalid(true);
    /// # drop(session);
    /// ```
    #[must_use]
    pub fn clear_invalid(self, clear: bool) -> Self {
        self.with(|config| config.clear_invalid = clear)
    }

    /// Loads the session of `req` outside `#[with_session]`, as Microdot's
    /// `Session.get(request)`: in a plain handler, a guard or middleware. Every load in one
    /// request shares one state, so the session is decoded once and the response carries one
    /// cookie. A saved or deleted session reaches the response through [`Session::apply`].
    ///
    /// # Errors
    ///
    /// [`SessionError::MissingConfig`] when the app has no `Session` app data.
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
    pub fn load(req: &actix_web::HttpRequest) -> Result<crate::SessionDict, SessionError> {
        let session = crate::request::load(req);
        if let Err(err) = &session {
            tracing::error!("{err}");
        }
        session
    }

    /// Writes the outcome of the sessions loaded for `req` onto `response`: `Vary: Cookie`,
    /// and the cookie scheduled by `save()` or `delete()` (none on a 5xx or error response).
    /// Without a load for `req`, `response` is returned unchanged. This is what
    /// `#[with_session]` does after the handler returns; call it once per response.
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
    pub fn apply<B>(
        req: &actix_web::HttpRequest,
        response: actix_web::HttpResponse<B>,
    ) -> actix_web::HttpResponse<B> {
        match crate::request::loaded(req) {
            Some(state) => crate::response::finish(&state, response),
            None => response,
        }
    }

    pub(crate) fn config(&self) -> &Config {
        &self.inner
    }

    fn with(mut self, change: impl FnOnce(&mut Config)) -> Self {
        let config = Arc::make_mut(&mut self.inner);
        change(config);
        config.refresh();
        self
    }
}

impl Config {
    /// The cookie for `value` with every configured attribute, as actix's cookie type
    /// writes it; the source of the prepared attributes.
    fn cookie<'c>(&'c self, value: &'c str) -> Cookie<'c> {
        let mut cookie = Cookie::build(self.cookie_name.as_str(), value)
            .path(self.path.as_str())
            .secure(self.secure)
            .http_only(self.http_only)
            .same_site(self.same_site)
            .finish();
        if let Some(domain) = &self.domain {
            cookie.set_domain(domain.as_str());
        }
        cookie
    }

    /// Prepares the unchanging parts of `Set-Cookie` after a config change.
    fn refresh(&mut self) {
        let empty = self.cookie("").to_string();
        let attributes = empty
            .strip_prefix(&format!("{}=", self.cookie_name))
            .unwrap_or_default()
            .to_owned();
        // The cookie that tells the browser to forget the session: same name, path and
        // domain, an empty value, `Max-Age=0` and `Expires` in 1970.
        let mut removal = self.cookie("");
        removal.set_max_age(time::Duration::ZERO);
        removal.set_expires(time::OffsetDateTime::UNIX_EPOCH);
        // Every part was checked by the builder methods, so this cannot fail.
        let removal = HeaderValue::try_from(removal.to_string())
            .unwrap_or_else(|_| HeaderValue::from_static(""));
        self.prepared = PreparedCookies {
            attributes,
            removal,
        };
    }

    /// The `Set-Cookie` value carrying `token`, every configured attribute and `max_age`.
    pub(crate) fn set_cookie_value(&self, token: &str, max_age: Option<Duration>) -> String {
        let attributes = &self.prepared.attributes;
        let mut value =
            String::with_capacity(self.cookie_name.len() + token.len() + attributes.len() + 24);
        value.push_str(&self.cookie_name);
        value.push('=');
        value.push_str(token);
        value.push_str(attributes);
        if let Some(max_age) = max_age {
            value.push_str("; Max-Age=");
            value.push_str(&seconds(max_age).whole_seconds().to_string());
        }
        value
    }

    /// The removal `Set-Cookie`, prepared once.
    pub(crate) fn removal(&self) -> HeaderValue {
        self.prepared.removal.clone()
    }
}

const HMAC_HAS_NO_PEM: &str = "HMAC algorithms take a secret, not a PEM: use Session::new(secret)";

fn public_key_from_pem(algorithm: Algorithm, pem: &[u8]) -> Result<DecodingKey, SessionError> {
    match algorithm.family() {
        AlgorithmFamily::Ed => DecodingKey::from_ed_pem(pem),
        AlgorithmFamily::Ec => DecodingKey::from_ec_pem(pem),
        AlgorithmFamily::Rsa => DecodingKey::from_rsa_pem(pem),
        AlgorithmFamily::Hmac => return Err(SessionError::KeyMismatch(HMAC_HAS_NO_PEM)),
    }
    .map_err(|_| {
        SessionError::KeyMismatch("the public key PEM is not a key of this algorithm's family")
    })
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
            .field("algorithm", &config.codec.keys().algorithm)
            .field("lifetimes", &config.lifetimes)
            .field("clear_invalid", &config.clear_invalid)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The prepared attributes write exactly what actix's cookie type writes.
    #[test]
    fn prepared_set_cookie_matches_the_cookie_builder() {
        let configs = [
            Session::new([7u8; 32]),
            Session::new([7u8; 32])
                .cookie_name("id")
                .path("/app")
                .domain("example.com")
                .secure(false)
                .http_only(false)
                .same_site(SameSite::Strict),
        ];
        for session in configs {
            let config = session.config();
            for max_age in [None, Some(Duration::from_secs(600))] {
                let mut expected = config.cookie("a.b.c");
                if let Some(max_age) = max_age {
                    expected.set_max_age(seconds(max_age));
                }
                let expected = Cookie::parse(expected.to_string()).unwrap();
                let ours = Cookie::parse(config.set_cookie_value("a.b.c", max_age)).unwrap();
                assert_eq!(ours.to_string(), expected.to_string());
            }
            let removal = Cookie::parse(config.removal().to_str().unwrap().to_owned()).unwrap();
            assert_eq!(
                (removal.value(), removal.max_age()),
                ("", Some(time::Duration::ZERO))
            );
            assert_eq!(removal.path(), Some(config.path.as_str()));
        }
    }
}
