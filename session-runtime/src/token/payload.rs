//! A verified payload, read without building it: one allocation-free pass at load checks that
//! it is the JSON object the entries map would parse and collects its registered claims; the
//! entries are parsed only when a handler needs more than a lookup.
//!
//! Building the owned map was most of a decode: every key and string is an allocation, and
//! a handler typically reads one or two keys. Both passes here use serde_json's own parser,
//! with the same nesting limit and string, number and UTF-8 rules as the map, so a payload
//! that passes at load always parses later.

use std::borrow::Cow;
use std::fmt;
use std::sync::OnceLock;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

#[cfg(test)]
use super::claims::MANAGED;
use super::claims::{RegisteredClaims, registered_name};

/// The session's entries: the verified payload until something needs the map, then the map
/// without the managed claims (which loading took out and checked).
pub(crate) enum Entries {
    Raw {
        /// Checked as UTF-8 once, so serde_json's `from_str` skips checking each string.
        json: Box<str>,
        /// The claims that are not entries: the managed ones, and under a revocation store
        /// the token id's.
        hidden: &'static [&'static str],
        /// Where the top-level keys are, when the scan could record them all.
        keys: Option<KeyIndex>,
        /// Filled on the first access that needs the whole map.
        parsed: OnceLock<Map<String, Value>>,
    },
    Parsed(Map<String, Value>),
}

impl Default for Entries {
    fn default() -> Self {
        Self::Parsed(Map::new())
    }
}

impl Entries {
    /// The entries of a verified payload and its registered claims, when the payload is a
    /// JSON object the map parser accepts.
    #[cfg(test)]
    pub(crate) fn load(json: Box<[u8]>) -> Result<(Self, RegisteredClaims), serde_json::Error> {
        Self::load_hiding(json, &MANAGED)
    }

    /// [`load`](Self::load), with `hidden` (the managed claims, and any others the caller
    /// reads from the registered claims) kept out of the entries.
    pub(crate) fn load_hiding(
        json: Box<[u8]>,
        hidden: &'static [&'static str],
    ) -> Result<(Self, RegisteredClaims), serde_json::Error> {
        let json = String::from_utf8(json.into_vec())
            .map_err(|err| de::Error::custom(err.utf8_error()))?
            .into_boxed_str();
        let (claims, keys) = scan(&json)?;
        let entries = Self::Raw {
            json,
            hidden,
            keys,
            parsed: OnceLock::new(),
        };
        Ok((entries, claims))
    }

    /// The entries as a map, parsed on first use.
    pub(crate) fn map(&self) -> &Map<String, Value> {
        match self {
            Self::Raw {
                json,
                parsed,
                hidden,
                ..
            } => parsed.get_or_init(|| parse(json, hidden)),
            Self::Parsed(map) => map,
        }
    }

    /// The entries as a map to change; the payload is no longer needed after this.
    pub(crate) fn map_mut(&mut self) -> &mut Map<String, Value> {
        if let Self::Raw {
            json,
            parsed,
            hidden,
            ..
        } = self
        {
            *self = Self::Parsed(parsed.take().unwrap_or_else(|| parse(json, hidden)));
        }
        match self {
            Self::Parsed(map) => map,
            Self::Raw { .. } => unreachable!("replaced by the parsed map above"),
        }
    }

    /// Takes the entries out as a map.
    /// A parsed copy to change, leaving these entries as they are: parsed from the payload
    /// (one parse, as a first change of the entries themselves costs), or the parsed map
    /// cloned when it exists.
    pub(crate) fn to_parsed(&self) -> Self {
        match self {
            Self::Raw {
                json,
                parsed,
                hidden,
                ..
            } => Self::Parsed(parsed.get().cloned().unwrap_or_else(|| parse(json, hidden))),
            Self::Parsed(map) => Self::Parsed(map.clone()),
        }
    }

    pub(crate) fn into_map(self) -> Map<String, Value> {
        match self {
            Self::Raw {
                json,
                parsed,
                hidden,
                ..
            } => parsed.into_inner().unwrap_or_else(|| parse(&json, hidden)),
            Self::Parsed(map) => map,
        }
    }

    /// The value under `key`, as `map().get(key)`, but parsed alone from the payload while
    /// the map has not been built.
    pub(crate) fn get(&self, key: &str) -> Option<Cow<'_, Value>> {
        if let Some((json, keys, hidden)) = self.indexed() {
            let text = keys.value_of(json, key, hidden)?;
            // The scan accepted the whole payload, so this value parses.
            if let Ok(value) = serde_json::from_str(text) {
                return Some(Cow::Owned(value));
            }
        }
        self.map().get(key).map(Cow::Borrowed)
    }

    /// Whether `key` is present, without building the map.
    pub(crate) fn contains_key(&self, key: &str) -> bool {
        match self.indexed() {
            Some((json, keys, hidden)) => keys.value_of(json, key, hidden).is_some(),
            None => self.map().contains_key(key),
        }
    }

    /// Whether there are no entries, without building the map.
    pub(crate) fn is_empty(&self) -> bool {
        match self.indexed() {
            Some((json, keys, hidden)) => keys.names(json).all(|name| hidden.contains(&name)),
            None => self.map().is_empty(),
        }
    }

    /// The payload, its key index and its hidden claims, while the map has not been built.
    fn indexed(&self) -> Option<(&str, &KeyIndex, &'static [&'static str])> {
        match self {
            Self::Raw {
                json,
                keys: Some(keys),
                parsed,
                hidden,
            } if parsed.get().is_none() => Some((json, keys, hidden)),
            _ => None,
        }
    }
}

