//! The token core: keys, claims and the token id, the payload, JWS and JWE, lifetimes and
//! the clock, and the one pipeline every token takes. Nothing here knows actix-web, so
//! another framework's adapter could use it unchanged.
//!
//! This file holds what signed (JWS) and encrypted (JWE) tokens share: the incoming size
//! limit, the reasons a cookie is rejected, and the header checks.

pub(crate) mod claims;
pub(crate) mod clock;
pub(crate) mod codec;
#[cfg(feature = "encrypted")]
pub(crate) mod jwe;
pub(crate) mod keys;
pub(crate) mod payload;
pub(crate) mod pipeline;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

/// Incoming tokens longer than this are rejected before any base64 or JSON work, whatever
/// the config: a session may span `Session::max_chunks` (at most 5) cookies of at most
/// 4096 bytes. Each config's own limit ([`pipeline::TokenRules::max_len`]) is lower.
pub(crate) const MAX_INCOMING_TOKEN: usize = 5 * 4096;

/// A config's limit on incoming tokens when its sessions fit in one cookie.
pub(crate) const MAX_ONE_COOKIE_TOKEN: usize = 8 * 1024;

/// Why a cookie is not a valid session. Logged at debug level, never shown to the client.
#[derive(Debug)]
pub(crate) enum Rejection {
    /// The token's length, and the limit it is over.
    TooLong(usize, usize),
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
    #[cfg(feature = "encrypted")]
    Encrypted(&'static str),
    #[cfg(feature = "encrypted")]
    Decryption,
    Claims(claims::ClaimRejection),
    /// A side token (it carries `_purpose`) offered as a session.
    Purpose,
}

impl Rejection {
    /// The rejection's name in the `reason` field of the debug log, from a fixed
    /// vocabulary that the crate documentation lists.
    pub(crate) fn reason(&self) -> &'static str {
        match self {
            Self::TooLong(..) => "too_large",
            Self::Shape(_) | Self::Base64(_) | Self::Json(..) | Self::Header(_) => "malformed",
            Self::Algorithm(_) => "wrong_alg",
            Self::TokenType(_) => "wrong_typ",
            Self::UnknownKid => "unknown_kid",
            Self::Signature => "bad_signature",
            #[cfg(feature = "encrypted")]
            Self::Encrypted(_) => "malformed",
            #[cfg(feature = "encrypted")]
            Self::Decryption => "undecryptable",
            Self::Claims(rejection) => rejection.reason(),
            Self::Purpose => "wrong_purpose",
        }
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TooLong(len, limit) => {
                write!(f, "cookie is {len} bytes, over the {limit}-byte limit")
            }
            Self::Shape(what) => write!(f, "not a compact JWS: {what}"),
            Self::Base64(part) => write!(f, "the {part} is not valid base64url"),
            Self::Json(part, err) => write!(f, "the {part} is not a JSON object: {err}"),
            Self::Algorithm(alg) => write!(f, "algorithm {alg} is not the configured one"),
            Self::TokenType(typ) => write!(f, "the header's `typ` is {typ}, not JWT"),
            Self::Header(what) => write!(f, "unacceptable header: {what}"),
            Self::UnknownKid => f.write_str("the header's `kid` names no configured key"),
            Self::Signature => f.write_str("no configured key verifies the signature"),
            #[cfg(feature = "encrypted")]
            Self::Encrypted(what) => write!(f, "not an acceptable encrypted token: {what}"),
            #[cfg(feature = "encrypted")]
            Self::Decryption => f.write_str("no configured key decrypts the token"),
            Self::Claims(rejection) => rejection.fmt(f),
            Self::Purpose => f.write_str("it is a side token (it has `_purpose`), not a session"),
        }
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

/// A base64url segment holding a JSON object (a header).
pub(crate) fn decode_object(
    segment: &str,
    part: &'static str,
) -> Result<Map<String, Value>, Rejection> {
    let bytes = URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| Rejection::Base64(part))?;
    serde_json::from_slice(&bytes).map_err(|err| Rejection::Json(part, err))
}
