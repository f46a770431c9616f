//! The session cookie's attributes, the rules browsers enforce on them, the `Set-Cookie`
//! values prepared from them once per configuration (size checked after encoding), and
//! the `Cookie` header parser.

use std::fmt::Write as _;
use std::time::Duration;

use cookie::{Cookie, SameSite, time};

use crate::error::SessionError;

/// Browsers drop `Set-Cookie` values larger than this (RFC 6265 §6.1 minimum they must keep).
pub(crate) const MAX_SET_COOKIE: usize = 4096;

/// The attributes of the session cookie, as configured on `Session`.
#[derive(Clone, Debug)]
pub(crate) struct CookieSettings {
    pub(crate) name: String,
    pub(crate) path: String,
    pub(crate) domain: Option<String>,
    pub(crate) secure: bool,
    pub(crate) http_only: bool,
    pub(crate) same_site: SameSite,
    pub(crate) partitioned: bool,
    /// Prepared by `refresh` from the fields above, so a save only appends the token.
    prepared: Prepared,
}

/// The parts of `Set-Cookie` that do not change from one response to the next.
#[derive(Clone, Debug)]
struct Prepared {
    /// Everything after `name=value`: `; HttpOnly; SameSite=Lax; Secure; Path=/`…
    attributes: String,
    /// The whole removal cookie.
    removal: String,
}

impl Default for CookieSettings {
    /// The secure defaults: `session`, `Path=/`, `Secure`, `HttpOnly`, `SameSite=Lax`.
    fn default() -> Self {
        let mut settings = Self {
            name: String::from("session"),
            path: String::from("/"),
            domain: None,
            secure: true,
            http_only: true,
            same_site: SameSite::Lax,
            partitioned: false,
            prepared: Prepared {
                attributes: String::new(),
                removal: String::new(),
            },
        };
        settings.refresh();
        settings
    }
}

impl CookieSettings {
    /// Why browsers would refuse this cookie, or `None` when they accept it: the
    /// `__Host-` and `__Secure-` name prefixes (RFC 6265bis §4.1.3) and `Partitioned`
    /// (CHIPS) carry rules that browsers enforce by dropping the cookie silently.
    pub(crate) fn browser_problem(&self) -> Option<&'static str> {
        let name = self.name.as_bytes();
        let has_prefix = |prefix: &str| {
            name.len() >= prefix.len()
                && name[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
        };
        if has_prefix("__Host-") {
            if !self.secure {
                return Some("a `__Host-` cookie must be Secure: drop `.secure(false)`");
            }
            if self.path != "/" {
                return Some("a `__Host-` cookie must have `Path=/`: drop `.path(..)`");
            }
            if self.domain.is_some() {
                return Some("a `__Host-` cookie must have no `Domain`: drop `.domain(..)`");
            }
        }
        if has_prefix("__Secure-") && !self.secure {
            return Some("a `__Secure-` cookie must be Secure: drop `.secure(false)`");
        }
        if self.partitioned && !self.secure {
            return Some("a `Partitioned` cookie must be Secure: drop `.secure(false)`");
        }
        None
    }

