//! A misconfigured app answers 500, logs the fix, prints it to stderr once per kind when
//! no `tracing` subscriber is installed, and names it in the body of debug builds.

use std::io::Write;
use std::process::Command;
use std::sync::{Arc, Mutex};

use actix_web::http::StatusCode;
use actix_web::{App, HttpResponse, get, test, web};
use jwt_session::login::{LoggedIn, LoginUser};
use jwt_session::revocation::MemoryStore;
use jwt_session::{Session, SessionDict, with_session};

use crate::common::SECRET;

#[get("/")]
#[with_session]
async fn index(session: SessionDict) -> String {
    session.len().to_string()
}

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[actix_web::test]
async fn missing_app_data_is_a_500_with_a_log_and_a_debug_body_naming_the_fix() {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let app = test::init_service(App::new().service(index)).await;
    let res = test::call_service(&app, test::TestRequest::get().uri("/").to_request()).await;
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body = String::from_utf8(test::read_body(res).await.to_vec()).unwrap();
    assert!(body.contains(".app_data(Session::new(secret))"), "{body}");

    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("ERROR"), "{logs}");
    assert!(logs.contains(".app_data(Session::new(secret))"), "{logs}");
}

#[derive(Clone)]
struct User;

impl LoginUser for User {
    type Id = u64;
    fn id(&self) -> u64 {
        1
    }
}

async fn members(_user: LoggedIn<User>) -> HttpResponse {
    HttpResponse::Ok().finish()
}

/// The status and body of `GET /` on `app`.
macro_rules! get_root {
    ($app:expr $(,)?) => {{
        let app = test::init_service($app).await;
        let res = test::call_service(&app, test::TestRequest::get().uri("/").to_request()).await;
        let status = res.status();
        let body = String::from_utf8(test::read_body(res).await.to_vec()).unwrap();
        (status, body)
    }};
}

/// Each misconfiguration's 500, as a debug build (this suite) answers it.
async fn misconfigured_answers() -> Vec<(&'static str, StatusCode, String)> {
    let missing_session = get_root!(App::new().service(index));
    let missing_login = get_root!(
        App::new()
            .app_data(Session::new(SECRET))
            .route("/", web::get().to(members)),
    );
    let store_without_lifetime = get_root!(
        App::new()
            .app_data(Session::new(SECRET).revocation(MemoryStore::new()))
            .service(index),
    );
    let ambiguous = get_root!(
        App::new()
            .app_data(Session::new(SECRET).cookie_name("user_session"))
            .app_data(web::Data::new(
                Session::new(SECRET).cookie_name("admin_session"),
            ))
            .service(index),
    );
    vec![
        ("missing Session", missing_session.0, missing_session.1),
        ("missing Login", missing_login.0, missing_login.1),
        (
            "store without lifetime",
            store_without_lifetime.0,
            store_without_lifetime.1,
        ),
        ("ambiguous", ambiguous.0, ambiguous.1),
    ]
}

#[actix_web::test]
async fn debug_bodies_name_each_misconfiguration_and_its_fix() {
    let fixes = [
        ".app_data(Session::new(secret))",
        ".app_data(Login::new(loader))",
        "add .max_age(..), .idle_timeout(..) or .absolute_timeout(..)",
        "register every session config the same way",
    ];
    for ((kind, status, body), fix) in misconfigured_answers().await.into_iter().zip(fixes) {
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{kind}");
        assert!(body.contains(fix), "{kind}: {body}");
        assert!(body.contains("debug builds only"), "{kind}: {body}");
    }
}

/// Set in the child process of [`misconfigurations_go_to_stderr_once_per_kind`].
const STDERR_CHILD: &str = "JWT_SESSION_STDERR_CHILD";

/// Runs in a child process of its own, where no `tracing` subscriber is installed (other
/// tests of this binary may install one): every misconfiguration, three times over.
#[actix_web::test]
async fn misconfigurations_stderr_child() {
    if std::env::var_os(STDERR_CHILD).is_none() {
        return;
    }
    for _ in 0..3 {
        misconfigured_answers().await;
    }
}

#[::core::prelude::v1::test] // `test` here is actix_web::test
fn misconfigurations_go_to_stderr_once_per_kind() {
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "missing_config::misconfigurations_stderr_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(STDERR_CHILD, "1")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let stderr = String::from_utf8(output.stderr).unwrap();
    let printed: Vec<&str> = stderr
        .lines()
        .filter(|line| line.starts_with("jwt-session: error: "))
        .collect();
    assert_eq!(printed.len(), 4, "one line per kind: {stderr}");
    for fix in [
        ".app_data(Session::new(secret))",
        ".app_data(Login::new(loader))",
        ".max_age(..)",
        "register every session config the same way",
    ] {
        assert_eq!(
            printed.iter().filter(|line| line.contains(fix)).count(),
            1,
            "{fix}: {stderr}"
        );
    }
}
