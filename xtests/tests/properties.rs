//! Property tests over real HTTP: any JSON object survives a save and a load, and no single
//! changed byte of a valid token gets through, for signed and for encrypted sessions.

#[path = "../../tests/common/mod.rs"]
mod common;

use actix_web::http::header;
use actix_web::test as http;
use actix_web::{App, HttpResponse, post, web};
use jwt_session::{Session, SessionDict, SessionError, with_session};
use proptest::prelude::*;
use serde_json::{Map, Value};

use common::*;

/// Saves every entry of the posted JSON object.
#[post("/save")]
#[with_session]
async fn save_all(
    body: web::Json<Map<String, Value>>,
    mut session: SessionDict,
) -> Result<HttpResponse, SessionError> {
    for (key, value) in body.into_inner() {
        session.insert(key, value)?;
    }
    session.save()?;
    Ok(HttpResponse::Ok().finish())
}

/// Keys the library refuses or manages are left out: `insert` has its own tests for them.
const NOT_USER_KEYS: [&str; 8] = [
    "exp",
    "nbf",
    "iat",
    "session_start",
    "sub",
    "jti",
    "iss",
    "aud",
];

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("JSON has no NaN or infinity", |f| f.is_finite())
            .prop_map(Value::from),
        "\\PC{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("\\PC{0,8}", inner, 0..4)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

fn session_object() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map(
        "\\PC{0,10}".prop_filter("managed key", |k| !NOT_USER_KEYS.contains(&k.as_str())),
        json_value(),
        0..6,
    )
    .prop_map(|map| map.into_iter().collect())
}

/// Saves `data` through the app and reads it back: `None` when it was too large to send.
fn round_trip(config: Session, data: &Map<String, Value>) -> Option<Value> {
    actix_web::rt::System::new().block_on(async {
        let app = http::init_service(
            App::new()
                .app_data(config)
                .service(save_all)
                .route("/", web::get().to(echo_session)),
        )
        .await;
        let res = send(&app, http::TestRequest::post().uri("/save").set_json(data)).await;
        if set_cookies(&res).is_empty() {
            return None;
        }
        let token = session_cookie(&res).value().to_owned();
        let req = with_token(http::TestRequest::get().uri("/"), &token);
        Some(serde_json::from_slice(&http::read_body(send(&app, req).await).await).unwrap())
    })
}

/// The session `cookie_value` loads as under `config`, and whether the request succeeded.
fn load(config: Session, cookie_value: &str) -> (bool, Value) {
    actix_web::rt::System::new().block_on(async {
        let app = http::init_service(
            App::new()
                .app_data(config)
                .route("/", web::get().to(echo_session)),
        )
        .await;
        let req = http::TestRequest::get()
            .uri("/")
            .insert_header((header::COOKIE, format!("session={cookie_value}")));
        let res = send(&app, req).await;
        let ok = res.status().is_success();
        (
            ok,
            serde_json::from_slice(&http::read_body(res).await).unwrap(),
        )
    })
}

/// Any JSON object comes back from a save and a load unchanged.
fn check_round_trip(config: Session, data: Map<String, Value>) -> Result<(), TestCaseError> {
    let expected = Value::Object(data.clone());
    let serialized = serde_json::to_string(&expected).unwrap();
    let read = round_trip(config, &data);
    // Only a session too large for a cookie may fail to save, and then it says so.
    prop_assert!(
        read.is_some() || serialized.len() > 2_500,
        "a small session failed to save: {}",
        serialized
    );
    if let Some(read) = read {
        prop_assert_eq!(read, expected);
    }
    Ok(())
}

/// `token` with the byte at `index` replaced is an empty session, with a 2xx status.
fn check_flip(
    config: Session,
    token: String,
    index: prop::sample::Index,
    replacement: u8,
) -> Result<(), TestCaseError> {
    let at = index.index(token.len());
    prop_assume!(token.as_bytes()[at] != replacement && replacement != b';' && replacement != b',');
    let mut bytes = token.into_bytes();
    bytes[at] = replacement;
    let tampered = String::from_utf8(bytes).unwrap();
    let (ok, session) = load(config, &tampered);
    prop_assert!(ok);
    prop_assert_eq!(
        session,
        serde_json::json!({}),
        "byte {} changed to {:?}: {}",
        at,
        replacement as char,
        tampered
    );
    Ok(())
}

fn user_claims() -> Value {
    serde_json::json!({"user": "joe", "admin": false})
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn any_json_object_round_trips(data in session_object()) {
        check_round_trip(session(), data)?;
    }

    #[test]
    fn any_json_object_round_trips_encrypted(data in session_object()) {
        check_round_trip(session().encrypted(), data)?;
    }

    #[test]
    fn flipping_any_byte_is_rejected(index in any::<prop::sample::Index>(), replacement in 0x21u8..0x7f) {
        let token = foreign_token(&user_claims(), jsonwebtoken::Algorithm::HS256, SECRET.as_bytes());
        check_flip(session(), token, index, replacement)?;
    }

    #[test]
    fn flipping_any_byte_of_an_encrypted_token_is_rejected(index in any::<prop::sample::Index>(), replacement in 0x21u8..0x7f) {
        check_flip(session().encrypted(), jwe::encrypt(&user_claims(), SECRET), index, replacement)?;
    }
}

#[test]
fn the_untampered_tokens_load() {
    let token = foreign_token(
        &user_claims(),
        jsonwebtoken::Algorithm::HS256,
        SECRET.as_bytes(),
    );
    assert_eq!(load(session(), &token), (true, user_claims()));
    let token = jwe::encrypt(&user_claims(), SECRET);
    assert_eq!(load(session().encrypted(), &token), (true, user_claims()));
}
