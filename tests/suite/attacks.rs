//! The attacker holds the cookie. Every hostile cookie below must come back as an empty
//! session with a 2xx status and no `Set-Cookie` (only a removal under `clear_invalid`):
//! no 5xx, no panic, no data, no re-issue. The corpus runs under every config of
//! `targets()`, each proven first by a control token that the same harness reads. Two of
//! them are encrypted (`Session::encrypted`): their valid tokens, and so every claim attack,
//! are sealed as JWE, and they get the JWE framing attacks; signed configs get those too.

use std::time::Duration;

use actix_web::cookie::Cookie;
use actix_web::{App, test, web};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use jwt_session::Session;
use serde_json::{Value, json};

use crate::common::*;

const PREVIOUS_SECRET: &str = "the previous test secret, thirty-two bytes or more";
const ED_PRIVATE: &str = include_str!("../keys/ed25519-private.pem");
const ED_PUBLIC: &str = include_str!("../keys/ed25519-public.pem");
const ES_PRIVATE: &str = include_str!("../keys/es256-private.pem");
const ES_PUBLIC: &str = include_str!("../keys/es256-public.pem");

const MAX_AGE: i64 = 2 * 3600;
const IDLE: i64 = 3600;
const ABSOLUTE: i64 = 86_400;
const TEN_YEARS: i64 = 10 * 365 * 86_400;

/// A config under attack, with the keys that sign valid tokens for it.
struct Target {
    name: &'static str,
    session: Session,
    alg: Algorithm,
    key: EncodingKey,
    /// A key the config still accepts (rotation) but no longer signs with.
    previous: Option<EncodingKey>,
    /// Whether max_age, idle and absolute timeouts are set, so tokens need their claims.
    lifetimes: bool,
    /// Whether a rejected cookie is answered with a removal cookie.
    clear_invalid: bool,
    /// Whether the config encrypts: tokens are then JWE under `SECRET` (and the previous
    /// secret), and `key` is unused.
    encrypted: bool,
}

/// The default config; lifetimes plus rotation; EdDSA; ES256; the default with `clear_invalid`.
fn targets() -> Vec<Target> {
    let hmac = |name, session, previous: Option<&str>, lifetimes, clear_invalid| Target {
        name,
        session,
        alg: Algorithm::HS256,
        key: EncodingKey::from_secret(SECRET.as_bytes()),
        previous: previous.map(|secret| EncodingKey::from_secret(secret.as_bytes())),
        lifetimes,
        clear_invalid,
        encrypted: false,
    };
    vec![
        hmac("default", session(), None, false, false),
        hmac(
            "lifetimes + rotation",
            lifetimes_and_rotation(),
            Some(PREVIOUS_SECRET),
            true,
            false,
        ),
        Target {
            name: "EdDSA",
            session: Session::from_pem(Algorithm::EdDSA, ED_PRIVATE, ED_PUBLIC).unwrap(),
            alg: Algorithm::EdDSA,
            key: EncodingKey::from_ed_pem(ED_PRIVATE.as_bytes()).unwrap(),
            previous: None,
            lifetimes: false,
            clear_invalid: false,
            encrypted: false,
        },
        Target {
            name: "ES256",
            session: Session::from_pem(Algorithm::ES256, ES_PRIVATE, ES_PUBLIC).unwrap(),
            alg: Algorithm::ES256,
            key: EncodingKey::from_ec_pem(ES_PRIVATE.as_bytes()).unwrap(),
            previous: None,
            lifetimes: false,
            clear_invalid: false,
            encrypted: false,
        },
        hmac(
            "default + clear_invalid",
            session().clear_invalid(true),
            None,
            false,
            true,
        ),
        Target {
            encrypted: true,
            ..hmac("encrypted", session().encrypted(), None, false, false)
        },
        Target {
            encrypted: true,
            ..hmac(
                "encrypted + lifetimes + rotation",
                lifetimes_and_rotation().encrypted(),
                Some(PREVIOUS_SECRET),
                true,
                false,
            )
        },
    ]
}

fn lifetimes_and_rotation() -> Session {
    let secs = |s: i64| Duration::from_secs(s as u64);
    session()
        .max_age(secs(MAX_AGE))
        .idle_timeout(secs(IDLE))
        .absolute_timeout(secs(ABSOLUTE))
        .previous_secrets([PREVIOUS_SECRET])
}

fn now() -> i64 {
    unix_now() as i64
}

fn alg_name(alg: Algorithm) -> String {
    serde_json::to_value(alg)
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned()
}

impl Target {
    /// The header this config writes (without `kid`).
    fn header(&self) -> Value {
        if self.encrypted {
            return json!({"alg": "dir", "enc": "A256GCM"});
        }
        json!({"alg": alg_name(self.alg), "typ": "JWT"})
    }

    /// `extra` over the claims a session valid right now carries under this config.
    fn live(&self, extra: Value) -> Value {
        let mut claims = if self.lifetimes {
            let now = now();
            json!({"iat": now, "session_start": now - 60, "exp": now + 600})
        } else {
            json!({})
        };
        let claims_map = claims.as_object_mut().unwrap();
        claims_map.extend(extra.as_object().unwrap().clone());
        claims
    }

    /// A token validly signed with this config's current key and header.
    fn sign(&self, claims: &Value) -> String {
        self.sign_with_header(&self.header(), claims)
    }

