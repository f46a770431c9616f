//! Fuzzes the session cookie decoder on the default config. The first byte picks what the
//! rest is:
//! 0: a raw cookie value;
//! 1: a payload, validly signed, so the fuzzer reaches the JSON and claim checks;
//! 2: a header, validly signed over a fixed payload, so it reaches the header checks.
#![no_main]

use jwt_session_fuzz::FIXTURES;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let default = &FIXTURES[0];
    let token = match mode % 3 {
        0 => match std::str::from_utf8(rest) {
            Ok(text) => text.to_owned(),
            Err(_) => return,
        },
        1 => default.sign(br#"{"alg":"HS256","typ":"JWT"}"#, rest),
        _ => default.sign(rest, br#"{"user":"joe"}"#),
    };
    let _ = jwt_session_runtime::__internals::verify_cookie_value(&default.session, &token);
});
