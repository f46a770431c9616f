//! `Session`: the app-wide configuration, shared by every request.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cookie::SameSite;
use jsonwebtoken::Algorithm;
use serde_json::{Map, Value};

use crate::engine::chunks::{Chunks, MAX_CHUNKS, SetCookies};
use crate::engine::cookie::{CookieSettings, MAX_SET_COOKIE, checked_attribute, checked_name};
use crate::error::SessionError;
use crate::revocation::RevocationStore;
use crate::revocation::policy::Revocation;
use crate::token::claims::{Lifetimes, PURPOSE};
use crate::token::clock::Clock;
#[cfg(feature = "test-util")]
use crate::token::clock::TestClock;
use crate::token::codec::Codec;
use crate::token::keys::KeyRing;
use crate::token::pipeline::{TokenRules, Verified};
use crate::token::{MAX_ONE_COOKIE_TOKEN, Rejection};

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
///
/// A `web::Data<Session>` is found as well, for apps that register their shared state as
/// `Data` (a plain `Session` is looked for first):
///
/// ```
/// use actix_web::{App, HttpResponse, test, web};
/// use jwt_session::{Session, SessionDict, SessionError, with_session};
///
/// #[with_session]
/// async fn login(mut session: SessionDict) -> Result<HttpResponse, SessionError> {
///     session.insert("user", "ann")?;
///     session.save()?;
///     Ok(HttpResponse::Ok().finish())
/// }
///
/// # actix_web::rt::System::new().block_on(async {
/// let session = web::Data::new(Session::new([7u8; 32]));
/// let app = test::init_service(
///     App::new().app_data(session.clone()).route("/login", web::post().to(login)),
/// ).await;
/// let res = test::call_service(&app, test::TestRequest::post().uri("/login").to_request()).await;
/// assert!(res.headers().get("set-cookie").unwrap().to_str().unwrap().starts_with("session=ey"));
/// # });
/// ```
#[derive(Clone)]
pub struct Session {
    inner: Arc<Config>,
}

#[derive(Clone)]
pub(crate) struct Config {
    pub(crate) codec: Codec,
    pub(crate) cookie: CookieSettings,
    /// The session cookie's chunks, when `max_chunks` is above 1.
    pub(crate) chunks: Chunks,
    pub(crate) lifetimes: Lifetimes,
    pub(crate) clear_invalid: bool,
    pub(crate) revocation: Revocation,
    /// The system clock, or a test clock set through `Session::clock`.
    pub(crate) clock: Clock,
    /// Set once [`Config::warn_if_unrevocable`] has warned.
    pub(crate) unrevocable_warned: WarnedOnce,
}

/// A flag of one config: a config the builder derives from it starts unset.
#[derive(Default)]
pub(crate) struct WarnedOnce(AtomicBool);

impl Clone for WarnedOnce {
    fn clone(&self) -> Self {
        Self::default()
    }
}