    /// The cookie for `value` with every configured attribute, as the `cookie` crate (actix's
    /// and axum-extra's) writes it; the source of the prepared attributes.
    fn cookie<'c>(&'c self, value: &'c str) -> Cookie<'c> {
        let mut cookie = Cookie::build(self.name.as_str(), value)
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

    /// Prepares the unchanging parts of `Set-Cookie` after a change.
    pub(crate) fn refresh(&mut self) {
        // This cookie crate version predates CHIPS, so `Partitioned` is appended here.
        let partitioned = if self.partitioned {
            "; Partitioned"
        } else {
            ""
        };
        let empty = self.cookie("").to_string();
        let mut attributes = empty
            .strip_prefix(&format!("{}=", self.name))
            .unwrap_or_default()
            .to_owned();
        attributes.push_str(partitioned);
        // The cookie that tells the browser to forget the session: same name, path and
        // domain, an empty value, `Max-Age=0` and `Expires` in 1970.
        let mut removal = self.cookie("");
        removal.set_max_age(time::Duration::ZERO);
        removal.set_expires(time::OffsetDateTime::UNIX_EPOCH);
        let removal = format!("{removal}{partitioned}");
        self.prepared = Prepared {
            attributes,
            removal,
        };
    }

    /// The `Set-Cookie` value carrying `token`, every configured attribute and `max_age`.
    pub(crate) fn set_cookie_value(&self, token: &str, max_age: Option<Duration>) -> String {
        const MAX_AGE: &str = "; Max-Age=";
        let attributes = &self.prepared.attributes;
        let max_age = max_age.map(|max_age| seconds(max_age).whole_seconds());
        let max_age_len = max_age.map_or(0, |secs| MAX_AGE.len() + decimal_len(secs));
        // Exactly sized: the header value takes the string over without another allocation
        // only when it is full.
        let mut value = String::with_capacity(
            self.name.len() + 1 + token.len() + attributes.len() + max_age_len,
        );
        value.push_str(&self.name);
        value.push('=');
        value.push_str(token);
        value.push_str(attributes);
        if let Some(secs) = max_age {
            value.push_str(MAX_AGE);
            // Writing to a `String` cannot fail.
            let _ = write!(value, "{secs}");
        }
        value
    }

    /// The `Set-Cookie` value carrying `token`, refused when browsers would drop it: every
    /// cookie the library sets (the session, a layer's side token) is built and checked
    /// here, after encoding. Every part is visible ASCII (the builder checks the attributes,
    /// tokens are base64url), so any framework takes it as a header value.
    pub(crate) fn set_cookie(
        &self,
        token: &str,
        max_age: Option<Duration>,
    ) -> Result<String, SessionError> {
        check_size(self.set_cookie_value(token, max_age), MAX_SET_COOKIE)
    }

    /// These settings under another cookie name: the same path, domain and flags, for a
    /// layer's side-token cookie.
    pub(crate) fn renamed(&self, name: &str) -> Self {
        let mut settings = self.clone();
        settings.name = String::from(name);
        settings.refresh();
        settings
    }

    /// The removal `Set-Cookie`, prepared once.
    pub(crate) fn removal(&self) -> String {
        self.prepared.removal.clone()
    }
}

/// `cookie`, refused when it is over `limit`.
pub(crate) fn check_size(cookie: String, limit: usize) -> Result<String, SessionError> {
    if cookie.len() > limit {
        return Err(SessionError::TooLarge {
            size: cookie.len(),
            limit,
        });
    }
    Ok(cookie)
}

/// The length of `n` in decimal.
fn decimal_len(n: i64) -> usize {
    let digits = n
        .unsigned_abs()
        .checked_ilog10()
        .map_or(1, |log| log as usize + 1);
    digits + usize::from(n < 0)
}

fn seconds(duration: Duration) -> time::Duration {
    time::Duration::seconds(i64::try_from(duration.as_secs()).unwrap_or(i64::MAX))
}

/// `value`, refused when it holds `;` or a control character, which would break the
/// `Set-Cookie` header.
pub(crate) fn checked_attribute(what: &str, value: String) -> String {
    assert!(
        !value.chars().any(|c| c == ';' || c.is_control()),
        "Session::{what}: {value:?} holds `;` or a control character, which would break the Set-Cookie header"
    );
    value
}

/// `name`, refused unless it is an RFC 6265 token.
pub(crate) fn checked_name(name: String) -> String {
    let is_token_char = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    assert!(
        !name.is_empty() && name.chars().all(is_token_char),
        "Session::cookie_name: {name:?} is not a valid cookie name; use letters, digits and !#$%&'*+-.^_`|~"
    );
    name
}

/// The value of the first cookie called `name`. Parsed by hand, pair by pair, so that one
/// malformed or non-UTF-8 unrelated cookie cannot hide the session (actix's
/// `HttpRequest::cookies` fails as a whole). RFC 6265 quotes around the value are removed.
/// `lines` are the request's `Cookie` header values, as each adapter reads them.
pub(crate) fn find_cookie<'h>(
    lines: impl IntoIterator<Item = &'h [u8]>,
    name: &str,
) -> Option<&'h str> {
    let name = name.as_bytes();
    lines.into_iter().flat_map(cookie_pairs).find_map(|pair| {
        // Compare bytes first: only the matching pair is checked for UTF-8.
        let rest = pair
            .trim_ascii_start()
            .strip_prefix(name)?
            .trim_ascii_start()
            .strip_prefix(b"=")?;
        std::str::from_utf8(rest.trim_ascii()).ok().map(unquote)
    })
}

