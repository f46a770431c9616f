//! Where logins send the browser: to the login page with `next`, and back to a `next`
//! that is proven to stay on this site.

use std::borrow::Cow;

use percent_encoding::{
    AsciiSet, CONTROLS, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode,
};

/// The value of `next`: everything but unreserved characters and `/` is encoded (Microdot
/// keeps `/` as is too).
const NEXT_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/');

/// What a path needs encoded to be a valid `Location` value; `%` stays, as existing escapes
/// must reach the browser unchanged.
const LOCATION: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'<')
    .add(b'>')
    .add(b'`')
    .add(b'{')
    .add(b'}');

/// How many rounds of percent-decoding a `next` is checked through: a proxy, a framework or
/// a browser may each decode once more.
const DECODE_ROUNDS: usize = 4;

/// `login_url` with the request's path and query (`target`) as `next`.
pub(crate) fn to_login(login_url: &str, target: &str) -> String {
    let separator = if login_url.contains('?') { '&' } else { '?' };
    format!(
        "{login_url}{separator}next={}",
        utf8_percent_encode(target, NEXT_VALUE)
    )
}

/// The `next` parameter of the request's `query`, when it is a path on this site.
pub(crate) fn next_of(query: &str) -> Option<String> {
    let (_, next) = form_urlencoded::parse(query.as_bytes()).find(|(name, _)| name == "next")?;
    let safe = safe_next(&next);
    if safe.is_none() {
        tracing::info!(next = &*next, "refusing a `next` that could leave the site");
    }
    safe
}

/// `next` ready for `Location` when it is a same-site path, else `None`.
///
/// Microdot accepts anything starting with `/`, so `//evil.example` (a scheme-relative URL)
/// and `/\evil.example` (which browsers read the same way) are open redirects. Here the
/// value must start with a single `/` and hold no backslash or control character (browsers
/// drop tabs and newlines, so `/\t/evil` is `//evil`), through every round of
/// percent-decoding, so `%2F%2Fevil.example` and `%252F%252F…` fail too.
///
/// Each round is checked after its dot segments are resolved, as a browser resolves them:
/// `/.//evil.example` and `/a/..//evil.example` are the path `//evil.example`, which turns
/// into another site as soon as anything redirects relative to it. The value returned is
/// the resolved path (with the query and fragment as given), so the browser never sees a
/// dot segment.
pub(crate) fn safe_next(next: &str) -> Option<String> {
    let mut round = Cow::Borrowed(next);
    for _ in 0..DECODE_ROUNDS {
        if !is_local_path(&round) {
            return None;
        }
        let decoded = percent_decode_str(&round).decode_utf8_lossy().into_owned();
        if decoded == round {
            let (path, rest) = split_path(next);
            let resolved = remove_dot_segments(path) + rest;
            return Some(utf8_percent_encode(&resolved, LOCATION).to_string());
        }
        round = Cow::Owned(decoded);
    }
    // Still changing after every round: nothing legitimate is encoded that deep.
    None
}

/// Whether `target` stays a path on this site once a browser resolves it.
fn is_local_path(target: &str) -> bool {
    if !target.starts_with('/') || target.chars().any(|c| c == '\\' || c.is_control()) {
        return false;
    }
    let (path, _) = split_path(target);
    !remove_dot_segments(path).starts_with("//")
}

/// The path of `target`, and its query and fragment (from the first `?` or `#`).
fn split_path(target: &str) -> (&str, &str) {
    target.split_at(target.find(['?', '#']).unwrap_or(target.len()))
}