#[cfg(feature = "__internals")]
thread_local! {
    /// How many tokens [`Config::verify`] has checked on this thread, for the test that a
    /// request verifies each token once. Per thread, so tests running beside it do not
    /// count (a single-threaded runtime serves a test's requests on its own thread).
    pub(crate) static VERIFICATIONS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

impl Config {
    /// Seconds since the Unix epoch: the system clock, or the test clock when one is set.
    pub(crate) fn now(&self) -> f64 {
        self.clock.now()
    }

    /// The rules browsers enforce on the cookie's attributes: the builder panics on them
    /// (the actix convention for a config) and [`Session::check`] reports them.
    fn check_cookie(&self) -> Result<(), SessionError> {
        match self.cookie.browser_problem() {
            Some(problem) => Err(SessionError::CookieRule {
                cookie: self.cookie.name.clone(),
                problem,
            }),
            None => Ok(()),
        }
    }

    /// A session token's verified content now, through the token pipeline.
    pub(crate) fn verify(&self, token: &str) -> Result<Verified, Rejection> {
        self.verify_at(token, self.now())
    }

    /// [`verify`](Config::verify) for the session cookie a request carries, counted in the
    /// key usage (the library's own re-reads of a token it holds are not).
    pub(crate) fn verify_counted(&self, token: &str) -> Result<Verified, Rejection> {
        let now = self.now();
        let verified = self.verify_at(token, now)?;
        self.rules().count(&verified, now);
        Ok(verified)
    }

    fn verify_at(&self, token: &str, now: f64) -> Result<Verified, Rejection> {
        #[cfg(feature = "__internals")]
        VERIFICATIONS.with(|count| count.set(count.get() + 1));
        let verified = self.rules().verify(token, now)?;
        if verified.data.contains_key(PURPOSE) {
            return Err(Rejection::Purpose);
        }
        Ok(verified)
    }

    /// Issues `claims` as a token under this config's rules, with what `cookies` builds of
    /// it (its size-checked `Set-Cookie` values): the one place every token is encoded.
    pub(crate) fn issue<T>(
        &self,
        claims: &impl serde::Serialize,
        cookies: impl FnOnce(&str) -> Result<T, SessionError>,
    ) -> Result<(String, T), SessionError> {
        let token = self.rules().issue(claims)?;
        let set_cookies = cookies(&token)?;
        Ok((token, set_cookies))
    }

    /// [`issue`](Self::issue) for a side token, in one cookie with `cookie`'s attributes.
    pub(crate) fn issue_cookie(
        &self,
        cookie: &CookieSettings,
        claims: &impl serde::Serialize,
        max_age: Option<Duration>,
    ) -> Result<(String, String), SessionError> {
        self.issue(claims, |token| cookie.set_cookie(token, max_age))
    }

    /// [`issue`](Self::issue) for a session, in the session cookie or its chunks.
    pub(crate) fn issue_session_cookies(
        &self,
        claims: &impl serde::Serialize,
        max_age: Option<Duration>,
    ) -> Result<(String, SetCookies), SessionError> {
        self.issue(claims, |token| {
            self.chunks.write(&self.cookie, token, max_age)
        })
    }

    /// Under a revocation store, warns (once per config) when a session holding the
    /// login's `_user_id` is issued without the configured user claim: `revoke_user`
    /// files users under that claim, so it can never reach this session. Called where
    /// sessions are issued, with the entries of the session.
    pub(crate) fn warn_if_unrevocable(&self, data: &Map<String, Value>) {
        let Some(claim) = self.revocation.user_claim.as_deref() else {
            return;
        };
        let unreachable = self.revocation.is_enabled()
            && data.contains_key(DEFAULT_USER_CLAIM)
            && !data.contains_key(claim);
        if unreachable && !self.unrevocable_warned.0.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                user_claim = claim,
                "a session of a logged-in user (`{DEFAULT_USER_CLAIM}`) has no `{claim}` entry, \
                 the config's user_claim: Session::revoke_user and \"log out everywhere\" cannot \
                 reach it; drop .user_claim(..) to use the login's `{DEFAULT_USER_CLAIM}`, or save \
                 `{claim}` in every logged-in session (logged once per config)"
            );
        }
    }

    /// The rules the session tokens of this config are verified and issued under.
    pub(crate) fn rules(&self) -> TokenRules<'_> {
        TokenRules {
            codec: &self.codec,
            lifetimes: &self.lifetimes,
            with_id: self.revocation.is_enabled(),
            max_len: MAX_ONE_COOKIE_TOKEN.max(self.chunks.max() * MAX_SET_COOKIE),
        }
    }
}

/// The session entry naming the user for `revoke_user` by default: the key Microdot's
/// logins (and so `login_user`) write, so "log out everywhere" needs no configuration.
const DEFAULT_USER_CLAIM: &str = "_user_id";

/// Clock skew tolerated by default on `exp`, `nbf`, `iat` and the timeouts.
const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);

impl Session {
    pub(crate) fn with_keys(keys: KeyRing) -> Self {
        Self {
            inner: Arc::new(Config {
                codec: Codec::new(keys),
                cookie: CookieSettings::default(),
                chunks: Chunks::default(),
                lifetimes: Lifetimes {
                    leeway: DEFAULT_LEEWAY,
                    ..Lifetimes::default()
                },
                clear_invalid: false,
                clock: Clock::default(),
                revocation: Revocation::with_user_claim(DEFAULT_USER_CLAIM),
                unrevocable_warned: WarnedOnce::default(),
            }),
        }
    }

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

