//! Issue 3: server-enforced expiry, key rotation, algorithms, `clear_invalid`, redaction.

use std::time::Duration;

use actix_web::http::{StatusCode, header};
use actix_web::{App, HttpResponse, get, post, test, web};
use jsonwebtoken::{Algorithm, EncodingKey};
use jwt_session::{Session, SessionDict, SessionError, with_session};
use serde_json::{Value, json};

use crate::common::*;

const OLD: &str = "the previous secret, thirty-two bytes or more";
const NEW: &str = "the current secret, thirty-two bytes or more!";

#[post("/save")]
#[with_session]
async fn save(mut session: SessionDict) -> Result<HttpResponse, SessionError> {
    let refused = matches!(
        session.insert("exp", 1),
        Err(SessionError::RegisteredClaim { .. })
    );
    session.insert("user", "joe")?;
    session.save()?;
    Ok(HttpResponse::Ok().body(format!("exp refused: {refused}")))
}

#[post("/delete")]
#[with_session]
async fn delete(session: SessionDict) -> HttpResponse {
    session.delete();
    HttpResponse::Ok().finish()
}

#[get("/fail")]
#[with_session]
async fn fail(_session: SessionDict) -> HttpResponse {
    HttpResponse::InternalServerError().finish()
}

macro_rules! app {
    ($config:expr) => {
        test::init_service(
            App::new()
                .app_data($config)
                .service(save)
                .service(delete)
                .service(fail)
                .route("/", web::get().to(echo_session)),
        )
        .await
    };
}

/// GET / with `token`: the echoed session and the response's session cookies.
macro_rules! read {
    ($app:expr, $token:expr) => {
        read_session(&$app, &$token).await
    };
}

fn hs256(claims: Value, secret: &str) -> String {
    foreign_token(&claims, Algorithm::HS256, secret.as_bytes())
}

fn now() -> i64 {
    unix_now() as i64
}

#[actix_web::test]
async fn max_age_writes_cookie_max_age_and_a_server_checked_exp() {
    let app = app!(session().max_age(Duration::from_secs(600)));
    let res = send(&app, test::TestRequest::post().uri("/save")).await;
    let cookie = session_cookie(&res);
    assert_eq!(test::read_body(res).await, "exp refused: true");
    assert_eq!(
        cookie.max_age(),
        Some(actix_web::cookie::time::Duration::seconds(600))
    );
    let (_, payload) = parts_of(cookie.value());
    let exp = payload["exp"].as_i64().unwrap();
    assert!((now() + 595..=now() + 600).contains(&exp), "{payload}");
    let (body, _) = read!(app, cookie.value());
    assert_eq!(
        body,
        json!({"user": "joe"}),
        "managed claims stay out of the dict"
    );

    let replayed = hs256(json!({"user": "joe", "exp": now() - 3600}), SECRET);
    assert_eq!(
        read!(app, replayed).0,
        json!({}),
        "a replayed old token is refused by the server"
    );
}

#[actix_web::test]
async fn leeway_defaults_to_thirty_seconds_and_is_configurable() {
    let recent = hs256(json!({"a": 1, "exp": now() - 5}), SECRET);
    assert_eq!(read!(app!(session()), recent).0, json!({"a": 1}));
    assert_eq!(
        read!(app!(session().leeway(Duration::ZERO)), recent).0,
        json!({})
    );
    let future_nbf = hs256(json!({"a": 1, "nbf": now() + 3600}), SECRET);
    assert_eq!(read!(app!(session()), future_nbf).0, json!({}));
}

