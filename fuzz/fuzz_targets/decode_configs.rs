//! Fuzzes loading a cookie under each config (default, lifetimes plus rotation, EdDSA,
//! ES256) and the re-issue that follows a load. The first byte picks the config, the
//! second what the rest is:
//! 0: a raw cookie value;
//! 1: a payload, validly signed with the config's key;
//! 2: a header, validly signed over a payload that is valid now;
//! 3: a timed payload (see `timed_payload`), validly signed;
//! 4: a timed payload signed with the previous key (rotation; the current key elsewhere).
//!
//! Beyond "no panic" it checks that an accepted ES256 token has no second valid form
//! (n − s), and that a re-issued cookie loads back to the same data with the same
//! `session_start`.
#![no_main]

use jsonwebtoken::Algorithm;
use jwt_session::SessionError;
use jwt_session_fuzz::{FIXTURES, high_s_twin, payload_of, timed_payload};
use jwt_session_runtime::__internals::{load_cookie_value, reissued_cookie};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [config, mode, rest @ ..] = data else {
        return;
    };
    let fixture = &FIXTURES[usize::from(config % 4)];
    let header = fixture.header();
    let timed = |rest: &[u8]| {
        let (offsets, rest) = rest.split_at_checked(6)?;
        Some(timed_payload(offsets.try_into().unwrap(), rest))
    };
    let token = match mode % 5 {
        0 => match std::str::from_utf8(rest) {
            Ok(text) => text.to_owned(),
            Err(_) => return,
        },
        1 => fixture.sign(header.as_bytes(), rest),
        2 => fixture.sign(rest, &timed_payload([0, 0, 0, 1, 0, 0], b"{\"u\":1}")),
        3 => match timed(rest) {
            Some(payload) => fixture.sign(header.as_bytes(), &payload),
            None => return,
        },
        _ => match timed(rest) {
            Some(payload) => fixture.sign_previous(header.as_bytes(), &payload),
            None => return,
        },
    };
    let session = &fixture.session;
    let Some(loaded) = load_cookie_value(session, &token) else {
        return;
    };

    if fixture.algorithm == Algorithm::ES256 {
        let twin = high_s_twin(&token).expect("an accepted ES256 token has an (r, s) signature");
        assert!(
            load_cookie_value(session, &twin).is_none(),
            "the high-S twin of an accepted token verifies: {twin}"
        );
    }

    match reissued_cookie(session, &token) {
        None => {}
        Some(Err(SessionError::TooLarge { .. })) => {}
        Some(Err(err)) => panic!("{}: re-issue failed with {err:?}", fixture.name),
        Some(Ok(set_cookie)) => {
            let value = set_cookie.split(';').next().unwrap();
            let reissued = value.strip_prefix("session=").unwrap();
            assert_eq!(
                load_cookie_value(session, reissued).as_ref(),
                Some(&loaded),
                "{}: the re-issued cookie does not load back to the same data",
                fixture.name
            );
            let start = |token| payload_of(token).and_then(|p| p.get("session_start")?.as_f64());
            assert_eq!(
                start(reissued),
                start(&token).map(f64::trunc),
                "{}: a re-issue moved session_start",
                fixture.name
            );
        }
    }
});
