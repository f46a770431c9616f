//! Issue 27, staged key rotation, over `actix_web::test`: next secrets verify and never
//! sign, the two rollout configs accept each other's sessions both ways, the current key
//! signs on every path, and `key_usage` counts what was verified.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::{Method, StatusCode};
use actix_web::{App, HttpRequest, HttpResponse, test, web};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hkdf::hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, EncodingKey};
use jwt_session::keys::{DecodingKey, KeyRole, KeyUsage};
use jwt_session::login::{LoggedIn, Login, login_user};
use jwt_session::test::{CookieJar, ResponseSession, TestClock};
use jwt_session::{Session, SessionDict, SessionError, with_session};
use serde_json::{Value, json};

use crate::common::{
    User, b64_json, echo_session, foreign_token, forge, read_session, save_user, send, set_cookies,
    with_token,
};

/// The secret being retired: previous at step two, current at step one.
const OLD: &str = "the old secret, signing until step two: 32+ bytes";
/// The secret being introduced: next at step one, current at step two.
const NEW: &str = "the new secret, signing from step two: 32+ bytes";
/// A secret one rotation further on, next beside `NEW` in [`three_keys`].
const NEXT: &str = "the secret after that, staged as next: 64 bytes or more for HS512!";

const ED_PRIVATE: &str = include_str!("../keys/ed25519-private.pem");
const ED_PUBLIC: &str = include_str!("../keys/ed25519-public.pem");
const ED_NEXT_PRIVATE: &str = include_str!("../keys/ed25519-next-private.pem");
const ED_NEXT_PUBLIC: &str = include_str!("../keys/ed25519-next-public.pem");

/// A config with a key of each role: `NEW` signs, `OLD` is previous, `NEXT` is next.
fn three_keys() -> Session {
    Session::new(NEW)
        .previous_secrets([OLD])
        .next_secrets([NEXT])
}

/// The key id tokens signed with `secret` carry.
fn kid(secret: &str) -> String {
    Session::new(secret).key_usage()[0].kid.clone()
}

fn login() -> Login<User> {
    Login::new(|id: String| async move { Some(User(id)) })
}

#[with_session]
async fn renew(mut session: SessionDict) -> Result<HttpResponse, SessionError> {
    session.renew();
    session.insert("renewed", true)?;
    session.save()?;
    Ok(HttpResponse::Ok().finish())
}

async fn log_in(req: HttpRequest) -> Result<HttpResponse, SessionError> {
    login_user(&req, &User("ann".into()), true).await
}

/// `#[with_session]` so that a rotation re-sign or a restored login reaches the response.
#[with_session]
async fn me(user: LoggedIn<User>, _session: SessionDict) -> String {
    user.0.0.clone()
}

macro_rules! app {
    ($config:expr) => {
        test::init_service(
            App::new()
                .app_data($config)
                .app_data(login())
                .route("/", web::get().to(echo_session))
                .route("/save", web::post().to(save_user))
                .route("/renew", web::post().to(renew))
                .route("/login", web::post().to(log_in))
                .route("/me", web::get().to(me)),
        )
        .await
    };
}

/// Sends `method uri` with the jar's cookies and stores what comes back, as a browser does.
async fn browse<S>(app: &S, jar: &mut CookieJar, method: Method, uri: &str) -> ServiceResponse
where
    S: Service<actix_http::Request, Response = ServiceResponse, Error = actix_web::Error>,
{
    let res = test::call_service(app, jar.request(method, uri).to_request()).await;
    jar.update(&res);
    res
}

/// The decoded header of a token, signed (JWS) or encrypted (JWE).
fn header_of(token: &str) -> Value {
    let segment = token.split('.').next().unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).unwrap()).unwrap()
}

fn payload_of(token: &str) -> Value {
    crate::common::parts_of(token).1
}

/// Whether `token`'s HS256 signature is `secret`'s, checked with an independent HMAC.
fn signed_with(token: &str, secret: &str) -> bool {
    let (input, signature) = token.rsplit_once('.').unwrap();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(input.as_bytes());
    mac.verify_slice(&URL_SAFE_NO_PAD.decode(signature).unwrap())
        .is_ok()
}