    /// Encrypts sessions, so that nobody without the secret can read them. By default a
    /// session is only signed: anyone holding the cookie can base64-decode it.
    ///
    /// The cookie becomes a compact JWE (RFC 7516): `alg` `dir`, `enc` `A256GCM`, a fresh
    /// random 96-bit IV from the operating system per token, and a content key derived from
    /// the secret with `HKDF-SHA256(ikm = secret, salt = empty, info = "jwt-session A256GCM")`,
    /// 32 bytes, so other languages can read and write it with the same secret (the README
    /// shows Python). Everything else works as for signed sessions: lifetimes,
    /// [`previous_secrets`](Session::previous_secrets) (each secret derives its own key, and
    /// tokens carry a `kid` while rotating), the 4096-byte limit (checked on the encrypted
    /// cookie, about a third larger than the JSON), typed sessions and autosave. Signed and
    /// encrypted tokens are not interchangeable: each config rejects the other kind.
    ///
    /// Random IVs are safe for about 2³² tokens per key; rotating the secret starts a new
    /// key and resets that count. Microdot reads only signed sessions, so keep the default
    /// when sharing sessions with it.
    ///
    /// # Panics
    ///
    /// On a config built from asymmetric keys ([`Session::from_keys`], [`Session::from_pem`],
    /// [`Session::verify_only`]), or together with [`Session::algorithm`] other than HS256,
    /// in either order: encrypted sessions need the secret, and take no signature algorithm.
    ///
    /// ```
    /// use actix_web::{App, HttpResponse, test, web};
    /// use jwt_session::{Session, SessionDict, SessionError, with_session};
    ///
    /// #[with_session]
    /// async fn save(mut session: SessionDict) -> Result<HttpResponse, SessionError> {
    ///     session.insert("card", "4111 1111 1111 1111")?;
    ///     session.save()?;
    ///     Ok(HttpResponse::Ok().finish())
    /// }
    ///
    /// #[with_session]
    /// async fn read(session: SessionDict) -> Result<String, SessionError> {
    ///     Ok(session.get::<String>("card")?.unwrap_or_default())
    /// }
    ///
    /// # actix_web::rt::System::new().block_on(async {
    /// let session = Session::new("a secret of at least thirty-two bytes!!").encrypted();
    /// let app = test::init_service(
    ///     App::new().app_data(session).route("/", web::post().to(save)).route("/", web::get().to(read)),
    /// ).await;
    /// let res = test::call_service(&app, test::TestRequest::post().uri("/").to_request()).await;
    /// let set_cookie = res.headers().get("set-cookie").unwrap().to_str().unwrap();
    /// let token = set_cookie.split(';').next().unwrap().strip_prefix("session=").unwrap();
    /// // base64url({"alg":"dir","enc":"A256GCM"}), an empty encrypted key, IV, ciphertext, tag.
    /// assert!(token.starts_with("eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0.."));
    /// assert_eq!(token.split('.').count(), 5);
    ///
    /// let req = test::TestRequest::get().uri("/").insert_header(("cookie", format!("session={token}")));
    /// let body = test::call_and_read_body(&app, req.to_request()).await;
    /// assert_eq!(body, "4111 1111 1111 1111");
    /// # });
    /// ```
    ///
    /// A service holding only a public key cannot encrypt:
    ///
    /// ```should_panic
    /// use jwt_session::{Session, keys::Algorithm};
    ///
    /// let public = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA5pVUfnZRuxlxeG4tYoqSoLN/5nBmpASDPBIB0J2bqF8=\n-----END PUBLIC KEY-----\n";
    /// let reader = Session::verify_only_pem(Algorithm::EdDSA, public).unwrap();
    /// let _ = reader.encrypted(); // panics: "Session::encrypted: ... a verify-only config cannot encrypt ..."
    /// ```
    #[cfg(feature = "encrypted")]
    #[cfg_attr(docsrs, doc(cfg(feature = "encrypted")))]
    #[must_use]
    pub fn encrypted(self) -> Self {
        let codec = self.config().codec.clone().encrypted();
        let codec = codec.unwrap_or_else(|err| panic!("Session::encrypted: {err}"));
        self.with(|config| config.codec = codec)
    }

