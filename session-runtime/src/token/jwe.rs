//! Encrypted sessions: compact JWE (RFC 7516) with `dir` key management and `A256GCM`
//! content encryption, framed here around RustCrypto's AES-256-GCM.
//!
//! One algorithm pair is fixed, so the framing is a few dozen lines rather than a general
//! JOSE dependency. What the plaintext claims mean is checked in `claims`, exactly as for
//! signed tokens.

use std::cell::RefCell;

use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes256Gcm, KeyInit, Nonce, Tag};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use serde_json::Value;

use super::keys::KeyRing;
use super::{MAX_INCOMING_TOKEN, Rejection, decode_object, typ_and_kid};
use crate::error::SessionError;

/// The HKDF-SHA256 `info` that turns a session secret into its content key. Part of the
/// wire format: other languages derive the same key with it (see the README).
pub(crate) const HKDF_INFO: &[u8] = b"jwt-session A256GCM";

/// AES-GCM's 96-bit IV, as RFC 7518 §5.3 requires for `A256GCM`.
pub(crate) const IV_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// Encrypts and decrypts session tokens with keys derived from the ring's secrets.
#[derive(Clone)]
pub(crate) struct Jwe {
    /// One per secret of the ring, in its order (the current key first), each with the key
    /// id of its secret. Only the first encrypts.
    keys: Vec<(String, Aes256Gcm)>,
    /// `base64url({"alg":"dir","enc":"A256GCM"})`, with `kid` while rotating: sorted keys
    /// and no spaces. It is also the AAD (RFC 7516 §5.1 step 14).
    header_segment: String,
    /// The header segments this library writes, with the key id each names: a token
    /// carrying one needs no header parsing.
    known_headers: Vec<(String, Option<String>)>,
}

thread_local! {
    /// Reused buffer for the ciphertext, decrypted in place.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

impl Jwe {
    /// Derives one content key per secret of `keys`.
    pub(crate) fn new(keys: &KeyRing) -> Result<Self, SessionError> {
        if !keys.can_sign() {
            return Err(SessionError::KeyMismatch(
                "a verify-only config cannot encrypt: encrypted sessions are read and written \
                 with the same secret, so every service that reads them holds it; use \
                 Session::new(secret).encrypted() there",
            ));
        }
        let secrets = keys.secrets()?;
        if keys.algorithm != Algorithm::HS256 {
            return Err(SessionError::KeyMismatch(
                "encrypted sessions use A256GCM with a key derived from the secret, so they take \
                 no signature algorithm: drop .algorithm(..), or drop .encrypted() to keep \
                 signed sessions",
            ));
        }
        let keys: Vec<(String, Aes256Gcm)> = secrets
            .map(|(kid, secret)| (kid.to_owned(), Aes256Gcm::new(&content_key(secret).into())))
            .collect();
        let header_for = |kid: Option<&str>| match kid {
            Some(kid) => {
                URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"dir","enc":"A256GCM","kid":"{kid}"}}"#))
            }
            None => URL_SAFE_NO_PAD.encode(r#"{"alg":"dir","enc":"A256GCM"}"#),
        };
        let mut known_headers = vec![(header_for(None), None)];
        known_headers.extend(
            keys.iter()
                .map(|(kid, _)| (header_for(Some(kid)), Some(kid.clone()))),
        );
        // As for signed tokens: a `kid` only while more than one key decrypts.
        let header_segment = header_for((keys.len() > 1).then(|| keys[0].0.as_str()));
        Ok(Self {
            keys,
            header_segment,
            known_headers,
        })
    }

    /// Encrypts `plaintext` (the claims JSON) under the current key with `iv`, which must
    /// never repeat under one key: callers pass [`random_iv`] outside the known-answer tests.
    pub(crate) fn encrypt(
        &self,
        mut plaintext: Vec<u8>,
        iv: [u8; IV_LEN],
    ) -> Result<String, SessionError> {
        let (_, cipher) = &self.keys[0];
        let tag = cipher
            .encrypt_in_place_detached(
                &Nonce::from(iv),
                self.header_segment.as_bytes(),
                &mut plaintext,
            )
            .map_err(|_| SessionError::Encryption("AES-GCM refused the plaintext"))?;
        let mut token =
            String::with_capacity(self.header_segment.len() + plaintext.len() * 4 / 3 + 48);
        token.push_str(&self.header_segment);
        // The encrypted-key segment is empty for `dir`.
        token.push_str("..");
        URL_SAFE_NO_PAD.encode_string(iv, &mut token);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&plaintext, &mut token);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(tag, &mut token);
        Ok(token)
    }

    /// Authenticates and decrypts `token`, and returns its plaintext (the claims JSON, not
    /// yet parsed) and the ring index of the key that opened it.
    pub(crate) fn decrypt(&self, token: &str) -> Result<(Box<[u8]>, usize), Rejection> {
        if token.len() > MAX_INCOMING_TOKEN {
            return Err(Rejection::TooLong(token.len(), MAX_INCOMING_TOKEN));
        }
        let mut segments = token.split('.');
        let mut next = || segments.next();
        let (Some(header), Some(encrypted_key), Some(iv), Some(ciphertext), Some(tag), None) =
            (next(), next(), next(), next(), next(), next())
        else {
            return Err(Rejection::Encrypted(
                "expected five dot-separated segments (a compact JWE)",
            ));
        };
        let parsed_kid;
        let kid = match self.known_headers.iter().find(|(known, _)| known == header) {
            Some((_, kid)) => kid.as_deref(),
            None => {
                parsed_kid = parse_header(header)?;
                parsed_kid.as_deref()
            }
        };
        if kid.is_some_and(|kid| !self.keys.iter().any(|(key_id, _)| key_id == kid)) {
            return Err(Rejection::UnknownKid);
        }
        if !encrypted_key.is_empty() {
            return Err(Rejection::Encrypted(
                "the encrypted-key segment must be empty with `dir`",
            ));
        }
        let iv: [u8; IV_LEN] = decode_exact(iv, "IV", "the IV is not 12 bytes")?;
        let tag: [u8; TAG_LEN] = decode_exact(tag, "tag", "the tag is not 16 bytes")?;
        SCRATCH.with_borrow_mut(|buffer| {
            buffer.clear();
            URL_SAFE_NO_PAD
                .decode_vec(ciphertext, buffer)
                .map_err(|_| Rejection::Base64("ciphertext"))?;
            let candidates = self
                .keys
                .iter()
                .enumerate()
                .filter(|(_, (key_id, _))| kid.is_none_or(|kid| key_id == kid));
            for (index, (_, cipher)) in candidates {
                // On failure AES-GCM leaves the buffer untouched, so the next key sees the
                // ciphertext again.
                let opened = cipher.decrypt_in_place_detached(
                    &Nonce::from(iv),
                    header.as_bytes(),
                    buffer,
                    &Tag::from(tag),
                );
                if opened.is_ok() {
                    return Ok((buffer.as_slice().into(), index));
                }
            }
            Err(Rejection::Decryption)
        })
    }
}

