//! The JWT codec: compact JWS with a pinned algorithm, in PyJWT's exact byte layout.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::claims::{self, ClaimRejection};
use crate::error::SessionError;

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
    Signature,
    Claims(ClaimRejection),
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
            Self::Signature => f.write_str("the signature does not match"),
            Self::Claims(rejection) => rejection.fmt(f),
        }
    }
}

/// Signs and verifies session tokens with one pinned algorithm and key.
#[derive(Clone)]
pub(crate) struct Codec {
    algorithm: Algorithm,
    /// The algorithm's name as it must appear in the header.
    algorithm_name: &'static str,
    /// `base64url({"alg":"HS256","typ":"JWT"})`, the bytes PyJWT emits (sorted keys, no spaces).
    header_segment: String,
    encoding_key: EncodingKey,
    decoding_key: DecodingKey,
}

impl Codec {
    pub(crate) fn hs256(secret: &[u8]) -> Self {
        let algorithm_name = "HS256";
        let header = format!(r#"{{"alg":"{algorithm_name}","typ":"JWT"}}"#);
        Self {
            algorithm: Algorithm::HS256,
            algorithm_name,
            header_segment: URL_SAFE_NO_PAD.encode(header),
            encoding_key: EncodingKey::from_secret(secret),
            decoding_key: DecodingKey::from_secret(secret),
        }
    }

    /// Encodes `claims` as a signed token.
    pub(crate) fn encode(&self, claims: &impl Serialize) -> Result<String, SessionError> {
        // The provider is named, not looked up process-wide: another crate enabling a second
        // jsonwebtoken backend would make the process-wide lookup panic.
        let signer = (DEFAULT_PROVIDER.signer_factory)(&self.algorithm, &self.encoding_key)
            .map_err(SessionError::Signing)?;
        let payload = serde_json::to_vec(claims).map_err(|source| SessionError::Serialize {
            key: String::from("<session>"),
            source,
        })?;
        let mut token =
            String::with_capacity(self.header_segment.len() + payload.len() * 4 / 3 + 48);
        token.push_str(&self.header_segment);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(payload, &mut token);
        let signature = signer.try_sign(token.as_bytes()).map_err(|err| {
            SessionError::Signing(jsonwebtoken::errors::ErrorKind::Signing(err.to_string()).into())
        })?;
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(signature, &mut token);
        Ok(token)
    }

    /// Verifies `token` and returns its claims, checked at `now` (Unix seconds).
    pub(crate) fn decode(
        &self,
        token: &str,
        now: f64,
        leeway: f64,
    ) -> Result<Map<String, Value>, Rejection> {
        if token.len() > MAX_INCOMING_TOKEN {
            return Err(Rejection::TooLong(token.len()));
        }
        const SHAPE: Rejection = Rejection::Shape("expected exactly three dot-separated segments");
        let (signing_input, signature) = token.rsplit_once('.').ok_or(SHAPE)?;
        let (header, payload) = signing_input.split_once('.').ok_or(SHAPE)?;
        if payload.contains('.') {
            return Err(SHAPE);
        }

        // The header is read only to pin the algorithm; it never chooses one.
        let header = decode_object(header, "header")?;
        match header.get("alg").and_then(Value::as_str) {
            Some(alg) if alg == self.algorithm_name => {}
            other => return Err(Rejection::Algorithm(format!("{other:?}"))),
        }
        if header.contains_key("crit") {
            return Err(Rejection::Shape(
                "the header lists critical extensions this library does not implement",
            ));
        }

        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| Rejection::Base64("signature"))?;
        let verifier = (DEFAULT_PROVIDER.verifier_factory)(&self.algorithm, &self.decoding_key)
            .map_err(|_| Rejection::Signature)?;
        verifier
            .verify(signing_input.as_bytes(), &signature)
            .map_err(|_| Rejection::Signature)?;

        let claims = decode_object(payload, "payload")?;
        claims::validate(&claims, now, leeway).map_err(Rejection::Claims)?;
        Ok(claims)
    }
}

fn decode_object(segment: &str, part: &'static str) -> Result<Map<String, Value>, Rejection> {
    let bytes = URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| Rejection::Base64(part))?;
    serde_json::from_slice(&bytes).map_err(|err| Rejection::Json(part, err))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SECRET: &[u8] = b"an example secret of at least 32 bytes!!";

    fn object(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn header_is_byte_identical_to_pyjwt() {
        let token = Codec::hs256(SECRET)
            .encode(&object(json!({"a": 1})))
            .unwrap();
        assert!(
            token.starts_with("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJhIjoxfQ."),
            "{token}"
        );
    }

    #[test]
    fn round_trip() {
        let codec = Codec::hs256(SECRET);
        let claims = object(json!({"name": "joe", "n": 1.5, "list": [1, null, {"x": true}]}));
        let token = codec.encode(&claims).unwrap();
        assert_eq!(codec.decode(&token, 0.0, 0.0).unwrap(), claims);
    }

    #[test]
    fn rejections() {
        let codec = Codec::hs256(SECRET);
        let token = codec.encode(&object(json!({"a": 1}))).unwrap();
        let other = Codec::hs256(b"another secret that is 32 bytes long")
            .encode(&object(json!({"a": 1})))
            .unwrap();
        assert!(matches!(
            codec.decode(&other, 0.0, 0.0),
            Err(Rejection::Signature)
        ));
        assert!(matches!(
            codec.decode(&format!("{token}.x"), 0.0, 0.0),
            Err(Rejection::Shape(_))
        ));
        assert!(matches!(
            codec.decode(&"a".repeat(9000), 0.0, 0.0),
            Err(Rejection::TooLong(9000))
        ));
        let (_, rest) = token.split_once('.').unwrap();
        let none = format!("{}.{rest}", URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#));
        assert!(matches!(
            codec.decode(&none, 0.0, 0.0),
            Err(Rejection::Algorithm(_))
        ));
    }
}
