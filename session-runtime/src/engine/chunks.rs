//! Sessions over several cookies (`Session::max_chunks`): a token too long for one
//! `Set-Cookie` is split over `name.0`, `name.1`, … and joined back, in order, before it is
//! verified as one token. Every write clears every chunk this config could have written, so
//! no stale chunk survives a shrink, an unchunked write or a delete.

use std::borrow::Cow;
use std::time::Duration;

use crate::engine::cookie::{CookieSettings, MAX_SET_COOKIE, check_size};
use crate::error::SessionError;

/// The most cookies a session may take: about 20 KB of `Cookie` header. Proxies often cap a
/// request's headers near 8 KB (nginx's `large_client_header_buffers`), which two chunks
/// fill; more need the proxy raised.
pub(crate) const MAX_CHUNKS: usize = 5;

/// The `Set-Cookie` values of one response for one config: one, as without chunking, or
/// the chunks with the removals of every cookie the write left unused.
#[derive(Debug)]
pub(crate) enum SetCookies {
    One(String),
    Many(Vec<String>),
}

impl IntoIterator for SetCookies {
    type Item = String;
    type IntoIter = std::iter::Chain<std::option::IntoIter<String>, std::vec::IntoIter<String>>;

    fn into_iter(self) -> Self::IntoIter {
        match self {
            Self::One(one) => Some(one).into_iter().chain(Vec::new()),
            Self::Many(many) => None.into_iter().chain(many),
        }
    }
}

/// The chunk cookies of one config: none unless `max_chunks` is above 1.
#[derive(Clone, Debug, Default)]
pub(crate) struct Chunks {
    /// `name.0`, `name.1`, … with the session cookie's attributes.
    cookies: Vec<CookieSettings>,
}

impl Chunks {
    /// Up to `max` chunks of the session cookie `plain` (none when `max` is 1).
    pub(crate) fn new(plain: &CookieSettings, max: usize) -> Self {
        let cookies = if max > 1 {
            (0..max)
                .map(|index| plain.renamed(&format!("{}.{index}", plain.name)))
                .collect()
        } else {
            Vec::new()
        };
        Self { cookies }
    }

    /// How many cookies a session may take.
    pub(crate) fn max(&self) -> usize {
        self.cookies.len().max(1)
    }

    /// The `Set-Cookie` values that carry `token`: under the plain name when it fits, else
    /// in chunks; with chunking on, every cookie the write does not use is cleared.
    pub(crate) fn write(
        &self,
        plain: &CookieSettings,
        token: &str,
        max_age: Option<Duration>,
    ) -> Result<SetCookies, SessionError> {
        let whole = plain.set_cookie_value(token, max_age);
        if self.cookies.is_empty() {
            return check_size(whole, MAX_SET_COOKIE).map(SetCookies::One);
        }
        if whole.len() <= MAX_SET_COOKIE {
            let mut all = vec![whole];
            all.extend(self.cookies.iter().map(CookieSettings::removal));
            return Ok(SetCookies::Many(all));
        }
        self.write_chunks(plain, token, max_age)
    }

    fn write_chunks(
        &self,
        plain: &CookieSettings,
        token: &str,
        max_age: Option<Duration>,
    ) -> Result<SetCookies, SessionError> {
        // Every chunk's name has one digit, so each one's `Set-Cookie` costs the same.
        let overhead = self.cookies[0].set_cookie_value("", max_age).len();
        let room = MAX_SET_COOKIE.saturating_sub(overhead).max(1);
        let needed = token.len().div_ceil(room);
        if needed > self.cookies.len() {
            return Err(SessionError::TooLarge {
                size: token.len() + needed * overhead,
                limit: self.cookies.len() * MAX_SET_COOKIE,
            });
        }
        // Tokens are ASCII (base64url and dots), so any byte offset is a char boundary.
        let mut pieces = token
            .as_bytes()
            .chunks(room)
            .map(|piece| std::str::from_utf8(piece).unwrap_or_default());
        let mut all: Vec<String> = self
            .cookies
            .iter()
            .map(|chunk| match pieces.next() {
                Some(piece) => chunk.set_cookie_value(piece, max_age),
                None => chunk.removal(),
            })
            .collect();
        all.push(plain.removal());
        Ok(SetCookies::Many(all))
    }

    /// The removals of the session cookie and of every chunk.
    pub(crate) fn removals(&self, plain: &CookieSettings) -> SetCookies {
        if self.cookies.is_empty() {
            return SetCookies::One(plain.removal());
        }
        let mut all = vec![plain.removal()];
        all.extend(self.cookies.iter().map(CookieSettings::removal));
        SetCookies::Many(all)
    }

