//! The layering contract (issue 18): the public paths, side tokens that can't pass for
//! sessions, the remember horizon that every process knows, and `Session::check`.

use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, test, web};
// The paths are the contract: these imports are the documented ones, each exactly once.
#[allow(unused_imports)]
use jwt_session::{
    Flash, SameSite, Session, SessionData, SessionDict, SessionError, TypedSession, with_session,
};
#[allow(unused_imports)]
use jwt_session::{
    csrf::Csrf,
    keys::{Algorithm, DecodingKey, EncodingKey},
    login::{
        CurrentUser, FreshLogin, LoggedIn, Login, LoginRedirect, LoginUser, Remember, current_user,
        login_user, logout_user,
    },
    revocation::{Lookup, MemoryStore, RedisStore, RevocationStore, StoreError},
    test::{ResponseSession, TestClock},
};
use serde_json::json;

use crate::common::{SECRET, User, parts_of, read_session, set_cookies};

async fn log_in(req: HttpRequest) -> Result<HttpResponse, SessionError> {
    let days = req.query_string().parse::<u32>().unwrap_or(0);
    login_user(&req, &User("ann".into()), Remember::Days(days)).await
}

/// The value of the `name` cookie a response sets.
fn cookie_value(set_cookies: &[String], name: &str) -> String {
    let line = set_cookies
        .iter()
        .find(|line| line.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} cookie in {set_cookies:?}"));
    line[name.len() + 1..line.find(';').unwrap()].to_owned()
}

async fn remember_cookie(config: Session, days: u32) -> (String, Vec<String>) {
    let login = Login::new(|id: String| async move { Some(User(id)) });
    let app = test::init_service(
        App::new()
            .app_data(config)
            .app_data(login)
            .route("/login", web::post().to(log_in)),
    )
    .await;
    let req = test::TestRequest::post().uri(&format!("/login?{days}"));
    let res = test::call_service(&app, req.to_request()).await;
    let lines = set_cookies(&res);
    (cookie_value(&lines, "_remember"), lines)
}

#[actix_web::test]
async fn a_remember_cookie_is_never_a_session() {
    let (remember, _) = remember_cookie(Session::new(SECRET), 30).await;
    let (_, claims) = parts_of(&remember);
    assert_eq!(claims["_purpose"], "remember");
    let app = test::init_service(
        App::new()
            .app_data(Session::new(SECRET))
            .route("/", web::get().to(crate::common::echo_session)),
    )
    .await;
    let (session, _) = read_session(&app, &remember).await;
    assert_eq!(session, json!({}), "a side token offered as the session");
}

#[actix_web::test]
async fn the_purpose_key_is_reserved() {
    #[with_session]
    async fn plant(mut session: SessionDict) -> Result<HttpResponse, SessionError> {
        Ok(match session.insert("_purpose", "remember") {
            Err(SessionError::RegisteredClaim { key, .. }) => HttpResponse::Ok().body(key),
            other => HttpResponse::Ok().body(format!("accepted: {other:?}")),
        })
    }
    let app = test::init_service(
        App::new()
            .app_data(Session::new(SECRET))
            .route("/", web::post().to(plant)),
    )
    .await;
    let res = test::call_service(&app, test::TestRequest::post().to_request()).await;
    assert_eq!(test::read_body(res).await, "_purpose");
}

#[actix_web::test]
async fn a_longer_remember_cookie_is_clamped_to_the_horizon() {
    let week = Duration::from_secs(7 * 86_400);
    let (remember, lines) = remember_cookie(Session::new(SECRET).remember_horizon(week), 90).await;
    let (_, claims) = parts_of(&remember);
    assert_eq!(claims["days"], 7);
    assert_eq!(
        claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
        week.as_secs()
    );
    let line = lines.iter().find(|l| l.starts_with("_remember=")).unwrap();
    assert!(line.contains("Max-Age=604800"), "{line}");
}

/// `revoke_user` from a process that never issued a remember cookie: its entry still lives
/// as long as the remember horizon, not just the session lifetime.
#[actix_web::test]
async fn revoke_user_outlives_the_session_lifetime_whoever_calls_it() {
    let store = MemoryStore::new();
    let admin = Session::new(SECRET)
        .max_age(Duration::from_secs(1))
        .leeway(Duration::ZERO)
        .revocation(store.clone())
        .user_claim("_user_id");
    admin.revoke_user("ann").await.unwrap();
    actix_web::rt::time::sleep(Duration::from_millis(1_200)).await;
    let lookup = store.lookup("any-token", Some("ann")).await.unwrap();
    assert!(
        lookup.user_revoked_at_ms.is_some(),
        "the entry must outlive the 1 s session lifetime: a 30-day remember cookie may still be out there"
    );
}

#[::core::prelude::v1::test]
fn check_reports_what_the_builder_panics_on() {
    let panic =
        std::panic::catch_unwind(|| Session::new(SECRET).cookie_name("__Host-s").secure(false))
            .expect_err("a __Host- cookie that is not Secure");
    let message = panic.downcast_ref::<String>().unwrap();
    assert!(
        message.contains("`__Host-` cookie must be Secure"),
        "{message}"
    );
    let ok = Session::new(SECRET).cookie_name("__Host-s");
    ok.check().unwrap();
    let needs_lifetime = Session::new(SECRET).revocation(MemoryStore::new()).check();
    assert!(matches!(
        needs_lifetime,
        Err(SessionError::RevocationNeedsLifetime)
    ));
}
