//! The key ring: the pinned algorithm, the key that signs (if any) and every key that
//! verifies, each with its key id.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER;
use jsonwebtoken::crypto::{JwtSigner, JwtVerifier};
use jsonwebtoken::jwk::ThumbprintHash;
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, DecodingKeyKind, EncodingKey};

use crate::error::{MIN_SECRET_LEN, SessionError};

/// Mixed into HMAC key ids so they are useless for anything but telling keys apart.
const KID_LABEL: &[u8] = b"jwt-session key id v1";

#[derive(Clone)]
pub(crate) struct KeyRing {
    pub(crate) algorithm: Algorithm,
    pub(crate) algorithm_name: String,
    /// `None` for a verify-only config.
    signing: Option<EncodingKey>,
    /// The current key first, then previous ones, oldest last.
    verifying: Vec<VerifyingKey>,
}

#[derive(Clone)]
struct VerifyingKey {
    kid: String,
    key: DecodingKey,
}

/// Which key verified a token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum VerifiedBy {
    Current,
    Previous,
}

impl KeyRing {
    pub(crate) fn hmac(secret: &[u8], algorithm: Algorithm) -> Result<Self, SessionError> {
        let (signing, verifying) = hmac_key(secret)?;
        Ok(Self {
            algorithm,
            algorithm_name: algorithm_name(algorithm),
            signing: Some(signing),
            verifying: vec![hmac_verifying_key(algorithm, verifying)?],
        })
    }

    pub(crate) fn asymmetric(
        signing: Option<EncodingKey>,
        verifying: DecodingKey,
        algorithm: Algorithm,
    ) -> Result<Self, SessionError> {
        if algorithm.family() == AlgorithmFamily::Hmac {
            return Err(SessionError::KeyMismatch(
                "HMAC algorithms take a secret: use Session::new(secret).algorithm(..)",
            ));
        }
        if let Some(signing) = &signing {
            (DEFAULT_PROVIDER.signer_factory)(&algorithm, signing).map_err(|_| {
                SessionError::KeyMismatch("the signing key does not fit the algorithm")
            })?;
        }
        verifier(algorithm, &verifying).map_err(|_| {
            SessionError::KeyMismatch("the verifying key does not fit the algorithm")
        })?;
        let kid = public_key_id(&verifying)?;
        Ok(Self {
            algorithm,
            algorithm_name: algorithm_name(algorithm),
            signing,
            verifying: vec![VerifyingKey {
                kid,
                key: verifying,
            }],
        })
    }

    /// Switches an HMAC ring to another HMAC algorithm, recomputing its key ids.
    pub(crate) fn with_hmac_algorithm(&self, algorithm: Algorithm) -> Result<Self, SessionError> {
        if algorithm.family() != AlgorithmFamily::Hmac
            || self.algorithm.family() != AlgorithmFamily::Hmac
        {
            return Err(SessionError::KeyMismatch(
                "Session::algorithm selects HS256, HS384 or HS512 for a secret; use Session::from_keys for EdDSA, ES256 or RS256",
            ));
        }
        let mut ring = self.clone();
        ring.algorithm = algorithm;
        ring.algorithm_name = algorithm_name(algorithm);
        for verifying in &mut ring.verifying {
            *verifying = hmac_verifying_key(algorithm, verifying.key.clone())?;
        }
        Ok(ring)
    }

    pub(crate) fn add_previous_secret(&mut self, secret: &[u8]) -> Result<(), SessionError> {
        if self.algorithm.family() != AlgorithmFamily::Hmac {
            return Err(SessionError::KeyMismatch(
                "previous secrets only apply to HMAC sessions",
            ));
        }
        let (_, key) = hmac_key(secret)?;
        let verifying = hmac_verifying_key(self.algorithm, key)?;
        if !self
            .verifying
            .iter()
            .any(|existing| existing.kid == verifying.kid)
        {
            self.verifying.push(verifying);
        }
        Ok(())
    }

