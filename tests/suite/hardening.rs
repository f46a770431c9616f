//! Issue 10: what an independent review found at the seams: tokens that lack a claim,
//! a middleware plus a handler, two configs in one app, malleable or malformed keys,
//! token types, and cookie attributes that browsers enforce.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, SystemTime};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::{Next, from_fn};
use actix_web::{App, HttpResponse, get, post, test, web};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use jwt_session::{Session, SessionDict, SessionError, with_session};
use serde_json::{Value, json};

use crate::common::*;

#[post("/delete")]
#[with_session]
async fn delete(session: SessionDict) -> HttpResponse {
    session.delete();
    HttpResponse::Ok().finish()
}

macro_rules! app {
    ($config:expr) => {
        test::init_service(
            App::new()
                .app_data($config)
                .route("/save", web::post().to(save_user))
                .service(delete)
                .route("/", web::get().to(echo_session)),
        )
        .await
    };
}

/// GET / with `cookie` (a whole `Cookie` header value): the echoed session and the
/// response's `Set-Cookie` headers.
async fn read<S>(app: &S, cookie: &str) -> (Value, Vec<String>)
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = ServiceResponse,
            Error = actix_web::Error,
        >,
{
    let (status, cookies, body) = echo(app, cookie).await;
    assert_eq!(status, StatusCode::OK);
    (serde_json::from_str(&body).unwrap(), cookies)
}

fn hs256(claims: Value) -> String {
    foreign_token(&claims, Algorithm::HS256, SECRET.as_bytes())
}

fn now() -> i64 {
    i64::try_from(unix_now()).unwrap()
}

fn token_of(set_cookie: &str) -> String {
    actix_web::cookie::Cookie::parse(set_cookie.to_owned())
        .unwrap()
        .value()
        .to_owned()
}

/// The panic message of `build`, which must panic.
fn panic_message(build: impl FnOnce() -> Session) -> String {
    let payload = catch_unwind(AssertUnwindSafe(build)).expect_err("the config must be refused");
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default()
}

// ---- lifetimes bind every token, not only the ones we issued

#[actix_web::test]
async fn max_age_refuses_a_token_without_exp() {
    let app = app!(session().max_age(Duration::from_secs(3600)));
    let claimless = hs256(json!({"user": "joe"}));
    assert_eq!(
        read(&app, &format!("session={claimless}")).await.0,
        json!({})
    );
    let bounded = hs256(json!({"user": "joe", "exp": now() + 60}));
    assert_eq!(
        read(&app, &format!("session={bounded}")).await.0,
        json!({"user": "joe"}),
        "control: a token with exp is read"
    );
}

#[actix_web::test]
async fn idle_timeout_neither_accepts_nor_reissues_a_claimless_token() {
    let app = app!(session().idle_timeout(Duration::from_secs(600)));
    let claimless = hs256(json!({"user": "joe"}));
    let (body, cookies) = read(&app, &format!("session={claimless}")).await;
    assert_eq!(body, json!({}));
    assert!(
        cookies.is_empty(),
        "no fresh cookie for a leaked old one: {cookies:?}"
    );
    let no_iat = hs256(json!({"user": "joe", "exp": now() + 600}));
    let (body, cookies) = read(&app, &format!("session={no_iat}")).await;
    assert_eq!(body, json!({}), "idle needs iat to measure idleness");
    assert!(cookies.is_empty());
}

#[actix_web::test]
async fn absolute_timeout_needs_a_start_in_the_past() {
    let app = app!(session().absolute_timeout(Duration::from_secs(3600)));
    let ten_years = 10 * 365 * 86_400;
    for (what, claims) in [
        ("no session_start", json!({"user": "joe"})),
        (
            "iat ten years old, no session_start",
            json!({"user": "joe", "iat": now() - ten_years}),
        ),
        (
            "session_start in the future",
            json!({"user": "joe", "session_start": now() + 3000}),
        ),
    ] {
        let (body, cookies) = read(&app, &format!("session={}", hs256(claims))).await;
        assert_eq!(body, json!({}), "{what}");
        assert!(cookies.is_empty(), "{what}");
    }
    let fine = hs256(json!({"user": "joe", "session_start": now() - 10}));
    assert_eq!(
        read(&app, &format!("session={fine}")).await.0,
        json!({"user": "joe"}),
        "control"
    );
}