    /// Sets the cookie name (default `session`, as in Microdot).
    ///
    /// # Panics
    ///
    /// If `name` is empty or not an RFC 6265 token (letters, digits and ``!#$%&'*+-.^_`|~``),
    /// or breaks its prefix's rule: browsers drop a `__Host-` cookie that is not `Secure`,
    /// has a `Domain` or a `Path` other than `/`, and a `__Secure-` cookie that is not `Secure`.
    ///
    /// ```
    /// let session = jwt_session::Session::new([7u8; 32]).cookie_name("__Host-session");
    /// # drop(session);
    /// ```
    #[must_use]
    pub fn cookie_name(self, name: impl Into<String>) -> Self {
        let name = checked_name(name.into());
        self.with_cookie(|cookie| cookie.name = name)
    }

    /// Sets the cookie's `Path` (default `/`).
    ///
    /// # Panics
    ///
    /// If `path` holds `;` or a control character, which would break the `Set-Cookie` header,
    /// or is not `/` on a `__Host-` cookie.
    ///
    /// ```
    /// let session = jwt_session::Session::new([7u8; 32]).path("/app");
    /// # drop(session);
    /// ```
    #[must_use]
    pub fn path(self, path: impl Into<String>) -> Self {
        let path = checked_attribute("path", path.into());
        self.with_cookie(|cookie| cookie.path = path)
    }

    /// Sets the cookie's `Domain` (default: none, so the cookie goes to this host only).
    ///
    /// # Panics
    ///
    /// If `domain` holds `;` or a control character, which would break the `Set-Cookie` header,
    /// or on a `__Host-` cookie.
    ///
    /// ```
    /// let session = jwt_session::Session::new([7u8; 32]).domain("example.com");
    /// # drop(session);
    /// ```
    #[must_use]
    pub fn domain(self, domain: impl Into<String>) -> Self {
        let domain = checked_attribute("domain", domain.into());
        self.with_cookie(|cookie| cookie.domain = Some(domain))
    }

    /// Sets the cookie's `Secure` flag (default `true`).
    ///
    /// Browsers accept `Secure` cookies from `http://localhost` and `http://127.0.0.1`, so
    /// local development works without turning it off.
    ///
    /// # Panics
    ///
    /// When turned off on a `__Host-` or `__Secure-` cookie, or a partitioned one.
    ///
    /// ```
    /// let session = jwt_session::Session::new([7u8; 32]).secure(false);
    /// # drop(session);
    /// ```
    #[must_use]
    pub fn secure(self, secure: bool) -> Self {
        self.with_cookie(|cookie| cookie.secure = secure)
    }

    /// Sets the cookie's `HttpOnly` flag (default `true`), which keeps it away from scripts.
    ///
    /// ```
    /// let session = jwt_session::Session::new([7u8; 32]).http_only(false);
    /// # drop(session);
    /// ```
    #[must_use]
    pub fn http_only(self, http_only: bool) -> Self {
        self.with_cookie(|cookie| cookie.http_only = http_only)
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
        self.with_cookie(|cookie| cookie.same_site = same_site)
    }

    /// Sets the cookie's `Partitioned` attribute (CHIPS, default `false`), as Microdot's
    /// `partitioned` cookie option: browsers then keep a separate cookie per top-level
    /// site, for sessions of an app embedded in other sites' pages. It is written on the
    /// session cookie and on its removal.
    ///
    /// # Panics
    ///
    /// On a config that is not `Secure`: browsers drop `Partitioned` cookies without it.
    ///
    /// ```
    /// let session = jwt_session::Session::new([7u8; 32]).partitioned(true);
    /// # drop(session);
    /// ```
    #[must_use]
    pub fn partitioned(self, partitioned: bool) -> Self {
        self.with_cookie(|cookie| cookie.partitioned = partitioned)
    }

