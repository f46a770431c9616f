//! The claims that share the namespace of session keys: the registered JWT claims
//! (RFC 7519 §4.1) and the lifetime claims jwt-session manages.
//!
//! One set of rules serves both directions: `insert` refuses what loading would reject, so
//! a value is never stored only to vanish on the next request.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};

/// Marks a side token (a token a layer issues with the session's keys, not a session), with
/// what it is for. A session carrying it is refused, so neither can stand in for the other.
pub(crate) const PURPOSE: &str = "_purpose";

const PURPOSE_REASON: &str = "jwt-session reserves it to mark tokens that are not sessions \
    (a remember-me cookie, say): a session carrying it is refused; store the value under \
    another key";

/// Carries the time the session began, for `Session::absolute_timeout`.
pub(crate) const SESSION_START: &str = "session_start";

/// Claims the library writes and reads itself; `insert` refuses them, and loading takes
/// them out of the entries.
pub(crate) const MANAGED: [&str; 4] = ["exp", "nbf", "iat", SESSION_START];

/// The registered JWT claims and the managed ones: the keys whose values loading checks.
const REGISTERED: [&str; 10] = [
    "exp",
    "nbf",
    "iat",
    SESSION_START,
    "sub",
    "jti",
    "iss",
    "aud",
    JTI_MS,
    JTI_GEN,
];

/// The managed claims and the token id's: what is not an entry under a revocation store.
pub(crate) const MANAGED_AND_ID: [&str; 7] =
    ["exp", "nbf", "iat", SESSION_START, "jti", JTI_MS, JTI_GEN];

const MANAGED_REASON: &str = "jwt-session manages it; set lifetimes with Session::max_age, \
    Session::idle_timeout and Session::absolute_timeout instead";
const NUMERIC_DATE: &str = "it must be a number of seconds since the Unix epoch \
    (RFC 7519 NumericDate); JWT libraries, this one and PyJWT included, reject any other type";
const STRING_ONLY: &str = "it must be a string; PyJWT, and so Microdot, rejects the whole \
    token otherwise; store the value under another key";
const AUDIENCE: &str = "PyJWT, and so Microdot, rejects every token carrying `aud` when the \
    app expects no audience; store the value under another key";

/// Why `insert(key, value)` must be refused, or `None` when it can be stored.
pub(crate) fn insert_problem(key: &str, value: &Value) -> Option<&'static str> {
    if MANAGED.contains(&key) {
        return Some(MANAGED_REASON);
    }
    if key == PURPOSE {
        return Some(PURPOSE_REASON);
    }
    type_problem(key, value)
}

/// Why `value` has the wrong JSON type for the registered or managed claim `key`.
fn type_problem(key: &str, value: &Value) -> Option<&'static str> {
    match key {
        "exp" | "nbf" | "iat" | SESSION_START if !value.is_number() => Some(NUMERIC_DATE),
        "sub" | "jti" | "iss" if !value.is_string() => Some(STRING_ONLY),
        "aud" => Some(AUDIENCE),
        _ => None,
    }
}

/// The `'static` name of a registered or managed claim.
pub(crate) fn registered_name(key: &str) -> Option<&'static str> {
    REGISTERED.into_iter().find(|name| *name == key)
}

/// The registered and managed claims of a payload, as read at load (the last of duplicate
/// keys, as a parsed map keeps).
#[derive(Debug, Default)]
pub(crate) struct RegisteredClaims {
    /// By position in `REGISTERED`.
    values: [Option<Value>; REGISTERED.len()],
}

impl RegisteredClaims {
    /// Records `value` for `name`, one of the names `registered_name` returns.
    pub(crate) fn set(&mut self, name: &'static str, value: Value) {
        if let Some(index) = REGISTERED.iter().position(|known| *known == name) {
            self.values[index] = Some(value);
        }
    }