#[actix_web::test]
async fn a_reissue_never_starts_or_extends_the_absolute_clock() {
    let app = app!(
        session()
            .idle_timeout(Duration::from_secs(60))
            .absolute_timeout(Duration::from_secs(100))
    );
    // Past half its idle window, so it is re-issued, with the start it came with.
    let start = now() - 50;
    let aging =
        hs256(json!({"u": 1, "iat": now() - 40, "exp": now() + 20, "session_start": start}));
    let (body, cookies) = read(&app, &format!("session={aging}")).await;
    assert_eq!(body, json!({"u": 1}));
    let (_, payload) = parts_of(&token_of(&cookies[0]));
    assert_eq!(payload["session_start"], start);
    assert!(payload["exp"].as_i64().unwrap() <= start + 100, "{payload}");
}

#[actix_web::test]
async fn legacy_tokens_are_admitted_only_inside_the_window() {
    let claimless = format!("session={}", hs256(json!({"user": "joe"})));
    let open = app!(
        session()
            .max_age(Duration::from_secs(3600))
            .accept_legacy_tokens_until(SystemTime::now() + Duration::from_secs(60))
    );
    assert_eq!(read(&open, &claimless).await.0, json!({"user": "joe"}));
    let closed = app!(
        session()
            .max_age(Duration::from_secs(3600))
            .accept_legacy_tokens_until(SystemTime::now() - Duration::from_secs(1))
    );
    assert_eq!(read(&closed, &claimless).await.0, json!({}));
}

// ---- autosave never overrides an explicit decision, across middleware and handler

#[with_session(autosave)]
async fn touch_every_request(
    mut session: SessionDict,
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let seen = session.get::<u32>("seen")?.unwrap_or(0) + 1;
    session.insert("seen", seen)?;
    next.call(req).await
}

#[post("/login")]
#[with_session]
async fn login(mut session: SessionDict) -> Result<HttpResponse, SessionError> {
    session.insert("user", "ann")?;
    session.save()?;
    Ok(HttpResponse::Ok().finish())
}

#[get("/nothing")]
#[with_session]
async fn nothing(_session: SessionDict) -> HttpResponse {
    HttpResponse::Ok().finish()
}

#[actix_web::test]
async fn an_explicit_save_or_delete_wins_over_a_middleware_autosave() {
    let app = test::init_service(
        App::new()
            .app_data(session())
            .wrap(from_fn(touch_every_request))
            .service(login)
            .service(delete)
            .service(nothing),
    )
    .await;
    let start = hs256(json!({"user": "old", "seen": 1}));

    let res = test::call_service(
        &app,
        with_token(test::TestRequest::post().uri("/delete"), &start).to_request(),
    )
    .await;
    let cookie = session_cookie(&res); // exactly one session Set-Cookie
    assert_eq!(
        cookie.value(),
        "",
        "logout is a removal, not the middleware's copy"
    );
    assert_eq!(
        cookie.max_age(),
        Some(actix_web::cookie::time::Duration::ZERO)
    );

    let res = test::call_service(
        &app,
        with_token(test::TestRequest::post().uri("/login"), &start).to_request(),
    )
    .await;
    let (_, payload) = parts_of(session_cookie(&res).value());
    assert_eq!(payload["user"], "ann", "the login is kept: {payload}");

    let res = test::call_service(
        &app,
        with_token(test::TestRequest::get().uri("/nothing"), &start).to_request(),
    )
    .await;
    let (_, payload) = parts_of(session_cookie(&res).value());
    assert_eq!(
        (payload["user"].clone(), payload["seen"].clone()),
        (json!("old"), json!(2)),
        "with no decision, the middleware's autosave applies"
    );
}

// ---- the innermost config governs its handlers

const USER_SECRET: &str = "the user-facing secret, thirty-two bytes+";
const ADMIN_SECRET: &str = "the admin-only secret, thirty-two bytes++";

#[with_session]
async fn load_user_session(
    session: SessionDict,
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    drop(session);
    next.call(req).await
}

fn token_under(secret: &str, claims: &Value) -> String {
    foreign_token(claims, Algorithm::HS256, secret.as_bytes())
}