/// The cookies set (not cleared) by `set_cookies`, each as (name, token), after checking
/// that every one is signed with `NEW`, the current key of [`three_keys`], and names it.
fn current_signed(set_cookies: &[String]) -> Vec<(String, String)> {
    let set: Vec<(String, String)> = set_cookies
        .iter()
        .map(|value| actix_web::cookie::Cookie::parse(value.clone()).unwrap())
        .filter(|cookie| !cookie.value().is_empty())
        .map(|cookie| (cookie.name().to_owned(), cookie.value().to_owned()))
        .collect();
    for (name, token) in &set {
        assert_eq!(header_of(token)["kid"], kid(NEW), "{name}: {token}");
        assert!(
            signed_with(token, NEW),
            "{name} is not signed with the current key"
        );
        assert!(
            !signed_with(token, NEXT) && !signed_with(token, OLD),
            "{name}"
        );
    }
    set
}

fn names(set: &[(String, String)]) -> Vec<&str> {
    set.iter().map(|(name, _)| name.as_str()).collect()
}

/// `{"cart": 3}` signed with a previous key and with a next key of [`three_keys`], with a
/// `kid` (from a config that names its key) and without one (Microdot's), each issued
/// under `tune`'s lifetimes and clock.
fn staged_tokens(tune: impl Fn(Session) -> Session) -> Vec<(&'static str, KeyRole, String)> {
    let issuers = [
        (
            "previous, kid",
            KeyRole::Previous,
            Session::new(OLD).next_secrets([NEW]),
        ),
        ("previous, no kid", KeyRole::Previous, Session::new(OLD)),
        (
            "next, kid",
            KeyRole::Next,
            Session::new(NEXT).previous_secrets([NEW]),
        ),
        ("next, no kid", KeyRole::Next, Session::new(NEXT)),
    ];
    issuers
        .into_iter()
        .map(|(source, role, issuer)| {
            let cookie = tune(issuer).test_cookie(&json!({"cart": 3})).unwrap();
            (source, role, cookie.value().to_owned())
        })
        .collect()
}

// ------------------------------------------------- any order of deployment, both ways

#[actix_web::test]
async fn a_session_from_step_one_is_honoured_at_step_two_and_back() {
    let step_one = app!(Session::new(OLD).next_secrets([NEW]));
    let step_two = app!(Session::new(NEW).previous_secrets([OLD]));
    let mut jar = CookieJar::new();
    let res = browse(&step_one, &mut jar, Method::POST, "/login").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let session = jar.cookie("session").unwrap().value().to_owned();
    assert_eq!(
        header_of(&session)["kid"],
        kid(OLD),
        "step one signs with the old key"
    );

    // Step two honours it and re-signs it with the new key...
    let res = browse(&step_two, &mut jar, Method::GET, "/me").await;
    assert_eq!(res.status(), StatusCode::OK);
    let resigned = jar.cookie("session").unwrap().value().to_owned();
    assert_eq!(header_of(&resigned)["kid"], kid(NEW));
    assert!(signed_with(&resigned, NEW));
    assert_eq!(test::read_body(res).await, "ann");

    // ...which step one honours as it is: no re-sign back to the old key.
    let res = browse(&step_one, &mut jar, Method::GET, "/me").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(set_cookies(&res).is_empty(), "{:?}", set_cookies(&res));
    assert_eq!(test::read_body(res).await, "ann");
}

#[actix_web::test]
async fn a_session_from_step_two_is_honoured_at_step_one_and_back() {
    let step_one = app!(Session::new(OLD).next_secrets([NEW]));
    let step_two = app!(Session::new(NEW).previous_secrets([OLD]));
    let mut jar = CookieJar::new();
    browse(&step_two, &mut jar, Method::POST, "/login").await;
    let session = jar.cookie("session").unwrap().value().to_owned();
    assert_eq!(
        header_of(&session)["kid"],
        kid(NEW),
        "step two signs with the new key"
    );

    let res = browse(&step_one, &mut jar, Method::GET, "/me").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(test::read_body(res).await, "ann");
    // A save at step one signs with its current key, the old one, which step two reads.
    let res = browse(&step_one, &mut jar, Method::POST, "/save").await;
    let saved = jar.cookie("session").unwrap().value().to_owned();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(header_of(&saved)["kid"], kid(OLD));
    assert!(signed_with(&saved, OLD) && !signed_with(&saved, NEW));
    let res = browse(&step_two, &mut jar, Method::GET, "/me").await;
    assert_eq!(test::read_body(res).await, "ann");

    // The remember cookies cross too: each restores a login on the other instance.
    let remember = jar.cookie("_remember").unwrap().value().to_owned();
    assert_eq!(header_of(&remember)["kid"], kid(NEW));
    for app in [&step_one, &step_two] {
        let mut only_remember = CookieJar::new();
        only_remember.set("_remember", &remember);
        let res = browse(app, &mut only_remember, Method::GET, "/me").await;
        assert_eq!(test::read_body(res).await, "ann");
    }
}

