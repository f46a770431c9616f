//! Smoke tests for the examples, over HTTP through their real routes.
// Each example includes examples/common/mod.rs as its own binary would; here four
// examples share one test crate, so the module is loaded once per example.
#![allow(clippy::duplicate_mod)]

#[allow(dead_code)]
#[path = "../../examples/counter.rs"]
mod counter;

#[allow(dead_code)]
#[path = "../../examples/cart.rs"]
mod cart;

#[allow(dead_code)]
#[path = "../../examples/rotation.rs"]
mod rotation;

#[allow(dead_code)]
#[path = "../../examples/verify_only.rs"]
mod verify_only;

#[allow(dead_code)]
#[path = "../../examples/revocation.rs"]
mod revocation;

#[allow(dead_code)]
#[path = "../../examples/login.rs"]
mod login;

#[allow(dead_code)]
#[path = "../../examples/user_login.rs"]
mod user_login;

use actix_web::http::StatusCode;
use actix_web::{App, test};
use jwt_session::Session;

use crate::common::jar::Jar;
use crate::common::{send, with_token};

/// GETs `uri` with the jar's cookies, stores what comes back, returns the body.
macro_rules! get {
    ($app:expr, $jar:expr, $uri:expr) => {{
        let mut req = test::TestRequest::get().uri($uri);
        if let Some(cookies) = $jar.header_for("/") {
            req = req.insert_header(("cookie", cookies));
        }
        let res = send(&$app, req).await;
        assert_eq!(res.status(), StatusCode::OK, "GET {}", $uri);
        $jar.update(&res);
        String::from_utf8(test::read_body(res).await.to_vec()).unwrap()
    }};
}

macro_rules! post_form {
    ($app:expr, $jar:expr, $uri:expr, $form:expr) => {{
        let mut req = test::TestRequest::post().uri($uri).set_form($form);
        if let Some(cookies) = $jar.header_for("/") {
            req = req.insert_header(("cookie", cookies));
        }
        let res = send(&$app, req).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "POST {}", $uri);
        $jar.update(&res);
    }};
}

#[actix_web::test]
async fn counter_counts_every_visit() {
    let app = test::init_service(
        App::new()
            .app_data(crate::common::session())
            .configure(counter::routes),
    )
    .await;
    let mut jar = Jar::default();
    assert!(get!(app, jar, "/").contains("visited this page 1 time."));
    assert!(get!(app, jar, "/").contains("visited this page 2 times."));
    assert!(get!(app, jar, "/").contains("visited this page 3 times."));
}

#[actix_web::test]
async fn cart_adds_removes_and_clears() {
    let app = test::init_service(
        App::new()
            .app_data(crate::common::session())
            .configure(cart::routes),
    )
    .await;
    let mut jar = Jar::default();
    assert!(get!(app, jar, "/").contains("Your cart is empty."));
    post_form!(app, jar, "/add", [("item", "apple")]);
    post_form!(app, jar, "/add", [("item", "apple")]);
    post_form!(app, jar, "/add", [("item", "coffee")]);
    post_form!(app, jar, "/add", [("item", "<script>")]); // not a product: ignored
    let page = get!(app, jar, "/");
    assert!(
        page.contains("apple × 2") && page.contains("coffee × 1"),
        "{page}"
    );
    assert!(!page.contains("<script>"));
    post_form!(app, jar, "/remove", [("item", "apple")]);
    assert!(get!(app, jar, "/").contains("apple × 1"));
    post_form!(app, jar, "/clear", [("item", "")]);
    assert!(get!(app, jar, "/").contains("Your cart is empty."));
}

#[actix_web::test]
async fn rotation_keeps_users_logged_in() {
    const OLD: &str = "the secret used before the rotation: 32+ bytes";
    const NEW: &str = "the secret used after the rotation: 32+ bytes";
    let before = test::init_service(
        App::new()
            .app_data(rotation::session_from(OLD, "").unwrap())
            .configure(rotation::routes),
    )
    .await;
    let mut jar = Jar::default();
    assert!(get!(before, jar, "/").contains("Visit 1"));
    let during = test::init_service(
        App::new()
            .app_data(rotation::session_from(NEW, OLD).unwrap())
            .configure(rotation::routes),
    )
    .await;
    assert!(
        get!(during, jar, "/").contains("Visit 2"),
        "the old session is accepted and re-signed"
    );
    let after = test::init_service(
        App::new()
            .app_data(rotation::session_from(NEW, "").unwrap())
            .configure(rotation::routes),
    )
    .await;
    assert!(
        get!(after, jar, "/").contains("Visit 3"),
        "the re-signed session needs only the new secret"
    );
    assert!(matches!(
        rotation::session_from(NEW, "short"),
        Err(jwt_session::SessionError::SecretTooShort { .. })
    ));
}