/// The `;`-separated pairs of one `Cookie` line, split with a SIMD search.
fn cookie_pairs(line: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut start = 0;
    memchr::memchr_iter(b';', line)
        .chain(std::iter::once(line.len()))
        .map(move |end| {
            let pair = &line[start..end];
            start = end + 1;
            pair
        })
}

fn unquote(value: &str) -> &str {
    value
        .strip_prefix('"')
        .and_then(|inner| inner.strip_suffix('"'))
        .unwrap_or(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers<'a>(lines: &'a [&'a str]) -> impl Iterator<Item = &'a [u8]> + Clone {
        lines.iter().map(|line| line.as_bytes())
    }

    fn settings(change: impl FnOnce(&mut CookieSettings)) -> CookieSettings {
        let mut settings = CookieSettings::default();
        change(&mut settings);
        settings.refresh();
        settings
    }

    /// The prepared attributes write exactly what actix's cookie type writes.
    #[test]
    fn prepared_set_cookie_matches_the_cookie_builder() {
        let all = [
            CookieSettings::default(),
            settings(|s| {
                s.name = String::from("id");
                s.path = String::from("/app");
                s.domain = Some(String::from("example.com"));
                s.secure = false;
                s.http_only = false;
                s.same_site = SameSite::Strict;
            }),
        ];
        for settings in all {
            for secs in [None, Some(0), Some(9), Some(10), Some(600), Some(u64::MAX)] {
                let max_age = secs.map(Duration::from_secs);
                let mut expected = settings.cookie("a.b.c");
                if let Some(max_age) = max_age {
                    expected.set_max_age(seconds(max_age));
                }
                let expected = Cookie::parse(expected.to_string()).unwrap();
                let value = settings.set_cookie_value("a.b.c", max_age);
                assert_eq!(value.len(), value.capacity(), "exactly sized: {value}");
                let ours = Cookie::parse(value).unwrap();
                assert_eq!(ours.to_string(), expected.to_string());
            }
            let removal = Cookie::parse(settings.removal()).unwrap();
            assert_eq!(
                (removal.value(), removal.max_age()),
                ("", Some(time::Duration::ZERO))
            );
            assert_eq!(removal.path(), Some(settings.path.as_str()));
        }
    }

    #[test]
    fn partitioned_is_written_on_set_and_removal() {
        let partitioned = settings(|s| s.partitioned = true);
        assert!(
            partitioned
                .set_cookie_value("t", None)
                .ends_with("; Partitioned")
        );
        let removal = partitioned.removal();
        assert!(removal.contains("; Partitioned"));
        assert!(
            !CookieSettings::default()
                .set_cookie_value("t", None)
                .contains("Partitioned")
        );
    }

    #[test]
    fn prefix_rules_follow_the_browsers() {
        let host = |change: fn(&mut CookieSettings)| {
            settings(|s| {
                s.name = String::from("__Host-session");
                change(s);
            })
            .browser_problem()
        };
        assert_eq!(host(|_| {}), None);
        assert!(host(|s| s.secure = false).unwrap().contains("Secure"));
        assert!(
            host(|s| s.path = String::from("/app"))
                .unwrap()
                .contains("Path=/")
        );
        assert!(
            host(|s| s.domain = Some(String::from("a.example")))
                .unwrap()
                .contains("Domain")
        );
        let secure = |secure| {
            settings(|s| {
                s.name = String::from("__secure-id");
                s.secure = secure;
                s.path = String::from("/app");
            })
            .browser_problem()
        };
        assert_eq!(secure(true), None, "only Secure is required of __Secure-");
        assert!(secure(false).is_some(), "prefixes match case-insensitively");
        assert!(
            settings(|s| {
                s.partitioned = true;
                s.secure = false;
            })
            .browser_problem()
            .is_some()
        );
    }

    #[test]
    fn finds_the_cookie_among_others_and_malformed_ones() {
        let map = headers(&["a=1; broken; session = tok ;b=2", "session=second"]);
        let non_utf8: &[u8] = b"theme=caf\xe9; session=\"tok\"";
        assert_eq!(
            find_cookie([non_utf8], "session"),
            Some("tok"),
            "a non-UTF-8 neighbour and quotes"
        );
        assert_eq!(find_cookie(map.clone(), "session"), Some("tok"));
        assert_eq!(find_cookie(map.clone(), "b"), Some("2"));
        assert_eq!(find_cookie(map, "sess"), None);
        assert_eq!(find_cookie(headers(&[]), "session"), None);
    }
}