    /// Lets a session take up to `chunks` cookies (default 1, at most 5), for sessions over
    /// the 4096 bytes browsers keep per cookie (name, value and attributes).
    ///
    /// A token that fits in one cookie is written under the plain name, as with 1; a longer
    /// one is split over `name.0` … `name.{k-1}` (`k ≤ chunks`), each a whole `Set-Cookie`
    /// of at most 4096 bytes with the session cookie's attributes, and the plain cookie is
    /// cleared. Every write, `delete()` and logout clears every cookie of that range it does
    /// not use, so a session that shrinks leaves no stale chunk. A request's chunks are
    /// joined in order and verified as one token; a gap, a foreign or stale chunk, or a
    /// plain cookie beside chunks gives an empty session (log reason `chunks`, or the
    /// signature's). Past `chunks` cookies, a save fails with
    /// [`SessionError::TooLarge`](crate::SessionError::TooLarge), as over 4096 bytes today.
    ///
    /// `n` chunks make a `Cookie` request header of up to about `4 KB × n`: proxies that cap
    /// request headers at 8 KB (nginx's default `large_client_header_buffers`) take 2, so
    /// raise that limit for more. A Python app reads a chunked token by joining the values of
    /// `name.0`, `name.1`, … in order, then decoding it as any other.
    ///
    /// # Panics
    ///
    /// When `chunks` is 0 or above 5.
    ///
    /// ```
    /// let session = jwt_session::Session::new([7u8; 32]).max_chunks(3);
    /// # drop(session);
    /// ```
    #[must_use]
    pub fn max_chunks(self, chunks: usize) -> Self {
        assert!(
            (1..=MAX_CHUNKS).contains(&chunks),
            "Session::max_chunks: {chunks} is not between 1 and {MAX_CHUNKS}"
        );
        self.with(|config| config.chunks = Chunks::new(&config.cookie, chunks))
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

    /// Admits tokens that lack the claims the configured lifetimes need, until `deadline`:
    /// for moving an app whose users hold cookies written without lifetimes (Microdot's,
    /// or this library's before `max_age` was set) onto lifetimes without logging them out.
    /// Off by default.
    ///
    /// Outside this window, with `max_age` or `idle_timeout` set a token without `exp` is
    /// an empty session (and, with `idle_timeout`, one without `iat`), and with
    /// `absolute_timeout` set one without `session_start` is.
    ///
    /// What it gives up until `deadline`: such a token, even a copy leaked long ago, is
    /// accepted as a session that starts at the request, and its next save or idle
    /// re-issue gives it fresh lifetime claims. Keep the window short; once it closes, the
    /// tokens re-issued during it live at most one more lifetime.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    ///
    /// let two_weeks = SystemTime::now() + Duration::from_secs(14 * 86_400);
    /// let session = jwt_session::Session::new([7u8; 32])
    ///     .max_age(Duration::from_secs(86_400))
    ///     .accept_legacy_tokens_until(two_weeks);
    /// # drop(session);
    /// ```
    #[must_use]
    pub fn accept_legacy_tokens_until(self, deadline: SystemTime) -> Self {
        let until = deadline
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |since| since.as_secs_f64());
        self.with(|config| config.lifetimes.legacy_until = Some(until))
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

    /// Reads the time from `clock` instead of the system clock, for tests of expiry, idle
    /// re-issue and absolute timeouts that should not sleep. See [`TestClock`].
    ///
    /// ```
    /// use jwt_session::Session;
    /// use jwt_session::test::TestClock;
    ///
    /// let clock = TestClock::new();
    /// let session = Session::new([7u8; 32]).clock(clock.clone());
    /// clock.advance(std::time::Duration::from_secs(3600));
    /// # drop(session);
    /// ```
    #[cfg(feature = "test-util")]
    #[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
    #[must_use]
    pub fn clock(self, clock: TestClock) -> Self {
        self.with(|config| config.clock = Clock::test(clock))
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

    /// Checks every saved token against `store`, a deny-list that logouts write to:
    /// [`SessionDict::delete`](crate::SessionDict::delete) then revokes the request's token
    /// on every instance sharing the store, [`SessionDict::renew`](crate::SessionDict::renew)
    /// revokes the token it replaces, and [`Session::revoke_user`] logs a user out everywhere.
    ///
    /// With a store, every saved token carries a random 128-bit `jti` (base64url), the
    /// millisecond it was minted (`jti_ms`) and, when the store answers at once, its user's
    /// `revoke_user` generation (`jti_gen`); idle re-issues and rotation re-signs keep them.
    /// A token without `jti` or without `exp` is an empty session, since it could never be
    /// revoked; so switching revocation on logs out the sessions issued before.
    ///
    /// A request with a verified session cookie asks the store once: in memory for
    /// `MemoryStore` and `RedisStore`'s replica, else one round trip bounded by
    /// [`revocation_timeout`](Session::revocation_timeout) (250 ms by default); a request
    /// without one never touches the store. Revocations are enforced on this instance at
    /// once, and those the store cannot record wait in an outbox
    /// ([`revocation_backlog`](Session::revocation_backlog)). When the store fails or times out, the session
    /// is empty (fail closed) and a warning is logged at most every 10 s; see
    /// [`revocation_fail_open`](Session::revocation_fail_open).
    ///
    /// A lifetime is required (`max_age`, `idle_timeout` or `absolute_timeout`): entries
    /// live until the tokens they deny have expired, the longest lifetime plus the leeway.
    /// The builder calls may come in any order, so this is checked when the config is first
    /// used: a config without a lifetime answers every session request with a 500 and logs
    /// [`SessionError::RevocationNeedsLifetime`]; [`Session::check`] reports it at start-up.
    ///
    /// ```
    /// use std::time::Duration;
    /// use jwt_session::{Session, revocation::MemoryStore};
    ///
    /// let session = Session::new([7u8; 32])
    ///     .revocation(MemoryStore::new())
    ///     .max_age(Duration::from_secs(3600))
    ///     .user_claim("username");
    /// session.check()?;
    /// assert!(Session::new([7u8; 32]).revocation(MemoryStore::new()).check().is_err());
    /// # Ok::<(), jwt_session::SessionError>(())
    /// ```
    #[must_use]
    pub fn revocation(self, store: impl RevocationStore) -> Self {
        self.with(|config| config.revocation.set_store(store))
    }

    /// Names the session entry that identifies the user (a string or an integer), for
    /// [`Session::revoke_user`]. The default is `_user_id`, the entry logins write, so
    /// "log out everywhere" works with logins as they are; name your own entry when the app
    /// keeps its user elsewhere.
    ///
    /// A session without that entry is out of `revoke_user`'s reach, silently: it answers
    /// `Ok` and revokes nothing. So under a revocation store, a session that holds the
    /// login's `_user_id` but not this claim logs a warning when it is issued (once per
    /// config): the sign of a renamed claim that logins do not write.
    ///
    /// ```
    /// let session = jwt_session::Session::new([7u8; 32]).user_claim("username");
    /// # drop(session);
    /// ```
    #[must_use]
    pub fn user_claim(self, claim: impl Into<String>) -> Self {
        let claim = claim.into();
        self.with(|config| config.revocation.user_claim = Some(claim))
    }

    /// Bounds every revocation-store call (default 250 ms). A read that takes longer gives
    /// an empty session (or a valid one with
    /// [`revocation_fail_open`](Session::revocation_fail_open)); a revocation that takes
    /// longer is logged and the response goes on.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let session = jwt_session::Session::new([7u8; 32]).revocation_timeout(Duration::from_millis(50));
    /// # drop(session);
    /// ```
    #[must_use]
    pub fn revocation_timeout(self, timeout: Duration) -> Self {
        self.with(|config| config.revocation.timeout = timeout)
    }

    /// When `true`, a session whose store check fails or times out is accepted as if not
    /// revoked (fail open). Default `false`: it is empty (fail closed).
    ///
    /// What it gives up: while the store is down, a logged-out or revoked token that a
    /// thief kept works again, until the store answers or the token expires. What it buys:
    /// users stay logged in through a store outage. Prefer fail closed unless an outage of
    /// the store logging everyone out is worse for your app than that.
    ///
    /// ```
    /// let session = jwt_session::Session::new([7u8; 32]).revocation_fail_open(true);
    /// # drop(session);
    /// ```
    #[must_use]
    pub fn revocation_fail_open(self, fail_open: bool) -> Self {
        self.with(|config| config.revocation.fail_open = fail_open)
    }

    /// Checks every rule a config can know about, in one place: the cookie rules browsers
    /// enforce (which the builder also panics on, the actix convention), and the settings
    /// that depend on each other, which the builder cannot check since its calls may come
    /// in any order (a revocation store needs a lifetime). Every session request checks
    /// this too (a 500 and an error log when it fails); call it at start-up to fail early.
    ///
    /// # Errors
    ///
    /// [`SessionError::CookieRule`] and [`SessionError::RevocationNeedsLifetime`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use jwt_session::{Session, revocation::MemoryStore};
    ///
    /// let session = Session::new([7u8; 32]).revocation(MemoryStore::new());
    /// assert!(session.check().is_err());
    /// session.clone().max_age(Duration::from_secs(60)).check()?;
    /// # Ok::<(), jwt_session::SessionError>(())
    /// ```
    pub fn check(&self) -> Result<(), SessionError> {
        let config = self.config();
        config.check_cookie()?;
        if config.revocation.is_enabled() && !config.lifetimes.is_configured() {
            return Err(SessionError::RevocationNeedsLifetime);
        }
        Ok(())
    }

    /// Logs `user` out everywhere: every token whose [`user_claim`](Session::user_claim)
    /// entry equals `user` and that was minted before this call is rejected from now on, on
    /// every instance sharing the store. A login after it returns works, even within the
    /// same second. Remembered logins of the user (`_remember` cookies, when the user claim
    /// is `_user_id`) are rejected too. The entry expires after the longest configured
    /// lifetime or the remember horizon (30 days by default), whichever is longer, plus the
    /// leeway, whichever process calls it.
    ///
    /// Call it from a handler (`req.app_data::<Session>()`), an admin task, or another
    /// service configured with the same store.
    ///
    /// # Errors
    ///
    /// [`SessionError::RevocationNeedsLifetime`], [`SessionError::NoRevocationStore`] without
    /// a store or a `user_claim`, and [`SessionError::Store`] when the store fails or times out.
    ///
    /// ```
    /// # actix_web::rt::System::new().block_on(async {
    /// use std::time::Duration;
    /// use jwt_session::{Session, revocation::MemoryStore};
    ///
    /// let session = Session::new([7u8; 32])
    ///     .max_age(Duration::from_secs(3600))
    ///     .revocation(MemoryStore::new())
    ///     .user_claim("username");
    /// session.revoke_user("alice").await?;
    /// # Ok::<(), jwt_session::SessionError>(())
    /// # }).unwrap();
    /// ```
    pub async fn revoke_user(&self, user: &str) -> Result<(), SessionError> {
        self.check()?;
        let revocation = &self.config().revocation;
        if !revocation.is_enabled() || revocation.user_claim.is_none() {
            return Err(SessionError::NoRevocationStore);
        }
        // Longer-lived tokens of the user (remember cookies) must stay denied as long as
        // they live, whichever process issued them.
        let floor = revocation
            .user_entry_floor
            .saturating_add(self.config().lifetimes.leeway);
        let config = self.config();
        revocation
            .revoke_user(user, self.revocation_ttl().max(floor), &config.clock)
            .await
            .map_err(SessionError::Store)
    }

    /// The revocations this config's store has not recorded yet: logouts and
    /// [`revoke_user`](Session::revoke_user) calls made while it failed. Each is enforced on
    /// this instance at once and waits in an outbox, retried every 250 ms until the store
    /// records it; a warning is logged (at most every 10 s) while the outbox holds any.
    /// Nothing is dropped: calls for one user coalesce, and past 10 000 token revocations
    /// (about 1 MB) the rest wait in the config's own copy, written again whole once the
    /// queue drains (counted as one here, and an error is logged). Watch it in a health
    /// check.
    ///
    /// ```
    /// use std::time::Duration;
    /// use jwt_session::{Session, revocation::MemoryStore};
    ///
    /// let session = Session::new([7u8; 32])
    ///     .max_age(Duration::from_secs(3600))
    ///     .revocation(MemoryStore::new());
    /// assert_eq!(session.revocation_backlog(), 0);
    /// ```
    #[must_use]
    pub fn revocation_backlog(&self) -> usize {
        self.config().revocation.backlog()
    }

    /// Returns once this config's store has seen every revocation written anywhere before
    /// the call, and its own outbox is empty: for a test that revokes on one instance and
    /// reads on another (at once for `MemoryStore`; `RedisStore`'s replica waits for a
    /// marker it publishes, within 5 s).
    ///
    /// # Errors
    ///
    /// [`SessionError::Store`] when that takes more than 5 s.
    ///
    /// ```
    /// # actix_web::rt::System::new().block_on(async {
    /// use std::time::Duration;
    /// use jwt_session::{Session, revocation::MemoryStore};
    ///
    /// let session = Session::new([7u8; 32])
    ///     .max_age(Duration::from_secs(3600))
    ///     .revocation(MemoryStore::new());
    /// session.revoke_user("alice").await?;
    /// session.sync_revocations().await?;
    /// # Ok::<(), jwt_session::SessionError>(())
    /// # }).unwrap();
    /// ```
    pub async fn sync_revocations(&self) -> Result<(), SessionError> {
        self.config()
            .revocation
            .sync()
            .await
            .map_err(SessionError::Store)
    }

    /// How long a deny-list entry must live: until every token it can deny has expired.
    pub(crate) fn revocation_ttl(&self) -> Duration {
        let lifetimes = &self.config().lifetimes;
        [lifetimes.max_age, lifetimes.idle, lifetimes.absolute]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or_default()
            .saturating_add(lifetimes.leeway)
    }

    pub(crate) fn config(&self) -> &Config {
        &self.inner
    }

    /// Whether `other` is this very configuration (a clone of it), not merely an equal one.
    pub(crate) fn is_same_config(&self, other: &Session) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    pub(crate) fn with(mut self, change: impl FnOnce(&mut Config)) -> Self {
        // A config derived from one that is in use counts its own key usage.
        let derived = Arc::strong_count(&self.inner) > 1;
        let config = Arc::make_mut(&mut self.inner);
        if derived {
            config.codec.fresh_usage();
        }
        change(config);
        self
    }

    /// Changes a cookie attribute, refusing a combination that browsers would drop.
    fn with_cookie(self, change: impl FnOnce(&mut CookieSettings)) -> Self {
        self.with(|config| {
            change(&mut config.cookie);
            if let Err(err) = config.check_cookie() {
                panic!("Session: {err}");
            }
            config.cookie.refresh();
            config.chunks = Chunks::new(&config.cookie, config.chunks.max());
        })
    }
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let config = self.config();
        f.debug_struct("Session")
            .field("secret", &"[redacted]")
            .field("cookie_name", &config.cookie.name)
            .field("path", &config.cookie.path)
            .field("domain", &config.cookie.domain)
            .field("secure", &config.cookie.secure)
            .field("http_only", &config.cookie.http_only)
            .field("same_site", &config.cookie.same_site)
            .field("partitioned", &config.cookie.partitioned)
            .field("algorithm", &config.codec.keys().algorithm)
            .field("encrypted", &config.codec.is_encrypted())
            .field("lifetimes", &config.lifetimes)
            .field("clear_invalid", &config.clear_invalid)
            .field("revocation", &config.revocation)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use serde_json::json;
    use tracing_subscriber::fmt::MakeWriter;

    use super::*;
    use crate::revocation::MemoryStore;

    /// The log lines written while it is the subscriber.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Captured {
        type Writer = Self;
        fn make_writer(&'a self) -> Self {
            self.clone()
        }
    }

    /// The warnings logged while `issue` runs.
    fn warnings(issue: impl FnOnce()) -> Vec<String> {
        let captured = Captured::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(captured.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::WARN)
            .finish();
        tracing::subscriber::with_default(subscriber, issue);
        let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        text.lines().map(str::to_owned).collect()
    }

    fn entries(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn a_login_out_of_revoke_users_reach_is_logged_once_per_config() {
        let store = || {
            Session::new([7u8; 32])
                .max_age(Duration::from_secs(60))
                .revocation(MemoryStore::new())
        };
        let renamed = store().user_claim("username");
        let login = entries(json!({"_user_id": "user-4711", "_fresh": true}));
        let logged = warnings(|| {
            renamed.config().warn_if_unrevocable(&login);
            renamed.clone().config().warn_if_unrevocable(&login);
        });
        assert_eq!(logged.len(), 1, "{logged:?}");
        assert!(logged[0].contains("WARN"), "{logged:?}");
        assert!(logged[0].contains("`username`"), "{logged:?}");
        assert!(
            !logged[0].contains("4711"),
            "no user in the log: {logged:?}"
        );
        // A config derived from it warns for itself.
        let derived = renamed.clone().leeway(Duration::from_secs(1));
        assert_eq!(
            warnings(|| derived.config().warn_if_unrevocable(&login)).len(),
            1
        );

        // Reachable, anonymous, or without a store: nothing to say.
        let with_claim = entries(json!({"_user_id": "ann", "username": "ann"}));
        let anonymous = entries(json!({"cart": [1]}));
        let quiet = warnings(|| {
            let fresh = store().user_claim("username");
            fresh.config().warn_if_unrevocable(&with_claim);
            fresh.config().warn_if_unrevocable(&anonymous);
            store().config().warn_if_unrevocable(&login);
            let no_store = Session::new([7u8; 32]).user_claim("username");
            no_store.config().warn_if_unrevocable(&login);
        });
        assert_eq!(quiet, Vec::<String>::new());
    }
}