    fn sign_with_header(&self, header: &Value, claims: &Value) -> String {
        if self.encrypted {
            let plaintext = serde_json::to_vec(claims).unwrap();
            return jwe::encrypt_raw(&header.to_string(), &plaintext, SECRET);
        }
        low_s(forge(header, claims, self.alg, &self.key), self.alg)
    }

    /// A token over raw payload bytes, validly signed with this config's key and header.
    fn sign_raw(&self, payload: &[u8]) -> String {
        if self.encrypted {
            return jwe::encrypt_raw(jwe::HEADER, payload, SECRET);
        }
        let header = serde_json::to_vec(&self.header()).unwrap();
        low_s(forge_raw(&header, payload, self.alg, &self.key), self.alg)
    }

    fn sign_previous(&self, claims: &Value) -> String {
        let key = self
            .previous
            .as_ref()
            .expect("a config with a previous key");
        if self.encrypted {
            return jwe::encrypt(claims, PREVIOUS_SECRET);
        }
        forge(&self.header(), claims, self.alg, key)
    }
}

/// Replaces the header segment of `token`, keeping its payload and signature.
fn with_header(token: &str, header: &Value) -> String {
    replace_segment(token, 0, &b64_json(header))
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

/// The signature bytes of `token`.
fn signature_of(token: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD
        .decode(token.rsplit_once('.').unwrap().1)
        .unwrap()
}

fn with_signature(token: &str, signature: &[u8]) -> String {
    replace_segment(token, 2, &URL_SAFE_NO_PAD.encode(signature))
}

fn unhex(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

/// The order n of P-256, big-endian.
const P256_N: [u8; 32] = hex32("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");

/// The order L of the Ed25519 group, little-endian.
const ED25519_L: [u8; 32] =
    hex32("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010");

const fn hex_digit(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        _ => c - b'a' + 10,
    }
}

const fn hex32(hex: &str) -> [u8; 32] {
    let hex = hex.as_bytes();
    let mut out = [0; 32];
    let mut i = 0;
    while i < 32 {
        out[i] = hex_digit(hex[2 * i]) << 4 | hex_digit(hex[2 * i + 1]);
        i += 1;
    }
    out
}

/// n − s for a big-endian P-256 scalar s < n.
fn p256_negate(s: &[u8]) -> [u8; 32] {
    let mut out = [0; 32];
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let digit = i16::from(P256_N[i]) - i16::from(s[i]) - borrow;
        borrow = i16::from(digit < 0);
        out[i] = (digit + 256 * borrow) as u8;
    }
    out
}

/// The ES256 token with its signature `(r, s)` turned into `(r, n − s)`: plain ECDSA
/// accepts both forms.
fn high_s_twin(token: &str) -> String {
    let signature = signature_of(token);
    let s = p256_negate(&signature[32..]);
    with_signature(token, &[&signature[..32], &s[..]].concat())
}

/// `token` with its ES256 signature in low-S form (s ≤ n/2), the one form jwt-session
/// accepts; other algorithms' tokens are returned as they are.
fn low_s(token: String, alg: Algorithm) -> String {
    if alg != Algorithm::ES256 {
        return token;
    }
    let signature = signature_of(&token);
    let negated = p256_negate(&signature[32..]);
    if negated.as_slice() < &signature[32..] {
        high_s_twin(&token)
    } else {
        token
    }
}

/// The EdDSA token with `s` replaced by `s + L`: the same point equation holds, and only a
/// canonical-`s` check refuses it.
fn ed25519_s_plus_l(token: &str) -> String {
    let mut signature = signature_of(token);
    let mut carry = 0u16;
    for (byte, l) in signature[32..].iter_mut().zip(ED25519_L) {
        let sum = u16::from(*byte) + u16::from(l) + carry;
        *byte = sum as u8;
        carry = sum >> 8;
    }
    with_signature(token, &signature)
}

/// A key of the config's algorithm that is not the config's key (PKCS#8 DER, built from a
/// fixed private scalar).
fn another_key(alg: Algorithm) -> EncodingKey {
    const ED25519_PREFIX: &str = "302e020100300506032b657004220420";
    const P256_PREFIX: &str =
        "3041020100301306072a8648ce3d020106082a8648ce3d030107042730250201010420";
    let der = |prefix: &str| [unhex(prefix), vec![0x11; 32]].concat();
    match alg {
        Algorithm::EdDSA => EncodingKey::from_ed_der(&der(ED25519_PREFIX)),
        Algorithm::ES256 => EncodingKey::from_ec_der(&der(P256_PREFIX)),
        _ => EncodingKey::from_secret(b"not our secret but thirty-two bytes long"),
    }
}

/// Every hostile cookie for `t`, each a whole `Cookie` header value: the cases every
/// config must refuse, then those of its algorithm family and of its lifetimes.
fn hostile_cookies(t: &Target) -> Vec<(String, String)> {
    let mut cases = common_cases(t);
    cases.extend(if t.alg == Algorithm::HS256 {
        hmac_cases(t)
    } else {
        asymmetric_cases(t)
    });
    // The other kind of token: a valid one, and every JWE framing attack.
    let other_kind = if t.encrypted {
        foreign_token(
            &t.live(json!({"user": "joe"})),
            Algorithm::HS256,
            SECRET.as_bytes(),
        )
    } else {
        jwe::encrypt(&t.live(json!({"user": "joe"})), SECRET)
    };
    cases.push((
        "a valid token of the other kind (JWS/JWE)".into(),
        other_kind,
    ));
    cases.extend(jwe_cases());
    if t.lifetimes {
        cases.extend(lifetime_cases(t));
    }
    cases
        .into_iter()
        .map(|(name, value)| (name, format!("session={value}")))
        .chain(duplicate_cookie_cases(t))
        .collect()
}

