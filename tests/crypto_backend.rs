//! jsonwebtoken panics on first use when the build enables no crypto backend or both, which
//! feature unification can cause from any other crate. jwt-session never consults the
//! process-wide provider: this test installs one that panics on every call and shows that
//! sessions still save and load.

mod common;

use actix_web::http::header;
use actix_web::{App, HttpResponse, get, post, test};
use jsonwebtoken::crypto::{CryptoProvider, KeyUtils};
use jsonwebtoken::{EncodingKey, Header};
use jwt_session::{SessionDict, SessionError, with_session};

use common::*;

static HOSTILE: CryptoProvider = CryptoProvider {
    signer_factory: |_, _| panic!("the process-wide jsonwebtoken provider was used"),
    verifier_factory: |_, _| panic!("the process-wide jsonwebtoken provider was used"),
    key_utils: KeyUtils::new_unimplemented(),
};

#[post("/")]
#[with_session]
async fn save(mut session: SessionDict) -> Result<HttpResponse, SessionError> {
    session.insert("user", "joe")?;
    session.save()?;
    Ok(HttpResponse::Ok().finish())
}

#[get("/")]
#[with_session]
async fn read(session: SessionDict) -> Result<String, SessionError> {
    Ok(session.get::<String>("user")?.unwrap_or_default())
}

#[actix_web::test]
async fn sessions_never_use_the_process_wide_provider() {
    HOSTILE
        .install_default()
        .expect("this test binary installs the provider first");
    // The trap is armed: jsonwebtoken's own convenience API now panics.
    let trap = std::panic::catch_unwind(|| {
        let _ = jsonwebtoken::encode(
            &Header::default(),
            &serde_json::json!({}),
            &EncodingKey::from_secret(b"k"),
        );
    });
    assert!(
        trap.is_err(),
        "the hostile provider must be in force for this test to mean anything"
    );

    let app = test::init_service(App::new().app_data(session()).service(save).service(read)).await;
    let res = send(&app, test::TestRequest::post().uri("/")).await;
    let cookie = session_cookie(&res);
    let req = test::TestRequest::get()
        .uri("/")
        .insert_header((header::COOKIE, format!("session={}", cookie.value())));
    assert_eq!(
        test::call_and_read_body(&app, req.to_request()).await,
        "joe"
    );
}
