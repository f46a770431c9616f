//! Fuzzes the search for the session cookie in the request's `Cookie` headers. The input
//! is split on `\n` into header lines (lines that are not valid header values are
//! dropped, as the HTTP parser would refuse them). The first byte picks the cookie name.
//!
//! Beyond "no panic" it checks what any answer must satisfy: a found value lies inside
//! one header line and holds no `;`; it then goes through verification.
#![no_main]

use actix_web::http::header::{COOKIE, HeaderMap, HeaderValue};
use jwt_session::Session;
use jwt_session_fuzz::SECRET;
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;

static CONFIGS: LazyLock<[Session; 2]> = LazyLock::new(|| {
    [
        Session::new(SECRET),
        Session::new(SECRET).cookie_name("__Host-session"),
    ]
});

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let session = &CONFIGS[usize::from(pick % 2)];
    let mut headers = HeaderMap::new();
    for line in rest.split(|&b| b == b'\n') {
        if let Ok(value) = HeaderValue::from_bytes(line) {
            headers.append(COOKIE, value);
        }
    }
    let lines: Vec<&[u8]> = headers.get_all(COOKIE).map(|line| line.as_bytes()).collect();
    let Some(found) = jwt_session_runtime::__internals::find_session_cookie(session, &lines)
    else {
        return;
    };
    let inside = headers.get_all(COOKIE).any(|line| {
        let line = line.as_bytes().as_ptr_range();
        let found = found.as_bytes().as_ptr_range();
        line.start <= found.start && found.end <= line.end
    });
    assert!(
        inside,
        "the value {found:?} is not a slice of any Cookie line"
    );
    assert!(!found.contains(';'), "the value {found:?} spans two pairs");
    let _ = jwt_session_runtime::__internals::verify_cookie_value(session, found);
});