#[actix_web::test]
async fn a_scope_config_governs_even_after_a_middleware_loaded_the_app_config() {
    let app = test::init_service(
        App::new()
            .app_data(Session::new(USER_SECRET).cookie_name("user_session"))
            .wrap(from_fn(load_user_session))
            .service(
                web::scope("/admin")
                    .app_data(Session::new(ADMIN_SECRET).cookie_name("admin_session"))
                    .route("/", web::get().to(echo_session)),
            ),
    )
    .await;
    let user = token_under(USER_SECRET, &json!({"role": "user"}));
    let admin = token_under(ADMIN_SECRET, &json!({"role": "admin"}));

    let req = test::TestRequest::get()
        .uri("/admin/")
        .insert_header(("cookie", format!("user_session={user}")));
    assert_eq!(
        test::read_body(test::call_service(&app, req.to_request()).await).await,
        "{}",
        "a user cookie is no admin session"
    );
    let req = test::TestRequest::get()
        .uri("/admin/")
        .insert_header(("cookie", format!("admin_session={user}")));
    assert_eq!(
        test::read_body(test::call_service(&app, req.to_request()).await).await,
        "{}",
        "nor under the admin name"
    );
    let req = test::TestRequest::get().uri("/admin/").insert_header((
        "cookie",
        format!("user_session={user}; admin_session={admin}"),
    ));
    assert_eq!(
        test::read_body(test::call_service(&app, req.to_request()).await).await,
        r#"{"role":"admin"}"#,
        "control: the admin cookie is read"
    );
}

#[actix_web::test]
async fn the_innermost_plain_config_governs_without_middleware() {
    let app = test::init_service(
        App::new()
            .app_data(Session::new(USER_SECRET))
            .service(
                web::scope("/admin")
                    .app_data(Session::new(ADMIN_SECRET))
                    .route("/", web::get().to(echo_session)),
            )
            .route("/", web::get().to(echo_session)),
    )
    .await;
    let user = token_under(USER_SECRET, &json!({"role": "user"}));
    let admin = token_under(ADMIN_SECRET, &json!({"role": "admin"}));
    let get = |uri: &'static str, token: &str| with_token(test::TestRequest::get().uri(uri), token);
    let read_body = |res: ServiceResponse| async { test::read_body(res).await };
    assert_eq!(
        read_body(send(&app, get("/admin/", &user)).await).await,
        "{}"
    );
    assert_eq!(
        read_body(send(&app, get("/admin/", &admin)).await).await,
        r#"{"role":"admin"}"#
    );
    assert_eq!(
        read_body(send(&app, get("/", &user)).await).await,
        r#"{"role":"user"}"#
    );
    assert_eq!(read_body(send(&app, get("/", &admin)).await).await, "{}");
}

#[actix_web::test]
async fn mixed_registration_forms_are_refused_not_guessed() {
    let app = test::init_service(
        App::new()
            .app_data(Session::new(USER_SECRET).cookie_name("user_session"))
            .service(
                web::scope("/admin")
                    .app_data(web::Data::new(
                        Session::new(ADMIN_SECRET).cookie_name("admin_session"),
                    ))
                    .route("/", web::get().to(echo_session)),
            ),
    )
    .await;
    let user = token_under(USER_SECRET, &json!({"role": "user"}));
    let req = test::TestRequest::get()
        .uri("/admin/")
        .insert_header(("cookie", format!("user_session={user}")));
    let res = send(&app, req).await;
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(set_cookies(&res).is_empty());

    let message = SessionError::AmbiguousConfig {
        plain_cookie: "user_session".to_owned(),
        data_cookie: "admin_session".to_owned(),
    }
    .to_string();
    for part in [
        "user_session",
        "admin_session",
        "web::Data<Session>",
        "register every",
    ] {
        assert!(message.contains(part), "{message}");
    }

    // One config registered both ways is no ambiguity.
    let shared = Session::new(USER_SECRET);
    let app = test::init_service(
        App::new()
            .app_data(shared.clone())
            .app_data(web::Data::new(shared))
            .route("/", web::get().to(echo_session)),
    )
    .await;
    let token = token_under(USER_SECRET, &json!({"a": 1}));
    assert_eq!(
        read(&app, &format!("session={token}")).await.0,
        json!({"a": 1})
    );
}

// ---- keys and algorithms

