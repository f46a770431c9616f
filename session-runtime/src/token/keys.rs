//! The key ring: the pinned algorithm, the key that signs (if any) and every key that
//! verifies, each with its key id, its role and its usage count.

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER;
use jsonwebtoken::crypto::{JwtSigner, JwtVerifier};
use jsonwebtoken::jwk::ThumbprintHash;
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, DecodingKeyKind, EncodingKey};

use crate::error::{MIN_SECRET_LEN, SessionError};

/// RFC 7518 §3.2: an HMAC key at least as long as the hash output.
fn min_secret_len(algorithm: Algorithm) -> usize {
    match algorithm {
        Algorithm::HS384 => 48,
        Algorithm::HS512 => 64,
        _ => MIN_SECRET_LEN,
    }
}

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

/// What a key of a [`Session`](crate::Session) is for, in
/// [`Session::key_usage`](crate::Session::key_usage).
///
/// Only the current key ever signs (or encrypts). Previous and next keys only verify:
/// previous ones for tokens issued before a rotation, next ones for tokens issued by
/// instances that already sign with the key this one will switch to.
///
/// ```
/// use jwt_session::Session;
/// use jwt_session::keys::KeyRole;
///
/// let session = Session::new("the current secret, 32 bytes or more")
///     .previous_secrets(["the previous secret, 32 bytes or more"])
///     .next_secrets(["the next secret, also 32 bytes or more"]);
/// let roles: Vec<KeyRole> = session.key_usage().iter().map(|key| key.role).collect();
/// assert_eq!(roles, [KeyRole::Current, KeyRole::Previous, KeyRole::Next]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyRole {
    /// The key that signs every issued and re-issued token, and verifies.
    Current,
    /// A key being retired ([`Session::previous_secrets`](crate::Session::previous_secrets)):
    /// it verifies, and a session it verifies is re-signed with the current key.
    Previous,
    /// A key being introduced ([`Session::next_secrets`](crate::Session::next_secrets)): it
    /// verifies and never signs.
    Next,
}

/// How much one key of a [`Session`](crate::Session) has been used, from
/// [`Session::key_usage`](crate::Session::key_usage): the signal that a previous key can be
/// retired.
///
/// ```
/// use jwt_session::Session;
/// use jwt_session::keys::{KeyRole, KeyUsage};
///
/// let session = Session::new("the current secret, 32 bytes or more");
/// let [current]: [KeyUsage; 1] = session.key_usage().try_into().unwrap();
/// assert_eq!((current.role, current.verified, current.last_verified), (KeyRole::Current, 0, None));
/// assert_eq!(current.kid.len(), 12);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyUsage {
    /// The key id that tokens signed with this key carry in their `kid` header (while more
    /// than one key is configured): an HMAC of a fixed label for a secret, a truncated
    /// SHA-256 for a public key; neither reveals the key.
    pub kid: String,
    /// What the key is for.
    pub role: KeyRole,
    /// Request tokens it has verified since the config was built.
    pub verified: u64,
    /// When it last verified one, by the config's clock; `None` if never.
    pub last_verified: Option<SystemTime>,
}

#[derive(Clone)]
pub(crate) struct KeyRing {
    pub(crate) algorithm: Algorithm,
    pub(crate) algorithm_name: String,
    /// `None` for a verify-only config; the `u64` names it in the signer cache. Always the
    /// current key's pair: previous and next keys have no signing half here.
    signing: Option<(u64, EncodingKey)>,
    /// The current key first, then previous and next ones in the order they were added.
    verifying: Vec<VerifyingKey>,
}

#[derive(Clone)]
struct VerifyingKey {
    /// Names it in the verifier cache.
    cache_id: u64,
    kid: String,
    key: DecodingKey,
    role: KeyRole,
    /// Shared by clones of the ring, so by clones of a `Session`.
    usage: Arc<Counter>,
}

/// One key's usage, updated with relaxed atomics: a count needs no ordering.
#[derive(Debug)]
struct Counter {
    verified: AtomicU64,
    /// Microseconds since the Unix epoch, `NEVER` until the first verification.
    last_micros: AtomicU64,
}

const NEVER: u64 = u64::MAX;

impl Default for Counter {
    fn default() -> Self {
        Self {
            verified: AtomicU64::new(0),
            last_micros: AtomicU64::new(NEVER),
        }
    }
}

/// Which key verified a token: its place in the ring and its role.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct VerifiedBy {
    index: usize,
    pub(crate) role: KeyRole,
}