/// A fresh IV from the operating system's random number generator.
pub(crate) fn random_iv() -> Result<[u8; IV_LEN], SessionError> {
    let mut iv = [0; IV_LEN];
    getrandom::getrandom(&mut iv).map_err(|_| {
        SessionError::Encryption("the operating system's random number generator failed")
    })?;
    Ok(iv)
}

/// `HKDF-SHA256(ikm = secret, salt = empty, info = HKDF_INFO)`, 32 bytes.
fn content_key(secret: &[u8]) -> [u8; 32] {
    let mut key = [0; 32];
    // 32 bytes is far below HKDF-SHA256's limit of 255 × 32, so expansion cannot fail.
    let _ = hkdf::Hkdf::<sha2::Sha256>::new(None, secret).expand(HKDF_INFO, &mut key);
    key
}

/// Reads a header this library did not write: the algorithms are pinned and every header
/// that changes how the plaintext is read is refused.
fn parse_header(segment: &str) -> Result<Option<String>, Rejection> {
    let header = decode_object(segment, "header")?;
    let (alg, enc) = (header.get("alg"), header.get("enc"));
    if alg.and_then(Value::as_str) != Some("dir") || enc.and_then(Value::as_str) != Some("A256GCM")
    {
        let shown = |value: Option<&Value>| value.map_or_else(|| "(none)".into(), Value::to_string);
        let named = format!("alg {} with enc {}", shown(alg), shown(enc));
        return Err(Rejection::Algorithm(named));
    }
    if header.contains_key("zip") {
        return Err(Rejection::Header(
            "`zip` is refused: compressed plaintext leaks its content through the token's length",
        ));
    }
    if header.contains_key("crit") {
        return Err(Rejection::Header("`crit` extensions are not supported"));
    }
    typ_and_kid(&header)
}