    /// Whether `name` is the session cookie's or one of its chunks'.
    pub(crate) fn is_session_cookie(&self, plain: &str, name: &[u8]) -> bool {
        name == plain.as_bytes() || self.cookies.iter().any(|c| name == c.name.as_bytes())
    }

    /// The request's session token: the plain cookie, or the chunks joined in order. A gap,
    /// or a plain cookie beside chunks, is refused (`Err` says why): joining around it could
    /// hand back an older session. Only this config's chunk names are read, however many
    /// `name.N` cookies the request carries.
    pub(crate) fn read<'r>(
        &self,
        plain: &str,
        lookup: impl Fn(&str) -> Option<&'r str>,
    ) -> Result<Option<Cow<'r, str>>, &'static str> {
        // An emptied cookie is no chunk (a client that keeps removals); the plain one is
        // read as it came, so an empty or broken one is refused as before.
        let present = |name: &str| lookup(name).filter(|value| !value.is_empty());
        let whole = lookup(plain);
        let Some((first, rest)) = self.cookies.split_first() else {
            return Ok(whole.map(Cow::Borrowed));
        };
        let Some(first) = present(&first.name) else {
            if rest.iter().any(|chunk| present(&chunk.name).is_some()) {
                return Err("a chunk came without the first one");
            }
            return Ok(whole.map(Cow::Borrowed));
        };
        if whole.is_some_and(|whole| !whole.is_empty()) {
            return Err("the plain cookie came beside chunks");
        }
        let mut joined = String::from(first);
        let mut ended = false;
        for chunk in rest {
            match present(&chunk.name) {
                Some(_) if ended => return Err("the chunks have a gap"),
                Some(piece) => joined.push_str(piece),
                None => ended = true,
            }
        }
        Ok(Some(Cow::Owned(joined)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(max: usize) -> (CookieSettings, Chunks) {
        let plain = CookieSettings::default();
        let chunks = Chunks::new(&plain, max);
        (plain, chunks)
    }

    fn values(set_cookies: SetCookies) -> Vec<String> {
        set_cookies.into_iter().collect()
    }

    #[test]
    fn a_small_token_is_one_plain_cookie_and_clears_the_chunks() {
        let (plain, off) = chunks(1);
        assert!(matches!(
            off.write(&plain, "a.b.c", None).unwrap(),
            SetCookies::One(_)
        ));
        let (plain, on) = chunks(3);
        let all = values(on.write(&plain, "a.b.c", None).unwrap());
        assert!(all[0].starts_with("session=a.b.c;"), "{all:?}");
        for (i, removal) in all[1..].iter().enumerate() {
            assert!(removal.starts_with(&format!("session.{i}=;")), "{removal}");
            assert!(removal.contains("Max-Age=0"), "{removal}");
        }
        assert_eq!(all.len(), 4);
    }

    #[test]
    fn a_long_token_is_split_within_the_browser_limit_and_joined_back() {
        let (plain, on) = chunks(3);
        let token = "x".repeat(9000);
        let max_age = Some(Duration::from_secs(3600));
        let all = values(on.write(&plain, &token, max_age).unwrap());
        assert_eq!(all.len(), 4, "three chunks and the plain removal");
        assert!(all.iter().all(|c| c.len() <= MAX_SET_COOKIE));
        assert!(all[3].starts_with("session=;"));
        let value = |name: &str| {
            all.iter()
                .find_map(|c| c.strip_prefix(&format!("{name}=")))
                .map(|rest| rest.split(';').next().unwrap())
        };
        let joined = on.read("session", value).unwrap().unwrap();
        assert_eq!(joined, token);
        assert!(matches!(
            on.write(&plain, &"x".repeat(13000), max_age),
            Err(SessionError::TooLarge { limit: 12288, .. })
        ));
    }

    #[test]
    fn gaps_and_a_plain_cookie_beside_chunks_are_refused() {
        let (_, on) = chunks(3);
        let jar = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| pairs.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
        };
        assert!(
            on.read("session", jar(&[("session.0", "a"), ("session.2", "c")]))
                .is_err()
        );
        assert!(on.read("session", jar(&[("session.1", "b")])).is_err());
        assert!(
            on.read("session", jar(&[("session", "p"), ("session.0", "a")]))
                .is_err()
        );
        assert_eq!(
            on.read("session", jar(&[("session", "p"), ("session.7", "x")]))
                .unwrap(),
            Some(Cow::Borrowed("p")),
            "names past the configured range are not read"
        );
        assert_eq!(
            on.read("session", jar(&[("session.0", "a"), ("session.1", "b")]))
                .unwrap()
                .as_deref(),
            Some("ab")
        );
    }
}
