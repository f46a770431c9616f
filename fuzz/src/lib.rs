//! The configs and signers the fuzz targets share.

use std::sync::LazyLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER;
use jsonwebtoken::{Algorithm, EncodingKey};
use jwt_session::Session;
use serde_json::{Map, Value};

pub const SECRET: &[u8] = b"fuzzing secret, at least thirty-two bytes";
pub const PREVIOUS_SECRET: &[u8] = b"previous fuzzing secret, thirty-two bytes+";

const ED_PRIVATE: &[u8] = include_bytes!("../../tests/keys/ed25519-private.pem");
const ED_PUBLIC: &[u8] = include_bytes!("../../tests/keys/ed25519-public.pem");
const ES_PRIVATE: &[u8] = include_bytes!("../../tests/keys/es256-private.pem");
const ES_PUBLIC: &[u8] = include_bytes!("../../tests/keys/es256-public.pem");

/// Lifetimes of the lifetimes-and-rotation config; timed payloads land around them.
pub const MAX_AGE: u64 = 7200;
pub const IDLE: u64 = 3600;
pub const ABSOLUTE: u64 = 86_400;

/// A config under test and the keys that sign valid tokens for it.
pub struct Fixture {
    pub name: &'static str,
    pub session: Session,
    pub algorithm: Algorithm,
    key: EncodingKey,
    /// A key the config accepts but no longer signs with (rotation), if it has one.
    previous: Option<EncodingKey>,
}

/// The default config, lifetimes plus rotation, EdDSA and ES256, in that order.
pub static FIXTURES: LazyLock<[Fixture; 4]> = LazyLock::new(|| {
    let hmac = |session: Session, previous: Option<&[u8]>| Fixture {
        name: "hmac",
        session,
        algorithm: Algorithm::HS256,
        key: EncodingKey::from_secret(SECRET),
        previous: previous.map(EncodingKey::from_secret),
    };
    let lifetimes = Session::new(SECRET)
        .max_age(Duration::from_secs(MAX_AGE))
        .idle_timeout(Duration::from_secs(IDLE))
        .absolute_timeout(Duration::from_secs(ABSOLUTE))
        .previous_secrets([PREVIOUS_SECRET]);
    [
        Fixture {
            name: "default",
            ..hmac(Session::new(SECRET), None)
        },
        Fixture {
            name: "lifetimes+rotation",
            ..hmac(lifetimes, Some(PREVIOUS_SECRET))
        },
        Fixture {
            name: "EdDSA",
            session: Session::from_pem(Algorithm::EdDSA, ED_PRIVATE, ED_PUBLIC).unwrap(),
            algorithm: Algorithm::EdDSA,
            key: EncodingKey::from_ed_pem(ED_PRIVATE).unwrap(),
            previous: None,
        },
        Fixture {
            name: "ES256",
            session: Session::from_pem(Algorithm::ES256, ES_PRIVATE, ES_PUBLIC).unwrap(),
            algorithm: Algorithm::ES256,
            key: EncodingKey::from_ec_pem(ES_PRIVATE).unwrap(),
            previous: None,
        },
    ]
});

impl Fixture {
    /// The header this config writes (without `kid`).
    pub fn header(&self) -> String {
        format!(r#"{{"alg":"{:?}","typ":"JWT"}}"#, self.algorithm)
    }

    /// A token over any header and payload bytes, validly signed with the current key.
    pub fn sign(&self, header: &[u8], payload: &[u8]) -> String {
        sign_with(self.algorithm, &self.key, header, payload)
    }

    /// As [`Fixture::sign`], with the previous key when the config has one.
    pub fn sign_previous(&self, header: &[u8], payload: &[u8]) -> String {
        sign_with(
            self.algorithm,
            self.previous.as_ref().unwrap_or(&self.key),
            header,
            payload,
        )
    }
}

fn sign_with(algorithm: Algorithm, key: &EncodingKey, header: &[u8], payload: &[u8]) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let signer = (DEFAULT_PROVIDER.signer_factory)(&algorithm, key).unwrap();
    format!(
        "{input}.{}",
        URL_SAFE_NO_PAD.encode(signer.try_sign(input.as_bytes()).unwrap())
    )
}

pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A payload whose time claims sit around now, so the fuzzer reaches the lifetime checks
/// and the re-issue path without knowing the clock. `offsets` holds three little-endian
/// `i16`s for `iat`, `exp` and `session_start` (`i16::MIN`: claim absent), each counted
/// in units of four seconds from now; `rest` is the session data when it is a JSON object.
pub fn timed_payload(offsets: [u8; 6], rest: &[u8]) -> Vec<u8> {
    let mut claims: Map<String, Value> = serde_json::from_slice(rest).unwrap_or_else(|_| {
        Map::from_iter([(
            "d".to_owned(),
            String::from_utf8_lossy(rest).into_owned().into(),
        )])
    });
    let now = unix_now();
    for (key, pair) in ["iat", "exp", "session_start"]
        .into_iter()
        .zip(offsets.chunks(2))
    {
        let offset = i16::from_le_bytes([pair[0], pair[1]]);
        if offset != i16::MIN {
            claims.insert(key.to_owned(), (now + 4 * i64::from(offset)).into());
        }
    }
    serde_json::to_vec(&claims).unwrap()
}

/// The decoded payload object of a token, if it has one.
pub fn payload_of(token: &str) -> Option<Map<String, Value>> {
    let payload = token.split('.').nth(1)?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
}

/// The token with its ES256 signature `(r, s)` replaced by `(r, n − s)`, which verifies
/// under plain ECDSA whenever the original does.
pub fn high_s_twin(token: &str) -> Option<String> {
    let (input, signature) = token.rsplit_once('.')?;
    let signature =
        p256::ecdsa::Signature::from_slice(&URL_SAFE_NO_PAD.decode(signature).ok()?).ok()?;
    let (r, s) = signature.split_scalars();
    let twin = p256::ecdsa::Signature::from_scalars(r, -s).ok()?;
    Some(format!(
        "{input}.{}",
        URL_SAFE_NO_PAD.encode(twin.to_bytes())
    ))
}
