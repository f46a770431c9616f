//! Fuzzes the session cookie decoder on the default config, signed and encrypted. The first
//! byte picks what the rest is:
//! 0: a raw cookie value;
//! 1: a payload, validly signed, so the fuzzer reaches the JSON and claim checks;
//! 2: a header, validly signed over a fixed payload, so it reaches the header checks;
//! 3: a raw cookie value, for the default config made `encrypted()`;
//! 4: a plaintext, validly encrypted, so it reaches the JSON and claim checks;
//! 5: a protected header, validly encrypted over a fixed plaintext.
#![no_main]

use std::sync::LazyLock;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jwt_session::Session;
use jwt_session_fuzz::{FIXTURES, SECRET};
use libfuzzer_sys::fuzz_target;

static ENCRYPTED: LazyLock<Session> = LazyLock::new(|| Session::new(SECRET).encrypted());

/// A compact JWE of `plaintext` under the documented key derivation of `SECRET`.
fn encrypted(header: &[u8], plaintext: &[u8]) -> String {
    use aes_gcm::aead::AeadInPlace;
    use aes_gcm::{Aes256Gcm, KeyInit};
    let mut key = [0; 32];
    hkdf::Hkdf::<sha2::Sha256>::new(None, SECRET)
        .expand(b"jwt-session A256GCM", &mut key)
        .unwrap();
    let header = URL_SAFE_NO_PAD.encode(header);
    let iv = [7; 12];
    let mut buffer = plaintext.to_vec();
    let tag = Aes256Gcm::new(&key.into())
        .encrypt_in_place_detached(&iv.into(), header.as_bytes(), &mut buffer)
        .unwrap();
    let [iv, ciphertext, tag] =
        [&iv[..], &buffer, &tag[..]].map(|bytes| URL_SAFE_NO_PAD.encode(bytes));
    format!("{header}..{iv}.{ciphertext}.{tag}")
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let default = &FIXTURES[0];
    let text = || std::str::from_utf8(rest).ok().map(str::to_owned);
    let (session, token) = match mode % 6 {
        0 => (&default.session, text()),
        1 => (&default.session, Some(default.sign(br#"{"alg":"HS256","typ":"JWT"}"#, rest))),
        2 => (&default.session, Some(default.sign(rest, br#"{"user":"joe"}"#))),
        3 => (&*ENCRYPTED, text()),
        4 => (&*ENCRYPTED, Some(encrypted(br#"{"alg":"dir","enc":"A256GCM"}"#, rest))),
        _ => (&*ENCRYPTED, Some(encrypted(rest, br#"{"user":"joe"}"#))),
    };
    if let Some(token) = token {
        let _ = jwt_session_runtime::__internals::verify_cookie_value(session, &token);
    }
});
