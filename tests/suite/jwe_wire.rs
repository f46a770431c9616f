//! Known-answer tests for encrypted sessions against tokens produced by Python jwcrypto 1.6.1
//! (with cryptography 50.0.2), so the JWE format is checked against another implementation's
//! real bytes even where Python is absent. The vectors were made with a fixed IV:
//!
//! ```text
//! import base64, hashlib, hmac, json
//! from unittest import mock
//! from cryptography.hazmat.primitives import hashes
//! from cryptography.hazmat.primitives.kdf.hkdf import HKDF
//! from jwcrypto import jwa, jwe, jwk
//!
//! def key(secret):
//!     k = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
//!              info=b"jwt-session A256GCM").derive(secret.encode())
//!     return jwk.JWK(kty="oct", k=base64.urlsafe_b64encode(k).rstrip(b"=").decode())
//!
//! def kid(secret):  # jwt-session's key id, written while rotating
//!     tag = hmac.new(secret.encode(), b"jwt-session key id v1", hashlib.sha256).digest()[:9]
//!     return base64.urlsafe_b64encode(tag).rstrip(b"=").decode()
//!
//! def encrypt(plaintext, secret, header):
//!     token = jwe.JWE(plaintext, protected=header)
//!     with mock.patch.object(jwa, "_randombits", lambda bits: bytes(range(12))):
//!         token.add_recipient(key(secret))
//!     return token.serialize(compact=True)
//!
//! compact = lambda v, **kw: json.dumps(v, separators=(",", ":"), **kw).encode()
//! encrypt(compact({"a": 1}), SECRET, {"alg": "dir", "enc": "A256GCM"})  # and so on
//! ```
//! The live two-way suite against jwcrypto is in tests/interop_microdot.rs.

use actix_web::test as http;
use actix_web::{App, web};
use jwt_session::{Session, SessionError};
use jwt_session_runtime::__internals::encrypt_with_iv;
use serde_json::{Value, json};

use crate::common::*;

const OLD_SECRET: &str = "the secret before rotation, 32+ bytes long";
const IV: [u8; 12] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
/// `base64url(HKDF(SECRET))` as the `cryptography` package derives it.
const CONTENT_KEY: &str = "8zlDcc42YnUnhj_0uWk4fLw5Kj5v3FNEaQhhiKyDI2M";

/// `{"a": 1}`
const A1: &str =
    "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..AAECAwQFBgcICQoL.IJ8ohHKQwQ.XJk9Jf_vfZveFomOEwQYGw";
/// `{"list": [1, "two", {"x": []}], "n": 1.5, "name": "joe", "none": None, "ok": True}`
const MIXED: &str = "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..AAECAwQFBgcICQoL.IJ8lzzvVnkdv8uI_QQhvE5AnRp60I9J75AOqZ5duKL1aRMgoguMcnFEOslbSsG4_3BjGpTrC-kFz6MN4CWN2qat77FN70w.rKn7wYuSUpbCyDyTBDCC-w";
/// `{"user": "José \"q\" 😀"}` with `ensure_ascii=False`: raw UTF-8, as serde_json writes it.
const UNICODE_RAW: &str = "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..AAECAwQFBgcICQoL.IJ881S3TnkcWiaFu9tYgbZ4tOMS26Ra-GXz7.dNiz4_FmjKbgwRzZYANVCg";
/// The same with Python's default `\uXXXX` escapes (read only: we write raw UTF-8).
const UNICODE_ESCAPED: &str = "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..AAECAwQFBgcICQoL.IJ881S3TnkcWiaFuaQowAdllRLq0aNUEuQLzIcF_dtABFYE63KAM.ueQpxCO0QOl9AbHe0_9Ksw";
/// `{"a": 1}` with the header jwt-session writes while rotating: `"kid": kid(SECRET)`.
const ROTATING: &str = "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIiwia2lkIjoiSXk3blVJeWg3RVU2In0..AAECAwQFBgcICQoL.IJ8ohHKQwQ.qx715pUAX0Dac9cSkQZdTA";
/// `{"a": 1}` under `OLD_SECRET`, without `kid`.
const OLD: &str =
    "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..AAECAwQFBgcICQoL.1ZCVUrC8dA.bQnhIuoxHdS06vTwS8ZKGg";