    /// The token id in these claims, read in the load pass: `Ok(None)` without a `jti`, an
    /// error when one of them has the wrong type.
    pub(crate) fn take_token_id(&mut self) -> Result<Option<TokenId>, &'static str> {
        let mut take = |name: &str| {
            let index = REGISTERED.iter().position(|known| *known == name)?;
            self.values[index].take()
        };
        let minted_ms = match take(JTI_MS) {
            None => None,
            Some(value) => Some(value.as_u64().ok_or("`jti_ms` is not a whole number")?),
        };
        let generation = match take(JTI_GEN) {
            None => None,
            Some(value) => Some(value.as_u64().ok_or("`jti_gen` is not a whole number")?),
        };
        match take("jti") {
            None => Ok(None),
            Some(Value::String(jti)) if !jti.is_empty() => Ok(Some(TokenId {
                jti,
                minted_ms,
                generation,
            })),
            Some(_) => Err("`jti` is not a non-empty string"),
        }
    }

    fn iter(&self) -> impl Iterator<Item = (&'static str, &Value)> {
        REGISTERED
            .into_iter()
            .zip(&self.values)
            .filter_map(|(name, value)| Some((name, value.as_ref()?)))
    }
}

/// The session lifetimes configured on `Session`.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Lifetimes {
    pub(crate) max_age: Option<Duration>,
    pub(crate) idle: Option<Duration>,
    pub(crate) absolute: Option<Duration>,
    pub(crate) leeway: Duration,
    /// `Session::accept_legacy_tokens_until`: until this Unix time, a token lacking the
    /// lifetime claims is accepted as a session starting now.
    pub(crate) legacy_until: Option<f64>,
}

/// The managed claims of a verified token, in Unix seconds.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Times {
    pub(crate) iat: Option<f64>,
    pub(crate) start: Option<f64>,
    pub(crate) exp: Option<f64>,
}

impl Times {
    /// The same times, to be written again unchanged (a rotation re-sign).
    pub(crate) fn as_saved(self) -> SavedTimes {
        // Time claims are whole seconds when written by us or PyJWT; truncating a peer's
        // fraction can only shorten a lifetime.
        let whole = |at: Option<f64>| at.map(|at| at as u64);
        SavedTimes {
            iat: whole(self.iat),
            start: whole(self.start),
            exp: whole(self.exp),
        }
    }
}

/// Why a verified payload is not a valid session.
#[derive(Debug, PartialEq)]
pub(crate) enum ClaimRejection {
    /// A registered claim has the wrong JSON type (the CVE-2026-25537 class).
    Malformed {
        key: &'static str,
        reason: &'static str,
    },
    /// `exp` has passed, or the idle or absolute timeout has.
    Expired { by: &'static str },
    /// `nbf`, `iat` or `session_start` is in the future.
    NotYetValid { key: &'static str },
    /// A configured lifetime needs this claim, and the token lacks it.
    Missing { key: &'static str },
}

impl ClaimRejection {
    /// The rejection's name in the `reason` field of the debug log.
    pub(crate) fn reason(&self) -> &'static str {
        match self {
            Self::Malformed { .. } => "malformed_claim",
            Self::Expired { .. } => "expired",
            Self::NotYetValid { .. } => "not_yet_valid",
            Self::Missing { .. } => "missing_claim",
        }
    }
}

impl std::fmt::Display for ClaimRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Malformed { key, reason } => write!(f, "claim `{key}` is malformed: {reason}"),
            Self::Expired { by } => write!(f, "the session has expired ({by})"),
            Self::NotYetValid { key } => {
                write!(f, "the token is not valid yet (`{key}` is in the future)")
            }
            Self::Missing { key } => write!(
                f,
                "the token has no `{key}`, which the configured lifetimes need \
                 (Session::accept_legacy_tokens_until admits such tokens while migrating)"
            ),
        }
    }
}

