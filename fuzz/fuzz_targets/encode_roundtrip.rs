//! Fuzzes the encode path: the input after the first byte is any JSON, the first byte
//! picks the config (default, lifetimes plus rotation, EdDSA, ES256). The entries
//! `SessionDict::insert` would store are saved as `save()` does; the save must either load
//! back to exactly those entries or fail with a clear error (too large for a cookie),
//! never panic and never lose data silently.
#![no_main]

use jwt_session::SessionError;
use jwt_session_fuzz::FIXTURES;
use jwt_session_runtime::__internals::{insert_refusal, load_cookie_value, save_session};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};

fuzz_target!(|data: &[u8]| {
    let Some((&pick, json)) = data.split_first() else {
        return;
    };
    let Ok(entries) = serde_json::from_slice::<Map<String, Value>>(json) else {
        return;
    };
    let fixture = &FIXTURES[usize::from(pick % 4)];
    let stored: Map<String, Value> = entries
        .into_iter()
        .filter(|(key, value)| insert_refusal(key, value).is_none())
        .collect();
    match save_session(&fixture.session, &stored) {
        Ok(token) => assert_eq!(
            load_cookie_value(&fixture.session, &token).as_ref(),
            Some(&stored),
            "{}: a save does not load back: {token}",
            fixture.name
        ),
        Err(SessionError::TooLarge { .. }) => {}
        Err(err) => panic!("{}: save failed with {err:?}", fixture.name),
    }
});