#[actix_web::test]
async fn idle_timeout_slides_once_per_half_window() {
    let app = app!(session().idle_timeout(Duration::from_secs(100)));
    let fresh = hs256(
        json!({"u": 1, "iat": now() - 20, "exp": now() + 80}),
        SECRET,
    );
    let (body, cookies) = read!(app, fresh);
    assert_eq!(body, json!({"u": 1}));
    assert!(cookies.is_empty(), "under half the window: no re-issue");

    let aging = hs256(
        json!({"u": 1, "iat": now() - 60, "exp": now() + 40}),
        SECRET,
    );
    let (body, cookies) = read!(app, aging);
    assert_eq!(body, json!({"u": 1}));
    assert_eq!(
        cookies.len(),
        1,
        "past half the window: re-issued without save()"
    );
    let (_, payload) = parts_of(&token_of(&cookies[0]));
    assert_eq!(payload["u"], 1);
    assert!(
        (now() - 2..=now()).contains(&payload["iat"].as_i64().unwrap()),
        "{payload}"
    );
    assert!(
        (now() + 98..=now() + 100).contains(&payload["exp"].as_i64().unwrap()),
        "{payload}"
    );

    let idle_too_long = hs256(json!({"u": 1, "iat": now() - 200}), SECRET);
    assert_eq!(read!(app, idle_too_long).0, json!({}));

    // A failing response does not re-issue either.
    let res = send(
        &app,
        with_token(test::TestRequest::get().uri("/fail"), &aging),
    )
    .await;
    assert!(set_cookies(&res).is_empty());
}

#[actix_web::test]
async fn absolute_timeout_caps_every_reissue() {
    let app = app!(
        session()
            .idle_timeout(Duration::from_secs(60))
            .absolute_timeout(Duration::from_secs(100))
    );
    let res = send(&app, test::TestRequest::post().uri("/save")).await;
    let (_, payload) = parts_of(session_cookie(&res).value());
    let start = payload["session_start"].as_i64().unwrap();
    assert!((now() - 2..=now()).contains(&start), "{payload}");

    let late = hs256(
        json!({"u": 1, "iat": now() - 40, "exp": now() + 20, "session_start": now() - 90}),
        SECRET,
    );
    let (body, cookies) = read!(app, late);
    assert_eq!(body, json!({"u": 1}));
    let (_, payload) = parts_of(&token_of(&cookies[0]));
    assert_eq!(
        payload["session_start"].as_i64().unwrap(),
        now() - 90,
        "the start travels unchanged"
    );
    assert!(
        payload["exp"].as_i64().unwrap() <= now() - 90 + 100,
        "never past the absolute cap: {payload}"
    );

    let too_old = hs256(
        json!({"u": 1, "iat": now() - 10, "session_start": now() - 200}),
        SECRET,
    );
    assert_eq!(read!(app, too_old).0, json!({}));
}

#[actix_web::test]
async fn rotation_accepts_previous_secrets_and_re_signs() {
    let old_token = {
        let app = app!(Session::new(OLD));
        let res = send(&app, test::TestRequest::post().uri("/save")).await;
        session_cookie(&res).value().to_owned()
    };
    let app = app!(Session::new(NEW).previous_secrets([OLD]));
    let (body, cookies) = read!(app, old_token);
    assert_eq!(body, json!({"user": "joe"}), "still logged in");
    assert_eq!(cookies.len(), 1, "re-signed with the current secret");
    let new_token = token_of(&cookies[0]);
    let (header, _) = parts_of(&new_token);
    let kid = header["kid"].as_str().unwrap().to_owned();
    assert!(!kid.is_empty() && !NEW.contains(&kid) && !OLD.contains(&kid));

    let (body, cookies) = read!(app, new_token);
    assert_eq!(body, json!({"user": "joe"}));
    assert!(cookies.is_empty(), "a current token is not re-signed");
    // After the rotation ends, the new tokens keep working with the new secret alone.
    assert_eq!(
        read!(app!(Session::new(NEW)), new_token).0,
        json!({"user": "joe"})
    );
    assert_eq!(
        read!(app!(Session::new(NEW)), old_token).0,
        json!({}),
        "the old secret is gone"
    );

    let key = EncodingKey::from_secret(NEW.as_bytes());
    let unknown_kid = forge(
        &json!({"alg": "HS256", "typ": "JWT", "kid": "someone-else"}),
        &json!({"u": 1}),
        Algorithm::HS256,
        &key,
    );
    assert_eq!(read!(app, unknown_kid).0, json!({}), "unknown kid");
    let wrong_key = hs256(
        json!({"u": 1}),
        "a third secret, also thirty-two bytes long",
    );
    assert_eq!(read!(app, wrong_key).0, json!({}), "no key verifies it");
}