impl Lifetimes {
    /// Whether any lifetime is set, so that cookies get a `Max-Age` matching their `exp`.
    pub(crate) fn is_configured(&self) -> bool {
        self.max_age.is_some() || self.idle.is_some() || self.absolute.is_some()
    }

    /// Checks the claims of a verified payload at `now` the way PyJWT does, but stricter on
    /// types, and returns the times of the managed ones.
    pub(crate) fn check(
        &self,
        claims: &RegisteredClaims,
        now: f64,
    ) -> Result<Times, ClaimRejection> {
        let mut times = Times::default();
        let mut nbf = None;
        for (key, value) in claims.iter() {
            if let Some(reason) = type_problem(key, value) {
                return Err(ClaimRejection::Malformed { key, reason });
            }
            let at = value.as_f64();
            match key {
                "exp" => times.exp = at,
                "iat" => times.iat = at,
                "nbf" => nbf = at,
                SESSION_START => times.start = at,
                _ => {}
            }
        }
        if let Some(key) = self.missing_claim(&times)
            && !self.legacy_until.is_some_and(|until| now < until)
        {
            return Err(ClaimRejection::Missing { key });
        }
        let leeway = self.leeway.as_secs_f64();
        let past = |at: Option<f64>, window: Option<Duration>| match (at, window) {
            (Some(at), Some(window)) => at + window.as_secs_f64() <= now - leeway,
            _ => false,
        };
        if times.exp.is_some_and(|exp| exp <= now - leeway) {
            return Err(ClaimRejection::Expired {
                by: "`exp` has passed",
            });
        }
        // Rechecked here so that shortening a timeout applies to tokens already issued.
        if past(times.iat, self.idle) {
            return Err(ClaimRejection::Expired { by: "idle timeout" });
        }
        if past(times.start, self.absolute) {
            return Err(ClaimRejection::Expired {
                by: "absolute timeout",
            });
        }
        // A start in the future would stretch the absolute window past its length.
        let start = times.start.filter(|_| self.absolute.is_some());
        for (key, at) in [("nbf", nbf), ("iat", times.iat), (SESSION_START, start)] {
            if at.is_some_and(|at| at > now + leeway) {
                return Err(ClaimRejection::NotYetValid { key });
            }
        }
        Ok(times)
    }

    /// The claim a configured lifetime needs and `times` lacks: without it, a token would
    /// outlive the lifetime (no `exp`), escape the idle check (no `iat`) or restart the
    /// absolute clock (no `session_start`).
    fn missing_claim(&self, times: &Times) -> Option<&'static str> {
        if (self.max_age.is_some() || self.idle.is_some()) && times.exp.is_none() {
            Some("exp")
        } else if self.idle.is_some() && times.iat.is_none() {
            Some("iat")
        } else if self.absolute.is_some() && times.start.is_none() {
            Some(SESSION_START)
        } else {
            None
        }
    }

    /// The managed claims a save at `now` writes, given those the session was loaded with.
    pub(crate) fn times_for_save(&self, loaded: Times, now: u64) -> SavedTimes {
        let start = self
            .absolute
            .map(|_| loaded.start.map_or(now, |start| start as u64));
        let deadlines = [
            self.max_age.map(|age| now.saturating_add(age.as_secs())),
            self.idle.map(|idle| now.saturating_add(idle.as_secs())),
            self.absolute
                .zip(start)
                .map(|(absolute, start)| start.saturating_add(absolute.as_secs())),
        ];
        let configured = deadlines.into_iter().flatten().min();
        SavedTimes {
            iat: self.idle.map(|_| now),
            start,
            // With no lifetime configured, an `exp` set by a peer (Microdot) is kept.
            exp: configured.or(loaded.exp.map(|exp| exp as u64)),
        }
    }

    /// Whether a session loaded with `times` should be re-issued at `now` with a fresh
    /// expiry: once more than half of the idle window has passed.
    pub(crate) fn wants_refresh(&self, times: Times, now: f64) -> bool {
        match (self.idle, times.iat) {
            (Some(idle), Some(iat)) => now - iat > idle.as_secs_f64() / 2.0,
            (Some(_), None) => true,
            (None, _) => false,
        }
    }
}