#[actix_web::test]
async fn rotation_stages_next_secrets_so_a_mixed_fleet_keeps_users_logged_in() {
    const OLD: &str = "the secret used before the rotation: 32+ bytes";
    const NEW: &str = "the secret used after the rotation: 32+ bytes";
    let step_one = rotation::with_next_secrets(rotation::session_from(OLD, "").unwrap(), NEW);
    let step_one = test::init_service(
        App::new()
            .app_data(step_one.unwrap())
            .configure(rotation::routes),
    )
    .await;
    let step_two = test::init_service(
        App::new()
            .app_data(rotation::session_from(NEW, OLD).unwrap())
            .configure(rotation::routes),
    )
    .await;
    let mut jar = Jar::default();
    for visit in 1..=4 {
        let page = if visit % 2 == 0 {
            get!(step_two, jar, "/")
        } else {
            get!(step_one, jar, "/")
        };
        assert!(
            page.contains(&format!("Visit {visit}")),
            "visit {visit}: {page}"
        );
    }
    assert!(matches!(
        rotation::with_next_secrets(rotation::session_from(OLD, "").unwrap(), "short"),
        Err(jwt_session::SessionError::SecretTooShort { .. })
    ));
}

#[actix_web::test]
async fn verify_only_reads_what_the_issuer_signs() {
    let issuer = test::init_service(
        App::new()
            .app_data(verify_only::issuer_session().unwrap())
            .configure(verify_only::issuer_routes),
    )
    .await;
    let reader = test::init_service(
        App::new()
            .app_data(verify_only::reader_session().unwrap())
            .configure(verify_only::reader_routes),
    )
    .await;
    let res = send(&issuer, test::TestRequest::get().uri("/login?user=ann")).await;
    let token = crate::common::session_cookie(&res).value().to_owned();
    let res = send(
        &reader,
        with_token(test::TestRequest::get().uri("/"), &token),
    )
    .await;
    assert_eq!(test::read_body(res).await, "signed in as ann");
    // A token the reader could sign itself does not exist: an HMAC token is refused.
    let forged = crate::common::foreign_token(
        &serde_json::json!({"user": "mallory"}),
        jsonwebtoken::Algorithm::HS256,
        verify_only::PUBLIC_PEM.as_bytes(),
    );
    let res = send(
        &reader,
        with_token(test::TestRequest::get().uri("/"), &forged),
    )
    .await;
    assert_eq!(test::read_body(res).await, "not signed in");
    let _ = Session::verify_only_pem(jwt_session::keys::Algorithm::EdDSA, verify_only::PUBLIC_PEM)
        .unwrap();
}

/// Without `SESSION_SECRET`, each run signs with its own random secret: no secret written
/// in the source lets a reader of the repository forge the demos' sessions.
#[::core::prelude::v1::test] // `test` here is actix_web::test
fn demos_without_a_secret_use_a_random_one() {
    assert!(
        std::env::var_os("SESSION_SECRET").is_none(),
        "run the suite without SESSION_SECRET"
    );
    let first = counter::common::secret_from_env();
    let second = counter::common::secret_from_env();
    assert_eq!(first.len(), 64);
    assert_ne!(first, second, "a fresh random secret per run");
    for example in ["counter", "cart", "rotation", "revocation"] {
        let source = std::fs::read_to_string(format!("examples/{example}.rs")).unwrap();
        assert!(
            !source.contains("unwrap_or_else(|_| \""),
            "{example} falls back to a secret written in the source"
        );
    }
}

