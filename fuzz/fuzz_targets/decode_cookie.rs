//! Fuzzes the session cookie decoder. The first byte picks what the rest is:
//! 0: a raw cookie value;
//! 1: a payload, validly signed, so the fuzzer reaches the JSON and claim checks;
//! 2: a header, validly signed over a fixed payload, so it reaches the header checks.
#![no_main]

use std::sync::LazyLock;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER;
use jsonwebtoken::{Algorithm, EncodingKey};
use jwt_session::Session;
use libfuzzer_sys::fuzz_target;

const SECRET: &[u8] = b"fuzzing secret, at least thirty-two bytes";

static SESSION: LazyLock<Session> = LazyLock::new(|| Session::new(SECRET));

fn signed(header: &[u8], payload: &[u8]) -> String {
    let input = format!("{}.{}", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(payload));
    let signer = (DEFAULT_PROVIDER.signer_factory)(&Algorithm::HS256, &EncodingKey::from_secret(SECRET)).unwrap();
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signer.try_sign(input.as_bytes()).unwrap()))
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let token = match mode % 3 {
        0 => match std::str::from_utf8(rest) {
            Ok(text) => text.to_owned(),
            Err(_) => return,
        },
        1 => signed(br#"{"alg":"HS256","typ":"JWT"}"#, rest),
        _ => signed(rest, br#"{"user":"joe"}"#),
    };
    let _ = jwt_session_runtime::__internals::verify_cookie_value(&SESSION, &token);
});
