//! A minimal browser cookie jar (RFC 6265 path matching and removal), so path tests check
//! what a browser would send rather than only the attributes.

use actix_web::cookie::Cookie;
use actix_web::dev::ServiceResponse;

#[derive(Default)]
pub struct Jar {
    cookies: Vec<Cookie<'static>>,
}

impl Jar {
    /// Stores or removes what `res` sets, as a browser does.
    pub fn update<B>(&mut self, res: &ServiceResponse<B>) {
        for cookie in super::set_cookies(res) {
            let cookie = Cookie::parse(cookie).unwrap();
            let path = cookie.path().unwrap_or("/").to_owned();
            self.cookies
                .retain(|c| !(c.name() == cookie.name() && c.path().unwrap_or("/") == path));
            let removed = cookie
                .max_age()
                .is_some_and(|age| age.is_zero() || age.is_negative());
            if !removed {
                self.cookies.push(cookie);
            }
        }
    }

    /// The `Cookie` header a browser sends for `request_path`, longest paths first.
    pub fn header_for(&self, request_path: &str) -> Option<String> {
        let mut matching: Vec<_> = self
            .cookies
            .iter()
            .filter(|c| path_matches(c.path().unwrap_or("/"), request_path))
            .collect();
        matching.sort_by_key(|c| std::cmp::Reverse(c.path().unwrap_or("/").len()));
        let pairs: Vec<_> = matching
            .iter()
            .map(|c| format!("{}={}", c.name(), c.value()))
            .collect();
        (!pairs.is_empty()).then(|| pairs.join("; "))
    }
}

/// RFC 6265 §5.1.4.
fn path_matches(cookie_path: &str, request_path: &str) -> bool {
    request_path == cookie_path
        || (request_path.starts_with(cookie_path)
            && (cookie_path.ends_with('/') || request_path[cookie_path.len()..].starts_with('/')))
}