/// A list of (case name, cookie value).
type Cases = Vec<(String, String)>;

fn common_cases(t: &Target) -> Cases {
    let valid = t.sign(&t.live(json!({"user": "joe"})));
    // A JWE has five segments: its cases below are still hostile, only less targeted.
    let segments: Vec<&str> = valid.split('.').collect();
    let (head, payload, signature) = (segments[0], segments[1], segments[segments.len() - 1]);
    let alg = alg_name(t.alg);
    let now = now();
    let live = |extra: Value| t.sign(&t.live(extra));
    let header = |extra: Value| {
        let mut header = json!({"alg": alg});
        header
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        header
    };
    let signed_header = |extra: Value| t.sign_with_header(&header(extra), &t.live(json!({"u": 1})));
    let mut cases: Vec<(String, String)> = vec![
        // -- tampering
        (
            "tampered header: typ changed".into(),
            with_header(&valid, &header(json!({"typ": "JWS"}))),
        ),
        (
            "tampered header: kid added".into(),
            with_header(&valid, &header(json!({"kid": "x", "typ": "JWT"}))),
        ),
        (
            "tampered payload: admin added".into(),
            replace_segment(
                &valid,
                1,
                &b64_json(&t.live(json!({"user": "joe", "admin": true}))),
            ),
        ),
        (
            "tampered payload: user changed".into(),
            replace_segment(&valid, 1, &b64_json(&t.live(json!({"user": "root"})))),
        ),
        (
            "tampered signature: last char".into(),
            replace_segment(&valid, 2, &flip_char(signature, signature.len() - 1)),
        ),
        (
            "tampered signature: first char".into(),
            replace_segment(&valid, 2, &flip_char(signature, 0)),
        ),
        (
            "truncated signature".into(),
            replace_segment(&valid, 2, &signature[..signature.len() - 1]),
        ),
        (
            "stripped signature, dot kept".into(),
            format!("{head}.{payload}."),
        ),
        (
            "stripped signature and dot".into(),
            format!("{head}.{payload}"),
        ),
        (
            "signature of another token".into(),
            replace_segment(
                &valid,
                2,
                live(json!({"user": "root"})).split('.').nth(2).unwrap(),
            ),
        ),
        (
            "all-zero signature (psychic signature)".into(),
            with_signature(&valid, &vec![0; signature_of(&valid).len()]),
        ),
        // -- alg none, every spelling
        (
            "alg none".into(),
            format!(
                "{}.{payload}.",
                b64_json(&json!({"alg": "none", "typ": "JWT"}))
            ),
        ),
        (
            "alg None".into(),
            format!("{}.{payload}.", b64_json(&json!({"alg": "None"}))),
        ),
        (
            "alg NONE".into(),
            format!("{}.{payload}.", b64_json(&json!({"alg": "NONE"}))),
        ),
        (
            "alg nOnE".into(),
            format!("{}.{payload}.", b64_json(&json!({"alg": "nOnE"}))),
        ),
        (
            "alg none keeping the signature".into(),
            with_header(&valid, &json!({"alg": "none", "typ": "JWT"})),
        ),
        // -- alg spellings, validly signed with the config's key
        (
            "alg empty string".into(),
            t.sign_with_header(&json!({"alg": "", "typ": "JWT"}), &t.live(json!({"u": 1}))),
        ),
        (
            "alg missing".into(),
            t.sign_with_header(&json!({"typ": "JWT"}), &t.live(json!({"u": 1}))),
        ),
        (
            "alg null".into(),
            t.sign_with_header(&json!({"alg": null}), &t.live(json!({"u": 1}))),
        ),
        (
            "alg as a list".into(),
            t.sign_with_header(&json!({"alg": [alg]}), &t.live(json!({"u": 1}))),
        ),
        (
            "alg lowercase".into(),
            t.sign_with_header(
                &json!({"alg": alg.to_lowercase()}),
                &t.live(json!({"u": 1})),
            ),
        ),
        (
            "alg with trailing space".into(),
            t.sign_with_header(&json!({"alg": format!("{alg} ")}), &t.live(json!({"u": 1}))),
        ),
        // -- typ: only JWT (any case) or none, validly signed
        (
            "typ at+jwt (an OAuth access token)".into(),
            signed_header(json!({"typ": "at+jwt"})),
        ),
        ("typ JWS".into(), signed_header(json!({"typ": "JWS"}))),
        ("typ JOSE".into(), signed_header(json!({"typ": "JOSE"}))),
        ("typ JWE".into(), signed_header(json!({"typ": "JWE"}))),
        (
            "typ JWT with a trailing space".into(),
            signed_header(json!({"typ": "JWT "})),
        ),
        ("typ empty string".into(), signed_header(json!({"typ": ""}))),
        ("typ null".into(), signed_header(json!({"typ": null}))),
        ("typ a number".into(), signed_header(json!({"typ": 1}))),
        ("typ a list".into(), signed_header(json!({"typ": ["JWT"]}))),
        // -- header shape, validly signed
        (
            "unknown kid".into(),
            signed_header(json!({"kid": "unknown", "typ": "JWT"})),
        ),
        (
            "empty kid".into(),
            signed_header(json!({"kid": "", "typ": "JWT"})),
        ),
        ("kid not a string".into(), signed_header(json!({"kid": 1}))),
        (
            "header with crit".into(),
            signed_header(json!({"crit": ["exp"]})),
        ),
        (
            "header with b64 false".into(),
            signed_header(json!({"b64": false})),
        ),
        (
            "header with a jku to fetch keys from".into(),
            signed_header(json!({"jku": "https://evil.example/jwks", "kid": "evil"})),
        ),
        (
            "header is a list".into(),
            replace_segment(&valid, 0, &b64_json(&json!([alg]))),
        ),
        // -- time claims
        (
            "expired an hour ago".into(),
            live(json!({"u": 1, "exp": now - 3600})),
        ),
        (
            "expired at the epoch".into(),
            live(json!({"u": 1, "exp": 0})),
        ),
        (
            "expired, negative exp".into(),
            live(json!({"u": 1, "exp": -1e300})),
        ),
        (
            "not before: an hour from now".into(),
            live(json!({"u": 1, "nbf": now + 3600})),
        ),
        (
            "issued an hour in the future".into(),
            live(json!({"u": 1, "iat": now + 3600})),
        ),
        (
            "duplicate exp, last one expired".into(),
            t.sign_raw(
                format!(
                    r#"{{"u":1,"iat":{now},"session_start":{now},"exp":{},"exp":1}}"#,
                    now + 600
                )
                .as_bytes(),
            ),
        ),
        // -- claims of the wrong type (CVE-2026-25537 class)
        (
            "exp as a string".into(),
            live(json!({"u": 1, "exp": "99999999999"})),
        ),
        ("exp null".into(), live(json!({"u": 1, "exp": null}))),
        ("exp true".into(), live(json!({"u": 1, "exp": true}))),
        (
            "exp as a list".into(),
            live(json!({"u": 1, "exp": [99999999999_i64]})),
        ),
        (
            "exp as an object".into(),
            live(json!({"u": 1, "exp": {"$gt": 0}})),
        ),
        (
            "exp beyond f64".into(),
            t.sign_raw(br#"{"u":1,"exp":1e400}"#),
        ),
        ("nbf as a string".into(), live(json!({"u": 1, "nbf": "0"}))),
        ("iat as a string".into(), live(json!({"u": 1, "iat": "0"}))),
        (
            "session_start as a string".into(),
            live(json!({"u": 1, "session_start": "0"})),
        ),
        (
            "sub as a number (PyJWT rejects it)".into(),
            live(json!({"u": 1, "sub": 1})),
        ),
        ("jti as a number".into(), live(json!({"u": 1, "jti": 7}))),
        ("iss as a list".into(), live(json!({"u": 1, "iss": ["a"]}))),
        (
            "aud present (PyJWT rejects it)".into(),
            live(json!({"u": 1, "aud": "other-app"})),
        ),
        // -- payload shape
        ("payload is a list".into(), t.sign(&json!([1, 2, 3]))),
        ("payload is a string".into(), t.sign(&json!("user"))),
        ("payload is a number".into(), t.sign(&json!(42))),
        ("payload is null".into(), t.sign(&json!(null))),
        (
            "payload with trailing garbage".into(),
            t.sign_raw(br#"{"u":1}x"#),
        ),
        (
            "payload not UTF-8".into(),
            t.sign_raw(b"{\"u\":\"\xff\xfe\"}"),
        ),
        (
            "deeply nested JSON (200 levels)".into(),
            live(json!({"u": nested_array(200)})),
        ),
        // -- encoding
        (
            "bad base64 in the header".into(),
            replace_segment(&valid, 0, "@@@"),
        ),
        (
            "bad base64 in the payload".into(),
            replace_segment(&valid, 1, "e30*"),
        ),
        (
            "bad base64 in the signature".into(),
            replace_segment(&valid, 2, "!!!!"),
        ),
        (
            "standard base64 alphabet in the signature".into(),
            replace_segment(
                &valid,
                2,
                &format!("{}+/", signature.replace('-', "+").replace('_', "/")),
            ),
        ),
        (
            "padded payload".into(),
            replace_segment(&valid, 1, &format!("{payload}==")),
        ),
        ("extra fourth segment".into(), format!("{valid}.extra")),
        (
            "five segments, JWE-shaped".into(),
            format!("{head}.{payload}.a.b.{signature}"),
        ),
        (
            "whitespace inside the token".into(),
            format!("{head}. {payload}.{signature}"),
        ),
        ("only dots".into(), "..".to_owned()),
        ("empty value".into(), String::new()),
        ("garbage".into(), "not a token at all".to_owned()),
        ("unicode garbage".into(), "ünïcödé.😀.☃".to_owned()),
        // -- size
        (
            "huge cookie of base64 (16 KiB)".into(),
            "A".repeat(16 * 1024),
        ),
        (
            "validly signed but over 8 KiB".into(),
            live(json!({"blob": "x".repeat(9 * 1024)})),
        ),
    ];
    // -- algorithm confusion: another algorithm's header over this config's signature
    for other in [
        Algorithm::HS256,
        Algorithm::HS384,
        Algorithm::RS256,
        Algorithm::PS256,
        Algorithm::ES256,
        Algorithm::EdDSA,
    ] {
        if other != t.alg {
            let name = alg_name(other);
            cases.push((
                format!("{name} header over a {alg} signature"),
                with_header(&valid, &json!({"alg": name, "typ": "JWT"})),
            ));
        }
    }
    cases.push((
        "signed with another key of the same algorithm".into(),
        forge(
            &t.header(),
            &t.live(json!({"u": 1})),
            t.alg,
            &another_key(t.alg),
        ),
    ));
    cases
}

fn hmac_cases(t: &Target) -> Cases {
    let claims = t.live(json!({"u": 1}));
    let with_secret = |alg: Algorithm, secret: &[u8]| {
        forge(
            &json!({"alg": alg_name(alg), "typ": "JWT"}),
            &claims,
            alg,
            &EncodingKey::from_secret(secret),
        )
    };
    vec![
        (
            "HS384 signed with our HS256 secret".into(),
            with_secret(Algorithm::HS384, SECRET.as_bytes()),
        ),
        (
            "HS512 signed with our HS256 secret".into(),
            with_secret(Algorithm::HS512, SECRET.as_bytes()),
        ),
        (
            "signed with an empty secret".into(),
            with_secret(Algorithm::HS256, b""),
        ),
    ]
}

fn asymmetric_cases(t: &Target) -> Cases {
    let valid = t.sign(&t.live(json!({"user": "joe"})));
    let public_pem = if t.alg == Algorithm::EdDSA {
        ED_PUBLIC
    } else {
        ES_PUBLIC
    };
    let hs256 = json!({"alg": "HS256", "typ": "JWT"});
    let claims = t.live(json!({"user": "joe"}));
    let mut cases: Cases = vec![
        (
            "HS256 signed with the public key PEM as the secret".into(),
            forge(
                &hs256,
                &claims,
                Algorithm::HS256,
                &EncodingKey::from_secret(public_pem.as_bytes()),
            ),
        ),
        (
            "HS256 signed with the public key PEM, trimmed, as the secret".into(),
            forge(
                &hs256,
                &claims,
                Algorithm::HS256,
                &EncodingKey::from_secret(public_pem.trim().as_bytes()),
            ),
        ),
    ];
    if t.alg == Algorithm::ES256 {
        cases.extend([
            (
                "ES256 high-S twin (r, n − s) of a valid token".into(),
                high_s_twin(&valid),
            ),
            (
                "ES256 signature (n, n)".into(),
                with_signature(&valid, &[P256_N, P256_N].concat()),
            ),
            (
                "ES256 signature (r, 0)".into(),
                with_signature(&valid, &[&signature_of(&valid)[..32], &[0; 32]].concat()),
            ),
        ]);
    } else {
        let identity = hex32("0100000000000000000000000000000000000000000000000000000000000000");
        let order_8 = hex32("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05");
        cases.extend([
            (
                "EdDSA twin with s + L of a valid token".into(),
                ed25519_s_plus_l(&valid),
            ),
            (
                "EdDSA keyless forgery: R = identity, s = 0".into(),
                with_signature(&valid, &[identity, [0; 32]].concat()),
            ),
            (
                "EdDSA keyless forgery: R of order 8, s = 0".into(),
                with_signature(&valid, &[order_8, [0; 32]].concat()),
            ),
        ]);
    }
    cases
}

/// Tokens signed with a key the config accepts that must still fail its lifetimes.
fn lifetime_cases(t: &Target) -> Cases {
    let now = now();
    let user = |times: Value| {
        let mut claims = json!({"user": "joe"});
        claims
            .as_object_mut()
            .unwrap()
            .extend(times.as_object().unwrap().clone());
        claims
    };
    let mut cases: Cases = [
        (
            "no lifetime claims at all (what Microdot writes)",
            json!({}),
        ),
        ("no exp", json!({"iat": now, "session_start": now})),
        (
            "no iat, which the idle timeout needs",
            json!({"exp": now + 600, "session_start": now}),
        ),
        (
            "no session_start, which the absolute timeout needs",
            json!({"iat": now, "exp": now + 600}),
        ),
        (
            "session_start an hour in the future",
            json!({"iat": now, "exp": now + 600, "session_start": now + 3600}),
        ),
        (
            "session_start just past the leeway",
            json!({"iat": now, "exp": now + 600, "session_start": now + 60}),
        ),
        (
            "session_start ten years old",
            json!({"iat": now, "exp": now + 600, "session_start": now - TEN_YEARS}),
        ),
        (
            "iat ten years old and no session_start",
            json!({"iat": now - TEN_YEARS, "exp": now + 600}),
        ),
        (
            "absolute timeout passed a minute ago",
            json!({"iat": now, "exp": now + 600, "session_start": now - ABSOLUTE - 60}),
        ),
        (
            "idle timeout passed a minute ago",
            json!({"iat": now - IDLE - 60, "exp": now + 600, "session_start": now - IDLE - 60}),
        ),
        (
            "exp passed a minute ago",
            json!({"iat": now - 120, "exp": now - 60, "session_start": now - 120}),
        ),
    ]
    .into_iter()
    .map(|(name, times)| (format!("lifetimes: {name}"), t.sign(&user(times))))
    .collect();
    cases.extend(
        [
            ("no lifetime claims at all", json!({})),
            ("no session_start", json!({"iat": now, "exp": now + 600})),
            (
                "session_start in the future",
                json!({"iat": now, "exp": now + 600, "session_start": now + 3600}),
            ),
            (
                "expired",
                json!({"iat": now - 120, "exp": now - 60, "session_start": now - 120}),
            ),
            (
                "exp but max_age long past (iat ten years old)",
                json!({"iat": now - TEN_YEARS, "exp": now + 600, "session_start": now - TEN_YEARS}),
            ),
        ]
        .into_iter()
        .map(|(name, times)| {
            (
                format!("previous key: {name}"),
                t.sign_previous(&user(times)),
            )
        }),
    );
    cases
}

/// Whole `Cookie` headers with the session cookie more than once.
fn duplicate_cookie_cases(t: &Target) -> Cases {
    let valid = t.sign(&t.live(json!({"user": "joe"})));
    vec![
        (
            "duplicate cookies, garbage first".into(),
            format!("session=garbage; session={valid}"),
        ),
        (
            "duplicate cookies, both forged".into(),
            format!(
                "session={}; session={}",
                with_header(&valid, &json!({"alg": "none"})),
                replace_segment(&valid, 2, "AAAA")
            ),
        ),
    ]
}

/// An encrypted token under our secret with the protected header text `header`.
fn encrypted_with_header(header: &str, claims: Value) -> String {
    jwe::encrypt_raw(header, &serde_json::to_vec(&claims).unwrap(), SECRET)
}

/// Replaces segment `index` of a compact JWE by `bytes`, base64url-encoded.
fn with_jwe_segment(token: &str, index: usize, bytes: &[u8]) -> String {
    replace_segment(token, index, &URL_SAFE_NO_PAD.encode(bytes))
}

/// Encrypted-token attacks: each would be read by a JWE library that trusts the header.
fn jwe_cases() -> Cases {
    let valid = jwe::encrypt(&json!({"user": "joe"}), SECRET);
    let [head, _, iv, ciphertext, tag]: [&str; 5] =
        valid.split('.').collect::<Vec<_>>().try_into().unwrap();
    let user = json!({"user": "joe"});
    let raw_secret_key: [u8; 32] = SECRET.as_bytes()[..32].try_into().unwrap();
    let cookie = |token: String| token;
    vec![
        // -- algorithm swaps, each validly encrypted with our key under its own header
        (
            "JWE: alg A256KW".into(),
            cookie(encrypted_with_header(
                r#"{"alg":"A256KW","enc":"A256GCM"}"#,
                user.clone(),
            )),
        ),
        (
            "JWE: alg none".into(),
            cookie(encrypted_with_header(
                r#"{"alg":"none","enc":"A256GCM"}"#,
                user.clone(),
            )),
        ),
        (
            "JWE: alg RSA-OAEP".into(),
            cookie(encrypted_with_header(
                r#"{"alg":"RSA-OAEP","enc":"A256GCM"}"#,
                user.clone(),
            )),
        ),
        (
            "JWE: alg HS256 with enc".into(),
            cookie(encrypted_with_header(
                r#"{"alg":"HS256","enc":"A256GCM"}"#,
                user.clone(),
            )),
        ),
        (
            "JWE: enc A128GCM".into(),
            cookie(encrypted_with_header(
                r#"{"alg":"dir","enc":"A128GCM"}"#,
                user.clone(),
            )),
        ),
        (
            "JWE: enc A256CBC-HS512".into(),
            cookie(encrypted_with_header(
                r#"{"alg":"dir","enc":"A256CBC-HS512"}"#,
                user.clone(),
            )),
        ),
        (
            "JWE: enc lowercase".into(),
            cookie(encrypted_with_header(
                r#"{"alg":"dir","enc":"a256gcm"}"#,
                user.clone(),
            )),
        ),
        (
            "JWE: enc missing".into(),
            cookie(encrypted_with_header(r#"{"alg":"dir"}"#, user.clone())),
        ),
        (
            "JWE: alg missing".into(),
            cookie(encrypted_with_header(r#"{"enc":"A256GCM"}"#, user.clone())),
        ),
        (
            "JWE: alg as a list".into(),
            cookie(encrypted_with_header(
                r#"{"alg":["dir"],"enc":"A256GCM"}"#,
                user.clone(),
            )),
        ),
        (
            "JWE: duplicate alg, the last one none".into(),
            cookie(encrypted_with_header(
                r#"{"alg":"dir","enc":"A256GCM","alg":"none"}"#,
                user.clone(),
            )),
        ),
        // -- headers that change how the plaintext is read
        (
            "JWE: zip DEF".into(),
            cookie(encrypted_with_header(
                r#"{"alg":"dir","enc":"A256GCM","zip":"DEF"}"#,
                user.clone(),
            )),
        ),
        (
            "JWE: crit".into(),
            cookie(encrypted_with_header(
                r#"{"alg":"dir","crit":["exp"],"enc":"A256GCM"}"#,
                user.clone(),
            )),
        ),
        (
            "JWE: kid naming no key".into(),
            cookie(encrypted_with_header(
                r#"{"alg":"dir","enc":"A256GCM","kid":"nope"}"#,
                user.clone(),
            )),
        ),
        (
            "JWE: kid not a string".into(),
            cookie(encrypted_with_header(
                r#"{"alg":"dir","enc":"A256GCM","kid":1}"#,
                user.clone(),
            )),
        ),
        (
            "JWE: header is a list".into(),
            cookie(with_jwe_segment(&valid, 0, b"[\"dir\"]")),
        ),
        (
            "JWE: header not JSON".into(),
            cookie(with_jwe_segment(&valid, 0, b"dir")),
        ),
        (
            "JWE: header re-encoded with spaces (the AAD changes)".into(),
            cookie(with_jwe_segment(
                &valid,
                0,
                br#"{"alg": "dir", "enc": "A256GCM"}"#,
            )),
        ),
        // -- the other segments
        (
            "JWE: non-empty encrypted key".into(),
            cookie(with_jwe_segment(&valid, 1, &[7; 40])),
        ),
        (
            "JWE: IV of 8 bytes".into(),
            cookie(with_jwe_segment(&valid, 2, &[1; 8])),
        ),
        (
            "JWE: IV of 16 bytes".into(),
            cookie(with_jwe_segment(&valid, 2, &[1; 16])),
        ),
        (
            "JWE: empty IV".into(),
            cookie(replace_segment(&valid, 2, "")),
        ),
        (
            "JWE: truncated tag (15 bytes)".into(),
            cookie(with_jwe_segment(&valid, 4, &[0; 15])),
        ),
        (
            "JWE: truncated tag (12 bytes, GCM's shortest)".into(),
            cookie({
                use base64::Engine as _;
                let tag = base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(tag)
                    .unwrap();
                with_jwe_segment(&valid, 4, &tag[..12])
            }),
        ),
        (
            "JWE: empty tag".into(),
            cookie(replace_segment(&valid, 4, "")),
        ),
        ("JWE: tag of 17 bytes".into(), cookie(format!("{valid}A"))),
        ("JWE: flipped IV".into(), cookie(jwe::flip_byte(&valid, 2))),
        (
            "JWE: flipped ciphertext".into(),
            cookie(jwe::flip_byte(&valid, 3)),
        ),
        ("JWE: flipped tag".into(), cookie(jwe::flip_byte(&valid, 4))),
        (
            "JWE: empty ciphertext".into(),
            cookie(replace_segment(&valid, 3, "")),
        ),
        (
            "JWE: ciphertext of another token".into(),
            cookie(replace_segment(
                &valid,
                3,
                jwe::encrypt(&json!({"user": "root"}), SECRET)
                    .split('.')
                    .nth(3)
                    .unwrap(),
            )),
        ),
        (
            "JWE: bad base64 in the ciphertext".into(),
            cookie(replace_segment(&valid, 3, "e30*")),
        ),
        (
            "JWE: padded tag".into(),
            cookie(replace_segment(&valid, 4, &format!("{tag}=="))),
        ),
        (
            "JWE: standard base64 alphabet in the IV".into(),
            cookie({
                let iv = [0xfb; 12]; // "-_v7" in base64url, "+/v7" in standard base64
                let mut parts = jwe::encrypt_parts(jwe::HEADER, br#"{"user":"joe"}"#, &iv, SECRET);
                parts[2] = base64::engine::general_purpose::STANDARD_NO_PAD.encode(iv);
                parts.join(".")
            }),
        ),
        (
            "JWE: four segments".into(),
            cookie(format!("{head}..{iv}.{ciphertext}")),
        ),
        ("JWE: six segments".into(), cookie(format!("{valid}.x"))),
        (
            "JWE: JSON serialization instead of compact".into(),
            cookie(format!(
                r#"{{"protected":"{head}","iv":"{iv}","ciphertext":"{ciphertext}","tag":"{tag}"}}"#
            )),
        ),
        // -- wrong keys
        (
            "JWE: encrypted with another secret".into(),
            cookie(jwe::encrypt(
                &user,
                "not our secret but thirty-two bytes long",
            )),
        ),
        (
            "JWE: the secret's bytes as the key, without HKDF".into(),
            cookie(
                jwe::seal(jwe::HEADER, br#"{"user":"joe"}"#, &[3; 12], &raw_secret_key).join("."),
            ),
        ),
        (
            "JWE: over 8 KiB, validly encrypted".into(),
            cookie(jwe::encrypt(&json!({"blob": "x".repeat(9 * 1024)}), SECRET)),
        ),
        (
            "JWE: empty plaintext".into(),
            cookie(jwe::encrypt_raw(jwe::HEADER, b"", SECRET)),
        ),
    ]
}

#[actix_web::test]
async fn every_hostile_cookie_is_an_empty_session_under_every_config() {
    // The rejection reasons are logged at debug level; `--nocapture` shows them.
    let _ = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_test_writer()
        .try_init();
    // Every case under every config runs; the failures are reported together.
    let mut failures = Vec::new();
    for target in targets() {
        let name = target.name;
        let app = test::init_service(
            App::new()
                .app_data(target.session.clone())
                .route("/", web::get().to(echo_session)),
        )
        .await;

        // Controls: the harness reads a valid cookie of this config (and, under rotation,
        // one signed with the previous key), so an empty body below means rejection.
        let control = target.sign(&target.live(json!({"user": "joe"})));
        let (status, _, body) = echo(&app, &format!("session={control}")).await;
        assert_eq!(
            (status.as_u16(), body.as_str()),
            (200, r#"{"user":"joe"}"#),
            "{name}: control"
        );
        if target.previous.is_some() {
            let rotated = target.sign_previous(&target.live(json!({"user": "joe"})));
            let (_, set_cookies, body) = echo(&app, &format!("session={rotated}")).await;
            assert_eq!(body, r#"{"user":"joe"}"#, "{name}: previous-key control");
            assert_eq!(
                set_cookies.len(),
                1,
                "{name}: previous-key control is re-signed"
            );
        }

        let cases = hostile_cookies(&target);
        assert!(
            cases.len() >= 85,
            "{name}: the corpus has {} cases",
            cases.len()
        );
        for (attack, cookie) in cases {
            let (status, set_cookies, body) = echo(&app, &cookie).await;
            let cookies_ok = if target.clear_invalid {
                matches!(&set_cookies[..], [removal] if is_session_removal(removal))
            } else {
                set_cookies.is_empty()
            };
            if !status.is_success() || body != "{}" || !cookies_ok {
                failures.push(format!(
                    "{name}: {attack}: {status}, body {body}, {set_cookies:?}"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "accepted or mishandled:\n{}",
        failures.join("\n")
    );
}

/// Whether `set_cookie` removes the `session` cookie.
fn is_session_removal(set_cookie: &str) -> bool {
    let cookie = Cookie::parse(set_cookie).unwrap();
    (cookie.name(), cookie.value()) == ("session", "")
        && cookie.max_age() == Some(actix_web::cookie::time::Duration::ZERO)
}

#[actix_web::test]
async fn a_rotation_re_sign_keeps_exp_iat_and_session_start() {
    let session = lifetimes_and_rotation();
    let app = test::init_service(
        App::new()
            .app_data(session)
            .route("/", web::get().to(echo_session)),
    )
    .await;
    let now = now();
    // Signed with the previous secret, 20 s before it expires.
    let claims =
        json!({"user": "joe", "iat": now - 10, "session_start": now - 100, "exp": now + 20});
    let old = forge(
        &json!({"alg": "HS256", "typ": "JWT"}),
        &claims,
        Algorithm::HS256,
        &EncodingKey::from_secret(PREVIOUS_SECRET.as_bytes()),
    );
    let res = send(&app, with_token(test::TestRequest::get().uri("/"), &old)).await;
    let cookie = session_cookie(&res);
    assert_eq!(test::read_body(res).await, r#"{"user":"joe"}"#);
    let (header, payload) = parts_of(cookie.value());
    assert!(
        header.get("kid").is_some(),
        "re-signed with the current key: {header}"
    );
    for claim in ["exp", "iat", "session_start"] {
        assert_eq!(
            payload[claim], claims[claim],
            "a rotation changed `{claim}`: {payload}"
        );
    }
    let max_age = cookie
        .max_age()
        .expect("a Max-Age matching exp")
        .whole_seconds();
    assert!(
        (0..=20).contains(&max_age),
        "Max-Age {max_age} outlives exp"
    );

    // The re-signed cookie is read back as the same session, with no further re-issue.
    let res = send(
        &app,
        with_token(test::TestRequest::get().uri("/"), cookie.value()),
    )
    .await;
    assert!(set_cookies(&res).is_empty());
    assert_eq!(test::read_body(res).await, r#"{"user":"joe"}"#);
}

#[actix_web::test]
async fn an_es256_token_is_accepted_and_its_high_s_twin_refused() {
    let target = targets().into_iter().find(|t| t.name == "ES256").unwrap();
    let app = test::init_service(
        App::new()
            .app_data(target.session.clone())
            .route("/", web::get().to(echo_session)),
    )
    .await;
    // Several tokens, so the twin is checked against more than one signature.
    for n in 0..8 {
        let original = target.sign(&json!({"n": n}));
        let twin = high_s_twin(&original);
        assert_ne!(original, twin);
        let (_, _, body) = echo(&app, &format!("session={original}")).await;
        assert_eq!(
            body,
            format!(r#"{{"n":{n}}}"#),
            "the low-S original is a session"
        );
        let (status, set_cookies, body) = echo(&app, &format!("session={twin}")).await;
        assert_eq!(
            (status.as_u16(), body.as_str()),
            (200, "{}"),
            "the twin {twin}"
        );
        assert!(set_cookies.is_empty());
    }
}

/// The eight Ed25519 points of small order, and non-canonical encodings of two of them.
const SMALL_ORDER_ED25519: [&str; 10] = [
    "0100000000000000000000000000000000000000000000000000000000000000",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0000000000000000000000000000000000000000000000000000000000000080",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
    "0100000000000000000000000000000000000000000000000000000000000080",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
];

// `test` here is actix's attribute (imported above); this one needs no runtime.
#[::std::prelude::v1::test]
fn small_order_ed25519_public_keys_are_refused_at_configuration() {
    // Under such a key, signatures made without any private key verify (keyless forgery),
    // so no config may be built on one, whichever way the key is loaded.
    for point in SMALL_ORDER_ED25519 {
        let raw = hex32(point);
        let spki = [unhex("302a300506032b6570032100"), raw.to_vec()].concat();
        let pem = format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            base64::engine::general_purpose::STANDARD.encode(&spki)
        );
        let attempts = [
            (
                "verify_only(from_ed_der)",
                Session::verify_only(DecodingKey::from_ed_der(&raw), Algorithm::EdDSA),
            ),
            (
                "verify_only(from_ed_components)",
                Session::verify_only(
                    DecodingKey::from_ed_components(&URL_SAFE_NO_PAD.encode(raw)).unwrap(),
                    Algorithm::EdDSA,
                ),
            ),
            (
                "verify_only_pem",
                Session::verify_only_pem(Algorithm::EdDSA, &pem),
            ),
            (
                "from_keys with our private key",
                Session::from_keys(
                    EncodingKey::from_ed_pem(ED_PRIVATE.as_bytes()).unwrap(),
                    DecodingKey::from_ed_der(&raw),
                    Algorithm::EdDSA,
                ),
            ),
        ];
        for (how, result) in attempts {
            let err = result.expect_err(&format!("{how} accepted the small-order key {point}"));
            assert!(
                matches!(err, jwt_session::SessionError::KeyMismatch(_)),
                "{how} {point}: {err:?}"
            );
        }
    }
    // The control: the same paths accept a real key.
    let real = Session::verify_only_pem(Algorithm::EdDSA, ED_PUBLIC);
    assert!(real.is_ok());
}