fn encrypted() -> Session {
    session().encrypted()
}

fn rotating() -> Session {
    session().encrypted().previous_secrets([OLD_SECRET])
}

fn cases() -> [(&'static str, Value); 3] {
    [
        (A1, json!({"a": 1})),
        (
            MIXED,
            json!({"list": [1, "two", {"x": []}], "n": 1.5, "name": "joe", "none": null, "ok": true}),
        ),
        (UNICODE_RAW, json!({"user": "José \"q\" 😀"})),
    ]
}

#[test]
fn the_documented_key_derivation_matches_pythons() {
    use base64::Engine as _;
    let key = jwe::content_key(SECRET);
    assert_eq!(
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key),
        CONTENT_KEY
    );
}

#[test]
fn with_the_same_iv_our_tokens_are_jwcryptos_byte_for_byte() {
    for (vector, data) in cases() {
        let ours = encrypt_with_iv(&encrypted(), data.as_object().unwrap(), IV).unwrap();
        assert_eq!(ours, vector, "{data}");
    }
    let ours = encrypt_with_iv(&rotating(), json!({"a": 1}).as_object().unwrap(), IV).unwrap();
    assert_eq!(ours, ROTATING, "the kid header while rotating");
    // A signed config has no encrypted form.
    assert!(matches!(
        encrypt_with_iv(&session(), json!({}).as_object().unwrap(), IV),
        Err(SessionError::KeyMismatch(_))
    ));
}

async fn read(config: Session, token: &str) -> (Value, Vec<String>) {
    let app = http::init_service(
        App::new()
            .app_data(config)
            .route("/", web::get().to(echo_session)),
    )
    .await;
    read_session(&app, token).await
}

#[actix_web::test]
async fn jwcrypto_tokens_are_read() {
    let mut cases = cases().to_vec();
    cases.push((UNICODE_ESCAPED, json!({"user": "José \"q\" 😀"})));
    for (token, expected) in cases {
        assert_eq!(read(encrypted(), token).await, (expected, vec![]));
    }
    assert_eq!(read(rotating(), ROTATING).await, (json!({"a": 1}), vec![]));
    assert_eq!(
        read(rotating(), A1).await,
        (json!({"a": 1}), vec![]),
        "a kid-less token under the current secret"
    );
}

#[actix_web::test]
async fn a_token_under_a_previous_secret_is_read_and_re_encrypted() {
    assert_eq!(read(encrypted(), OLD).await.0, json!({}), "control");
    let (body, cookies) = read(rotating(), OLD).await;
    assert_eq!(body, json!({"a": 1}));
    let [cookie] = cookies.as_slice() else {
        panic!("one re-issued cookie: {cookies:?}")
    };
    let token = &token_of(cookie);
    assert!(
        token.starts_with(ROTATING.split('.').next().unwrap()),
        "re-issued under the current key, naming it: {token}"
    );
    assert_eq!(
        jwe::decrypt(token, SECRET).as_deref(),
        Some(&br#"{"a":1}"#[..])
    );
    assert_eq!(jwe::decrypt(token, OLD_SECRET), None);
}

#[actix_web::test]
async fn a_saved_session_is_a_compact_jwe_with_a_fresh_iv() {
    let app = http::init_service(
        App::new()
            .app_data(encrypted())
            .route("/save", web::post().to(save_user)),
    )
    .await;
    let mut ivs = Vec::new();
    for _ in 0..3 {
        let token = session_cookie(&send(&app, http::TestRequest::post().uri("/save")).await)
            .value()
            .to_owned();
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 5, "{token}");
        assert_eq!(parts[0], "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0");
        assert_eq!(parts[1], "", "dir has no encrypted key");
        assert_eq!(parts[2].len(), 16, "a 96-bit IV");
        assert_eq!(parts[4].len(), 22, "a 128-bit tag");
        assert_eq!(
            jwe::decrypt(&token, SECRET).as_deref(),
            Some(&br#"{"user":"joe"}"#[..])
        );
        ivs.push(parts[2].to_owned());
    }
    ivs.dedup();
    assert_eq!(ivs.len(), 3, "a fresh IV per token: {ivs:?}");
}