// ------------------------------------------------- only the current key signs, per path

#[actix_web::test]
async fn save_signs_with_the_current_key_whichever_key_verified() {
    let app = app!(three_keys());
    for (source, _, token) in staged_tokens(|session| session) {
        let res = send(
            &app,
            with_token(test::TestRequest::post().uri("/save"), &token),
        )
        .await;
        let set = current_signed(&set_cookies(&res));
        assert_eq!(names(&set), ["session"], "{source}");
        assert_eq!(
            payload_of(&set[0].1)["cart"],
            3,
            "{source}: the session was read"
        );
    }
}

#[actix_web::test]
async fn idle_refresh_signs_with_the_current_key_whichever_key_verified() {
    let clock = TestClock::new();
    let tune = |session: Session| {
        session
            .idle_timeout(Duration::from_secs(600))
            .clock(clock.clone())
    };
    let app = app!(tune(three_keys()));
    let tokens = staged_tokens(tune);
    clock.advance(Duration::from_secs(400));
    for (source, _, token) in tokens {
        let (body, cookies) = read_session(&app, &token).await;
        assert_eq!(body["cart"], 3, "{source}");
        let set = current_signed(&cookies);
        assert_eq!(
            names(&set),
            ["session"],
            "{source}: past half the idle window"
        );
        assert!(payload_of(&set[0].1)["iat"].as_f64().is_some());
    }
}

#[actix_web::test]
async fn rotation_re_signs_previous_key_sessions_and_leaves_next_key_ones() {
    let app = app!(three_keys());
    for (source, role, token) in staged_tokens(|session| session) {
        let (body, cookies) = read_session(&app, &token).await;
        assert_eq!(body["cart"], 3, "{source}");
        let set = current_signed(&cookies);
        match role {
            KeyRole::Previous => assert_eq!(names(&set), ["session"], "{source}"),
            // Re-signing would move it back to an older key (see `Session::next_secrets`).
            _ => assert!(set.is_empty(), "{source}: {set:?}"),
        }
    }
    let current = three_keys().test_cookie(&json!({"cart": 3})).unwrap();
    assert!(read_session(&app, current.value()).await.1.is_empty());
}

#[actix_web::test]
async fn renew_signs_with_the_current_key_whichever_key_verified() {
    let app = app!(three_keys());
    for (source, _, token) in staged_tokens(|session| session) {
        let res = send(
            &app,
            with_token(test::TestRequest::post().uri("/renew"), &token),
        )
        .await;
        let set = current_signed(&set_cookies(&res));
        assert_eq!(names(&set), ["session"], "{source}");
        let payload = payload_of(&set[0].1);
        assert_eq!(
            (&payload["cart"], &payload["renewed"]),
            (&json!(3), &json!(true))
        );
    }
}

#[actix_web::test]
async fn login_signs_session_and_remember_cookies_with_the_current_key() {
    let app = app!(three_keys());
    for (source, _, token) in staged_tokens(|session| session) {
        let res = send(
            &app,
            with_token(test::TestRequest::post().uri("/login"), &token),
        )
        .await;
        let set = current_signed(&set_cookies(&res));
        let mut set_names = names(&set);
        set_names.sort_unstable();
        assert_eq!(set_names, ["_remember", "session"], "{source}");
    }
}

/// The remember cookie a login sets under `issuer`.
async fn remember_cookie(issuer: Session) -> String {
    let app = app!(issuer);
    let res = send(&app, test::TestRequest::post().uri("/login")).await;
    let cookie = set_cookies(&res)
        .into_iter()
        .find(|value| value.starts_with("_remember="))
        .unwrap();
    crate::common::token_of(&cookie)
}