fn key_file(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/keys/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// P-256's group order, big-endian.
const P256_ORDER: [u8; 32] = [
    0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xBC, 0xE6, 0xFA, 0xAD, 0xA7, 0x17, 0x9E, 0x84, 0xF3, 0xB9, 0xCA, 0xC2, 0xFC, 0x63, 0x25, 0x51,
];

/// `P256_ORDER - s`, for big-endian 32-byte `s`.
fn negate(s: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; 32];
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let mut digit = i16::from(P256_ORDER[i]) - i16::from(s[i]) - borrow;
        borrow = i16::from(digit < 0);
        if digit < 0 {
            digit += 256;
        }
        out[i] = u8::try_from(digit).unwrap();
    }
    out
}

#[actix_web::test]
async fn es256_tokens_have_exactly_one_valid_form() {
    let config = Session::from_pem(
        Algorithm::ES256,
        key_file("es256-private.pem"),
        key_file("es256-public.pem"),
    )
    .unwrap();
    let app = app!(config);
    for _ in 0..8 {
        let res = send(&app, test::TestRequest::post().uri("/save")).await;
        let token = session_cookie(&res).value().to_owned();
        let (input, signature) = token.rsplit_once('.').unwrap();
        let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
        let (r, s) = signature.split_at(32);
        assert!(s < &negate(s)[..], "we only issue low-S signatures");
        let twin = [r, &negate(s)].concat();
        let twin = format!("{input}.{}", URL_SAFE_NO_PAD.encode(twin));
        assert_eq!(
            read(&app, &format!("session={token}")).await.0,
            json!({"user": "joe"})
        );
        assert_eq!(
            read(&app, &format!("session={twin}")).await.0,
            json!({}),
            "the n - s twin verifies mathematically but is refused"
        );
    }
}

#[actix_web::test]
async fn malformed_or_weak_public_keys_are_errors_not_panics() {
    let refused = [
        (
            "3-byte Ed25519",
            Session::verify_only(DecodingKey::from_ed_der(&[1, 2, 3]), Algorithm::EdDSA),
        ),
        (
            "all-zero Ed25519",
            Session::verify_only(DecodingKey::from_ed_der(&[0; 32]), Algorithm::EdDSA),
        ),
        (
            "empty RSA DER",
            Session::verify_only(DecodingKey::from_rsa_der(&[]), Algorithm::RS256),
        ),
        (
            "empty RSA DER with a private key",
            Session::from_keys(
                EncodingKey::from_rsa_pem(&key_file("rsa-private.pem")).unwrap(),
                DecodingKey::from_rsa_der(&[]),
                Algorithm::RS256,
            ),
        ),
        (
            "garbage EC point",
            Session::verify_only(DecodingKey::from_ec_der(&[4, 1, 2]), Algorithm::ES256),
        ),
        (
            "keys of two different pairs",
            Session::from_keys(
                EncodingKey::from_ed_pem(&key_file("ed25519-private.pem")).unwrap(),
                DecodingKey::from_ed_der(&ed25519_public_of_another_pair()),
                Algorithm::EdDSA,
            ),
        ),
    ];
    for (what, result) in refused {
        let err = result.expect_err(what);
        assert!(matches!(err, SessionError::KeyMismatch(_)), "{what}: {err}");
    }
    let weak = Session::verify_only(DecodingKey::from_ed_der(&[0; 32]), Algorithm::EdDSA);
    assert!(weak.unwrap_err().to_string().contains("small order"));
    Session::verify_only_pem(Algorithm::EdDSA, key_file("ed25519-public.pem"))
        .expect("control: a real key is accepted");
}

/// The Ed25519 base point: a valid public key whose private key is not ours.
fn ed25519_public_of_another_pair() -> [u8; 32] {
    let mut point = [0x66; 32];
    point[0] = 0x58;
    point
}

#[actix_web::test]
async fn hmac_secrets_must_be_as_long_as_the_hash() {
    let secret_48 = [7u8; 48];
    let message = panic_message(|| Session::new([7u8; 32]).algorithm(Algorithm::HS384));
    assert!(
        message.contains("HS384 needs at least 48 bytes"),
        "{message}"
    );
    let message = panic_message(|| Session::new(secret_48).algorithm(Algorithm::HS512));
    assert!(
        message.contains("HS512 needs at least 64 bytes"),
        "{message}"
    );
    let message = panic_message(|| {
        Session::new([7u8; 64])
            .algorithm(Algorithm::HS512)
            .previous_secrets([secret_48])
    });
    assert!(
        message.contains("at least 64"),
        "a previous secret too: {message}"
    );
    let _ = Session::new(secret_48).algorithm(Algorithm::HS384);
    let _ = Session::new([7u8; 64]).algorithm(Algorithm::HS512);
}

