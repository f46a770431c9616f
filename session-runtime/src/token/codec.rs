//! The JWT codec: compact JWS with a pinned algorithm, in PyJWT's exact byte layout.
//! Structure and signature only; what the claims mean is checked in `claims`.

use std::cell::RefCell;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde_json::Value;

#[cfg(feature = "encrypted")]
use super::jwe::{self, Jwe};
use super::keys::{KeyRing, VerifiedBy};
use super::{MAX_INCOMING_TOKEN, Rejection, decode_object, typ_and_kid};
use crate::error::SessionError;

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
    #[cfg(feature = "encrypted")]
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
            #[cfg(feature = "encrypted")]
            encryption: None,
        }
    }

    /// This codec, encrypting its tokens with keys derived from its secrets.
    #[cfg(feature = "encrypted")]
    pub(crate) fn encrypted(mut self) -> Result<Self, SessionError> {
        self.encryption = Some(Jwe::new(&self.keys)?);
        Ok(self)
    }

    /// A codec for `keys` that encrypts if this one does.
    pub(crate) fn rekeyed(&self, keys: KeyRing) -> Result<Self, SessionError> {
        let codec = Self::new(keys);
        if self.is_encrypted() {
            #[cfg(feature = "encrypted")]
            return codec.encrypted();
        }
        Ok(codec)
    }

    pub(crate) fn is_encrypted(&self) -> bool {
        #[cfg(feature = "encrypted")]
        return self.encryption.is_some();
        #[cfg(not(feature = "encrypted"))]
        false
    }

    /// Encrypts `claims` with a caller-chosen IV, for the known-answer tests only.
    #[cfg(all(feature = "__internals", feature = "encrypted"))]
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

    /// Starts the key usage counts afresh, for a config derived from another.
    pub(crate) fn fresh_usage(&mut self) {
        self.keys.fresh_usage();
    }

    /// Encodes `claims` as a signed token.
    pub(crate) fn encode(&self, claims: &impl Serialize) -> Result<String, SessionError> {
        let payload = claims_json(claims)?;
        #[cfg(feature = "encrypted")]
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

    /// Verifies (or, for an encrypted config, decrypts) `token` and returns its payload,
    /// JSON not yet parsed, and the key that verified it.
    pub(crate) fn decode(&self, token: &str) -> Result<(Box<[u8]>, VerifiedBy), Rejection> {
        #[cfg(feature = "encrypted")]
        if let Some(jwe) = &self.encryption {
            let (payload, index) = jwe.decrypt(token)?;
            return Ok((payload, self.keys.verified_by(index)));
        }
        if token.len() > MAX_INCOMING_TOKEN {
            return Err(Rejection::TooLong(token.len(), MAX_INCOMING_TOKEN));
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
            Ok((payload_buffer.as_slice().into(), verified_by))
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

/// The claims as the JSON text a token carries, signed or encrypted.
fn claims_json(claims: &impl Serialize) -> Result<Vec<u8>, SessionError> {
    serde_json::to_vec(claims).map_err(|source| SessionError::Serialize {
        key: String::from("(the whole session)"),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::keys::KeyRole;
    use jsonwebtoken::Algorithm;
    use serde_json::{Map, json};

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
        let (payload, verified_by) = codec().decode(&token).unwrap();
        assert_eq!(verified_by.role, KeyRole::Current);
        assert_eq!(
            serde_json::from_slice::<Map<String, Value>>(&payload).unwrap(),
            claims
        );
    }

    #[test]
    fn rotation_names_the_key_and_accepts_previous_secrets() {
        let old = codec().encode(&object(json!({"a": 1}))).unwrap();
        let mut ring =
            KeyRing::hmac(b"the new secret, also 32 bytes or more", Algorithm::HS256).unwrap();
        ring.add_secret(KeyRole::Previous, SECRET).unwrap();
        let rotated = Codec::new(ring);
        assert_eq!(
            rotated.decode(&old).unwrap().1.role,
            KeyRole::Previous,
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
        assert_eq!(rotated.decode(&new).unwrap().1.role, KeyRole::Current);
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
            codec().decode(&"a".repeat(MAX_INCOMING_TOKEN + 1)),
            Err(Rejection::TooLong(_, MAX_INCOMING_TOKEN))
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