#[actix_web::test]
async fn a_restore_from_a_remember_cookie_signs_with_the_current_key() {
    let app = app!(three_keys());
    let issuers = [
        Session::new(OLD).next_secrets([NEW]),
        Session::new(NEXT).previous_secrets([NEW]),
        Session::new(NEXT),
    ];
    for issuer in issuers {
        let remember = remember_cookie(issuer).await;
        let mut jar = CookieJar::new();
        jar.set("_remember", &remember);
        let res = browse(&app, &mut jar, Method::GET, "/me").await;
        assert_eq!(res.status(), StatusCode::OK);
        let set = current_signed(&set_cookies(&res));
        assert!(names(&set).contains(&"session"), "{set:?}");
        assert_eq!(test::read_body(res).await, "ann");
    }
}

#[actix_web::test]
async fn encrypted_sessions_stage_next_secrets_and_encrypt_with_the_current_one() {
    let step_one = Session::new(OLD).next_secrets([NEW]).encrypted();
    let step_two = Session::new(NEW).previous_secrets([OLD]).encrypted();
    let app_one = app!(step_one.clone());
    let app_two = app!(step_two.clone());
    let from_two = step_two.test_cookie(&json!({"cart": 3})).unwrap();
    let (body, cookies) = read_session(&app_one, from_two.value()).await;
    assert_eq!((body["cart"].clone(), cookies.len()), (json!(3), 0));

    let res = send(
        &app_one,
        with_token(test::TestRequest::post().uri("/save"), from_two.value()),
    )
    .await;
    let saved = crate::common::token_of(&set_cookies(&res)[0]);
    assert_eq!(
        header_of(&saved)["kid"],
        kid(OLD),
        "step one encrypts with the old key"
    );
    assert_eq!(
        Session::new(NEW).encrypted().session_set_by(res.response()),
        ResponseSession::Invalid,
        "the next key did not encrypt it"
    );
    let (body, cookies) = read_session(&app_two, &saved).await;
    assert_eq!(body["cart"], 3);
    assert_eq!(
        header_of(&crate::common::token_of(&cookies[0]))["kid"],
        kid(NEW)
    );
}

// ------------------------------------------------- what an attacker's cookie gets

#[actix_web::test]
async fn retired_foreign_and_algorithm_switched_tokens_get_an_empty_session() {
    const RETIRED: &str = "a retired secret that no instance accepts any more";
    let config = three_keys();
    let app = app!(config.clone());
    let claims = json!({"user": "mallory"});
    let header = |alg: &str, kid: &str| json!({"alg": alg, "kid": kid, "typ": "JWT"});
    let hs256 = |secret: &str| EncodingKey::from_secret(secret.as_bytes());
    let refused = [
        (
            "retired, its own kid",
            forge(
                &header("HS256", &kid(RETIRED)),
                &claims,
                Algorithm::HS256,
                &hs256(RETIRED),
            ),
        ),
        (
            "retired, the next key's kid",
            forge(
                &header("HS256", &kid(NEXT)),
                &claims,
                Algorithm::HS256,
                &hs256(RETIRED),
            ),
        ),
        (
            "retired, no kid",
            foreign_token(&claims, Algorithm::HS256, RETIRED.as_bytes()),
        ),
        (
            "the current key's signature, the next key's kid",
            forge(
                &header("HS256", &kid(NEXT)),
                &claims,
                Algorithm::HS256,
                &hs256(NEW),
            ),
        ),
        (
            "the next key under HS512",
            forge(
                &header("HS512", &kid(NEXT)),
                &claims,
                Algorithm::HS512,
                &hs256(NEXT),
            ),
        ),
        (
            "alg none, the next key's kid",
            format!(
                "{}.{}.",
                b64_json(&header("none", &kid(NEXT))),
                b64_json(&claims)
            ),
        ),
    ];
    for (attack, token) in refused {
        let (body, cookies) = read_session(&app, &token).await;
        assert_eq!((body, cookies.len()), (json!({}), 0), "{attack}");
    }
    assert!(config.key_usage().iter().all(|key| key.verified == 0));
}

