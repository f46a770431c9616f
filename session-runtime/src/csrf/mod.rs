//! CSRF protection from the `Sec-Fetch-Site` and `Origin` headers: Microdot's `CSRF`
//! extension. The rules are here, written once; each adapter runs them as its
//! framework's middleware.

mod pattern;

use std::fmt;
use std::sync::Arc;

use pattern::PathPattern;

/// The header browsers send with where a request comes from.
pub(crate) const SEC_FETCH_SITE: &str = "sec-fetch-site";

/// The answer to a checked request depends on these headers, so caches must key on them.
pub(crate) const VARY_ON: [&str; 2] = ["Sec-Fetch-Site", "Origin"];

/// What the rules say of one request.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum CsrfVerdict {
    /// Not a request the rules check (a safe method, an exempt path).
    Unchecked,
    /// Checked, and it passed: the response varies on [`VARY_ON`].
    Passed,
    /// Checked and refused: answer `403 Forbidden` with the refusal, varying on [`VARY_ON`].
    Refused(Refusal),
}

/// Refuses cross-site requests that change state, from the `Sec-Fetch-Site` header browsers
/// send and, for browsers too old to send it, the `Origin` header: Microdot's `CSRF`.
///
/// Requests with methods other than `GET`, `HEAD` and `OPTIONS` are checked, except on
/// [exempt](Csrf::exempt) paths; [`protect`](Csrf::protect) adds paths whose safe methods
/// are checked too. A checked request passes when
///
/// - `Sec-Fetch-Site` is `same-origin` or `none` (typed in the address bar),
/// - or it is `same-site` and [subdomains are allowed](Csrf::allow_subdomains),
/// - or `Sec-Fetch-Site` is absent and `Origin` is one of the
///   [allowed origins](Csrf::allowed_origins),
/// - or neither header is present (not a browser, or a very old one).
///
/// Anything else gets `403 Forbidden`, with a body and a log line (`tracing`, warn level)
/// that say which header failed. Responses to checked requests carry
/// `Vary: Sec-Fetch-Site, Origin` (Microdot 2.7.0 adds `Sec-Fetch-Site` when it let one
/// pass).
///
/// ```
/// use actix_web::{App, HttpResponse, test, web};
/// use jwt_session::csrf::Csrf;
///
/// # actix_web::rt::System::new().block_on(async {
/// let app = test::init_service(
///     App::new()
///         .wrap(Csrf::new().exempt("/webhooks/{source}"))
///         .route("/transfer", web::post().to(HttpResponse::Ok))
///         .route("/webhooks/{source}", web::post().to(HttpResponse::Ok)),
/// ).await;
/// let attack = test::TestRequest::post().uri("/transfer").insert_header(("sec-fetch-site", "cross-site"));
/// let res = test::call_service(&app, attack.to_request()).await;
/// assert_eq!(res.status(), 403);
/// assert_eq!(test::read_body(res).await, "Forbidden: Sec-Fetch-Site is cross-site");
///
/// let hook = test::TestRequest::post().uri("/webhooks/ci").insert_header(("sec-fetch-site", "cross-site"));
/// assert_eq!(test::call_service(&app, hook.to_request()).await.status(), 200);
/// # });
/// ```
#[derive(Clone, Debug, Default)]
pub struct Csrf {
    rules: Arc<Rules>,
}

#[derive(Clone, Debug)]
struct Rules {
    allowed_origins: Vec<String>,
    allow_subdomains: bool,
    protect_all: bool,
    exempt: Vec<PathPattern>,
    protected: Vec<PathPattern>,
}

impl Default for Rules {
    fn default() -> Self {
        Self {
            allowed_origins: Vec::new(),
            allow_subdomains: false,
            protect_all: true,
            exempt: Vec::new(),
            protected: Vec::new(),
        }
    }
}

impl Csrf {
    /// Protects every unsafe method on every path, trusting no origin but the app's own.
    ///
    /// ```
    /// let app = actix_web::App::new().wrap(jwt_session::csrf::Csrf::new());
    /// # drop(app);
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Origins (`scheme://host[:port]`) whose requests pass when the browser sends `Origin`
    /// but no `Sec-Fetch-Site`; list the app's own origin to serve such browsers. Microdot
    /// takes them from its CORS settings.
    ///
    /// ```
    /// let csrf = jwt_session::csrf::Csrf::new().allowed_origins(["https://shop.example"]);
    /// # drop(csrf);
    /// ```
    #[must_use]
    pub fn allowed_origins<I, S>(self, origins: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.with(|rules| rules.allowed_origins = origins.into_iter().map(Into::into).collect())
    }

    /// Trusts requests from subdomains: `Sec-Fetch-Site: same-site`, and origins that are
    /// subdomains of an allowed one with the same scheme (default `false`).
    ///
    /// ```
    /// let csrf = jwt_session::csrf::Csrf::new().allow_subdomains(true);
    /// # drop(csrf);
    /// ```
    #[must_use]
    pub fn allow_subdomains(self, allow: bool) -> Self {
        self.with(|rules| rules.allow_subdomains = allow)
    }

