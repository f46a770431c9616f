//! The JWT codec: compact JWS with a pinned algorithm, in PyJWT's exact byte layout.
//! Structure and signature only; what the claims mean is checked in `claims`.

use std::cell::RefCell;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::SessionError;
use crate::jwe::{self, Jwe};
use crate::keys::{KeyRing, VerifiedBy};

/// Incoming cookies longer than this are rejected before any base64 or JSON work.
pub(crate) const MAX_INCOMING_TOKEN: usize = 8 * 1024;

/// Why a cookie is not a valid session. Logged at debug level, never shown to the client.
#[derive(Debug)]
pub(crate) enum Rejection {
    TooLong(usize),
    Shape(&'static str),
    Base64(&'static str),
    Json(&'static str, serde_json::Error),
    Algorithm(String),
    /// The header's `typ` names another kind of token (an OAuth access token, say).
    TokenType(String),
    Header(&'static str),
    UnknownKid,
    Signature,
    /// An encrypted token's framing is wrong (see `jwe`).
    Encrypted(&'static str),
    Decryption,
    Claims(crate::claims::ClaimRejection),
}

impl Rejection {
    /// The rejection's name in the `reason` field of the debug log, from a fixed
    /// vocabulary that the crate documentation lists.
    pub(crate) fn reason(&self) -> &'static str {
        match self {
            Self::TooLong(_) => "too_large",
            Self::Shape(_) | Self::Base64(_) | Self::Json(..) | Self::Header(_) => "malformed",
            Self::Algorithm(_) => "wrong_alg",
            Self::TokenType(_) => "wrong_typ",
            Self::UnknownKid => "unknown_kid",
            Self::Signature => "bad_signature",
            Self::Encrypted(_) => "malformed",
            Self::Decryption => "undecryptable",
            Self::Claims(rejection) => rejection.reason(),
        }
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TooLong(len) => write!(
                f,
                "cookie is {len} bytes, over the {MAX_INCOMING_TOKEN}-byte limit"
            ),
            Self::Shape(what) => write!(f, "not a compact JWS: {what}"),
            Self::Base64(part) => write!(f, "the {part} is not valid base64url"),
            Self::Json(part, err) => write!(f, "the {part} is not a JSON object: {err}"),
            Self::Algorithm(alg) => write!(f, "algorithm {alg} is not the configured one"),
            Self::TokenType(typ) => write!(f, "the header's `typ` is {typ}, not JWT"),
            Self::Header(what) => write!(f, "unacceptable header: {what}"),
            Self::UnknownKid => f.write_str("the header's `kid` names no configured key"),
            Self::Signature => f.write_str("no configured key verifies the signature"),
            Self::Encrypted(what) => write!(f, "not an acceptable encrypted token: {what}"),
            Self::Decryption => f.write_str("no configured key decrypts the token"),
            Self::Claims(rejection) => rejection.fmt(f),
        }
    }
}

/// Signs and verifies session tokens.
#[derive(Clone)]
pub(crate) struct Codec {
    keys: KeyRing,
    /// `base64url({"alg":..,"kid":..,"typ":"JWT"})`: sorted keys and no spaces, as PyJWT
    /// writes it, so a single-key HS256 token is byte-identical to Microdot's.
    header_segment: String,
    /// The exact header segments this library and PyJWT write for the configured algorithm,
    /// with the key id each names: a token carrying one needs no header parsing.
    known_headers: Vec<(String, Option<String>)>,
    /// Set by `Session::encrypted`: tokens are then JWE, not JWS.
    encryption: Option<Jwe>,
}

thread_local! {
    /// Reused base64 output buffers, so a decode allocates only what it returns.
    static SCRATCH: RefCell<(Vec<u8>, Vec<u8>)> = const { RefCell::new((Vec::new(), Vec::new())) };
}

impl Codec {
    pub(crate) fn new(keys: KeyRing) -> Self {
        let alg = &keys.algorithm_name;
        let header_for = |kid: Option<&str>| match kid {
            Some(kid) => {
                URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"{alg}","kid":"{kid}","typ":"JWT"}}"#))
            }
            None => URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#)),
        };
        let mut known_headers = vec![(header_for(None), None)];
        known_headers.extend(
            keys.kids()
                .map(|kid| (header_for(Some(kid)), Some(kid.to_owned()))),
        );
        let header_segment = header_for(keys.emits_kid().then(|| keys.current_kid()));
        Self {
            keys,
            header_segment,
            known_headers,
            encryption: None,
        }
    }

    /// This codec, encrypting its tokens with keys derived from its secrets.
    pub(crate) fn encrypted(mut self) -> Result<Self, SessionError> {
        self.encryption = Some(Jwe::new(&self.keys)?);
        Ok(self)
    }

    /// A codec for `keys` that encrypts if this one does.
    pub(crate) fn rekeyed(&self, keys: KeyRing) -> Result<Self, SessionError> {
        let codec = Self::new(keys);
        match self.encryption {
            Some(_) => codec.encrypted(),
            None => Ok(codec),
        }
    }

    pub(crate) fn is_encrypted(&self) -> bool {
        self.encryption.is_some()
    }

    /// Encrypts `claims` with a caller-chosen IV, for the known-answer tests only.
    #[cfg(feature = "__internals")]
    pub(crate) fn encrypt_with_iv(
        &self,
        claims: &impl Serialize,
        iv: [u8; jwe::IV_LEN],
    ) -> Result<String, SessionError> {
        let jwe = self.encryption.as_ref().ok_or(SessionError::KeyMismatch(
            "this config signs sessions; call .encrypted() to encrypt them",
        ))?;
        jwe.encrypt(claims_json(claims)?, iv)
    }

    pub(crate) fn keys(&self) -> &KeyRing {
        &self.keys
    }

    /// Encodes `claims` as a signed token.
    pub(crate) fn encode(&self, claims: &impl Serialize) -> Result<String, SessionError> {
        let payload = claims_json(claims)?;
        if let Some(jwe) = &self.encryption {
            return jwe.encrypt(payload, jwe::random_iv()?);
        }
        let mut token =
            String::with_capacity(self.header_segment.len() + payload.len() * 4 / 3 + 100);
        token.push_str(&self.header_segment);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(payload, &mut token);
        let signature = self.keys.sign(token.as_bytes())?;
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(signature, &mut token);
        Ok(token)
    }

    /// Verifies `token` and returns its payload object and the key that verified it.
    pub(crate) fn decode(
        &self,
        token: &str,
    ) -> Result<(Map<String, Value>, VerifiedBy), Rejection> {
        if let Some(jwe) = &self.encryption {
            return jwe.decrypt(token);
        }
        if token.len() > MAX_INCOMING_TOKEN {
            return Err(Rejection::TooLong(token.len()));
        }
        const SHAPE: Rejection = Rejection::Shape("expected exactly three dot-separated segments");
        let (signing_input, signature) = token.rsplit_once('.').ok_or(SHAPE)?;
        let (header, payload) = signing_input.split_once('.').ok_or(SHAPE)?;
        if payload.contains('.') {
            return Err(SHAPE);
        }

        let parsed_kid;
        let kid = match self.known_headers.iter().find(|(known, _)| known == header) {
            Some((_, kid)) => kid.as_deref(),
            None => {
                parsed_kid = self.parse_header(header)?;
                parsed_kid.as_deref()
            }
        };
        if kid.is_some_and(|kid| !self.keys.has_kid(kid)) {
            return Err(Rejection::UnknownKid);
        }
        SCRATCH.with_borrow_mut(|(signature_buffer, payload_buffer)| {
            signature_buffer.clear();
            URL_SAFE_NO_PAD
                .decode_vec(signature, signature_buffer)
                .map_err(|_| Rejection::Base64("signature"))?;
            let verified_by = self
                .keys
                .verify(kid, signing_input.as_bytes(), signature_buffer)
                .ok_or(Rejection::Signature)?;
            payload_buffer.clear();
            URL_SAFE_NO_PAD
                .decode_vec(payload, payload_buffer)
                .map_err(|_| Rejection::Base64("payload"))?;
            let claims = serde_json::from_slice(payload_buffer)
                .map_err(|err| Rejection::Json("payload", err))?;
            Ok((claims, verified_by))
        })
    }

    /// Reads a header this library did not write, to pin the algorithm and find the key id;
    /// it never chooses the algorithm.
    fn parse_header(&self, segment: &str) -> Result<Option<String>, Rejection> {
        let header = decode_object(segment, "header")?;
        match header.get("alg").and_then(Value::as_str) {
            Some(alg) if alg == self.keys.algorithm_name => {}
            other => return Err(Rejection::Algorithm(format!("{other:?}"))),
        }
        if header.contains_key("crit") || header.contains_key("b64") {
            return Err(Rejection::Header(
                "`crit` and `b64` extensions are not supported",
            ));
        }
        typ_and_kid(&header)
    }
}

/// The header checks signed and encrypted tokens share: `typ`, if present, is `JWT`, and the
/// key id, if any, is a string.
pub(crate) fn typ_and_kid(header: &Map<String, Value>) -> Result<Option<String>, Rejection> {
    // RFC 7515 §4.1.9: `typ` is compared case-insensitively; a header without one is
    // still a session (PyJWT can omit it).
    match header.get("typ") {
        None => {}
        Some(Value::String(typ)) if typ.eq_ignore_ascii_case("JWT") => {}
        Some(other) => return Err(Rejection::TokenType(other.to_string())),
    }
    match header.get("kid") {
        None => Ok(None),
        Some(Value::String(kid)) => Ok(Some(kid.clone())),
        Some(_) => Err(Rejection::Header("`kid` is not a string")),
    }
}

/// The claims as the JSON text a token carries, signed or encrypted.
fn claims_json(claims: &impl Serialize) -> Result<Vec<u8>, SessionError> {
    serde_json::to_vec(claims).map_err(|source| SessionError::Serialize {
        key: String::from("(the whole session)"),
        source,
    })
}

pub(crate) fn decode_object(
    segment: &str,
    part: &'static str,
) -> Result<Map<String, Value>, Rejection> {
    let bytes = URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| Rejection::Base64(part))?;
    serde_json::from_slice(&bytes).map_err(|err| Rejection::Json(part, err))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::Algorithm;
    use serde_json::json;