#[actix_web::test]
async fn verify_only_services_stage_next_public_keys() {
    let next_public = || DecodingKey::from_ed_pem(ED_NEXT_PUBLIC.as_bytes()).unwrap();
    let old_public = || DecodingKey::from_ed_pem(ED_PUBLIC.as_bytes()).unwrap();
    let reader = Session::verify_only_pem(Algorithm::EdDSA, ED_PUBLIC)
        .unwrap()
        .next_public_keys([next_public()])
        .unwrap();
    // The issuers: one still alone on the old pair, one signing with the next pair.
    let old_issuer = Session::from_pem(Algorithm::EdDSA, ED_PRIVATE, ED_PUBLIC).unwrap();
    let new_issuer = Session::from_pem(Algorithm::EdDSA, ED_NEXT_PRIVATE, ED_NEXT_PUBLIC)
        .unwrap()
        .previous_public_keys([old_public()])
        .unwrap();
    let app = app!(reader.clone());
    for issuer in [&old_issuer, &new_issuer] {
        let token = issuer.test_cookie(&json!({"cart": 3})).unwrap();
        let (body, cookies) = read_session(&app, token.value()).await;
        assert_eq!((body["cart"].clone(), cookies.len()), (json!(3), 0));
    }
    let usage: Vec<(KeyRole, u64)> = reader
        .key_usage()
        .iter()
        .map(|key| (key.role, key.verified))
        .collect();
    assert_eq!(usage, [(KeyRole::Current, 1), (KeyRole::Next, 1)]);

    // Key confusion: the next public key's PEM as an HMAC secret, naming it.
    let next_kid = reader.key_usage()[1].kid.clone();
    let confused = forge(
        &json!({"alg": "HS256", "kid": next_kid, "typ": "JWT"}),
        &json!({"cart": 4}),
        Algorithm::HS256,
        &EncodingKey::from_secret(ED_NEXT_PUBLIC.as_bytes()),
    );
    assert_eq!(read_session(&app, &confused).await.0, json!({}));

    // An issuer staging the next pair still signs with its own private key alone.
    let staged_issuer = old_issuer.next_public_keys([next_public()]).unwrap();
    let issuer_app = app!(staged_issuer.clone());
    let res = send(&issuer_app, test::TestRequest::post().uri("/save")).await;
    let token = crate::common::token_of(&set_cookies(&res)[0]);
    assert_eq!(header_of(&token)["kid"], staged_issuer.key_usage()[0].kid);
    let only = |public: &str| Session::verify_only_pem(Algorithm::EdDSA, public).unwrap();
    let verified_by =
        |public: &str| only(public).session_set_by(res.response()) != ResponseSession::Invalid;
    assert!(verified_by(ED_PUBLIC) && !verified_by(ED_NEXT_PUBLIC));
    // And the issuer that moved on re-signs it with the next pair.
    let (_, cookies) = read_session(&app!(new_issuer.clone()), &token).await;
    let resigned = crate::common::token_of(&cookies[0]);
    assert_eq!(header_of(&resigned)["kid"], next_kid);
}

// ------------------------------------------------- usage counts