    /// Whether tokens name their key: only while more than one key verifies, so that a
    /// single-key app writes Microdot's exact header.
    pub(crate) fn emits_kid(&self) -> bool {
        self.verifying.len() > 1
    }

    pub(crate) fn can_sign(&self) -> bool {
        self.signing.is_some()
    }

    pub(crate) fn current_kid(&self) -> &str {
        &self.verifying[0].kid
    }

    pub(crate) fn signer(&self) -> Result<Box<dyn JwtSigner>, SessionError> {
        let key = self.signing.as_ref().ok_or(SessionError::ReadOnly)?;
        // The provider is named, not looked up process-wide: another crate enabling a second
        // jsonwebtoken backend would make the process-wide lookup panic.
        (DEFAULT_PROVIDER.signer_factory)(&self.algorithm, key).map_err(SessionError::Signing)
    }

    /// Checks `signature` over `message` with the key named by `kid`, or, for tokens
    /// without one (Microdot's), with each key in turn.
    pub(crate) fn verify(
        &self,
        kid: Option<&str>,
        message: &[u8],
        signature: &[u8],
    ) -> Option<VerifiedBy> {
        let signature = signature.to_vec();
        let candidates = self
            .verifying
            .iter()
            .enumerate()
            .filter(|(_, key)| kid.is_none_or(|kid| key.kid == kid));
        for (index, key) in candidates {
            let Ok(verifier) = verifier(self.algorithm, &key.key) else {
                continue;
            };
            if verifier.verify(message, &signature).is_ok() {
                return Some(if index == 0 {
                    VerifiedBy::Current
                } else {
                    VerifiedBy::Previous
                });
            }
        }
        None
    }
}

/// An HMAC key with its id: `HMAC(secret, KID_LABEL)`, truncated.
fn hmac_verifying_key(
    algorithm: Algorithm,
    key: DecodingKey,
) -> Result<VerifyingKey, SessionError> {
    let secret = key.try_get_as_bytes().map_err(SessionError::Signing)?;
    let signer = (DEFAULT_PROVIDER.signer_factory)(&algorithm, &EncodingKey::from_secret(secret))
        .map_err(SessionError::Signing)?;
    let tag = signer
        .try_sign(KID_LABEL)
        .map_err(|_| SessionError::KeyMismatch("the secret cannot sign"))?;
    Ok(VerifyingKey {
        kid: URL_SAFE_NO_PAD.encode(&tag[..9]),
        key,
    })
}

fn hmac_key(secret: &[u8]) -> Result<(EncodingKey, DecodingKey), SessionError> {
    if secret.len() < MIN_SECRET_LEN {
        return Err(SessionError::SecretTooShort { len: secret.len() });
    }
    Ok((
        EncodingKey::from_secret(secret),
        DecodingKey::from_secret(secret),
    ))
}

/// A public key's id: a truncated SHA-256 of its bytes (public, so nothing to protect).
fn public_key_id(key: &DecodingKey) -> Result<String, SessionError> {
    let bytes = match key.kind() {
        DecodingKeyKind::SecretOrDer(der) => der.clone(),
        DecodingKeyKind::RsaModulusExponent { n, e } => [n.as_slice(), b".", e.as_slice()].concat(),
    };
    let digest = (DEFAULT_PROVIDER.key_utils.compute_digest)(&bytes, ThumbprintHash::SHA256)
        .map_err(SessionError::Signing)?;
    Ok(URL_SAFE_NO_PAD.encode(&digest[..9]))
}

fn verifier(
    algorithm: Algorithm,
    key: &DecodingKey,
) -> jsonwebtoken::errors::Result<Box<dyn JwtVerifier>> {
    (DEFAULT_PROVIDER.verifier_factory)(&algorithm, key)
}

/// The algorithm's name as JWT headers spell it, taken from jsonwebtoken's own serde mapping.
fn algorithm_name(algorithm: Algorithm) -> String {
    match serde_json::to_value(algorithm) {
        Ok(serde_json::Value::String(name)) => name,
        _ => format!("{algorithm:?}"),
    }
}