#[actix_web::test]
async fn revocation_logs_out_for_real_and_everywhere() {
    // The example's config with MemoryStore (REDIS_URL unset; tests/revocation_instances.rs
    // runs it on Redis).
    let session = revocation::with_revocation(crate::common::session().secure(false)).unwrap();
    let app = test::init_service(App::new().app_data(session).configure(revocation::routes)).await;
    let mut jar = Jar::default();
    assert!(get!(app, jar, "/").contains("You are not logged in."));
    post_form!(app, jar, "/login", [("username", "<ann>")]);
    let page = get!(app, jar, "/");
    assert!(
        page.contains("Hello &lt;ann&gt;!") && page.contains("Log out everywhere"),
        "{page}"
    );
    let copied = jar.header_for("/").unwrap();
    post_form!(app, jar, "/logout", [("", "")]);
    assert!(get!(app, jar, "/").contains("You are not logged in."));
    let replayed = send(
        &app,
        test::TestRequest::get()
            .uri("/")
            .insert_header(("cookie", copied)),
    )
    .await;
    let body = String::from_utf8(test::read_body(replayed).await.to_vec()).unwrap();
    assert!(
        body.contains("You are not logged in."),
        "the copied cookie is dead"
    );

    // Two browsers of one user; "log out everywhere" in one ends both.
    let mut phone = Jar::default();
    post_form!(app, jar, "/login", [("username", "bob")]);
    post_form!(app, phone, "/login", [("username", "bob")]);
    assert!(get!(app, phone, "/").contains("Hello bob!"));
    post_form!(app, jar, "/logout-everywhere", [("", "")]);
    assert!(get!(app, phone, "/").contains("You are not logged in."));
    post_form!(app, phone, "/login", [("username", "bob")]);
    assert!(
        get!(app, phone, "/").contains("Hello bob!"),
        "logging in again works"
    );
}

/// For one example app: a cross-site login POST (`Sec-Fetch-Site`, or `Origin` alone as an
/// older browser sends it) is refused with 403 and sets no cookie; a same-origin one logs in
/// with a session cookie that has a `Max-Age` and whose token has an `exp`.
macro_rules! assert_safe_to_copy {
    ($example:literal, $app:expr, $uri:literal, $form:expr) => {{
        let app = test::init_service($app).await;
        let cross_site = [
            vec![
                ("sec-fetch-site", "cross-site"),
                ("origin", "https://evil.example"),
            ],
            vec![("origin", "https://evil.example")],
        ];
        for headers in cross_site {
            let mut req = test::TestRequest::post().uri($uri).set_form($form);
            for header in &headers {
                req = req.insert_header(*header);
            }
            let res = send(&app, req).await;
            assert_eq!(
                res.status(),
                StatusCode::FORBIDDEN,
                "{}: {headers:?}",
                $example
            );
            assert!(crate::common::set_cookies(&res).is_empty(), "{}", $example);
        }
        let req = test::TestRequest::post()
            .uri($uri)
            .insert_header(("sec-fetch-site", "same-origin"))
            .set_form($form);
        let res = send(&app, req).await;
        assert_eq!(
            res.status(),
            StatusCode::SEE_OTHER,
            "{}: a same-origin login",
            $example
        );
        let cookie = crate::common::session_cookie(&res);
        let max_age = cookie.max_age().map(|age| age.whole_seconds());
        assert!(
            max_age.is_some_and(|age| age > 0),
            "{}: Max-Age {max_age:?}",
            $example
        );
        let claims = crate::common::parts_of(cookie.value()).1;
        let exp = claims["exp"].as_u64();
        let now = crate::common::unix_now();
        assert!(
            exp.is_some_and(|exp| exp > now),
            "{}: claims {claims}",
            $example
        );
    }};
}

#[actix_web::test]
async fn every_login_example_refuses_cross_site_logins_and_sets_a_lifetime() {
    assert_safe_to_copy!(
        "login",
        App::new()
            .app_data(login::session(crate::common::session()))
            .configure(login::routes),
        "/",
        [("username", "ann")]
    );
    assert_safe_to_copy!(
        "user_login",
        App::new()
            .app_data(user_login::session(crate::common::session()))
            .configure(user_login::routes),
        "/login",
        [("username", "susan"), ("password", "hello")]
    );
    let session = revocation::with_revocation(crate::common::session()).unwrap();
    assert_safe_to_copy!(
        "revocation",
        App::new().app_data(session).configure(revocation::routes),
        "/login",
        [("username", "ann")]
    );
}