#[actix_web::test]
async fn key_usage_counts_each_verified_request_token_per_key() {
    let start = UNIX_EPOCH + Duration::from_secs(2_000_000_000);
    let clock = TestClock::at(start);
    let tune = |session: Session| {
        session
            .max_age(Duration::from_secs(3600))
            .clock(clock.clone())
    };
    let config = tune(three_keys());
    let app = app!(config.clone());
    let usage = |verified: [u64; 3], last: [Option<SystemTime>; 3]| -> Vec<KeyUsage> {
        let keys = [
            (NEW, KeyRole::Current),
            (OLD, KeyRole::Previous),
            (NEXT, KeyRole::Next),
        ];
        keys.into_iter()
            .zip(verified.into_iter().zip(last))
            .map(|((secret, role), (verified, last_verified))| KeyUsage {
                kid: kid(secret),
                role,
                verified,
                last_verified,
            })
            .collect()
    };
    assert_eq!(config.key_usage(), usage([0; 3], [None; 3]));

    // Minted an hour ago: signature fine, lifetime over, so it never counts.
    let expired = tune(Session::new(NEXT))
        .test_cookie(&json!({"cart": 3}))
        .unwrap();
    clock.advance(Duration::from_secs(3600 + 60));
    let tokens = staged_tokens(tune);
    let current = config.test_cookie(&json!({"cart": 3})).unwrap();
    for token in [
        current.value(),
        current.value(),
        expired.value(),
        "not.a.token",
    ] {
        read_session(&app, token).await;
    }
    for (_, _, token) in &tokens {
        let (body, _) = read_session(&app, token).await;
        assert_eq!(body["cart"], 3);
    }
    let then = Some(clock.now());
    assert_eq!(config.key_usage(), usage([2, 2, 2], [then; 3]));

    // Later, one next-key session and one next-key remember cookie; the re-signed
    // session the restore sets is this config's own output and is not counted.
    clock.advance(Duration::from_secs(90));
    read_session(&app, &tokens[2].2).await;
    let mut jar = CookieJar::new();
    jar.set(
        "_remember",
        &remember_cookie(tune(Session::new(NEXT))).await,
    );
    let res = browse(&app, &mut jar, Method::GET, "/me").await;
    assert_eq!(res.status(), StatusCode::OK);
    let later = Some(clock.now());
    assert_eq!(config.key_usage(), usage([2, 2, 4], [then, then, later]));

    // The test helpers do not count; clones share the counts; a derived config starts afresh.
    let restored = config.session_set_by(res.response());
    assert!(
        matches!(restored, ResponseSession::Saved(_)),
        "{restored:?}"
    );
    assert_eq!(
        config.clone().key_usage(),
        usage([2, 2, 4], [then, then, later])
    );
    let derived = config.clone().cookie_name("other");
    assert!(derived.key_usage().iter().all(|key| key.verified == 0));
}

// ------------------------------------------------- the builder

#[::core::prelude::v1::test] // `test` here is actix_web::test
fn try_twins_return_the_error_the_builders_panic_with() {
    let short = Session::new(NEW).try_next_secrets(["short"]).unwrap_err();
    assert!(
        matches!(
            short,
            SessionError::SecretTooShort {
                len: 5,
                min: 32,
                ..
            }
        ),
        "{short}"
    );
    let short = Session::new(NEW)
        .try_previous_secrets(["short"])
        .unwrap_err();
    assert!(
        matches!(short, SessionError::SecretTooShort { len: 5, .. }),
        "{short}"
    );
    let reader = Session::verify_only_pem(Algorithm::EdDSA, ED_PUBLIC).unwrap();
    for result in [
        reader.clone().try_next_secrets([NEW]),
        reader.clone().try_previous_secrets([NEW]),
    ] {
        assert!(matches!(result, Err(SessionError::KeyMismatch(_))));
    }
    let secret = DecodingKey::from_secret(NEW.as_bytes());
    assert!(reader.clone().next_public_keys([secret]).is_err());
    let rsa_public = include_str!("../keys/rsa-public.pem");
    let another_family = DecodingKey::from_rsa_pem(rsa_public.as_bytes()).unwrap();
    assert!(reader.clone().next_public_keys([another_family]).is_err());
    // The identity point: a public key of small order, under which signatures are forged.
    let mut identity = [0; 32];
    identity[0] = 1;
    let small_order = DecodingKey::from_ed_der(&identity);
    assert!(reader.clone().previous_public_keys([small_order]).is_err());
    let ed_public = DecodingKey::from_ed_pem(ED_NEXT_PUBLIC.as_bytes()).unwrap();
    assert!(Session::new(NEW).next_public_keys([ed_public]).is_err());
    // A secret configured twice keeps its first role, and the current key stays current.
    let roles: Vec<KeyRole> = Session::new(NEW)
        .next_secrets([NEW, NEXT])
        .previous_secrets([NEXT])
        .key_usage()
        .iter()
        .map(|key| key.role)
        .collect();
    assert_eq!(roles, [KeyRole::Current, KeyRole::Next]);
}

#[::core::prelude::v1::test]
#[should_panic(expected = "Session::next_secrets: ")]
fn next_secrets_panics_on_a_short_secret() {
    let _ = Session::new(NEW).next_secrets(["short"]);
}
