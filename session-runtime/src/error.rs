//! The one error type users see, and the error of a revocation store. Part of the token
//! core: nothing here knows actix-web (the `ResponseError` impl lives in `response.rs`).

use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

/// Smallest HS256 secret accepted: RFC 7518 §3.2 requires a key at least as long as the
/// hash output (48 bytes for HS384, 64 for HS512).
pub(crate) const MIN_SECRET_LEN: usize = 32;

/// Everything that can go wrong while using a session.
///
/// It implements [`ResponseError`](actix_web::ResponseError), so `?` works in handlers: the client gets a bare
/// `500 Internal Server Error` (no details, which could help an attacker) and the full
/// message is logged with `tracing` at error level. A misconfiguration (no [`Session`](crate::Session)
/// or `Login` app data, a revocation store without a lifetime, two configs) is also printed
/// to stderr, once per kind, when no `tracing` subscriber is installed; in debug builds its
/// body names the problem and the fix.
///
/// ```
/// use jwt_session::{Session, SessionError};
///
/// let err = Session::try_new("too short").unwrap_err();
/// assert!(matches!(err, SessionError::SecretTooShort { len: 9, min: 32, .. }));
/// assert!(err.to_string().contains("at least 32 bytes"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The secret given to [`Session::try_new`](crate::Session::try_new) is too short to be safe.
    #[error(
        "the session secret is {len} bytes long, but {algorithm} needs at least {min} bytes \
         (RFC 7518 §3.2); generate one with `openssl rand -base64 {min}` and pass it to Session::new"
    )]
    SecretTooShort {
        /// Length of the rejected secret in bytes.
        len: usize,
        /// The shortest secret the algorithm accepts.
        min: usize,
        /// The HMAC algorithm, as JWT headers name it.
        algorithm: &'static str,
    },

    /// The handler runs in an `App` that has no [`Session`](crate::Session) configured.
    #[error(
        "no session configuration for this request: register one with \
         `App::new().app_data(Session::new(secret))`"
    )]
    MissingConfig,

    /// An axum extractor ran in a router without the session layer, which loads the
    /// config and writes the cookie on the response.
    #[error(
        "no session layer for this request: add one with \
         `Router::new().route(..).layer(SessionLayer::new(session))` \
         (jwt_session::axum::SessionLayer)"
    )]
    MissingLayer,

    /// A `Session` and a different `web::Data<Session>` are both visible to the handler.
    ///
    /// actix finds the innermost registration of each form but cannot say which of the two
    /// is more inner, and guessing could let an outer config govern a scope that registered
    /// its own.
    #[error(
        "two session configurations are visible to this handler: one registered as \
         `.app_data(Session)` (cookie `{plain_cookie}`) and one as `.app_data(web::Data<Session>)` \
         (cookie `{data_cookie}`), and actix cannot tell which is innermost; register every \
         session config the same way, for example always as `.app_data(Session::new(..))`"
    )]
    AmbiguousConfig {
        /// Cookie name of the config registered as a plain `Session`.
        plain_cookie: String,
        /// Cookie name of the config registered as `web::Data<Session>`.
        data_cookie: String,
    },

    /// A layer built on sessions (a login extractor, say) runs in an `App` that lacks the
    /// app data it needs.
    #[error("no `{type_name}` registered for this request: {fix}")]
    MissingAppData {
        /// The type that was looked for.
        type_name: &'static str,
        /// How to register it.
        fix: &'static str,
    },

    /// A value passed to [`SessionDict::insert`](crate::SessionDict::insert) cannot be turned into JSON.
    #[error("the value for session key `{key}` cannot be stored as JSON")]
    Serialize {
        /// The key being inserted.
        key: String,
        /// What serde_json reported.
        #[source]
        source: serde_json::Error,
    },

    /// The data of a [`TypedSession`](crate::TypedSession) does not serialize to a JSON
    /// object, so it cannot be the claims of a token.
    #[error(
        "a TypedSession's data must serialize to a JSON object (a struct or a map), not {found}"
    )]
    NotAnObject {
        /// The JSON type it serialized to.
        found: &'static str,
    },

    /// A stored value does not have the type asked of [`SessionDict::get`](crate::SessionDict::get).
    #[error("the value of session key `{key}` does not have the requested type")]
    Deserialize {
        /// The key being read.
        key: String,
        /// What serde_json reported.
        #[source]
        source: serde_json::Error,
    },

    /// The key is a registered JWT claim and the value would make the token invalid.
    #[error("session key `{key}` is a registered JWT claim: {reason}")]
    RegisteredClaim {
        /// The refused key.
        key: String,
        /// Why the value cannot be stored, and what to do instead.
        reason: &'static str,
    },

    /// The encoded `Set-Cookie` header would be larger than browsers keep.
    ///
    /// Nothing is sent: the previous cookie, if any, stays as it was.
    #[error(
        "the session cookie would be {size} bytes, over the {limit}-byte limit browsers keep \
         (larger cookies are dropped silently); store less in the session, for example keep \
         large data server-side and put only its id in the session"
    )]
    TooLarge {
        /// Size of the whole `Set-Cookie` value (name, token and attributes) in bytes.
        size: usize,
        /// The limit it exceeded.
        limit: usize,
    },

    /// The `Set-Cookie` header could not be built (the cookie attributes are checked when the
    /// [`Session`](crate::Session) is built, so this points at a bug).
    #[error("the session cookie is not a valid header value")]
    InvalidHeader(#[source] Box<dyn StdError + Send + Sync>),

    /// The cookie attributes break a rule browsers enforce by dropping the cookie silently
    /// (the `__Host-`/`__Secure-` prefixes, `Partitioned`).
    #[error("session cookie {cookie:?}: {problem}")]
    CookieRule {
        /// The cookie's name.
        cookie: String,
        /// The rule broken, and the fix.
        problem: &'static str,
    },

    /// A key does not fit the algorithm, or an option does not fit the kind of key.
    #[error("session key configuration: {0}")]
    KeyMismatch(&'static str),

    /// [`save`](crate::SessionDict::save) on a config made with
    /// [`Session::verify_only`](crate::Session::verify_only), which holds no signing key.
    #[error(
        "this service only verifies sessions (Session::verify_only) and cannot save them; \
         save on the service that holds the private key"
    )]
    ReadOnly,

    /// A revocation store is configured without a lifetime: deny-list entries could never
    /// expire. See [`Session::revocation`](crate::Session::revocation).
    #[error(
        "Session::revocation needs a lifetime, since deny-list entries live until the tokens \
         they deny expire: add .max_age(..), .idle_timeout(..) or .absolute_timeout(..) to the config"
    )]
    RevocationNeedsLifetime,

    /// [`Session::revoke_user`](crate::Session::revoke_user) (or "log out everywhere") on a
    /// config without a revocation store: nothing could reach the user's other sessions.
    #[error(
        "logging a user out everywhere needs a revocation store shared by every instance: \
         add .revocation(MemoryStore::new()) (one process) or .revocation(RedisStore::open(url)?) \
         (many) and a lifetime such as .max_age(..) to the config"
    )]
    NoRevocationStore,

    /// The revocation store failed or did not answer in time.
    #[error("the revocation store did not answer")]
    Store(#[source] StoreError),

    /// [`Session::load`](crate::Session::load) on a config with a revocation store that must
    /// be awaited (Redis), for a request whose session was not loaded yet.
    #[error(
        "this session config checks a revocation store, which needs an async load: \
         use `Session::load_async(&req).await` instead of `Session::load(&req)`"
    )]
    NeedsAsyncLoad,

    /// [`Session::apply`](crate::Session::apply) on a response that logs a session out
    /// (a `delete()` or a renewed save) under a revocation store that must be awaited
    /// (Redis): the logout could not be recorded before the response, so it is refused.
    #[error(
        "this response logs a session out under a revocation store that must be awaited: \
         use `Session::apply_async(&req, response).await` instead of `Session::apply`, so the \
         old cookie is revoked before the response leaves"
    )]
    NeedsAsyncApply,

    /// A save through a session handle loaded before the session was replaced in the same
    /// request (by `login_user`, `logout_user`, or another handle's `renew()`/`delete()`):
    /// what the handle holds belongs to the old session, so saving it could undo a logout.
    #[error(
        "this session handle was loaded before the session was replaced in this request \
         (a login, a logout, or renew()/delete() on another handle); saving it could bring \
         the old session back, so it is refused: load the session again \
         (Session::load_async(&req).await) after the login or logout, and save that"
    )]
    SessionReplaced,
    /// An encrypted session could not be encrypted: the operating system's random number
    /// generator failed. Nothing is sent.
    #[error("the session could not be encrypted: {0}")]
    Encryption(&'static str),

    /// The JWT library failed to sign the token.
    #[error("the session token could not be signed")]
    Signing(#[source] jsonwebtoken::errors::Error),
}

impl SessionError {
    /// The message followed by every source in the chain, each said once:
    /// `outer: cause: root cause`.
    ///
    /// ```
    /// use jwt_session::{Session, SessionDict, SessionError};
    ///
    /// let err = SessionError::Deserialize {
    ///     key: "n".to_owned(),
    ///     source: serde_json::from_str::<u8>("300").unwrap_err(),
    /// };
    /// assert_eq!(
    ///     err.report(),
    ///     "the value of session key `n` does not have the requested type: \
    ///      invalid value: integer `300`, expected u8 at line 1 column 3"
    /// );
    /// # let _ = (Session::new([7u8; 32]), std::marker::PhantomData::<SessionDict>);
    /// ```
    #[must_use]
    pub fn report(&self) -> String {
        let mut report = self.to_string();
        let mut source = std::error::Error::source(self);
        while let Some(cause) = source {
            report.push_str(": ");
            report.push_str(&cause.to_string());
            source = cause.source();
        }
        report
    }
}

/// A revocation store could not answer: unreachable, timed out, or refused the command.
///
/// ```
/// let err = jwt_session::revocation::StoreError::new(std::io::Error::other("connection refused"));
/// assert_eq!(err.to_string(), "revocation store: connection refused");
/// ```
#[derive(Debug)]
pub struct StoreError(Box<dyn StdError + Send + Sync>);

impl StoreError {
    /// Wraps the backend's error.
    pub fn new(source: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        Self(source.into())
    }

    pub(crate) fn timeout(after: Duration) -> Self {
        Self::new(format!("no answer within {after:?}"))
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "revocation store: {}", self.0)
    }
}

impl StdError for StoreError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.0.source()
    }
}