impl KeyRing {
    pub(crate) fn hmac(secret: &[u8], algorithm: Algorithm) -> Result<Self, SessionError> {
        let (signing, verifying) = hmac_key(secret, algorithm)?;
        Ok(Self {
            algorithm,
            algorithm_name: algorithm_name(algorithm),
            signing: Some((next_cache_id(), signing)),
            verifying: vec![hmac_verifying_key(algorithm, verifying, KeyRole::Current)?],
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
        let (verifier, current) = public_verifying_key(algorithm, verifying, KeyRole::Current)?;
        if let Some(signing) = &signing {
            let signer = (DEFAULT_PROVIDER.signer_factory)(&algorithm, signing).map_err(|_| {
                SessionError::KeyMismatch("the signing key does not fit the algorithm")
            })?;
            // A probe signature proves the two keys are one pair, so a config can never
            // issue tokens it would refuse to read.
            let probe = signer
                .try_sign(KID_LABEL)
                .map_err(|_| SessionError::KeyMismatch("the signing key cannot sign"))?;
            if verifier.verify(KID_LABEL, &probe).is_err() {
                return Err(SessionError::KeyMismatch(
                    "the signing key and the verifying key are not a pair",
                ));
            }
        }
        Ok(Self {
            algorithm,
            algorithm_name: algorithm_name(algorithm),
            signing: signing.map(|key| (next_cache_id(), key)),
            verifying: vec![current],
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
        for verifying in &self.verifying {
            let secret = verifying
                .key
                .try_get_as_bytes()
                .map_err(SessionError::Signing)?;
            check_secret_len(secret, algorithm)?;
        }
        let mut ring = self.clone();
        ring.algorithm = algorithm;
        ring.algorithm_name = algorithm_name(algorithm);
        for verifying in &mut ring.verifying {
            *verifying = hmac_verifying_key(algorithm, verifying.key.clone(), verifying.role)?;
        }
        if let Some((cache_id, _)) = &mut ring.signing {
            *cache_id = next_cache_id();
        }
        Ok(ring)
    }

    /// Adds a secret that verifies but never signs (`role` is `Previous` or `Next`). A
    /// secret already in the ring keeps its first role.
    pub(crate) fn add_secret(&mut self, role: KeyRole, secret: &[u8]) -> Result<(), SessionError> {
        if self.algorithm.family() != AlgorithmFamily::Hmac {
            return Err(SessionError::KeyMismatch(
                "previous and next secrets only apply to HMAC sessions; use \
                 previous_public_keys or next_public_keys",
            ));
        }
        let (_, key) = hmac_key(secret, self.algorithm)?;
        self.add(hmac_verifying_key(self.algorithm, key, role)?);
        Ok(())
    }

    /// Adds a public key that verifies (`role` is `Previous` or `Next`), checked as the
    /// current one is. A key already in the ring keeps its first role.
    pub(crate) fn add_public_key(
        &mut self,
        role: KeyRole,
        key: DecodingKey,
    ) -> Result<(), SessionError> {
        if self.algorithm.family() == AlgorithmFamily::Hmac {
            return Err(SessionError::KeyMismatch(
                "public keys only apply to asymmetric sessions; use previous_secrets or \
                 next_secrets",
            ));
        }
        let (_, verifying) = public_verifying_key(self.algorithm, key, role)?;
        self.add(verifying);
        Ok(())
    }

    fn add(&mut self, verifying: VerifyingKey) {
        debug_assert_ne!(verifying.role, KeyRole::Current, "only one key signs");
        if !self.has_kid(&verifying.kid) {
            self.verifying.push(verifying);
        }
    }

    /// Starts every key's usage count afresh, for a config derived from another.
    pub(crate) fn fresh_usage(&mut self) {
        for key in &mut self.verifying {
            key.usage = Arc::default();
        }
    }

    /// Counts one token verified by `by` at `now` (Unix seconds).
    pub(crate) fn record(&self, by: VerifiedBy, now: f64) {
        if let Some(key) = self.verifying.get(by.index) {
            key.usage.verified.fetch_add(1, Ordering::Relaxed);
            let micros = (now * 1e6) as u64;
            key.usage.last_micros.store(micros, Ordering::Relaxed);
        }
    }

    /// Every key's usage, current first.
    pub(crate) fn usage(&self) -> Vec<KeyUsage> {
        self.verifying
            .iter()
            .map(|key| {
                let last = key.usage.last_micros.load(Ordering::Relaxed);
                KeyUsage {
                    kid: key.kid.clone(),
                    role: key.role,
                    verified: key.usage.verified.load(Ordering::Relaxed),
                    last_verified: (last != NEVER)
                        .then(|| UNIX_EPOCH + Duration::from_micros(last)),
                }
            })
            .collect()
    }

    /// The key at `index` of the ring (as [`secrets`](KeyRing::secrets) lists them).
    pub(crate) fn verified_by(&self, index: usize) -> VerifiedBy {
        VerifiedBy {
            index,
            role: self.verifying[index].role,
        }
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

    /// The key ids of the verifying keys, current first, in ring order.
    pub(crate) fn kids(&self) -> impl Iterator<Item = &str> {
        self.verifying.iter().map(|key| key.kid.as_str())
    }

    /// The secrets of an HMAC ring with their key ids, current first, in ring order (for
    /// deriving the content keys of encrypted sessions).
    #[cfg(feature = "encrypted")]
    pub(crate) fn secrets(&self) -> Result<impl Iterator<Item = (&str, &[u8])>, SessionError> {
        if self.algorithm.family() != AlgorithmFamily::Hmac {
            return Err(SessionError::KeyMismatch(
                "encrypted sessions need a shared secret (Session::new(secret).encrypted()); \
                 asymmetric keys (Session::from_keys, Session::from_pem) can only sign",
            ));
        }
        let secrets: Result<Vec<_>, _> = self
            .verifying
            .iter()
            .map(|key| Ok((key.kid.as_str(), key.key.try_get_as_bytes()?)))
            .collect();
        Ok(secrets.map_err(SessionError::Signing)?.into_iter())
    }

    /// Signs `message` with the current key.
    pub(crate) fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SessionError> {
        let (cache_id, key) = self.signing.as_ref().ok_or(SessionError::ReadOnly)?;
        // The provider is named, not looked up process-wide: another crate enabling a second
        // jsonwebtoken backend would make the process-wide lookup panic.
        let make = || (DEFAULT_PROVIDER.signer_factory)(&self.algorithm, key);
        let signed = with_cached(&SIGNERS, *cache_id, make, |signer| signer.try_sign(message));
        let signature = signed.map_err(SessionError::Signing)?.map_err(|err| {
            SessionError::Signing(jsonwebtoken::errors::ErrorKind::Signing(err.to_string()).into())
        })?;
        Ok(low_s(self.algorithm, &signature).unwrap_or(signature))
    }

    /// Whether `kid` names one of the verifying keys.
    pub(crate) fn has_kid(&self, kid: &str) -> bool {
        self.verifying.iter().any(|key| key.kid == kid)
    }

    /// Checks `signature` over `message` with the key named by `kid`, or, for tokens
    /// without one (Microdot's), with each key in turn.
    pub(crate) fn verify(
        &self,
        kid: Option<&str>,
        message: &[u8],
        signature: &Vec<u8>,
    ) -> Option<VerifiedBy> {
        // ECDSA's `(r, n - s)` verifies as well as `(r, s)`; only the low-S form is
        // accepted, so every token has exactly one valid encoding.
        if low_s(self.algorithm, signature).is_some() {
            return None;
        }
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
                return Some(self.verified_by(index));
            }
        }
        None
    }
}

/// An HMAC key with its id: `HMAC(secret, KID_LABEL)`, truncated.
fn hmac_verifying_key(
    algorithm: Algorithm,
    key: DecodingKey,
    role: KeyRole,
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
        role,
        usage: Arc::default(),
    })
}

/// A checked public key with its id, and its prepared verifier.
fn public_verifying_key(
    algorithm: Algorithm,
    key: DecodingKey,
    role: KeyRole,
) -> Result<(Box<dyn JwtVerifier>, VerifyingKey), SessionError> {
    check_public_key(algorithm, &key)?;
    let verifier = verifier(algorithm, &key)
        .map_err(|_| SessionError::KeyMismatch("the verifying key does not fit the algorithm"))?;
    let verifying = VerifyingKey {
        cache_id: next_cache_id(),
        kid: public_key_id(&key)?,
        key,
        role,
        usage: Arc::default(),
    };
    Ok((verifier, verifying))
}

fn hmac_key(
    secret: &[u8],
    algorithm: Algorithm,
) -> Result<(EncodingKey, DecodingKey), SessionError> {
    check_secret_len(secret, algorithm)?;
    Ok((
        EncodingKey::from_secret(secret),
        DecodingKey::from_secret(secret),
    ))
}

fn check_secret_len(secret: &[u8], algorithm: Algorithm) -> Result<(), SessionError> {
    let min = min_secret_len(algorithm);
    if secret.len() < min {
        return Err(SessionError::SecretTooShort {
            len: secret.len(),
            min,
            algorithm: match algorithm {
                Algorithm::HS384 => "HS384",
                Algorithm::HS512 => "HS512",
                _ => "HS256",
            },
        });
    }
    Ok(())
}

/// The low-S form of an ECDSA signature whose `s` is high, or `None` when it is already
/// low or the algorithm is not ECDSA. A signature that does not parse is left to the
/// verifier to refuse.
fn low_s(algorithm: Algorithm, signature: &[u8]) -> Option<Vec<u8>> {
    match algorithm {
        Algorithm::ES256 => p256::ecdsa::Signature::from_slice(signature)
            .ok()?
            .normalize_s()
            .map(|low| low.to_vec()),
        Algorithm::ES384 => p384::ecdsa::Signature::from_slice(signature)
            .ok()?
            .normalize_s()
            .map(|low| low.to_vec()),
        _ => None,
    }
}

/// Refuses public keys that jsonwebtoken would take but must not be used: bytes that are
/// no key of the family (some of which make its verifier panic), and the small-order
/// Ed25519 keys under which signatures can be forged without any private key.
fn check_public_key(algorithm: Algorithm, key: &DecodingKey) -> Result<(), SessionError> {
    const NOT_A_KEY: SessionError =
        SessionError::KeyMismatch("the verifying key is not a valid public key of this algorithm");
    match (algorithm.family(), key.kind()) {
        (AlgorithmFamily::Ed, DecodingKeyKind::SecretOrDer(bytes)) => {
            let bytes = <&[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| NOT_A_KEY)?;
            let key = ed25519_dalek::VerifyingKey::from_bytes(bytes).map_err(|_| NOT_A_KEY)?;
            if key.is_weak() {
                return Err(SessionError::KeyMismatch(
                    "the Ed25519 public key has small order: signatures under it can be forged",
                ));
            }
        }
        (AlgorithmFamily::Ec, DecodingKeyKind::SecretOrDer(bytes)) => {
            let valid = match algorithm {
                Algorithm::ES256 => p256::ecdsa::VerifyingKey::from_sec1_bytes(bytes).is_ok(),
                Algorithm::ES384 => p384::ecdsa::VerifyingKey::from_sec1_bytes(bytes).is_ok(),
                _ => false,
            };
            if !valid {
                return Err(NOT_A_KEY);
            }
        }
        (AlgorithmFamily::Rsa, DecodingKeyKind::SecretOrDer(der)) => {
            use rsa::pkcs1::DecodeRsaPublicKey as _;
            rsa::RsaPublicKey::from_pkcs1_der(der).map_err(|_| NOT_A_KEY)?;
        }
        (AlgorithmFamily::Rsa, DecodingKeyKind::RsaModulusExponent { n, e }) => {
            rsa::RsaPublicKey::new(
                rsa::BigUint::from_bytes_be(n),
                rsa::BigUint::from_bytes_be(e),
            )
            .map_err(|_| NOT_A_KEY)?;
        }
        _ => return Err(NOT_A_KEY),
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    const CURRENT: &[u8] = b"the current secret, 32 bytes or more";
    const NEXT: &[u8] = b"the next secret, also 32 bytes or more";

    fn staged() -> KeyRing {
        let mut ring = KeyRing::hmac(CURRENT, Algorithm::HS256).unwrap();
        ring.add_secret(KeyRole::Next, NEXT).unwrap();
        ring
    }

    #[test]
    fn a_next_key_verifies_and_never_signs() {
        let ring = staged();
        let next_alone = KeyRing::hmac(NEXT, Algorithm::HS256).unwrap();
        let by_next = next_alone.sign(b"input").unwrap();
        let verified = ring.verify(None, b"input", &by_next).map(|by| by.role);
        assert_eq!(verified, Some(KeyRole::Next));
        let signed = ring.sign(b"input").unwrap();
        let current_alone = KeyRing::hmac(CURRENT, Algorithm::HS256).unwrap();
        assert_eq!(signed, current_alone.sign(b"input").unwrap());
        assert_ne!(signed, by_next);
        // A `kid` picks the one key that is tried.
        let next_kid = next_alone.current_kid();
        assert_eq!(ring.verify(Some(next_kid), b"input", &signed), None);
    }

    #[test]
    fn usage_is_counted_per_key_and_shared_by_clones() {
        let ring = staged();
        let clone = ring.clone();
        clone.record(ring.verified_by(1), 12.5);
        clone.record(ring.verified_by(1), 20.0);
        let usage = ring.usage();
        assert_eq!((usage[0].verified, usage[1].verified), (0, 2));
        assert_eq!(usage[0].last_verified, None);
        let twenty = UNIX_EPOCH + Duration::from_secs(20);
        assert_eq!(usage[1].last_verified, Some(twenty));
        let mut fresh = ring.clone();
        fresh.fresh_usage();
        assert_eq!(fresh.usage()[1].verified, 0);
        assert_eq!(ring.usage()[1].verified, 2);
    }
}