    /// When `false`, only [`protect`](Csrf::protect)ed paths are checked (default `true`).
    ///
    /// ```
    /// let csrf = jwt_session::csrf::Csrf::new().protect_all(false).protect("/account/delete");
    /// # drop(csrf);
    /// ```
    #[must_use]
    pub fn protect_all(self, protect_all: bool) -> Self {
        self.with(|rules| rules.protect_all = protect_all)
    }

    /// Leaves requests to `pattern` unchecked, whatever their method: webhooks and APIs
    /// authenticated by other means. `pattern` is a route pattern such as `/hooks/{name}`
    /// (`{name}` is one path segment, a last `{name}*` the rest of the path), matched
    /// against the full request path as the router sees it (so inside a
    /// `web::scope("/api")` write `/api/hooks/{name}`; on axum the full path too, also for a
    /// layer on a router mounted with `Router::nest`).
    ///
    /// # Panics
    ///
    /// On a pattern with a regular expression (`{id:\\d+}`), which this matcher does not
    /// read: exempting more than meant would be a hole.
    ///
    /// ```
    /// let csrf = jwt_session::csrf::Csrf::new().exempt("/api/{tail}*");
    /// # drop(csrf);
    /// ```
    #[must_use]
    pub fn exempt(self, pattern: &str) -> Self {
        let pattern = PathPattern::new(pattern);
        self.with(|rules| rules.exempt.push(pattern))
    }

    /// Checks requests to `pattern` (as in [`exempt`](Csrf::exempt)) whatever their method,
    /// `GET` included: for routes that change state on a safe method.
    ///
    /// ```
    /// let csrf = jwt_session::csrf::Csrf::new().protect("/unsubscribe");
    /// # drop(csrf);
    /// ```
    #[must_use]
    pub fn protect(self, pattern: &str) -> Self {
        let pattern = PathPattern::new(pattern);
        self.with(|rules| rules.protected.push(pattern))
    }

    fn with(mut self, change: impl FnOnce(&mut Rules)) -> Self {
        change(Arc::make_mut(&mut self.rules));
        self
    }
}

/// Why a request was refused: the header that failed.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    SecFetchSite(String),
    Origin(String),
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SecFetchSite(value) => write!(f, "Sec-Fetch-Site is {value}"),
            Self::Origin(origin) => write!(f, "Origin {origin} is not an allowed origin"),
        }
    }
}

impl Rules {
    fn applies_to(&self, method: &str, path: &str) -> bool {
        let matches = |patterns: &[PathPattern]| patterns.iter().any(|p| p.matches(path));
        let safe = matches!(method, "GET" | "HEAD" | "OPTIONS");
        (self.protect_all && !safe && !matches(&self.exempt)) || matches(&self.protected)
    }

    fn check(&self, sec_fetch_site: Option<&str>, origin: Option<&str>) -> Result<(), Refusal> {
        match (sec_fetch_site, origin) {
            (Some("same-origin" | "none"), _) => Ok(()),
            (Some("same-site"), _) if self.allow_subdomains => Ok(()),
            (Some(other), _) => Err(Refusal::SecFetchSite(other.to_owned())),
            (None, Some(origin)) if self.origin_allowed(origin) => Ok(()),
            (None, Some(origin)) => Err(Refusal::Origin(origin.to_owned())),
            (None, None) => Ok(()),
        }
    }

    fn origin_allowed(&self, origin: &str) -> bool {
        self.allowed_origins.iter().any(|allowed| {
            origin == allowed || (self.allow_subdomains && is_subdomain_of(origin, allowed))
        })
    }
}

/// Whether `origin` is `scheme://anything.host` for `allowed` = `scheme://host`.
fn is_subdomain_of(origin: &str, allowed: &str) -> bool {
    let (Some((scheme, host)), Some((allowed_scheme, allowed_host))) =
        (origin.split_once("://"), allowed.split_once("://"))
    else {
        return false;
    };
    scheme == allowed_scheme
        && host
            .strip_suffix(allowed_host)
            .is_some_and(|sub| sub.len() > 1 && sub.ends_with('.'))
}

impl Csrf {
    /// What the rules say of a request with `method` to `path` (as the router matches it),
    /// with these `Sec-Fetch-Site` and `Origin` values (a value that is not visible ASCII
    /// is passed as such a text and never passes).
    pub(crate) fn judge(
        &self,
        method: &str,
        path: &str,
        sec_fetch_site: Option<&str>,
        origin: Option<&str>,
    ) -> CsrfVerdict {
        if !self.rules.applies_to(method, path) {
            return CsrfVerdict::Unchecked;
        }
        match self.rules.check(sec_fetch_site, origin) {
            Ok(()) => CsrfVerdict::Passed,
            Err(refusal) => CsrfVerdict::Refused(refusal),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subdomains_match_on_a_label_boundary_and_the_scheme() {
        assert!(is_subdomain_of(
            "https://a.shop.example",
            "https://shop.example"
        ));
        assert!(is_subdomain_of(
            "https://x.a.shop.example",
            "https://shop.example"
        ));
        assert!(!is_subdomain_of(
            "https://evilshop.example",
            "https://shop.example"
        ));
        assert!(!is_subdomain_of(
            "http://a.shop.example",
            "https://shop.example"
        ));
        assert!(!is_subdomain_of(
            "https://.shop.example",
            "https://shop.example"
        ));
        assert!(!is_subdomain_of("null", "https://shop.example"));
    }
}