#[actix_web::test]
async fn hmac_algorithms_are_pinned() {
    const LONG: &str = "a 64-byte secret, as RFC 7518 asks of HS512: 0123456789abcdef0123";
    let app = app!(Session::new(LONG).algorithm(Algorithm::HS512));
    let res = send(&app, test::TestRequest::post().uri("/save")).await;
    let token = session_cookie(&res).value().to_owned();
    assert_eq!(parts_of(&token).0["alg"], "HS512");
    assert_eq!(read!(app, token).0, json!({"user": "joe"}));
    let hs256_token = hs256(json!({"u": 1}), LONG);
    assert_eq!(
        read!(app, hs256_token).0,
        json!({}),
        "another HMAC algorithm with the same secret"
    );
    assert_eq!(
        read!(app!(Session::new(LONG)), token).0,
        json!({}),
        "and the other way round"
    );
}

fn pem(name: &str) -> String {
    std::fs::read_to_string(format!("{}/tests/keys/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

#[actix_web::test]
async fn asymmetric_algorithms_round_trip_and_verify_only_reads() {
    for (alg, prefix) in [
        (Algorithm::EdDSA, "ed25519"),
        (Algorithm::ES256, "es256"),
        (Algorithm::RS256, "rsa"),
    ] {
        let private = pem(&format!("{prefix}-private.pem"));
        let public = pem(&format!("{prefix}-public.pem"));
        let issuer = app!(Session::from_pem(alg, &private, &public).unwrap());
        let res = send(&issuer, test::TestRequest::post().uri("/save")).await;
        let token = session_cookie(&res).value().to_owned();
        assert_eq!(read!(issuer, token).0, json!({"user": "joe"}), "{alg:?}");

        let reader = app!(Session::verify_only_pem(alg, &public).unwrap());
        assert_eq!(
            read!(reader, token).0,
            json!({"user": "joe"}),
            "{alg:?} verify-only reads"
        );
        let res = send(&reader, test::TestRequest::post().uri("/save")).await;
        assert_eq!(
            res.status(),
            StatusCode::INTERNAL_SERVER_ERROR,
            "{alg:?}: save is refused"
        );
        assert!(set_cookies(&res).is_empty());
        let res = send(&reader, test::TestRequest::post().uri("/delete")).await;
        assert_eq!(
            session_cookie(&res).value(),
            "",
            "{alg:?}: delete still clears"
        );
    }
}

#[actix_web::test]
async fn rs256_public_key_used_as_an_hs256_secret_is_rejected() {
    let public = pem("rsa-public.pem");
    let app = app!(Session::from_pem(Algorithm::RS256, pem("rsa-private.pem"), &public).unwrap());
    let confused = forge(
        &json!({"alg": "HS256", "typ": "JWT"}),
        &json!({"admin": true}),
        Algorithm::HS256,
        &EncodingKey::from_secret(public.as_bytes()),
    );
    assert_eq!(read!(app, confused).0, json!({}));
}

#[actix_web::test]
async fn verify_only_save_error_says_what_to_do() {
    let err = Session::verify_only_pem(Algorithm::EdDSA, pem("ed25519-public.pem"))
        .map(|_| SessionError::ReadOnly)
        .unwrap();
    assert!(err.to_string().contains("cannot save"), "{err}");
    assert!(matches!(
        Session::from_pem(
            Algorithm::ES256,
            pem("ed25519-private.pem"),
            pem("ed25519-public.pem")
        ),
        Err(SessionError::KeyMismatch(_))
    ));
    assert!(matches!(
        Session::verify_only_pem(Algorithm::HS256, pem("ed25519-public.pem")),
        Err(SessionError::KeyMismatch(_))
    ));
}

#[actix_web::test]
async fn clear_invalid_clears_only_bad_cookies() {
    let bad = "not.a.token";
    let good = hs256(json!({"u": 1}), SECRET);
    let (_, cookies) = read!(app!(session()), bad);
    assert!(cookies.is_empty(), "default: left alone, as in Microdot");
    let clearing = app!(session().clear_invalid(true));
    let (body, cookies) = read!(clearing, bad);
    assert_eq!(body, json!({}));
    assert_eq!(cookies.len(), 1);
    assert!(
        cookies[0].starts_with("session=;") && cookies[0].contains("Max-Age=0"),
        "{cookies:?}"
    );
    assert!(read!(clearing, good).1.is_empty(), "a valid cookie is kept");
    let res = send(&clearing, test::TestRequest::get().uri("/")).await;
    assert!(set_cookies(&res).is_empty(), "no cookie, nothing to clear");
}

#[actix_web::test]
async fn secrets_never_show_in_debug_or_errors() {
    let session = Session::new(NEW)
        .previous_secrets([OLD])
        .max_age(Duration::from_secs(60));
    let debug = format!("{session:?}");
    for secret in [NEW, OLD] {
        assert!(
            !debug.contains(secret) && !debug.contains(&format!("{:?}", secret.as_bytes())),
            "{debug}"
        );
    }
    let short = "short but secret";
    let errors = [
        Session::try_new(short).unwrap_err(),
        SessionError::MissingConfig,
        SessionError::ReadOnly,
        SessionError::KeyMismatch("x"),
        SessionError::TooLarge {
            size: 5000,
            limit: 4096,
        },
        SessionError::RegisteredClaim {
            key: "aud".into(),
            reason: "r",
        },
    ];
    for err in errors {
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains(short) && !shown.contains(NEW), "{shown}");
    }
    let panic = std::panic::catch_unwind(|| Session::new(short)).unwrap_err();
    assert!(!panic.downcast_ref::<String>().unwrap().contains(short));
}

#[actix_web::test]
async fn header_values_are_as_configured() {
    let res = send(
        &app!(session().idle_timeout(Duration::from_secs(90))),
        test::TestRequest::post().uri("/save"),
    )
    .await;
    let cookie = session_cookie(&res);
    assert_eq!(
        cookie.max_age(),
        Some(actix_web::cookie::time::Duration::seconds(90)),
        "Max-Age follows the token's exp"
    );
    assert!(res.headers().get(header::VARY).is_some());
}

/// The whole life of one session on a test clock: issued, refreshed past half the idle
/// window, capped by the absolute timeout, then expired. No sleeping, no forged times.
#[actix_web::test]
async fn a_session_lives_and_dies_on_the_test_clock() {
    let clock = jwt_session::test::TestClock::new();
    let config = session()
        .idle_timeout(Duration::from_secs(600))
        .absolute_timeout(Duration::from_secs(1000))
        .leeway(Duration::ZERO)
        .clock(clock.clone());
    let app = app!(config.clone());
    let res = send(&app, test::TestRequest::post().uri("/save")).await;
    let mut token = session_cookie(&res).value().to_owned();
    let start = parts_of(&token).1["session_start"].as_u64().unwrap();

    clock.advance(Duration::from_secs(200));
    let (body, cookies) = read!(app, token);
    assert_eq!(body, json!({"user": "joe"}));
    assert!(
        cookies.is_empty(),
        "a third of the idle window: no re-issue"
    );

    // Refreshed twice, 350 s apart: each past half the idle window, none past all of it.
    for step in 1..=2 {
        clock.advance(Duration::from_secs(350));
        let (body, cookies) = read!(app, token);
        assert_eq!(body, json!({"user": "joe"}), "step {step}");
        token = token_of(&cookies[0]);
        let (_, payload) = parts_of(&token);
        assert_eq!(payload["session_start"], start, "the start never moves");
        assert!(
            payload["exp"].as_u64().unwrap() <= start + 1000,
            "{payload}"
        );
    }
    // 1000 s after the start: the absolute timeout ends it, however active.
    clock.advance(Duration::from_secs(100));
    assert_eq!(read!(app, token).0, json!({}));

    // And an idle session dies after the idle window.
    let res = send(&app, test::TestRequest::post().uri("/save")).await;
    let idle = session_cookie(&res).value().to_owned();
    clock.advance(Duration::from_secs(600));
    assert_eq!(read!(app, idle).0, json!({}));
}
