//! Rules for the registered JWT claims (RFC 7519 §4.1) that share the namespace of session keys.
//!
//! One table serves both directions: `insert` refuses what `decode` would reject, so a value
//! is never stored only to vanish on the next request.

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};

const NUMERIC_DATE: &str = "it must be a number of seconds since the Unix epoch \
    (RFC 7519 NumericDate); JWT libraries, this one and PyJWT included, reject any other type";
const STRING_ONLY: &str = "it must be a string; PyJWT, and so Microdot, rejects the whole \
    token otherwise; store the value under another key";
const AUDIENCE: &str = "PyJWT, and so Microdot, rejects every token carrying `aud` when the \
    app expects no audience; store the value under another key";

/// Why `value` cannot stand under the registered claim `key`, or `None` when it can.
pub(crate) fn registered_claim_problem(key: &str, value: &Value) -> Option<&'static str> {
    match key {
        "exp" | "nbf" | "iat" if !value.is_number() => Some(NUMERIC_DATE),
        "sub" | "jti" | "iss" if !value.is_string() => Some(STRING_ONLY),
        "aud" => Some(AUDIENCE),
        _ => None,
    }
}

/// Why a verified payload is not a valid session, checked at time `now` (Unix seconds).
#[derive(Debug, PartialEq)]
pub(crate) enum ClaimRejection {
    /// A registered claim has the wrong JSON type (the CVE-2026-25537 class).
    Malformed {
        key: &'static str,
        reason: &'static str,
    },
    /// `exp` is in the past.
    Expired,
    /// `nbf` or `iat` is in the future.
    NotYetValid { key: &'static str },
}

impl std::fmt::Display for ClaimRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Malformed { key, reason } => write!(f, "claim `{key}` is malformed: {reason}"),
            Self::Expired => f.write_str("the token has expired (`exp` is in the past)"),
            Self::NotYetValid { key } => {
                write!(f, "the token is not valid yet (`{key}` is in the future)")
            }
        }
    }
}

/// Checks the registered claims of a verified payload the way PyJWT does, but stricter on types.
pub(crate) fn validate(
    claims: &Map<String, Value>,
    now: f64,
    leeway: f64,
) -> Result<(), ClaimRejection> {
    for key in ["exp", "nbf", "iat", "sub", "jti", "iss", "aud"] {
        if let Some(value) = claims.get(key)
            && let Some(reason) = registered_claim_problem(key, value)
        {
            return Err(ClaimRejection::Malformed { key, reason });
        }
    }
    let seconds = |key| claims.get(key).and_then(Value::as_f64);
    if seconds("exp").is_some_and(|exp| exp <= now - leeway) {
        return Err(ClaimRejection::Expired);
    }
    for key in ["nbf", "iat"] {
        if seconds(key).is_some_and(|at| at > now + leeway) {
            return Err(ClaimRejection::NotYetValid { key });
        }
    }
    Ok(())
}

/// The claims written on save: the session's entries, with `exp` set by the library when
/// `Session::max_age` is configured (replacing any `exp` the data holds).
pub(crate) struct SessionClaims<'a> {
    pub(crate) data: &'a Map<String, Value>,
    pub(crate) exp: Option<u64>,
}

impl Serialize for SessionClaims<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        for (key, value) in self.data {
            if !(self.exp.is_some() && key == "exp") {
                map.serialize_entry(key, value)?;
            }
        }
        if let Some(exp) = self.exp {
            map.serialize_entry("exp", &exp)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(claims: Value) -> Result<(), ClaimRejection> {
        validate(claims.as_object().unwrap(), 1_000.0, 0.0)
    }

    #[test]
    fn time_claims_follow_pyjwt_boundaries() {
        assert_eq!(check(json!({"exp": 1000})), Err(ClaimRejection::Expired));
        assert_eq!(check(json!({"exp": 1001})), Ok(()));
        assert_eq!(
            check(json!({"nbf": 1001})),
            Err(ClaimRejection::NotYetValid { key: "nbf" })
        );
        assert_eq!(
            check(json!({"iat": 1001.5})),
            Err(ClaimRejection::NotYetValid { key: "iat" })
        );
        assert_eq!(check(json!({"nbf": 1000, "iat": 999})), Ok(()));
        assert_eq!(
            validate(json!({"exp": 990}).as_object().unwrap(), 1_000.0, 30.0),
            Ok(())
        );
    }

    #[test]
    fn wrong_types_are_rejected_not_ignored() {
        for bad in [
            json!("9999999999"),
            json!(null),
            json!(true),
            json!([1]),
            json!({"a": 1}),
        ] {
            for key in ["exp", "nbf", "iat"] {
                let claims = json!({ key: bad.clone() });
                assert!(
                    matches!(check(claims), Err(ClaimRejection::Malformed { .. })),
                    "{key}={bad}"
                );
            }
        }
        for key in ["sub", "jti", "iss"] {
            assert!(check(json!({ key: 1 })).is_err(), "{key}");
            assert_eq!(check(json!({ key: "x" })), Ok(()));
        }
        assert!(check(json!({"aud": "x"})).is_err());
    }
}
