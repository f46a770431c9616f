//! The time a config reads: the system clock, or with the `test-util` feature a
//! `TestClock` that tests move by hand.

#[cfg(feature = "test-util")]
use std::sync::Arc;
#[cfg(feature = "test-util")]
use std::sync::atomic::{AtomicU64, Ordering};
#[cfg(feature = "test-util")]
use std::time::Duration;
use std::time::{SystemTime, UNIX_EPOCH};

/// A clock for tests, so that expiry, idle re-issue and absolute timeouts can be tested
/// without sleeping. Give it to [`Session::clock`](crate::Session::clock); every clone
/// shares one time, which only [`advance`](TestClock::advance) and
/// [`set`](TestClock::set) change.
///
/// A token is refused only once its lifetime *and* the config's leeway (30 s of tolerated
/// clock skew by default) have passed; `Session::past_leeway` says how far to move.
///
/// ```
/// use std::time::Duration;
/// use actix_web::{App, HttpResponse, test, web};
/// use jwt_session::test::TestClock;
/// use jwt_session::{Session, SessionDict, SessionError, with_session};
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
/// # actix_web::rt::System::new().block_on(async {
/// let clock = TestClock::new();
/// let config = Session::new([7u8; 32]).max_age(Duration::from_secs(60)).clock(clock.clone());
/// let app = test::init_service(
///     App::new()
///         .app_data(config.clone())
///         .route("/login", web::post().to(login))
///         .route("/", web::get().to(whoami)),
/// )
/// .await;
/// let res = test::call_service(&app, test::TestRequest::post().uri("/login").to_request()).await;
/// let cookie = res.response().cookies().next().unwrap().into_owned();
///
/// clock.advance(Duration::from_secs(59));
/// let req = test::TestRequest::get().cookie(cookie.clone()).to_request();
/// assert_eq!(test::call_and_read_body(&app, req).await, "ann");
///
/// // Past max_age and the leeway (30 s by default): `Session::past_leeway` computes it.
/// clock.set(clock.now() - Duration::from_secs(59));
/// clock.advance(config.past_leeway(Duration::from_secs(60)));
/// let req = test::TestRequest::get().cookie(cookie).to_request();
/// assert_eq!(test::call_and_read_body(&app, req).await, "");
/// # });
/// ```
#[cfg(feature = "test-util")]
#[derive(Clone, Debug)]
pub struct TestClock {
    /// Microseconds since the Unix epoch.
    micros: Arc<AtomicU64>,
}

#[cfg(feature = "test-util")]
impl TestClock {
    /// A clock that starts at the current time and stands still until moved.
    #[must_use]
    pub fn new() -> Self {
        Self::at(SystemTime::now())
    }

    /// A clock that stands at `time` until moved.
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    ///
    /// let clock = jwt_session::test::TestClock::at(UNIX_EPOCH + Duration::from_secs(1_000));
    /// assert_eq!(clock.now(), UNIX_EPOCH + Duration::from_secs(1_000));
    /// ```
    #[must_use]
    pub fn at(time: SystemTime) -> Self {
        let clock = Self {
            micros: Arc::new(AtomicU64::new(0)),
        };
        clock.set(time);
        clock
    }

    /// Moves the clock forward by `by`.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let clock = jwt_session::test::TestClock::new();
    /// let before = clock.now();
    /// clock.advance(Duration::from_secs(90));
    /// assert_eq!(clock.now().duration_since(before).unwrap(), Duration::from_secs(90));
    /// ```
    pub fn advance(&self, by: Duration) {
        let by = u64::try_from(by.as_micros()).unwrap_or(u64::MAX);
        self.micros.fetch_add(by, Ordering::SeqCst);
    }

    /// Sets the clock to `time` (times before 1970 count as 1970).
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    ///
    /// let clock = jwt_session::test::TestClock::new();
    /// clock.set(UNIX_EPOCH + Duration::from_secs(5));
    /// assert_eq!(clock.now(), UNIX_EPOCH + Duration::from_secs(5));
    /// ```
    pub fn set(&self, time: SystemTime) {
        let micros = time.duration_since(UNIX_EPOCH).map_or(0, |since| {
            u64::try_from(since.as_micros()).unwrap_or(u64::MAX)
        });
        self.micros.store(micros, Ordering::SeqCst);
    }

    /// The time the clock shows.
    ///
    /// ```
    /// let clock = jwt_session::test::TestClock::new();
    /// assert_eq!(clock.now(), clock.clone().now(), "clones share one time");
    /// ```
    #[must_use]
    pub fn now(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_micros(self.micros.load(Ordering::SeqCst))
    }
}

#[cfg(feature = "test-util")]
impl Default for TestClock {
    fn default() -> Self {
        Self::new()
    }
}

/// The clock of a config: the system's, unless a test set a [`TestClock`].
#[derive(Clone, Debug, Default)]
pub(crate) struct Clock {
    #[cfg(feature = "test-util")]
    test: Option<TestClock>,
}

impl Clock {
    /// A clock that reads `test` instead of the system clock.
    #[cfg(feature = "test-util")]
    pub(crate) fn test(test: TestClock) -> Self {
        Self { test: Some(test) }
    }

    fn now_time(&self) -> SystemTime {
        #[cfg(feature = "test-util")]
        if let Some(test) = &self.test {
            return test.now();
        }
        SystemTime::now()
    }

    /// Seconds since the Unix epoch.
    pub(crate) fn now(&self) -> f64 {
        self.now_time()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |since| since.as_secs_f64())
    }

    /// Milliseconds since the Unix epoch.
    pub(crate) fn now_ms(&self) -> u64 {
        self.now_time()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| {
                u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
            })
    }

    /// Whether time moves on its own (a test clock only moves when told).
    pub(crate) fn is_real(&self) -> bool {
        #[cfg(feature = "test-util")]
        return self.test.is_none();
        #[cfg(not(feature = "test-util"))]
        true
    }
}