impl Clone for Entries {
    fn clone(&self) -> Self {
        match self.indexed() {
            Some((json, keys, hidden)) => Self::Raw {
                json: json.into(),
                hidden,
                keys: Some(keys.clone()),
                parsed: OnceLock::new(),
            },
            None => Self::Parsed(self.map().clone()),
        }
    }
}

/// The positions of a payload's top-level keys, in order, so a lookup reads one value
/// instead of scanning the payload. Kept inline: a session has few keys.
#[derive(Clone, Debug)]
pub(crate) struct KeyIndex {
    /// Where each key's text starts, after its opening quote; the first `len` are used. The
    /// text ends at the next quote: indexed keys have no escapes. A payload is shorter than
    /// the 8 KB cookie limit, so `u16` offsets keep the index (and every move of a
    /// `SessionDict`) small.
    starts: [u16; KEY_INDEX_SLOTS],
    len: u8,
}

/// Payloads with more top-level keys are looked up in the parsed map.
const KEY_INDEX_SLOTS: usize = 12;

impl KeyIndex {
    fn starts(&self) -> &[u16] {
        &self.starts[..usize::from(self.len)]
    }

    fn names<'j>(
        &self,
        json: &'j str,
    ) -> impl DoubleEndedIterator<Item = &'j str> + ExactSizeIterator {
        self.starts().iter().map(|&start| {
            let text = json.get(usize::from(start)..).unwrap_or_default();
            text.split_once('"').map_or(text, |(name, _)| name)
        })
    }

    /// The JSON text of the last value under `key` (the one the map keeps); managed claims
    /// are not entries.
    fn value_of<'j>(&self, json: &'j str, key: &str, hidden: &[&str]) -> Option<&'j str> {
        if hidden.contains(&key) {
            return None;
        }
        let index = self.names(json).rposition(|name| name == key)?;
        // The value lies between the key's closing quote and the next key's opening quote
        // (or the object's closing brace), after `:` and before `,`.
        let start = usize::from(self.starts[index]) + key.len() + 1;
        let end = match self.starts().get(index + 1) {
            Some(&next) => usize::from(next) - 1,
            None => json.rfind('}')?,
        };
        let between = json.get(start..end)?.trim_ascii();
        let value = between.strip_prefix(':')?;
        Some(value.strip_suffix(',').unwrap_or(value).trim_ascii())
    }
}

