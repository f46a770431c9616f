//! The attacker holds the cookie. Every hostile cookie below must come back as an empty
//! session with a 2xx status: no 5xx, no panic, no data.

use actix_web::http::header;
use actix_web::{App, test, web};
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{Value, json};

use crate::common::*;

fn hs(alg: Algorithm, claims: Value) -> String {
    foreign_token(&claims, alg, SECRET.as_bytes())
}

fn signed(claims: Value) -> String {
    hs(Algorithm::HS256, claims)
}

/// A token whose header is `header` and whose signature is valid for it under our secret.
fn signed_with_header(header: Value, claims: Value) -> String {
    forge(
        &header,
        &claims,
        Algorithm::HS256,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
}

/// Replaces the header segment of `token`, keeping its payload and signature.
fn with_header(token: &str, header: &str) -> String {
    let (_, rest) = token.split_once('.').unwrap();
    format!(
        "{}.{rest}",
        b64_json(&serde_json::from_str(header).unwrap())
    )
}

fn with_raw_header(token: &str, encoded: &str) -> String {
    let (_, rest) = token.split_once('.').unwrap();
    format!("{encoded}.{rest}")
}

fn replace_segment(token: &str, index: usize, segment: &str) -> String {
    let mut parts: Vec<&str> = token.split('.').collect();
    parts[index] = segment;
    parts.join(".")
}

fn flip_char(segment: &str, at: usize) -> String {
    let mut chars: Vec<char> = segment.chars().collect();
    chars[at] = if chars[at] == 'A' { 'B' } else { 'A' };
    chars.into_iter().collect()
}

fn nested_array(depth: usize) -> Value {
    (0..depth).fold(json!(1), |inner, _| json!([inner]))
}

/// Each case is a whole `Cookie` header value.
fn hostile_cookies() -> Vec<(&'static str, String)> {
    let valid = signed(json!({"user": "joe"}));
    let [head, payload, signature]: [&str; 3] =
        valid.split('.').collect::<Vec<_>>().try_into().unwrap();
    let now = unix_now() as i64;
    let cookie = |token: String| format!("session={token}");
    vec![
        // -- tampering
        (
            "tampered header: typ changed",
            cookie(with_header(&valid, r#"{"alg":"HS256","typ":"JWS"}"#)),
        ),
        (
            "tampered header: kid added",
            cookie(with_header(
                &valid,
                r#"{"alg":"HS256","kid":"x","typ":"JWT"}"#,
            )),
        ),
        (
            "tampered payload: admin added",
            cookie(replace_segment(
                &valid,
                1,
                &b64_json(&json!({"user": "joe", "admin": true})),
            )),
        ),
        (
            "tampered payload: user changed",
            cookie(replace_segment(
                &valid,
                1,
                &b64_json(&json!({"user": "root"})),
            )),
        ),
        (
            "tampered signature: last char",
            cookie(replace_segment(
                &valid,
                2,
                &flip_char(signature, signature.len() - 1),
            )),
        ),
        (
            "tampered signature: first char",
            cookie(replace_segment(&valid, 2, &flip_char(signature, 0))),
        ),
        (
            "truncated signature",
            cookie(replace_segment(
                &valid,
                2,
                &signature[..signature.len() - 1],
            )),
        ),
        (
            "stripped signature, dot kept",
            cookie(format!("{head}.{payload}.")),
        ),
        (
            "stripped signature and dot",
            cookie(format!("{head}.{payload}")),
        ),
        (
            "signature of another token",
            cookie(replace_segment(
                &valid,
                2,
                signed(json!({"user": "root"})).split('.').nth(2).unwrap(),
            )),
        ),
        // -- alg none, every spelling
        (
            "alg none",
            cookie(format!(
                "{}.{payload}.",
                b64_json(&json!({"alg": "none", "typ": "JWT"}))
            )),
        ),
        (
            "alg None",
            cookie(format!("{}.{payload}.", b64_json(&json!({"alg": "None"})))),
        ),
        (
            "alg NONE",
            cookie(format!("{}.{payload}.", b64_json(&json!({"alg": "NONE"})))),
        ),
        (
            "alg nOnE",
            cookie(format!("{}.{payload}.", b64_json(&json!({"alg": "nOnE"})))),
        ),
        (
            "alg none keeping the HS256 signature",
            cookie(with_header(&valid, r#"{"alg":"none","typ":"JWT"}"#)),
        ),
        (
            "alg empty string",
            cookie(with_header(&valid, r#"{"alg":"","typ":"JWT"}"#)),
        ),
        (
            "alg missing",
            cookie(signed_with_header(json!({"typ": "JWT"}), json!({"u": 1}))),
        ),
        (
            "alg null",
            cookie(signed_with_header(json!({"alg": null}), json!({"u": 1}))),
        ),
        (
            "alg as a list",
            cookie(signed_with_header(
                json!({"alg": ["HS256"]}),
                json!({"u": 1}),
            )),
        ),
        (
            "alg lowercase hs256",
            cookie(signed_with_header(json!({"alg": "hs256"}), json!({"u": 1}))),
        ),
        (
            "alg with trailing space",
            cookie(signed_with_header(
                json!({"alg": "HS256 "}),
                json!({"u": 1}),
            )),
        ),
        // -- algorithm confusion
        (
            "HS384 signed with our HS256 secret",
            cookie(hs(Algorithm::HS384, json!({"u": 1}))),
        ),
        (
            "HS512 signed with our HS256 secret",
            cookie(hs(Algorithm::HS512, json!({"u": 1}))),
        ),
        (
            "RS256 header over an HMAC signature",
            cookie(with_header(&valid, r#"{"alg":"RS256","typ":"JWT"}"#)),
        ),
        (
            "ES256 header over an HMAC signature",
            cookie(with_header(&valid, r#"{"alg":"ES256","typ":"JWT"}"#)),
        ),
        (
            "EdDSA header over an HMAC signature",
            cookie(with_header(&valid, r#"{"alg":"EdDSA","typ":"JWT"}"#)),
        ),
        // -- wrong key
        (
            "signed with another secret",
            cookie(foreign_token(
                &json!({"u": 1}),
                Algorithm::HS256,
                b"not our secret but thirty-two bytes long",
            )),
        ),
        (
            "signed with an empty secret",
            cookie(forge(
                &json!({"alg": "HS256", "typ": "JWT"}),
                &json!({"u": 1}),
                Algorithm::HS256,
                &EncodingKey::from_secret(b""),
            )),
        ),
        // -- time claims
        (
            "expired an hour ago",
            cookie(signed(json!({"u": 1, "exp": now - 3600}))),
        ),
        (
            "expired at the epoch",
            cookie(signed(json!({"u": 1, "exp": 0}))),
        ),
        (
            "expired, negative exp",
            cookie(signed(json!({"u": 1, "exp": -1e300}))),
        ),
        (
            "not before: an hour from now",
            cookie(signed(json!({"u": 1, "nbf": now + 3600}))),
        ),
        (
            "issued an hour in the future",
            cookie(signed(json!({"u": 1, "iat": now + 3600}))),
        ),
        (
            "duplicate exp, signed, last one expired",
            cookie(sign_raw_payload(&format!(
                r#"{{"u":1,"exp":{},"exp":1}}"#,
                now + 3600
            ))),
        ),
        // -- claims of the wrong type (CVE-2026-25537 class)
        (
            "exp as a string",
            cookie(signed(json!({"u": 1, "exp": "99999999999"}))),
        ),
        ("exp null", cookie(signed(json!({"u": 1, "exp": null})))),
        ("exp true", cookie(signed(json!({"u": 1, "exp": true})))),
        (
            "exp as a list",
            cookie(signed(json!({"u": 1, "exp": [99999999999_i64]}))),
        ),
        (
            "exp as an object",
            cookie(signed(json!({"u": 1, "exp": {"$gt": 0}}))),
        ),
        (
            "exp beyond f64",
            cookie(sign_raw_payload(r#"{"u":1,"exp":1e400}"#)),
        ),
        (
            "nbf as a string",
            cookie(signed(json!({"u": 1, "nbf": "0"}))),
        ),
        (
            "iat as a string",
            cookie(signed(json!({"u": 1, "iat": "0"}))),
        ),
        (
            "session_start as a string",
            cookie(signed(json!({"u": 1, "session_start": "0"}))),
        ),
        (
            "sub as a number (PyJWT rejects it)",
            cookie(signed(json!({"u": 1, "sub": 1}))),
        ),
        ("jti as a number", cookie(signed(json!({"u": 1, "jti": 7})))),
        (
            "iss as a list",
            cookie(signed(json!({"u": 1, "iss": ["a"]}))),
        ),
        (
            "aud present (PyJWT rejects it)",
            cookie(signed(json!({"u": 1, "aud": "other-app"}))),
        ),
        // -- payload shape
        ("payload is a list", cookie(signed(json!([1, 2, 3])))),
        ("payload is a string", cookie(signed(json!("user")))),
        ("payload is a number", cookie(signed(json!(42)))),
        ("payload is null", cookie(signed(json!(null)))),
        (
            "payload with trailing garbage",
            cookie(sign_raw_payload(r#"{"u":1}x"#)),
        ),
        (
            "payload not UTF-8",
            cookie(sign_raw_payload_bytes(b"{\"u\":\"\xff\xfe\"}")),
        ),
        (
            "deeply nested JSON (200 levels)",
            cookie(signed(json!({"u": nested_array(200)}))),
        ),
        // -- header shape
        (
            "header is a list",
            cookie(with_raw_header(&valid, &b64_json(&json!(["HS256"])))),
        ),
        (
            "header with crit",
            cookie(signed_with_header(
                json!({"alg": "HS256", "crit": ["exp"]}),
                json!({"u": 1}),
            )),
        ),
        (
            "header with b64 false",
            cookie(signed_with_header(
                json!({"alg": "HS256", "b64": false}),
                json!({"u": 1}),
            )),
        ),
        (
            "header kid not a string",
            cookie(signed_with_header(
                json!({"alg": "HS256", "kid": 1}),
                json!({"u": 1}),
            )),
        ),
        // -- encoding
        (
            "bad base64 in the header",
            cookie(replace_segment(&valid, 0, "@@@")),
        ),
        (
            "bad base64 in the payload",
            cookie(replace_segment(&valid, 1, "e30*")),
        ),
        (
            "bad base64 in the signature",
            cookie(replace_segment(&valid, 2, "!!!!")),
        ),
        (
            "standard base64 alphabet in the signature",
            cookie(replace_segment(
                &valid,
                2,
                &format!("{}+/", signature.replace('-', "+").replace('_', "/")),
            )),
        ),
        (
            "padded payload",
            cookie(replace_segment(&valid, 1, &format!("{payload}=="))),
        ),
        ("extra fourth segment", cookie(format!("{valid}.extra"))),
        (
            "five segments, JWE-shaped",
            cookie(format!("{head}.{payload}.a.b.{signature}")),
        ),
        (
            "whitespace inside the token",
            cookie(format!("{head}. {payload}.{signature}")),
        ),
        ("only dots", cookie("..".to_owned())),
        ("empty value", cookie(String::new())),
        ("garbage", cookie("not a token at all".to_owned())),
        ("unicode garbage", cookie("ünïcödé.😀.☃".to_owned())),
        // -- size
        (
            "huge cookie of base64 (16 KiB)",
            cookie("A".repeat(16 * 1024)),
        ),
        (
            "validly signed but over 8 KiB",
            cookie(signed(json!({"blob": "x".repeat(9 * 1024)}))),
        ),
        // -- duplicates
        (
            "duplicate cookies, garbage first",
            format!("session=garbage; session={valid}"),
        ),
        (
            "duplicate cookies, both forged",
            format!(
                "session={}; session={}",
                with_header(&valid, r#"{"alg":"none"}"#),
                replace_segment(&valid, 2, "AAAA")
            ),
        ),
    ]
}

/// A token over an arbitrary payload text, validly signed with our secret.
fn sign_raw_payload(payload: &str) -> String {
    sign_raw_payload_bytes(payload.as_bytes())
}

fn sign_raw_payload_bytes(payload: &[u8]) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let signer = (jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.signer_factory)(
        &Algorithm::HS256,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap();
    let input = format!(
        "{}.{}",
        b64_json(&json!({"alg": "HS256", "typ": "JWT"})),
        b64.encode(payload)
    );
    let signature = b64.encode(signer.try_sign(input.as_bytes()).unwrap());
    format!("{input}.{signature}")
}

#[actix_web::test]
async fn every_hostile_cookie_is_an_empty_session() {
    // The rejection reasons are logged at debug level; `--nocapture` shows them.
    let _ = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_test_writer()
        .try_init();
    let app = test::init_service(
        App::new()
            .app_data(session())
            .route("/", web::get().to(echo_session)),
    )
    .await;

    // Control: the harness reads a valid cookie, so an empty body below means rejection.
    let control = signed(json!({"user": "joe"}));
    let res = send(
        &app,
        test::TestRequest::get()
            .uri("/")
            .insert_header((header::COOKIE, format!("session={control}"))),
    )
    .await;
    assert_eq!(test::read_body(res).await, r#"{"user":"joe"}"#);

    let cases = hostile_cookies();
    assert!(cases.len() >= 40, "the corpus has {} cases", cases.len());
    for (attack, cookie) in cases {
        let req = test::TestRequest::get()
            .uri("/")
            .insert_header((header::COOKIE, cookie));
        let res = send(&app, req).await;
        assert!(
            res.status().is_success(),
            "{attack}: status {}",
            res.status()
        );
        assert!(set_cookies(&res).is_empty(), "{attack}");
        assert_eq!(test::read_body(res).await, "{}", "{attack}");
    }
}
