//! Known-answer tests against tokens produced by PyJWT 2.15.1 (what Microdot uses), so the
//! wire format is checked against the peer's real bytes even where Python is absent.
//! The vectors were made with:
//!
//! ```text
//! python -c 'import jwt; print(jwt.encode(CLAIMS, "test secret: at least thirty-two bytes long", algorithm="HS256"))'
//! ```
//! The live two-way suite against Microdot itself is tests/interop_microdot.rs (issue 4).

use actix_web::http::header;
use actix_web::{App, HttpResponse, post, test, web};
use jwt_session::{SessionDict, SessionError, with_session};
use serde_json::json;

use crate::common::*;

/// `jwt.encode({"a": 1}, SECRET, algorithm="HS256")`
const PYJWT_A1: &str =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJhIjoxfQ.vEbnSFVfcVTdTvoNxTTxcWUcXRuks5S7QSqhjHAAny0";
/// `{"name": "joe", "n": 1.5, "ok": True, "none": None, "list": [1, "two", {"x": []}]}`
const PYJWT_MIXED: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJuYW1lIjoiam9lIiwibiI6MS41LCJvayI6dHJ1ZSwibm9uZSI6bnVsbCwibGlzdCI6WzEsInR3byIseyJ4IjpbXX1dfQ.ePVf7j2thLEAA8IMf-GlWU6jOF8iw3aAwaZGNICggXw";
/// `{"user": "José \"q\" 😀"}`: Python escapes non-ASCII as `\uXXXX`, surrogate pairs included.
const PYJWT_UNICODE: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1c2VyIjoiSm9zXHUwMGU5IFwicVwiIFx1ZDgzZFx1ZGUwMCJ9.UGM65_dQbwdK47TOxaf_4CFj5Cry3eM8H8KFW88xRnY";

#[post("/a1")]
#[with_session]
async fn save_a1(mut session: SessionDict) -> Result<HttpResponse, SessionError> {
    session.insert("a", 1)?;
    session.save()?;
    Ok(HttpResponse::Ok().finish())
}

#[actix_web::test]
async fn our_token_is_byte_identical_to_pyjwt() {
    let app = test::init_service(App::new().app_data(session()).service(save_a1)).await;
    let res = send(&app, test::TestRequest::post().uri("/a1")).await;
    assert_eq!(session_cookie(&res).value(), PYJWT_A1);
}

#[actix_web::test]
async fn pyjwt_tokens_are_read() {
    let app = test::init_service(
        App::new()
            .app_data(session())
            .route("/", web::get().to(echo_session)),
    )
    .await;
    let cases = [
        (PYJWT_A1, json!({"a": 1})),
        (
            PYJWT_MIXED,
            json!({"name": "joe", "n": 1.5, "ok": true, "none": null, "list": [1, "two", {"x": []}]}),
        ),
        (PYJWT_UNICODE, json!({"user": "José \"q\" 😀"})),
    ];
    for (token, expected) in cases {
        let req = test::TestRequest::get()
            .uri("/")
            .insert_header((header::COOKIE, format!("session={token}")));
        let body: serde_json::Value = test::call_and_read_body_json(&app, req.to_request()).await;
        assert_eq!(body, expected);
    }
}