/// Checks at load that `json` is a JSON object the map parser accepts, collecting its
/// registered claims (the last of duplicates, as the map keeps) and the positions of its
/// keys, in one pass that allocates only for string-valued registered claims.
fn scan(json: &str) -> Result<(RegisteredClaims, Option<KeyIndex>), serde_json::Error> {
    let mut scan = Scan {
        json,
        claims: RegisteredClaims::default(),
        keys: Some(KeyIndex {
            starts: [0; KEY_INDEX_SLOTS],
            len: 0,
        }),
    };
    let mut deserializer = serde_json::Deserializer::from_str(json);
    de::Deserializer::deserialize_map(&mut deserializer, &mut scan)?;
    deserializer.end()?;
    Ok((scan.claims, scan.keys))
}

/// The map of a payload `scan` accepted, without the managed claims.
fn parse(json: &str, hidden: &[&str]) -> Map<String, Value> {
    match serde_json::from_str::<Map<String, Value>>(json) {
        Ok(mut map) => {
            for key in hidden {
                map.remove(*key);
            }
            map
        }
        Err(err) => {
            // `scan` accepts exactly what this parser accepts; kept loud in case that breaks.
            tracing::error!("a verified session payload failed to parse: {err}");
            Map::new()
        }
    }
}

/// The load pass over the top-level object.
struct Scan<'j> {
    json: &'j str,
    claims: RegisteredClaims,
    /// `None` once a key cannot be indexed (escaped, or one too many).
    keys: Option<KeyIndex>,
}

impl<'de> Visitor<'de> for &mut Scan<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let base = self.json.as_ptr() as usize;
        while let Some(key) = map.next_key_seed(KeySeed {
            base,
            len: self.json.len(),
        })? {
            if let Some(index) = &mut self.keys {
                match key.start {
                    Some(start) if usize::from(index.len) < KEY_INDEX_SLOTS => {
                        index.starts[usize::from(index.len)] = start;
                        index.len += 1;
                    }
                    _ => self.keys = None,
                }
            }
            match key.claim {
                Some(name) => self.claims.set(name, map.next_value()?),
                None => map.next_value_seed(Validate)?,
            }
        }
        Ok(())
    }
}

/// A top-level key: the registered claim it names, and where its text starts in the payload
/// (`None` when it had escapes, so its text is not the key).
struct Key {
    claim: Option<&'static str>,
    start: Option<u16>,
}

/// Reads a key, locating it in the payload starting at address `base`.
struct KeySeed {
    base: usize,
    len: usize,
}

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Key;
    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Key, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }

    /// A key without escapes is a slice of the payload itself.
    fn visit_borrowed_str<E: de::Error>(self, key: &'de str) -> Result<Key, E> {
        let start = (key.as_ptr() as usize)
            .checked_sub(self.base)
            .filter(|start| start + key.len() <= self.len)
            .and_then(|start| u16::try_from(start).ok());
        Ok(Key {
            claim: registered_name(key),
            start,
        })
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Key, E> {
        Ok(Key {
            claim: registered_name(key),
            start: None,
        })
    }
}

/// Accepts any JSON value `Value` would, allocating nothing: strings and numbers go through
/// the same parsing (escapes, surrogates, number range, nesting limit) without being kept.
#[derive(Clone, Copy)]
struct Validate;

impl<'de> DeserializeSeed<'de> for Validate {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Validate {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(self)?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_key_seed(self)?.is_some() {
            map.next_value_seed(self)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Payloads the map parser refuses; the scan must refuse each too.
    #[test]
    fn scan_refuses_what_the_map_parser_refuses() {
        let refused: &[&[u8]] = &[
            b"",
            b"[]",
            b"1",
            b"{\"a\":1",
            b"{\"a\":1} x",
            b"{\"a\":\"\\ud800\"}",
            b"{\"\\ud800\":1}",
            b"{\"a\":1e400}",
            b"{\"a\":\"\xff\"}",
            b"{\"a\":tru}",
            b"{\"a\":[1,]}",
            b"{\"a\":01}",
        ];
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(200), "]".repeat(200));
        for json in refused.iter().copied().chain([deep.as_bytes()]) {
            assert!(serde_json::from_slice::<Map<String, Value>>(json).is_err());
            let loaded = Entries::load(json.into());
            assert!(loaded.is_err(), "{}", String::from_utf8_lossy(json));
        }
    }

