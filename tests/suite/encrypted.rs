//! Issue 12: encrypted sessions behave like signed ones everywhere except on the wire.
//! Configuration checks, lifetimes, rotation, size, typed sessions, autosave, middleware,
//! and what old, foreign and cross-mode tokens, a second config and a second instance do.

use std::time::Duration;

use actix_web::middleware::from_fn;
use actix_web::test as http;
use actix_web::{App, HttpResponse, get, post, web};
use jsonwebtoken::Algorithm;
use jwt_session::{Session, SessionDict, TypedSession, test::ResponseSession, with_session};
use jwt_session_runtime::__internals::encrypt_with_iv;
use serde_json::{Value, json};

use crate::common::*;

const OLD: &str = "the previous secret, thirty-two bytes or more";

fn encrypted() -> Session {
    session().encrypted()
}

/// Saves a string of the requested length, answering with the error message if any.
#[post("/blob/{len}")]
#[with_session]
async fn blob(len: web::Path<usize>, mut session: SessionDict) -> HttpResponse {
    let saved = session
        .insert("blob", "x".repeat(*len))
        .and_then(|()| session.save());
    match saved {
        Ok(()) => HttpResponse::Ok().finish(),
        Err(err) => HttpResponse::Ok().body(err.to_string()),
    }
}