#[actix_web::test]
async fn a_rotation_reissue_keeps_the_tokens_expiry() {
    const OLD: &str = "the previous secret, thirty-two bytes or more";
    let app = app!(
        session()
            .max_age(Duration::from_secs(3600))
            .previous_secrets([OLD])
    );
    let exp = now() + 20;
    let old = foreign_token(
        &json!({"u": 1, "exp": exp}),
        Algorithm::HS256,
        OLD.as_bytes(),
    );
    let (body, cookies) = read(&app, &format!("session={old}")).await;
    assert_eq!(body, json!({"u": 1}));
    let reissued = token_of(&cookies[0]);
    let (header, payload) = parts_of(&reissued);
    assert!(
        header.get("kid").is_some(),
        "re-signed with the current key: {header}"
    );
    assert_eq!(
        payload["exp"], exp,
        "re-signing changes the key and nothing else"
    );
    let max_age = actix_web::cookie::Cookie::parse(cookies[0].clone())
        .unwrap()
        .max_age()
        .unwrap()
        .whole_seconds();
    assert!(
        (18..=20).contains(&max_age),
        "Max-Age follows exp: {max_age}"
    );
}

#[actix_web::test]
async fn only_session_tokens_are_sessions() {
    let app = app!(session());
    let key = EncodingKey::from_secret(SECRET.as_bytes());
    for typ in [json!("at+jwt"), json!("JWS"), json!(null), json!(["JWT"])] {
        let header = json!({"alg": "HS256", "typ": typ});
        let token = forge(&header, &json!({"sub": "ann"}), Algorithm::HS256, &key);
        assert_eq!(
            read(&app, &format!("session={token}")).await.0,
            json!({}),
            "typ {typ}"
        );
    }
    for header in [
        json!({"alg": "HS256", "typ": "jwt"}),
        json!({"alg": "HS256"}),
    ] {
        let token = forge(&header, &json!({"a": 1}), Algorithm::HS256, &key);
        assert_eq!(
            read(&app, &format!("session={token}")).await.0,
            json!({"a": 1}),
            "{header}"
        );
    }
}

// ---- cookie attributes browsers enforce

#[actix_web::test]
async fn cookie_prefixes_are_checked_at_configuration() {
    for (what, message) in [
        (
            "__Host- without Secure",
            panic_message(|| session().cookie_name("__Host-s").secure(false)),
        ),
        (
            "__Host- after Secure is off",
            panic_message(|| session().secure(false).cookie_name("__Host-s")),
        ),
        (
            "__Host- with a path",
            panic_message(|| session().cookie_name("__Host-s").path("/app")),
        ),
        (
            "__Host- with a domain",
            panic_message(|| session().domain("example.com").cookie_name("__Host-s")),
        ),
        (
            "__Secure- without Secure",
            panic_message(|| session().cookie_name("__Secure-s").secure(false)),
        ),
        (
            "Partitioned without Secure",
            panic_message(|| session().secure(false).partitioned(true)),
        ),
    ] {
        assert!(message.contains("must"), "{what}: {message}");
    }
}

#[actix_web::test]
async fn host_prefixed_and_partitioned_cookies_are_written() {
    let app = app!(session().cookie_name("__Host-session").partitioned(true));
    let res = send(&app, test::TestRequest::post().uri("/save")).await;
    let set_cookie = &set_cookies(&res)[0];
    assert!(set_cookie.starts_with("__Host-session=ey"), "{set_cookie}");
    for attribute in ["Secure", "Path=/", "Partitioned"] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    assert!(!set_cookie.contains("Domain"), "{set_cookie}");
    let token = token_of(set_cookie);
    let (body, _) = read(&app, &format!("session={token}; __Host-session={token}")).await;
    assert_eq!(body, json!({"user": "joe"}));
    let res = send(&app, test::TestRequest::post().uri("/delete")).await;
    assert!(
        set_cookies(&res)[0].contains("Partitioned"),
        "the removal too"
    );
}