/// The managed claims written on save.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct SavedTimes {
    pub(crate) iat: Option<u64>,
    pub(crate) start: Option<u64>,
    pub(crate) exp: Option<u64>,
}

/// The claims written on save: the session's entries, then the managed claims.
pub(crate) struct SessionClaims<'a> {
    pub(crate) data: &'a Map<String, Value>,
    pub(crate) times: SavedTimes,
    /// Under a revocation store: the token id (`jti`) and its minting time (`jti_ms`).
    pub(crate) id: Option<&'a TokenId>,
}

impl Serialize for SessionClaims<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        for (key, value) in self.data {
            map.serialize_entry(key, value)?;
        }
        let SavedTimes { iat, start, exp } = self.times;
        for (key, value) in [("exp", exp), ("iat", iat), (SESSION_START, start)] {
            if let Some(value) = value {
                map.serialize_entry(key, &value)?;
            }
        }
        if let Some(id) = self.id {
            id.write_claims(&mut map)?;
        }
        map.end()
    }
}

/// The claim holding the millisecond a token id was minted, so that
/// `revoke_user` can tell tokens issued just before
/// the call from a login just after it, within the same second.
pub(crate) const JTI_MS: &str = "jti_ms";

/// The claim holding the user's `revoke_user` generation the minting instance knew, so a
/// later `revoke_user` denies the token whatever the clocks of the instances say.
pub(crate) const JTI_GEN: &str = "jti_gen";

/// A token's id, the millisecond it was minted (absent on a peer's token that carries
/// only `jti`: then any `revoke_user` of its user denies it) and its user's generation at
/// minting (absent when the minter could not know it: then `jti_ms` is compared).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TokenId {
    pub(crate) jti: String,
    pub(crate) minted_ms: Option<u64>,
    pub(crate) generation: Option<u64>,
}

impl TokenId {
    /// 128 random bits, base64url (22 characters), minted at `now_ms` (Unix milliseconds,
    /// from the config's clock).
    pub(crate) fn fresh(now_ms: u64) -> Self {
        let mut bytes = [0u8; 16];
        // The OS RNG failing leaves no safe way to mint ids; getrandom documents it as
        // practically unreachable on supported platforms.
        getrandom::getrandom(&mut bytes).expect("the OS random number generator failed");
        Self {
            jti: URL_SAFE_NO_PAD.encode(bytes),
            minted_ms: Some(now_ms),
            generation: None,
        }
    }

    /// This id, stamped with its user's `revoke_user` generation.
    pub(crate) fn with_generation(mut self, generation: Option<u64>) -> Self {
        self.generation = generation;
        self
    }

    /// Writes `jti`, `jti_ms` and `jti_gen` into a token's claims: the one writer of them.
    pub(crate) fn write_claims<M: SerializeMap>(&self, map: &mut M) -> Result<(), M::Error> {
        map.serialize_entry("jti", &self.jti)?;
        if let Some(minted_ms) = self.minted_ms {
            map.serialize_entry(JTI_MS, &minted_ms)?;
        }
        if let Some(generation) = self.generation {
            map.serialize_entry(JTI_GEN, &generation)?;
        }
        Ok(())
    }
}