macro_rules! app {
    ($config:expr) => {
        http::init_service(
            App::new()
                .app_data($config)
                .route("/save", web::post().to(save_user))
                .service(blob)
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

macro_rules! saved_token {
    ($app:expr) => {
        session_cookie(&send(&$app, http::TestRequest::post().uri("/save")).await)
            .value()
            .to_owned()
    };
}

fn panic_message(build: impl FnOnce() -> Session + std::panic::UnwindSafe) -> String {
    let payload = std::panic::catch_unwind(build).expect_err("the configuration is refused");
    payload
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default()
}

fn pem(name: &str) -> String {
    std::fs::read_to_string(format!("{}/tests/keys/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

#[test]
fn configurations_that_cannot_encrypt_are_refused_with_a_reason() {
    let (private, public) = (pem("ed25519-private.pem"), pem("ed25519-public.pem"));
    let message = panic_message(|| {
        Session::from_pem(Algorithm::EdDSA, &private, &public)
            .unwrap()
            .encrypted()
    });
    assert!(
        message.starts_with("Session::encrypted:") && message.contains("asymmetric keys"),
        "{message}"
    );
    let message = panic_message(|| {
        Session::verify_only_pem(Algorithm::EdDSA, &public)
            .unwrap()
            .encrypted()
    });
    assert!(message.contains("verify-only"), "{message}");

    // Independent of the order of the builder calls (64 bytes: HS512's minimum).
    let before = panic_message(|| {
        Session::new([7u8; 64])
            .algorithm(Algorithm::HS512)
            .encrypted()
    });
    let after = panic_message(|| {
        Session::new([7u8; 64])
            .encrypted()
            .algorithm(Algorithm::HS512)
    });
    assert!(before.starts_with("Session::encrypted:"), "{before}");
    assert!(after.starts_with("Session::algorithm:"), "{after}");
    let reason = |message: &str| message.split_once(": ").unwrap().1.to_owned();
    assert_eq!(reason(&before), reason(&after));
    assert!(before.contains("drop .algorithm(..)"), "{before}");
}

#[test]
fn builder_order_does_not_change_the_tokens() {
    let iv = [9; 12];
    let data = json!({"user": "joe"});
    let data = data.as_object().unwrap();
    let configs = [
        session().encrypted().previous_secrets([OLD]),
        session().previous_secrets([OLD]).encrypted(),
        session()
            .algorithm(Algorithm::HS256)
            .encrypted()
            .previous_secrets([OLD]),
        session()
            .encrypted()
            .previous_secrets([OLD])
            .algorithm(Algorithm::HS256)
            .encrypted(),
    ];
    let tokens: Vec<String> = configs
        .iter()
        .map(|config| encrypt_with_iv(config, data, iv).unwrap())
        .collect();
    assert!(
        tokens.iter().all(|token| token == &tokens[0]),
        "{tokens:#?}"
    );
    assert!(format!("{:?}", configs[0]).contains("encrypted: true"));
    assert!(format!("{:?}", session()).contains("encrypted: false"));
}

#[actix_web::test]
async fn signed_and_encrypted_tokens_are_not_interchangeable() {
    let signed_app = app!(session());
    let encrypted_app = app!(encrypted());
    let signed = saved_token!(signed_app);
    let sealed = saved_token!(encrypted_app);
    assert_eq!(read!(encrypted_app, sealed).0, json!({"user": "joe"}));
    assert_eq!(
        read!(encrypted_app, signed).0,
        json!({}),
        "JWS to an encrypted config"
    );
    assert_eq!(
        read!(signed_app, sealed).0,
        json!({}),
        "JWE to a signed config"
    );
}

#[actix_web::test]
async fn a_second_instance_reads_a_second_config_does_not() {
    let first = app!(encrypted());
    let token = saved_token!(first);
    let second_instance = app!(Session::new(SECRET).encrypted());
    assert_eq!(read!(second_instance, token).0, json!({"user": "joe"}));
    let other_secret = app!(Session::new("another app's secret, 32 bytes or more").encrypted());
    assert_eq!(read!(other_secret, token).0, json!({}));
    // An encrypted token forged by an independent writer with our secret is read too.
    let forged = jwe::encrypt(&json!({"user": "ann"}), SECRET);
    assert_eq!(read!(first, forged).0, json!({"user": "ann"}));
}

#[actix_web::test]
async fn lifetimes_are_enforced_inside_the_ciphertext() {
    let app = app!(encrypted().max_age(Duration::from_secs(600)));
    let res = send(&app, http::TestRequest::post().uri("/save")).await;
    let cookie = session_cookie(&res);
    assert_eq!(
        cookie.max_age(),
        Some(actix_web::cookie::time::Duration::seconds(600))
    );
    let plaintext: Value =
        serde_json::from_slice(&jwe::decrypt(cookie.value(), SECRET).unwrap()).unwrap();
    let exp = plaintext["exp"].as_u64().unwrap();
    assert!(
        (unix_now() + 595..=unix_now() + 600).contains(&exp),
        "{plaintext}"
    );
    assert_eq!(read!(app, cookie.value()).0, json!({"user": "joe"}));

    let expired = jwe::encrypt(&json!({"user": "joe", "exp": unix_now() - 3600}), SECRET);
    assert_eq!(read!(app, expired).0, json!({}), "a replayed expired token");
    let malformed = jwe::encrypt(&json!({"user": "joe", "exp": "99999999999"}), SECRET);
    assert_eq!(
        read!(app, malformed).0,
        json!({}),
        "claims checked as for JWS"
    );
}

#[actix_web::test]
async fn idle_sessions_are_re_encrypted_past_half_the_window() {
    let app = app!(encrypted().idle_timeout(Duration::from_secs(100)));
    let now = unix_now();
    let fresh = jwe::encrypt(
        &json!({"user": "joe", "iat": now, "exp": now + 100}),
        SECRET,
    );
    assert!(
        read!(app, fresh).1.is_empty(),
        "no re-issue early in the window"
    );
    let aging = jwe::encrypt(
        &json!({"user": "joe", "iat": now - 60, "exp": now + 40}),
        SECRET,
    );
    let (body, cookies) = read!(app, aging);
    assert_eq!(body, json!({"user": "joe"}));
    let [cookie] = cookies.as_slice() else {
        panic!("{cookies:?}")
    };
    let token = &token_of(cookie);
    let plaintext: Value = serde_json::from_slice(&jwe::decrypt(token, SECRET).unwrap()).unwrap();
    assert!(plaintext["iat"].as_u64().unwrap() >= now, "{plaintext}");
}

#[actix_web::test]
async fn rotation_re_encrypts_old_sessions_under_the_new_key() {
    let old_app = app!(Session::new(OLD).encrypted());
    let old_token = saved_token!(old_app);
    let rotated = app!(encrypted().previous_secrets([OLD]));
    let (body, cookies) = read!(rotated, old_token);
    assert_eq!(body, json!({"user": "joe"}));
    let [cookie] = cookies.as_slice() else {
        panic!("{cookies:?}")
    };
    let token = &token_of(cookie);
    assert!(jwe::decrypt(token, SECRET).is_some());
    assert!(jwe::decrypt(token, OLD).is_none());
    assert!(
        read!(rotated, token).1.is_empty(),
        "current tokens are not re-issued"
    );
    assert_eq!(read!(app!(encrypted()), token).0, json!({"user": "joe"}));
}

#[actix_web::test]
async fn the_size_limit_applies_to_the_encrypted_cookie() {
    let app = app!(encrypted());
    // 3000 bytes of JSON fit in 4096 as JSON, but not once encrypted and base64-encoded.
    let res = send(&app, http::TestRequest::post().uri("/blob/3000")).await;
    assert!(set_cookies(&res).is_empty(), "nothing is sent");
    let body = http::read_body(res).await;
    let message = std::str::from_utf8(&body).unwrap();
    assert!(message.contains("over the 4096-byte limit"), "{message}");
    let res = send(&app, http::TestRequest::post().uri("/blob/2900")).await;
    let cookie = set_cookies(&res).pop().expect("a cookie");
    assert!((4000..=4096).contains(&cookie.len()), "{}", cookie.len());
}

#[derive(serde::Serialize, serde::Deserialize, Default, Debug, PartialEq)]
struct Cart {
    items: Vec<String>,
}

#[post("/cart/{item}")]
#[with_session(autosave)]
async fn add_to_cart(item: web::Path<String>, mut cart: TypedSession<Cart>) -> HttpResponse {
    cart.items.push(item.into_inner());
    HttpResponse::Ok().json(&*cart)
}

#[get("/seen")]
#[with_session]
async fn seen(session: SessionDict) -> HttpResponse {
    HttpResponse::Ok().json(&session)
}

#[actix_web::test]
async fn typed_sessions_and_autosave_work_encrypted() {
    let app = http::init_service(App::new().app_data(encrypted()).service(add_to_cart)).await;
    let res = send(&app, http::TestRequest::post().uri("/cart/apple")).await;
    let token = session_cookie(&res).value().to_owned();
    let res = send(
        &app,
        with_token(http::TestRequest::post().uri("/cart/pear"), &token),
    )
    .await;
    let token = session_cookie(&res).value().to_owned();
    let plaintext = jwe::decrypt(&token, SECRET).unwrap();
    assert_eq!(plaintext, br#"{"items":["apple","pear"]}"#);
}

#[actix_web::test]
async fn middleware_and_handler_share_one_encrypted_session() {
    let app = http::init_service(
        App::new()
            .app_data(encrypted())
            .wrap(from_fn(count_requests))
            .route("/save", web::post().to(save_user))
            .service(seen),
    )
    .await;
    let res = http::call_service(&app, http::TestRequest::post().uri("/save").to_request()).await;
    // The middleware and the handler both saved: one cookie, carrying both changes.
    let token = session_cookie(&res).value().to_owned();
    let plaintext: Value = serde_json::from_slice(&jwe::decrypt(&token, SECRET).unwrap()).unwrap();
    assert_eq!(plaintext, json!({"requests": 1, "user": "joe"}));
    let req = with_token(http::TestRequest::get().uri("/seen"), &token);
    let res = http::call_service(&app, req.to_request()).await;
    let token = session_cookie(&res).value().to_owned();
    let body: Value = http::read_body_json(res).await;
    assert_eq!(body, json!({"requests": 2, "user": "joe"}));
    assert!(jwe::decrypt(&token, SECRET).is_some());
}

#[actix_web::test]
async fn the_test_helpers_mint_and_read_encrypted_cookies() {
    let config = encrypted();
    let cookie = config.test_cookie(&json!({"user": "ann"})).unwrap();
    assert!(jwe::decrypt(cookie.value(), SECRET).is_some(), "{cookie}");
    let app = app!(config.clone());
    assert_eq!(
        read_session(&app, cookie.value()).await.0,
        json!({"user": "ann"})
    );

    let res = send(&app, http::TestRequest::post().uri("/save")).await;
    let saved = config.session_set_by(res.response());
    assert_eq!(
        saved,
        ResponseSession::Saved(json!({"user": "joe"}).as_object().unwrap().clone())
    );
    assert_eq!(
        session().session_set_by(res.response()),
        ResponseSession::Invalid,
        "a signed config cannot read it"
    );
}

#[post("/logout")]
#[with_session]
async fn logout(session: SessionDict) -> HttpResponse {
    session.delete();
    HttpResponse::Ok().finish()
}

#[actix_web::test]
async fn revocation_works_inside_the_ciphertext() {
    let config = encrypted()
        .max_age(Duration::from_secs(600))
        .revocation(jwt_session::revocation::MemoryStore::new());
    let app = http::init_service(
        App::new()
            .app_data(config)
            .route("/save", web::post().to(save_user))
            .service(logout)
            .route("/", web::get().to(echo_session)),
    )
    .await;
    let token = session_cookie(&send(&app, http::TestRequest::post().uri("/save")).await)
        .value()
        .to_owned();
    let plaintext: Value = serde_json::from_slice(&jwe::decrypt(&token, SECRET).unwrap()).unwrap();
    assert!(
        plaintext["jti"].is_string(),
        "the token id is encrypted too: {plaintext}"
    );
    assert_eq!(read_session(&app, &token).await.0, json!({"user": "joe"}));
    send(
        &app,
        with_token(http::TestRequest::post().uri("/logout"), &token),
    )
    .await;
    assert_eq!(
        read_session(&app, &token).await.0,
        json!({}),
        "a copy of the encrypted cookie is revoked by the logout"
    );
}
