//! A minimal browser cookie jar (RFC 6265 path matching and removal), so path tests check
//! what a browser would send rather than only the attributes.

use actix_web::cookie::Cookie;
use actix_web::dev::ServiceResponse;
use actix_web::http::header::{self, HeaderMap};

#[derive(Default)]
pub struct Jar {
    cookies: Vec<Cookie<'static>>,
}

impl Jar {
    /// Stores or removes what `res` sets, as a browser does.
    pub fn update<B>(&mut self, res: &ServiceResponse<B>) {
        self.update_from(res.headers());
    }

    /// Stores or removes what these response headers set.
    pub fn update_from(&mut self, headers: &HeaderMap) {
        for cookie in headers.get_all(header::SET_COOKIE) {
            self.store(cookie.to_str().unwrap());
        }
    }

    /// Stores or removes what one `Set-Cookie` value sets.
    pub fn store(&mut self, set_cookie: &str) {
        {
            let cookie = Cookie::parse(set_cookie.to_owned()).unwrap();
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

    /// Puts a cookie in the jar by hand, as an attacker editing their own browser would.
    pub fn set(&mut self, name: &str, value: &str) {
        let mut cookie = Cookie::new(name.to_owned(), value.to_owned());
        cookie.set_path("/");
        self.cookies.retain(|c| c.name() != name);
        self.cookies.push(cookie);
    }

    /// Forgets every cookie called `name`, as closing the browser forgets session cookies.
    pub fn remove(&mut self, name: &str) {
        self.cookies.retain(|c| c.name() != name);
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