/// Decodes a base64url segment that must hold exactly `N` bytes (`N` ≤ 48).
fn decode_exact<const N: usize>(
    segment: &str,
    part: &'static str,
    wrong_length: &'static str,
) -> Result<[u8; N], Rejection> {
    let mut buffer = [0; 64];
    // 64 characters decode to at most 48 bytes, so `decode_slice` always has room.
    if segment.len() > 64 {
        return Err(Rejection::Encrypted(wrong_length));
    }
    let len = URL_SAFE_NO_PAD
        .decode_slice(segment, &mut buffer)
        .map_err(|_| Rejection::Base64(part))?;
    buffer[..len]
        .try_into()
        .map_err(|_| Rejection::Encrypted(wrong_length))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::keys::KeyRole;
    use serde_json::json;

    const SECRET: &[u8] = b"an example secret of at least 32 bytes!!";

    fn jwe() -> Jwe {
        Jwe::new(&KeyRing::hmac(SECRET, Algorithm::HS256).unwrap()).unwrap()
    }

    fn seal(jwe: &Jwe, claims: Value) -> String {
        jwe.encrypt(serde_json::to_vec(&claims).unwrap(), random_iv().unwrap())
            .unwrap()
    }

    /// RFC 5869 test case 3 (empty salt and info), checking that `None` is the empty salt.
    #[test]
    fn hkdf_with_an_empty_salt_matches_rfc_5869() {
        let mut okm = [0; 42];
        hkdf::Hkdf::<sha2::Sha256>::new(None, &[0x0b; 22])
            .expand(b"", &mut okm)
            .unwrap();
        assert_eq!(
            URL_SAFE_NO_PAD.encode(okm),
            URL_SAFE_NO_PAD.encode(
                b"\x8d\xa4\xe7\x75\xa5\x63\xc1\x8f\x71\x5f\x80\x2a\x06\x3c\x5a\x31\xb8\xa1\x1f\x5c\x5e\xe1\x87\x9e\xc3\x45\x4e\x5f\x3c\x73\x8d\x2d\x9d\x20\x13\x95\xfa\xa4\xb6\x1a\x96\xc8"
            )
        );
    }

    #[test]
    fn round_trip_with_a_fresh_iv_each_time() {
        let claims = json!({"user": "joe", "n": [1, 2.5, null]});
        let first = seal(&jwe(), claims.clone());
        let second = seal(&jwe(), claims.clone());
        assert_ne!(first, second, "a fresh IV per token");
        assert!(first.starts_with("eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0.."));
        let (decrypted, by) = jwe().decrypt(&first).unwrap();
        assert_eq!(
            (serde_json::from_slice::<Value>(&decrypted).unwrap(), by),
            (claims, 0)
        );
    }

    #[test]
    fn rotation_names_the_key_and_opens_previous_tokens() {
        let old = seal(&jwe(), json!({"a": 1}));
        let mut ring =
            KeyRing::hmac(b"the new secret, also 32 bytes or more", Algorithm::HS256).unwrap();
        ring.add_secret(KeyRole::Previous, SECRET).unwrap();
        let rotated = Jwe::new(&ring).unwrap();
        assert_eq!(rotated.decrypt(&old).unwrap().1, 1);
        let new = seal(&rotated, json!({"a": 1}));
        let header = URL_SAFE_NO_PAD
            .decode(new.split('.').next().unwrap())
            .unwrap();
        let expected = format!(
            r#"{{"alg":"dir","enc":"A256GCM","kid":"{}"}}"#,
            ring.current_kid()
        );
        assert_eq!(String::from_utf8(header).unwrap(), expected);
        assert_eq!(rotated.decrypt(&new).unwrap().1, 0);
        assert!(matches!(jwe().decrypt(&new), Err(Rejection::UnknownKid)));
    }

    #[test]
    fn framing_rejections() {
        let token = seal(&jwe(), json!({"a": 1}));
        let parts: Vec<&str> = token.split('.').collect();
        let with = |index: usize, segment: &str| {
            let mut parts = parts.clone();
            parts[index] = segment;
            parts.join(".")
        };
        let check = |token: String, expected: &str| {
            let err = jwe().decrypt(&token).unwrap_err();
            assert!(err.to_string().contains(expected), "{err} for {token}");
        };
        check(with(1, "AAAA"), "encrypted-key");
        check(with(2, "AAAAAAAAAAAAAAAAAAAA"), "IV is not 12 bytes");
        check(with(2, &"A".repeat(200)), "IV is not 12 bytes");
        check(with(4, &parts[4][..20]), "tag is not 16 bytes");
        check(with(3, "@@"), "ciphertext");
        check(format!("{token}.x"), "five");
        check(parts[..3].join("."), "five");
        let zip = URL_SAFE_NO_PAD.encode(r#"{"alg":"dir","enc":"A256GCM","zip":"DEF"}"#);
        check(with(0, &zip), "zip");
        let gcm128 = URL_SAFE_NO_PAD.encode(r#"{"alg":"dir","enc":"A128GCM"}"#);
        check(with(0, &gcm128), "A128GCM");
        let crit = URL_SAFE_NO_PAD.encode(r#"{"alg":"dir","crit":["x"],"enc":"A256GCM"}"#);
        check(with(0, &crit), "crit");
        let spaced = URL_SAFE_NO_PAD.encode(r#"{"alg": "dir", "enc": "A256GCM"}"#);
        check(with(0, &spaced), "no configured key");
    }

    #[test]
    fn refused_configurations() {
        let hs512 = KeyRing::hmac(&[7; 64], Algorithm::HS512).unwrap();
        assert!(Jwe::new(&hs512).is_err());
    }
}