/// `{"jti", "jti_ms", "jti_gen"}`, for `#[serde(flatten)]` into a token's claims.
impl Serialize for TokenId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        self.write_claims(&mut map)?;
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: f64 = 1_000.0;

    fn check(lifetimes: Lifetimes, claims: Value) -> Result<Times, ClaimRejection> {
        let mut registered = RegisteredClaims::default();
        for (key, value) in claims.as_object().unwrap() {
            if let Some(name) = registered_name(key) {
                registered.set(name, value.clone());
            }
        }
        lifetimes.check(&registered, NOW)
    }

    fn plain(claims: Value) -> Result<Times, ClaimRejection> {
        check(Lifetimes::default(), claims)
    }

    fn secs(s: u64) -> Option<Duration> {
        Some(Duration::from_secs(s))
    }

    #[test]
    fn time_claims_follow_pyjwt_boundaries() {
        assert!(matches!(
            plain(json!({"exp": 1000})),
            Err(ClaimRejection::Expired { .. })
        ));
        assert!(plain(json!({"exp": 1001})).is_ok());
        assert_eq!(
            plain(json!({"nbf": 1001})),
            Err(ClaimRejection::NotYetValid { key: "nbf" })
        );
        assert_eq!(
            plain(json!({"iat": 1001.5})),
            Err(ClaimRejection::NotYetValid { key: "iat" })
        );
        assert!(plain(json!({"nbf": 1000, "iat": 999})).is_ok());
        let lenient = Lifetimes {
            leeway: Duration::from_secs(30),
            ..Lifetimes::default()
        };
        assert!(check(lenient, json!({"exp": 990, "nbf": 1020})).is_ok());
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
            for key in ["exp", "nbf", "iat", SESSION_START] {
                let claims = json!({ key: bad.clone() });
                assert!(
                    matches!(plain(claims), Err(ClaimRejection::Malformed { .. })),
                    "{key}={bad}"
                );
            }
        }
        for key in ["sub", "jti", "iss"] {
            assert!(plain(json!({ key: 1 })).is_err(), "{key}");
            assert!(plain(json!({ key: "x" })).is_ok());
        }
        assert!(plain(json!({"aud": "x"})).is_err());
    }

    #[test]
    fn managed_claims_give_their_times() {
        let times = plain(json!({"a": 1, "exp": 2000, "iat": 900, SESSION_START: 800})).unwrap();
        assert_eq!(
            times,
            Times {
                iat: Some(900.0),
                start: Some(800.0),
                exp: Some(2000.0)
            }
        );
    }

    #[test]
    fn idle_and_absolute_timeouts_are_enforced_on_load() {
        let idle = Lifetimes {
            idle: secs(100),
            ..Lifetimes::default()
        };
        assert!(check(idle, json!({"iat": 950, "exp": 1050})).is_ok());
        assert!(matches!(
            check(idle, json!({"iat": 900, "exp": 1050})),
            Err(ClaimRejection::Expired { by: "idle timeout" })
        ));
        let absolute = Lifetimes {
            absolute: secs(100),
            ..Lifetimes::default()
        };
        assert!(check(absolute, json!({SESSION_START: 950})).is_ok());
        assert!(matches!(
            check(absolute, json!({SESSION_START: 900})),
            Err(ClaimRejection::Expired { .. })
        ));
    }

    #[test]
    fn configured_lifetimes_require_their_claims() {
        let max_age = Lifetimes {
            max_age: secs(100),
            ..Lifetimes::default()
        };
        let idle = Lifetimes {
            idle: secs(100),
            ..Lifetimes::default()
        };
        let absolute = Lifetimes {
            absolute: secs(100),
            ..Lifetimes::default()
        };
        let missing = |key| Err(ClaimRejection::Missing { key });
        assert_eq!(check(max_age, json!({"user": "joe"})), missing("exp"));
        assert_eq!(check(idle, json!({"user": "joe"})), missing("exp"));
        assert_eq!(check(idle, json!({"exp": 1050})), missing("iat"));
        assert_eq!(
            check(absolute, json!({"iat": 1000})),
            missing(SESSION_START)
        );
        assert_eq!(
            check(absolute, json!({SESSION_START: 1031})),
            Err(ClaimRejection::NotYetValid { key: SESSION_START }),
            "a start in the future would stretch the window"
        );
        assert!(
            plain(json!({SESSION_START: 5000})).is_ok(),
            "unchecked without absolute"
        );
        assert!(
            plain(json!({"user": "joe"})).is_ok(),
            "no lifetime, no claim needed"
        );
        let legacy = |until| Lifetimes {
            legacy_until: Some(until),
            ..max_age
        };
        assert!(check(legacy(NOW + 1.0), json!({"user": "joe"})).is_ok());
        assert_eq!(
            check(legacy(NOW), json!({"user": "joe"})),
            missing("exp"),
            "window closed"
        );
    }

    #[test]
    fn saves_take_the_earliest_deadline_and_keep_the_start() {
        let all = Lifetimes {
            max_age: secs(1000),
            idle: secs(100),
            absolute: secs(150),
            leeway: Duration::ZERO,
            legacy_until: None,
        };
        let fresh = all.times_for_save(Times::default(), 1000);
        assert_eq!(
            fresh,
            SavedTimes {
                iat: Some(1000),
                start: Some(1000),
                exp: Some(1100)
            }
        );
        let later = all.times_for_save(
            Times {
                start: Some(1000.0),
                ..Times::default()
            },
            1080,
        );
        assert_eq!(
            later,
            SavedTimes {
                iat: Some(1080),
                start: Some(1000),
                exp: Some(1150)
            },
            "capped by absolute"
        );
        let none = Lifetimes::default().times_for_save(
            Times {
                exp: Some(5000.0),
                ..Times::default()
            },
            1000,
        );
        assert_eq!(
            none,
            SavedTimes {
                exp: Some(5000),
                ..SavedTimes::default()
            },
            "a peer's exp is kept"
        );
    }

    #[test]
    fn refresh_once_past_half_the_idle_window() {
        let idle = Lifetimes {
            idle: secs(100),
            ..Lifetimes::default()
        };
        assert!(!idle.wants_refresh(
            Times {
                iat: Some(960.0),
                ..Times::default()
            },
            NOW
        ));
        assert!(idle.wants_refresh(
            Times {
                iat: Some(940.0),
                ..Times::default()
            },
            NOW
        ));
        assert!(
            idle.wants_refresh(Times::default(), NOW),
            "a token without iat gets one"
        );
        assert!(!Lifetimes::default().wants_refresh(Times::default(), NOW));
    }

    #[test]
    fn fresh_ids_are_22_base64url_characters_and_distinct() {
        let (a, b) = (
            TokenId::fresh(1_700_000_000_001),
            TokenId::fresh(1_700_000_000_001),
        );
        assert_eq!(a.jti.len(), 22);
        assert!(
            a.jti
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
        assert_ne!(a.jti, b.jti);
        assert_eq!(a.minted_ms, Some(1_700_000_000_001));
    }

    #[test]
    fn ids_are_taken_out_of_the_payload_and_checked() {
        use crate::token::payload::Entries;
        let load = |value: Value| {
            let json = serde_json::to_vec(&value).unwrap().into_boxed_slice();
            Entries::load_hiding(json, &MANAGED_AND_ID).unwrap()
        };
        let (entries, mut claims) =
            load(json!({"jti": "abc", "jti_ms": 5, "jti_gen": 7, "user": "ann"}));
        let id = claims.take_token_id().unwrap().unwrap();
        assert_eq!(
            (id.jti.as_str(), id.minted_ms, id.generation),
            ("abc", Some(5), Some(7))
        );
        assert!(!entries.contains_key("jti") && !entries.contains_key("jti_ms"));
        assert_eq!(entries.into_map().len(), 1, "only `user` is an entry");
        for bad in [
            json!({"jti": 1}),
            json!({"jti": ""}),
            json!({"jti": "a", "jti_ms": -1}),
            json!({"jti": "a", "jti_ms": "5"}),
            json!({"jti": "a", "jti_gen": -1}),
        ] {
            assert!(load(bad.clone()).1.take_token_id().is_err(), "{bad}");
        }
        assert_eq!(load(json!({})).1.take_token_id(), Ok(None));
    }
}
