//! The key ring: the pinned algorithm, the key that signs (if any) and every key that
//! verifies, each with its key id.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER;
use jsonwebtoken::crypto::{JwtSigner, JwtVerifier};
use jsonwebtoken::jwk::ThumbprintHash;
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, DecodingKeyKind, EncodingKey};

use crate::error::{MIN_SECRET_LEN, SessionError};

/// Mixed into HMAC key ids so they are useless for anything but telling keys apart.
const KID_LABEL: &[u8] = b"jwt-session key id v1";

/// Identifies a (key, algorithm) pair in the per-thread caches below.
static NEXT_CACHE_ID: AtomicU64 = AtomicU64::new(1);

fn next_cache_id() -> u64 {
    NEXT_CACHE_ID.fetch_add(1, Ordering::Relaxed)
}

/// Prepared signers and verifiers are kept per thread: jsonwebtoken's are not `Sync`, and
/// preparing one (for HMAC, hashing the key into its inner and outer states) per request
/// cost a fifth of a decode. A few slots cover every key an app rotates through.
const CACHE_SLOTS: usize = 8;

/// Prepared items by cache id, oldest first.
type Slots<T> = RefCell<Vec<(u64, Box<T>)>>;

thread_local! {
    static SIGNERS: Slots<dyn JwtSigner> = const { RefCell::new(Vec::new()) };
    static VERIFIERS: Slots<dyn JwtVerifier> = const { RefCell::new(Vec::new()) };
}

/// Runs `use_it` with the cached item for `id`, preparing it with `make` on a miss.
fn with_cached<T: ?Sized, R>(
    cache: &'static std::thread::LocalKey<Slots<T>>,
    id: u64,
    make: impl FnOnce() -> jsonwebtoken::errors::Result<Box<T>>,
    use_it: impl FnOnce(&T) -> R,
) -> jsonwebtoken::errors::Result<R> {
    cache.with_borrow_mut(|slots| {
        let index = match slots.iter().position(|(slot, _)| *slot == id) {
            Some(index) => index,
            None => {
                if slots.len() == CACHE_SLOTS {
                    slots.remove(0);
                }
                slots.push((id, make()?));
                slots.len() - 1
            }
        };
        Ok(use_it(&*slots[index].1))
    })
}

#[derive(Clone)]
pub(crate) struct KeyRing {
    pub(crate) algorithm: Algorithm,
    pub(crate) algorithm_name: String,
    /// `None` for a verify-only config; the `u64` names it in the signer cache.
    signing: Option<(u64, EncodingKey)>,
    /// The current key first, then previous ones, oldest last.
    verifying: Vec<VerifyingKey>,
}

#[derive(Clone)]
struct VerifyingKey {
    /// Names it in the verifier cache.
    cache_id: u64,
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
            signing: Some((next_cache_id(), signing)),
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
            signing: signing.map(|key| (next_cache_id(), key)),
            verifying: vec![VerifyingKey {
                cache_id: next_cache_id(),
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
        if let Some((cache_id, _)) = &mut ring.signing {
            *cache_id = next_cache_id();
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

    /// The key ids of the verifying keys, current first.
    pub(crate) fn kids(&self) -> impl Iterator<Item = &str> {
        self.verifying.iter().map(|key| key.kid.as_str())
    }

    /// Signs `message` with the current key.
    pub(crate) fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SessionError> {
        let (cache_id, key) = self.signing.as_ref().ok_or(SessionError::ReadOnly)?;
        // The provider is named, not looked up process-wide: another crate enabling a second
        // jsonwebtoken backend would make the process-wide lookup panic.
        let make = || (DEFAULT_PROVIDER.signer_factory)(&self.algorithm, key);
        let signed = with_cached(&SIGNERS, *cache_id, make, |signer| signer.try_sign(message));
        signed.map_err(SessionError::Signing)?.map_err(|err| {
            SessionError::Signing(jsonwebtoken::errors::ErrorKind::Signing(err.to_string()).into())
        })
    }

    /// Checks `signature` over `message` with the key named by `kid`, or, for tokens
    /// without one (Microdot's), with each key in turn.
    pub(crate) fn verify(
        &self,
        kid: Option<&str>,
        message: &[u8],
        signature: &Vec<u8>,
    ) -> Option<VerifiedBy> {
        let candidates = self
            .verifying
            .iter()
            .enumerate()
            .filter(|(_, key)| kid.is_none_or(|kid| key.kid == kid));
        for (index, key) in candidates {
            let make = || verifier(self.algorithm, &key.key);
            let verified = with_cached(&VERIFIERS, key.cache_id, make, |verifier| {
                verifier.verify(message, signature).is_ok()
            });
            if verified.unwrap_or(false) {
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
        cache_id: next_cache_id(),
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