    const SECRET: &[u8] = b"an example secret of at least 32 bytes!!";

    fn codec() -> Codec {
        Codec::new(KeyRing::hmac(SECRET, Algorithm::HS256).unwrap())
    }

    fn object(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn header_is_byte_identical_to_pyjwt() {
        let token = codec().encode(&object(json!({"a": 1}))).unwrap();
        assert!(
            token.starts_with("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJhIjoxfQ."),
            "{token}"
        );
    }

    #[test]
    fn round_trip() {
        let claims = object(json!({"name": "joe", "n": 1.5, "list": [1, null, {"x": true}]}));
        let token = codec().encode(&claims).unwrap();
        assert_eq!(
            codec().decode(&token).unwrap(),
            (claims, VerifiedBy::Current)
        );
    }

    #[test]
    fn rotation_names_the_key_and_accepts_previous_secrets() {
        let old = codec().encode(&object(json!({"a": 1}))).unwrap();
        let mut ring =
            KeyRing::hmac(b"the new secret, also 32 bytes or more", Algorithm::HS256).unwrap();
        ring.add_previous_secret(SECRET).unwrap();
        let rotated = Codec::new(ring);
        assert_eq!(
            rotated.decode(&old).unwrap().1,
            VerifiedBy::Previous,
            "kid-less tokens try every key"
        );
        let new = rotated.encode(&object(json!({"a": 1}))).unwrap();
        let header = String::from_utf8(
            URL_SAFE_NO_PAD
                .decode(new.split('.').next().unwrap())
                .unwrap(),
        )
        .unwrap();
        assert!(header.contains(r#""kid":""#), "{header}");
        assert!(!header.contains("secret"), "{header}");
        assert_eq!(rotated.decode(&new).unwrap().1, VerifiedBy::Current);
        assert!(
            matches!(codec().decode(&new), Err(Rejection::UnknownKid)),
            "unknown kid"
        );
    }

    #[test]
    fn rejections() {
        let token = codec().encode(&object(json!({"a": 1}))).unwrap();
        let other = Codec::new(
            KeyRing::hmac(b"another secret that is 32 bytes long", Algorithm::HS256).unwrap(),
        );
        let foreign = other.encode(&object(json!({"a": 1}))).unwrap();
        assert!(matches!(
            codec().decode(&foreign),
            Err(Rejection::Signature)
        ));
        assert!(matches!(
            codec().decode(&format!("{token}.x")),
            Err(Rejection::Shape(_))
        ));
        assert!(matches!(
            codec().decode(&"a".repeat(9000)),
            Err(Rejection::TooLong(9000))
        ));
        let (_, rest) = token.split_once('.').unwrap();
        let none = format!("{}.{rest}", URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#));
        assert!(matches!(
            codec().decode(&none),
            Err(Rejection::Algorithm(_))
        ));
    }

    #[test]
    fn typ_is_pinned_to_jwt() {
        let keys = KeyRing::hmac(SECRET, Algorithm::HS256).unwrap();
        let token_with = |header: &str| {
            let input = format!(
                "{}.{}",
                URL_SAFE_NO_PAD.encode(header),
                URL_SAFE_NO_PAD.encode(r#"{"a":1}"#)
            );
            let signature = URL_SAFE_NO_PAD.encode(keys.sign(input.as_bytes()).unwrap());
            format!("{input}.{signature}")
        };
        for accepted in [r#"{"alg":"HS256"}"#, r#"{"alg":"HS256","typ":"jwt"}"#] {
            assert!(codec().decode(&token_with(accepted)).is_ok(), "{accepted}");
        }
        for refused in [
            r#"{"alg":"HS256","typ":"at+jwt"}"#,
            r#"{"alg":"HS256","typ":"JWS"}"#,
            r#"{"alg":"HS256","typ":null}"#,
            r#"{"alg":"HS256","typ":1}"#,
        ] {
            let rejection = codec().decode(&token_with(refused)).unwrap_err();
            assert_eq!(rejection.reason(), "wrong_typ", "{refused}");
        }
    }
}