/// RFC 3986 §5.2.4 on an absolute path, with the dot segments browsers also recognise
/// percent-encoded (`%2e`, the WHATWG URL standard), so that no encoding hides one.
fn remove_dot_segments(path: &str) -> String {
    let Some(segments) = path.strip_prefix('/') else {
        return path.to_owned();
    };
    let segments: Vec<&str> = segments.split('/').collect();
    let mut kept: Vec<&str> = Vec::with_capacity(segments.len());
    for (i, segment) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        let dots = dot_segment(segment);
        if dots == Some(2) {
            kept.pop();
        }
        match dots {
            // `/a/.` and `/a/b/..` resolve to a directory: `/a/`.
            Some(_) if last => kept.push(""),
            Some(_) => {}
            None => kept.push(segment),
        }
    }
    format!("/{}", kept.join("/"))
}

/// `Some(1)` for `.`, `Some(2)` for `..`, either spelled with `%2e` in any case.
fn dot_segment(segment: &str) -> Option<u8> {
    let lower = segment.to_ascii_lowercase();
    match lower.as_str() {
        "." | "%2e" => Some(1),
        ".." | ".%2e" | "%2e." | "%2e%2e" => Some(2),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_site_paths_pass_and_are_location_safe() {
        assert_eq!(safe_next("/").as_deref(), Some("/"));
        assert_eq!(
            safe_next("/a/b?x=1&y=%2F%2F#top").as_deref(),
            Some("/a/b?x=1&y=%2F%2F#top")
        );
        assert_eq!(safe_next("/q?a b").as_deref(), Some("/q?a%20b"));
        assert_eq!(safe_next("/café").as_deref(), Some("/caf%C3%A9"));
        assert_eq!(safe_next("/a%252Fb").as_deref(), Some("/a%252Fb"));
    }

    #[test]
    fn anything_that_can_leave_the_site_is_refused() {
        for next in [
            "",
            "evil.example",
            "//evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "https://evil.example",
            "javascript:alert(1)",
            "/\t/evil.example",
            "/\n/evil.example",
            "%2F%2Fevil.example",
            "/%2Fevil.example",
            "/%5Cevil.example",
            "%2F%5Cevil.example",
            "https%3A%2F%2Fevil.example",
            "%252F%252Fevil.example",
            "/%252F%252Fevil.example",
            "/%09/evil.example",
            "/%25252525252F",
        ] {
            assert_eq!(safe_next(next), None, "{next:?}");
        }
    }

    #[test]
    fn dot_segments_that_resolve_to_another_site_are_refused() {
        for next in [
            "/.//evil.example",
            "/a/..//evil.example",
            "/%2e%2e/%2e%2e//evil.example",
            "/%2E%2E/%2E%2E//evil.example",
            "/%2e%2E/.%2e/%2E.//evil.example",
            "/%2e//evil.example",
            "/..//evil.example",
            "/a/b/../..//evil.example",
            "/a/../..//evil.example?x=1",
            "/.//evil.example#top",
            "/.%2f/evil.example",
            "/.%2F%2Fevil.example",
            "/a/..%2f%2fevil.example",
            "/%2e%2f/evil.example",
            "/%252e%252e/%252e%252e//evil.example",
            "/%252e%252f%252fevil.example",
            "/./\\evil.example",
            "/.%5C/evil.example",
            "/a/..%5Cevil.example",
            "/.%255C/evil.example",
        ] {
            assert_eq!(safe_next(next), None, "{next:?}");
        }
    }

    #[test]
    fn dot_segments_that_stay_on_the_site_resolve_to_the_path() {
        for (next, location) in [
            ("/orders?page=2", "/orders?page=2"),
            ("/a/./b", "/a/b"),
            ("/a/../b", "/b"),
            ("/a/%2E%2e/b", "/b"),
            ("/../../b", "/b"),
            ("/a/b/..", "/a/"),
            ("/a/.", "/a/"),
            ("/.", "/"),
            ("/..", "/"),
            ("/a/..?next=//x", "/?next=//x"),
            ("/a/b#../..//x", "/a/b#../..//x"),
            ("/...", "/..."),
            ("/.a/..b", "/.a/..b"),
            ("/a//b", "/a//b"),
        ] {
            assert_eq!(safe_next(next).as_deref(), Some(location), "{next:?}");
        }
    }
}