    #[test]
    fn lookups_match_the_parsed_map() {
        let indexed = br#" { "a" :1,"b":"x\u0041", "a": {"n":[1,2.5,null,true,"}"]} ,"exp":5,"sub":"u","":[],"iat":1 } "#;
        let escaped_key = br#"{"a":1,"s\u0075b":"u","b":{"c":2}}"#;
        let many_keys = format!(
            "{{{}}}",
            (0..20)
                .map(|i| format!(r#""k{i}":{i}"#))
                .collect::<Vec<_>>()
                .join(",")
        );
        let last_key = br#"{"a":1,"b" : {"x":"}"} } "#;
        for json in [&indexed[..], last_key, escaped_key, many_keys.as_bytes()] {
            let (entries, _) = Entries::load(json.into()).unwrap();
            let map = parse(std::str::from_utf8(json).unwrap(), &MANAGED);
            assert!(!map.contains_key("exp"), "managed claims are taken out");
            for key in [
                "a", "b", "sub", "exp", "iat", "nbf", "missing", "", "k0", "k19",
            ] {
                assert_eq!(entries.get(key).as_deref(), map.get(key), "{key}");
                assert_eq!(entries.contains_key(key), map.contains_key(key), "{key}");
            }
            assert!(!entries.is_empty());
            assert_eq!(entries.map(), &map);
            assert_eq!(entries.clone().into_map(), map);
            let mut changed = entries;
            changed.map_mut().insert("new".into(), Value::Null);
            assert_eq!(changed.map().len(), map.len() + 1);
        }
        assert!(matches!(
            Entries::load(indexed.as_slice().into()).unwrap().0,
            Entries::Raw { keys: Some(_), .. }
        ));
        for empty in [&br#"{"exp":1,"iat":2}"#[..], b"{}", b" { } "] {
            assert!(Entries::load(empty.into()).unwrap().0.is_empty());
        }
    }

    /// Random payloads (seeded, so failures reproduce): what loads, and every lookup, must
    /// match the map parser exactly.
    #[test]
    fn random_payloads_match_the_map_parser() {
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        const KEYS: [&str; 9] = [
            "a", "b", "exp", "sub", "iat", "", "k\\u0041", "a\\\"", "long key",
        ];
        const VALUES: [&str; 12] = [
            "1",
            "-0",
            "2.5e3",
            "1e400",
            "\"s\"",
            "\"\\ud800\"",
            "\"\\u00e9}\"",
            "null",
            "true",
            "[1,[2,{\"x\":\"}\"}]]",
            "{\"a\":{}}",
            "[",
        ];
        let mut compared = 0;
        for _ in 0..3000 {
            let mut json = String::from(" {");
            for i in 0..next(8) {
                if i > 0 {
                    json.push_str([",", " , ", ",\n"][next(3) as usize]);
                }
                json.push_str(&format!(
                    "\"{}\"{}{}",
                    KEYS[next(KEYS.len() as u64) as usize],
                    [":", " : ", ":\t"][next(3) as usize],
                    VALUES[next(VALUES.len() as u64) as usize]
                ));
            }
            json.push_str(["}", " } ", "} x"][next(3) as usize]);
            let expected = serde_json::from_str::<Map<String, Value>>(&json);
            let loaded = Entries::load(json.as_bytes().into());
            assert_eq!(loaded.is_ok(), expected.is_ok(), "{json}");
            let (Ok((entries, _)), Ok(_)) = (loaded, expected) else {
                continue;
            };
            let map = parse(&json, &MANAGED);
            for key in KEYS.iter().chain(&["kA", "a\"", "nbf", "missing"]) {
                assert_eq!(
                    entries.get(key).as_deref(),
                    map.get(*key),
                    "{key} in {json}"
                );
                assert_eq!(
                    entries.contains_key(key),
                    map.contains_key(*key),
                    "{key} in {json}"
                );
            }
            assert_eq!(entries.is_empty(), map.is_empty(), "{json}");
            assert_eq!(entries.map(), &map, "{json}");
            compared += 1;
        }
        assert!(compared > 500, "only {compared} payloads parsed");
    }
}
