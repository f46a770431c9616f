//! Wire compatibility against the real peer: Python Microdot 2.7.0 with PyJWT 2.15.1, both
//! servers over real HTTP on loopback, one cookie jar standing in for the user's browser.
//! Encrypted sessions are checked the same way against jwcrypto 1.6.1 (tests/jwe_app.py,
//! which runs the README's Python snippet).
//!
//! Needs Python 3 with venv and pip. Locally, a missing Python skips these tests with a loud
//! message; under `CI=true` it fails them. The venv is made once, under Cargo's target
//! directory, and reused while its marker file says it holds the pinned versions.

// The two login examples each include the examples' shared module.
#![allow(clippy::duplicate_mod)]

#[path = "../../tests/common/mod.rs"]
mod common;

#[allow(dead_code)]
#[path = "../../examples/axum_login.rs"]
mod axum_login;
#[allow(dead_code)]
#[path = "../../examples/user_login.rs"]
mod user_login;

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, UNIX_EPOCH};

use actix_web::{HttpResponse, post, web};
use jwt_session::test::TestClock;
use jwt_session::{Session, SessionDict, SessionError, with_session};
use serde_json::{Map, Value, json};

use common::jar::Jar;
use common::net::{free_port, serve_in_background, wait_for_port};

/// The repository: the Python apps are in its tests/, next to the suites that stay there.
const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
const SECRET: &str = "interop secret shared by both apps, 32+ bytes";
const OLD_SECRET: &str = "the secret before rotation, also 32+ bytes";
const PINNED: &str = "microdot==2.7.0 PyJWT==2.15.1 jwcrypto==1.6.1 cryptography==50.0.2";

// ---------------------------------------------------------------- the Python peer

/// The venv's python, made once per test run; `None` (after a loud message) when Python is
/// missing outside CI.
fn venv_python() -> Option<&'static Path> {
    static VENV: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match VENV.get_or_init(make_venv) {
        Ok(python) => Some(python),
        Err(why) if std::env::var("CI").is_ok_and(|ci| ci == "true") => {
            panic!("CI=true but the Microdot interop suite cannot run: {why}")
        }
        Err(why) => {
            static WARN_ONCE: std::sync::Once = std::sync::Once::new();
            WARN_ONCE.call_once(|| {
                // Straight to stderr: the test harness captures `eprintln!`, which would hide it.
            let _ = writeln!(
                std::io::stderr(),
                "\n!!!! SKIPPING Microdot interop tests: {why}\n!!!! Install Python 3 with venv and pip to run them.\n"
            );
            });
            None
        }
    }
}

fn make_venv() -> Result<PathBuf, String> {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("microdot-venv");
    let python = dir.join("bin/python");
    let marker = dir.join("installed.txt");
    if std::fs::read_to_string(&marker).is_ok_and(|installed| installed == PINNED)
        && python.exists()
    {
        return Ok(python);
    }
    let status = Command::new("python3")
        .args(["-m", "venv", "--clear"])
        .arg(&dir)
        .status();
    match status {
        Ok(status) if status.success() => {}
        Ok(status) => return Err(format!("`python3 -m venv` failed ({status})")),
        Err(err) => return Err(format!("python3 not found: {err}")),
    }
    let install = Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .args(PINNED.split(' '))
        .status();
    match install {
        Ok(status) if status.success() => {}
        other => return Err(format!("pip install {PINNED} failed: {other:?}")),
    }
    std::fs::write(&marker, PINNED).map_err(|err| err.to_string())?;
    Ok(python)
}

/// A running Microdot app, killed on drop. Its stderr is kept: a test takes the errors it
/// provokes with [`expect_stderr`](Self::expect_stderr), and whatever else it wrote goes to
/// the test's stderr on drop, so a passing run is quiet but an unexpected error is not.
struct Microdot {
    child: Child,
    base: String,
    stderr: Arc<Mutex<String>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

/// The `user_login` example's timeouts (idle, absolute) in seconds, for the recipe.
const USER_LOGIN_TIMEOUTS: &str = "1800,43200";

impl Microdot {
    fn start(python: &Path, secret: &str) -> Self {
        Self::start_script(python, "microdot_app.py", secret)
    }

    /// The peer with docs/microdot.md's `TimedSession` recipe, set to the `user_login`
    /// example's timeouts.
    fn start_timed(python: &Path, secret: &str) -> Self {
        Self::spawn(
            python,
            "microdot_app.py",
            secret,
            &[],
            Some(USER_LOGIN_TIMEOUTS),
        )
    }

    /// Runs `tests/<script>`, which takes the port and the secret as arguments.
    fn start_script(python: &Path, script: &str, secret: &str) -> Self {
        Self::start_with_args(python, script, secret, &[])
    }

    /// [`start_script`](Self::start_script) with more arguments after the secret.
    fn start_with_args(python: &Path, script: &str, secret: &str, more: &[&str]) -> Self {
        Self::spawn(python, script, secret, more, None)
    }

    fn spawn(
        python: &Path,
        script: &str,
        secret: &str,
        more: &[&str],
        timeouts: Option<&str>,
    ) -> Self {
        let port = free_port();
        let app = Path::new(ROOT).join("tests").join(script);
        let mut command = Command::new(python);
        command
            .arg(app)
            .arg(port.to_string())
            .arg(secret)
            .args(more)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(timeouts) = timeouts {
            command.env("MICRODOT_TIMEOUTS", timeouts);
        }
        let mut child = command.spawn().expect("start the Microdot app");
        let stderr = Arc::new(Mutex::new(String::new()));
        let (mut pipe, sink) = (child.stderr.take().unwrap(), Arc::clone(&stderr));
        let reader = std::thread::spawn(move || {
            let mut chunk = [0u8; 4096];
            while let Ok(read @ 1..) = pipe.read(&mut chunk) {
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&chunk[..read]));
            }
        });
        wait_for_port(port);
        Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            stderr,
            reader: Some(reader),
        }
    }

    /// Waits (up to 5 s) for the app's stderr to show `expected`, and takes what it wrote
    /// so far: errors a test provokes on purpose.
    fn expect_stderr(&self, expected: &str) -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            let mut written = self.stderr.lock().unwrap();
            if written.contains(expected) {
                return std::mem::take(&mut *written);
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the Microdot app never wrote {expected:?} to stderr; it wrote:\n{written}"
            );
            drop(written);
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Microdot {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        let unexpected = std::mem::take(&mut *self.stderr.lock().unwrap());
        if !unexpected.is_empty() {
            // Straight to stderr: the test harness captures `eprintln!`.
            let _ = writeln!(
                std::io::stderr(),
                "{} wrote to stderr:\n{unexpected}",
                self.base
            );
        }
    }
}

// ---------------------------------------------------------------- the Rust app

#[with_session]
async fn read(session: SessionDict) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "session": session }))
}

#[post("/session")]
#[with_session]
async fn replace(
    body: web::Json<Map<String, Value>>,
    mut session: SessionDict,
) -> Result<HttpResponse, SessionError> {
    session.clear();
    for (key, value) in body.into_inner() {
        session.insert(key, value)?;
    }
    session.save()?;
    Ok(HttpResponse::Ok().json(json!({"saved": true})))
}

#[post("/delete")]
#[with_session]
async fn delete(session: SessionDict) -> HttpResponse {
    session.delete();
    HttpResponse::Ok().json(json!({"deleted": true}))
}

/// The session routes the Microdot peer also has.
fn session_routes(config: &mut web::ServiceConfig) {
    config
        .route("/session", web::get().to(read))
        .service(replace)
        .service(delete);
}

/// Starts the Rust app on a free loopback port, on its own thread, for the rest of the run.
fn start_rust(session: Session) -> String {
    start_rust_with(session, session_routes)
}

/// Starts an app made of `routes` (the session routes, or the `user_login` example).
fn start_rust_with(session: Session, routes: fn(&mut web::ServiceConfig)) -> String {
    let port = serve_in_background(move |config| {
        config.app_data(session.clone());
        routes(config);
    });
    format!("http://127.0.0.1:{port}")
}

// ---------------------------------------------------------------- the browser

/// One user's browser: a cookie jar shared by both apps (cookies ignore ports).
struct Browser {
    jar: Jar,
    agent: ureq::Agent,
}

impl Browser {
    fn new() -> Self {
        // Redirects are not followed, so the cookies of a 303 reach the jar.
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .build();
        Self {
            jar: Jar::default(),
            agent: config.into(),
        }
    }

    fn request(&mut self, method: &str, url: &str, body: Option<&Value>) -> (u16, Value) {
        let body = body.map_or(Body::Empty, Body::Json);
        let (status, _, text) = self.send(method, url, body);
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Sends a request with the jar's cookies, stores the cookies that come back, and
    /// returns the status, `Location` and body.
    fn send(&mut self, method: &str, url: &str, body: Body<'_>) -> (u16, String, String) {
        let cookies = self.jar.header_for(path_of(url));
        let result = match (method, body) {
            ("GET", _) => with_cookies(self.agent.get(url), cookies).call(),
            (_, Body::Json(body)) => with_cookies(self.agent.post(url), cookies).send_json(body),
            (_, Body::Form(form)) => {
                with_cookies(self.agent.post(url), cookies).send_form(form.iter().copied())
            }
            (_, Body::Empty) => with_cookies(self.agent.post(url), cookies).send_empty(),
        };
        let mut res = result.unwrap_or_else(|err| panic!("{method} {url}: {err}"));
        for set_cookie in res.headers().get_all("set-cookie") {
            self.jar.store(set_cookie.to_str().unwrap());
        }
        let status = res.status().as_u16();
        let location = res
            .headers()
            .get("location")
            .map_or_else(String::new, |value| value.to_str().unwrap().to_owned());
        let text = res.body_mut().read_to_string().unwrap_or_default();
        (status, location, text)
    }

    /// Logs in on `base` with its login form and returns where it redirects.
    fn log_in(&mut self, base: &str, username: &str, password: &str, remember: bool) -> String {
        let mut form = vec![("username", username), ("password", password)];
        if remember {
            form.push(("remember_me", "on"));
        }
        let (status, location, _) = self.send("POST", &format!("{base}/login"), Body::Form(&form));
        assert!(matches!(status, 302 | 303), "POST {base}/login: {status}");
        location
    }

    /// The user `base` greets on `path`, or `None` when it sends the browser to log in.
    /// The Rust example answers with its HTML page, the Microdot peer with JSON.
    fn user_at(&mut self, base: &str, path: &str) -> Option<String> {
        let (status, location, text) = self.send("GET", &format!("{base}{path}"), Body::Empty);
        match status {
            302 => {
                assert_eq!(location, format!("/login?next={path}"), "{base}{path}");
                None
            }
            200 => Some(match serde_json::from_str::<Value>(&text) {
                Ok(json) => json["user"].as_str().unwrap().to_owned(),
                Err(_) => text
                    .split_once("<h1>Hello, ")
                    .and_then(|(_, rest)| rest.split_once("!</h1>"))
                    .unwrap_or_else(|| panic!("no greeting from {base}{path}: {text}"))
                    .0
                    .to_owned(),
            }),
            other => panic!("GET {base}{path}: {other}"),
        }
    }

    fn session_at(&mut self, base: &str) -> Value {
        let (status, body) = self.request("GET", &format!("{base}/session"), None);
        assert_eq!(status, 200, "GET {base}/session");
        body["session"].clone()
    }

    fn save_at(&mut self, base: &str, data: &Value) -> u16 {
        self.request("POST", &format!("{base}/session"), Some(data))
            .0
    }

    fn token(&self) -> String {
        let header = self.jar.header_for("/").expect("a session cookie");
        header
            .split("session=")
            .nth(1)
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned()
    }

    fn set_token(&mut self, token: &str) {
        self.jar = Jar::default();
        self.jar.set("session", token);
    }
}

enum Body<'a> {
    Empty,
    Json(&'a Value),
    Form(&'a [(&'a str, &'a str)]),
}

fn with_cookies<B>(
    req: ureq::RequestBuilder<B>,
    cookies: Option<String>,
) -> ureq::RequestBuilder<B> {
    match cookies {
        Some(cookies) => req.header("cookie", cookies),
        None => req,
    }
}

fn path_of(url: &str) -> &str {
    url.splitn(4, '/')
        .nth(3)
        .map_or("/", |rest| &url[url.len() - rest.len() - 1..])
}

fn tamper(token: &str) -> String {
    let (head, rest) = token.split_once('.').unwrap();
    let (_, signature) = rest.split_once('.').unwrap();
    format!(
        "{head}.{}.{signature}",
        common::b64_json(&json!({"user": "mallory", "admin": true}))
    )
}

/// Every JSON type, with the characters most likely to be encoded differently.
fn all_types() -> Value {
    json!({
        "ascii": "joe",
        "unicode": "José 😀 ünïcödé ☃",
        "quotes": "she said \"hi\" and 'bye' \\ / \n\t",
        "int": 42,
        "negative": -7,
        "big": 9_007_199_254_740_993_u64,
        "float": 1.5,
        "tiny": 1e-300,
        "true": true,
        "false": false,
        "null": null,
        "nested": {"a": {"b": [1, {"c": null}]}},
        "list": [1, "two", 3.0, false, [], {}],
        "empty_string": "",
    })
}

// ---------------------------------------------------------------- the tests

#[test]
fn microdot_saves_rust_reads() {
    let Some(python) = venv_python() else { return };
    let microdot = Microdot::start(python, SECRET);
    let rust = start_rust(Session::new(SECRET));
    for data in [all_types(), json!({})] {
        let mut browser = Browser::new();
        assert_eq!(browser.save_at(&microdot.base, &data), 200);
        assert_eq!(
            browser.session_at(&rust),
            data,
            "Rust reads what Microdot saved"
        );
        assert_eq!(
            browser.session_at(&microdot.base),
            data,
            "control: Microdot reads it too"
        );
    }
}

#[test]
fn rust_saves_microdot_reads() {
    let Some(python) = venv_python() else { return };
    let microdot = Microdot::start(python, SECRET);
    let rust = start_rust(Session::new(SECRET));
    for data in [all_types(), json!({})] {
        let mut browser = Browser::new();
        assert_eq!(browser.save_at(&rust, &data), 200);
        assert_eq!(
            browser.session_at(&microdot.base),
            data,
            "Microdot reads what Rust saved"
        );
    }
}

#[test]
fn delete_on_either_side_logs_out_of_both() {
    let Some(python) = venv_python() else { return };
    let microdot = Microdot::start(python, SECRET);
    let rust = start_rust(Session::new(SECRET));
    let user = json!({"user": "joe"});
    for (saver, deleter) in [(&rust, &microdot.base), (&microdot.base, &rust)] {
        let mut browser = Browser::new();
        browser.save_at(saver, &user);
        assert_eq!(browser.session_at(deleter), user);
        let (status, _) = browser.request("POST", &format!("{deleter}/delete"), None);
        assert_eq!(status, 200);
        assert_eq!(
            browser.jar.header_for("/"),
            None,
            "the removal cookie from {deleter} clears the browser"
        );
        assert_eq!(browser.session_at(&rust), json!({}));
        assert_eq!(browser.session_at(&microdot.base), json!({}));
    }
}

#[test]
fn tampered_tokens_are_rejected_by_the_other_side() {
    let Some(python) = venv_python() else { return };
    let microdot = Microdot::start(python, SECRET);
    let rust = start_rust(Session::new(SECRET));
    for (saver, reader) in [(&rust, &microdot.base), (&microdot.base, &rust)] {
        let mut browser = Browser::new();
        browser.save_at(saver, &json!({"user": "joe", "admin": false}));
        let tampered = tamper(&browser.token());
        browser.set_token(&tampered);
        assert_eq!(
            browser.session_at(reader),
            json!({}),
            "{reader} rejects a token tampered after {saver} saved it"
        );
    }
}

#[test]
fn pyjwt_honours_the_exp_rust_writes() {
    let Some(python) = venv_python() else { return };
    let microdot = Microdot::start(python, SECRET);
    let rust = start_rust(Session::new(SECRET).max_age(Duration::from_secs(600)));
    let mut browser = Browser::new();
    browser.save_at(&rust, &json!({"user": "joe"}));
    let seen = browser.session_at(&microdot.base);
    assert_eq!(seen["user"], "joe");
    let exp = seen["exp"]
        .as_u64()
        .expect("Microdot sees Rust's exp claim");
    assert!(exp > common::unix_now() + 590, "{seen}");

    // max_age zero: exp = now, which PyJWT (leeway 0) already refuses.
    let expired = start_rust(Session::new(SECRET).max_age(Duration::ZERO));
    let mut browser = Browser::new();
    browser.save_at(&expired, &json!({"user": "joe"}));
    std::thread::sleep(Duration::from_millis(1100)); // cross a second boundary: exp < now
    assert_eq!(
        browser.session_at(&microdot.base),
        json!({}),
        "Microdot rejects an expired Rust token"
    );
}

#[test]
fn rotation_accepts_and_re_signs_a_microdot_token() {
    let Some(python) = venv_python() else { return };
    let old_microdot = Microdot::start(python, OLD_SECRET);
    let new_microdot = Microdot::start(python, SECRET);
    let rust = start_rust(Session::new(SECRET).previous_secrets([OLD_SECRET]));
    let mut browser = Browser::new();
    browser.save_at(&old_microdot.base, &json!({"user": "joe"}));
    assert_eq!(
        browser.session_at(&new_microdot.base),
        json!({}),
        "control: the new secret alone rejects it"
    );
    let before = browser.token();
    assert_eq!(
        browser.session_at(&rust),
        json!({"user": "joe"}),
        "accepted under the previous secret"
    );
    let after = browser.token();
    assert_ne!(before, after, "the response re-signed it");
    assert_eq!(
        browser.session_at(&new_microdot.base),
        json!({"user": "joe"}),
        "Microdot with the new secret reads the re-signed token"
    );
}

#[test]
fn registered_claims_follow_one_rule_on_both_sides() {
    let Some(python) = venv_python() else { return };
    let microdot = Microdot::start(python, SECRET);
    let rust = start_rust(Session::new(SECRET));

    // Values PyJWT would make unreadable: Rust refuses to store them (500 from `?`), and when
    // Microdot stores them, neither side can read the session back.
    for (key, value) in [
        ("sub", json!(1)),
        ("jti", json!(2)),
        ("aud", json!("other")),
    ] {
        let data = json!({ key: value, "user": "joe" });
        let mut browser = Browser::new();
        assert_eq!(
            browser.save_at(&rust, &data),
            500,
            "Rust refuses {key}={value}"
        );
        assert_eq!(browser.jar.header_for("/"), None);
        assert_eq!(
            browser.save_at(&microdot.base, &data),
            200,
            "Microdot stores {key}={value}"
        );
        assert_eq!(
            browser.session_at(&microdot.base),
            json!({}),
            "Microdot itself loses it"
        );
        assert_eq!(
            browser.session_at(&rust),
            json!({}),
            "Rust rejects it the same way"
        );
    }
    // A non-string iss fails at save time in Microdot (PyJWT refuses to encode it); Rust refuses too.
    let data = json!({"iss": 5});
    assert_eq!(Browser::new().save_at(&microdot.base, &data), 500);
    let traceback = microdot.expect_stderr("Issuer (iss) must be a string");
    assert!(traceback.contains("Traceback"), "{traceback}");
    assert_eq!(Browser::new().save_at(&rust, &data), 500);

    // String sub/jti/iss are fine everywhere.
    let data = json!({"sub": "user-1", "jti": "abc", "iss": "me", "user": "joe"});
    let mut browser = Browser::new();
    assert_eq!(browser.save_at(&rust, &data), 200);
    assert_eq!(browser.session_at(&microdot.base), data);
    let mut browser = Browser::new();
    assert_eq!(browser.save_at(&microdot.base, &data), 200);
    assert_eq!(browser.session_at(&rust), data);

    // A Microdot session with its own exp: Rust keeps it out of the dict but carries it on save.
    let exp = common::unix_now() + 3600;
    let mut browser = Browser::new();
    assert_eq!(
        browser.save_at(&microdot.base, &json!({"user": "joe", "exp": exp})),
        200
    );
    assert_eq!(browser.session_at(&rust), json!({"user": "joe"}));
    assert_eq!(browser.save_at(&rust, &json!({"user": "ann"})), 200);
    assert_eq!(
        browser.session_at(&microdot.base),
        json!({"user": "ann", "exp": exp}),
        "with no lifetime of its own, Rust keeps the peer's exp on save"
    );
}

// ---------------------------------------------------------------- logins

/// The Rust login examples with their own config (idle and absolute timeouts on), on
/// actix (`user_login`) and on axum (`axum_login`), and the Microdot peer with
/// docs/microdot.md's `TimedSession` recipe, all sharing `SECRET`.
fn login_apps(python: &Path) -> (Microdot, [String; 2]) {
    let microdot = Microdot::start_timed(python, SECRET);
    let actix = start_rust_with(
        user_login::session(Session::new(SECRET)),
        user_login::routes,
    );
    (microdot, [actix, start_axum_login()])
}

/// The `axum_login` example on a free loopback port, on its own thread and runtime.
fn start_axum_login() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let app = axum_login::app(Session::new(SECRET));
            if let Err(err) = axum::serve(listener, app).await {
                eprintln!("the axum_login test server stopped: {err}");
            }
        });
    });
    common::net::wait_for_port(port);
    format!("http://127.0.0.1:{port}")
}

/// Without the recipe, a Microdot login carries no lifetimes, so the Rust example's
/// timeouts refuse it: what docs/microdot.md warns about.
#[test]
fn a_plain_microdot_login_is_refused_under_rusts_timeouts() {
    let Some(python) = venv_python() else { return };
    let plain = Microdot::start(python, SECRET);
    let rust = start_rust_with(
        user_login::session(Session::new(SECRET)),
        user_login::routes,
    );
    let mut browser = Browser::new();
    browser.log_in(&plain.base, "susan", "hello", false);
    assert_eq!(
        browser.user_at(&plain.base, "/").as_deref(),
        Some("susan"),
        "control"
    );
    assert_eq!(browser.user_at(&rust, "/"), None);
}

/// The recipe's lifetimes are the ones the Rust example enforces: its idle timeout ends a
/// Microdot session left alone, and its absolute timeout caps the `exp` of one that began
/// long ago.
#[test]
fn the_recipes_lifetimes_are_enforced_by_rusts_timeouts() {
    let Some(python) = venv_python() else { return };
    let microdot = Microdot::start_timed(python, SECRET);
    let clock = TestClock::new();
    let rust = start_rust_with(
        user_login::session(Session::new(SECRET).clock(clock.clone())),
        user_login::routes,
    );
    let greeting = |token: &str| {
        let mut browser = Browser::new();
        browser.set_token(token);
        browser.user_at(&rust, "/")
    };
    let claim = |token: &str, key: &str| common::parts_of(token).1[key].as_u64().unwrap();

    let mut browser = Browser::new();
    browser.log_in(&microdot.base, "susan", "hello", false);
    let token = browser.token();
    let iat = claim(&token, "iat");
    assert_eq!(claim(&token, "session_start"), iat);
    assert_eq!(claim(&token, "exp"), iat + 30 * 60);
    clock.set(UNIX_EPOCH + Duration::from_secs(iat));
    assert_eq!(greeting(&token).as_deref(), Some("susan"));
    // Past the idle timeout and the config's 30 s leeway.
    clock.advance(Duration::from_secs(30 * 60 + 31));
    assert_eq!(greeting(&token), None, "idle timeout");

    let start = common::unix_now() - 12 * 3600 + 100;
    let mut browser = Browser::new();
    let login = json!({"_user_id": "user001", "_fresh": true, "session_start": start});
    assert_eq!(browser.save_at(&microdot.base, &login), 200);
    let token = browser.token();
    assert_eq!(claim(&token, "exp"), start + 12 * 3600, "capped");
    clock.set(UNIX_EPOCH + Duration::from_secs(claim(&token, "iat")));
    assert_eq!(greeting(&token).as_deref(), Some("susan"));
    clock.advance(Duration::from_secs(100 + 31));
    assert_eq!(greeting(&token), None, "absolute timeout");
}

#[test]
fn docs_microdot_md_shows_the_tested_recipe() {
    let root = Path::new(ROOT);
    let recipe = std::fs::read_to_string(root.join("tests/microdot_timed_session.py")).unwrap();
    let start = recipe.find("# --- recipe start\n").unwrap() + "# --- recipe start\n".len();
    let snippet = &recipe[start..recipe.find("# --- recipe end").unwrap()];
    let docs = std::fs::read_to_string(root.join("docs/microdot.md")).unwrap();
    assert!(
        docs.contains(&format!("```python\n{snippet}```")),
        "docs/microdot.md must show tests/microdot_timed_session.py's recipe verbatim:\n{snippet}"
    );
}

#[test]
fn a_microdot_login_is_honoured_by_rust() {
    let Some(python) = venv_python() else { return };
    let (microdot, rusts) = login_apps(python);
    for rust in rusts {
        let mut browser = Browser::new();
        assert_eq!(browser.user_at(&rust, "/"), None, "control: logged out");
        assert_eq!(browser.log_in(&microdot.base, "susan", "hello", false), "/");
        assert_eq!(
            browser.user_at(&microdot.base, "/").as_deref(),
            Some("susan")
        );
        assert_eq!(browser.user_at(&rust, "/").as_deref(), Some("susan"));
        assert_eq!(
            browser.user_at(&rust, "/fresh").as_deref(),
            Some("susan"),
            "Microdot's _fresh is honoured"
        );
    }
}

#[test]
fn a_rust_login_and_remember_cookie_are_honoured_by_microdot() {
    let Some(python) = venv_python() else { return };
    let (microdot, rusts) = login_apps(python);
    for rust in rusts {
        let mut browser = Browser::new();
        assert_eq!(browser.log_in(&rust, "david", "bye", true), "/");
        assert_eq!(
            browser.user_at(&microdot.base, "/fresh").as_deref(),
            Some("david")
        );

        browser.jar.remove("session");
        assert_eq!(browser.user_at(&microdot.base, "/fresh"), None, "not fresh");
        assert_eq!(
            browser.user_at(&microdot.base, "/").as_deref(),
            Some("david"),
            "Microdot restores the login from Rust's remember cookie"
        );
        assert_eq!(browser.user_at(&microdot.base, "/fresh"), None);
        assert_eq!(browser.user_at(&rust, "/").as_deref(), Some("david"));
    }
}

#[test]
fn a_microdot_remember_cookie_is_honoured_by_rust() {
    let Some(python) = venv_python() else { return };
    let (microdot, rusts) = login_apps(python);
    for rust in rusts {
        let mut browser = Browser::new();
        browser.log_in(&microdot.base, "susan", "hello", true);
        browser.jar.remove("session");
        assert_eq!(browser.user_at(&rust, "/fresh"), None, "not fresh");
        assert_eq!(
            browser.user_at(&rust, "/").as_deref(),
            Some("susan"),
            "Rust restores the login from Microdot's remember cookie"
        );
        assert_eq!(browser.user_at(&rust, "/fresh"), None);

        // A Microdot remember cookie signed with another secret is refused.
        let other = Microdot::start(python, OLD_SECRET);
        let mut browser = Browser::new();
        browser.log_in(&other.base, "susan", "hello", true);
        browser.jar.remove("session");
        assert_eq!(
            browser.user_at(&other.base, "/").as_deref(),
            Some("susan"),
            "control"
        );
        browser.jar.remove("session");
        assert_eq!(browser.user_at(&rust, "/"), None);
    }
}

#[test]
fn a_logout_on_either_side_logs_out_of_both() {
    let Some(python) = venv_python() else { return };
    let (microdot, rusts) = login_apps(python);
    for rust in rusts {
        for (login_at, logout_at) in [(&rust, &microdot.base), (&microdot.base, &rust)] {
            let mut browser = Browser::new();
            browser.log_in(login_at, "susan", "hello", true);
            assert_eq!(browser.user_at(&rust, "/").as_deref(), Some("susan"));
            assert_eq!(
                browser.user_at(&microdot.base, "/").as_deref(),
                Some("susan")
            );
            let (status, location, _) =
                browser.send("POST", &format!("{logout_at}/logout"), Body::Empty);
            assert!(
                matches!(status, 302 | 303),
                "logout at {logout_at}: {status}"
            );
            assert_eq!(location, "/");
            let cookies = browser.jar.header_for("/").unwrap_or_default();
            assert!(
                !cookies.contains("_remember="),
                "{logout_at} cleared it: {cookies}"
            );
            assert_eq!(
                browser.user_at(&rust, "/"),
                None,
                "after logout at {logout_at}"
            );
            assert_eq!(
                browser.user_at(&microdot.base, "/"),
                None,
                "after logout at {logout_at}"
            );
        }
    }
}

/// Under a revocation store: Microdot (PyJWT) reads Rust's tokens with their string `jti`,
/// and a Microdot token that adds `jti`, `jti_ms` and `exp` as the README says is a session
/// on the Rust side, which a Rust logout then revokes.
#[test]
fn revocation_token_ids_cross_both_ways() {
    let Some(python) = venv_python() else { return };
    let microdot = Microdot::start(python, SECRET);
    let rust = start_rust(
        Session::new(SECRET)
            .max_age(Duration::from_secs(600))
            .revocation(jwt_session::revocation::MemoryStore::new())
            .user_claim("user"),
    );
    let mut browser = Browser::new();
    browser.save_at(&rust, &json!({"user": "joe"}));
    let seen = browser.session_at(&microdot.base);
    assert_eq!(seen["user"], "joe", "{seen}");
    assert_eq!(seen["jti"].as_str().map(str::len), Some(22), "{seen}");
    assert!(seen["jti_ms"].is_u64(), "{seen}");

    // What a Python app adds at login: secrets.token_urlsafe(16), time.time_ns() // 10**6, exp.
    let now = common::unix_now();
    let python_login = json!({"user": "ann", "jti": "q8Zf0VbV3xk2N1r7Yp4mBw", "jti_ms": now * 1000, "exp": now + 600});
    let mut browser = Browser::new();
    browser.save_at(&microdot.base, &python_login);
    assert_eq!(browser.session_at(&rust), json!({"user": "ann"}));
    let token = browser.token();
    let (status, _) = browser.request("POST", &format!("{rust}/delete"), None);
    assert_eq!(status, 200);
    browser.set_token(&token);
    assert_eq!(
        browser.session_at(&rust),
        json!({}),
        "the Microdot-issued token is revoked by the Rust logout"
    );
}

/// Under `RedisStore`, a Python app that logs users in as the README's recipe does (it
/// reads the user's number from Redis into `jti_gen`) keeps up with `revoke_user` whatever
/// its clock says: 10 s ahead, a login made before the call is denied; 10 s behind, a login
/// made right after it works.
#[test]
fn python_logins_follow_revoke_user_under_redis_with_a_skewed_clock() {
    let Some(python) = venv_python() else { return };
    let Some(redis) = common::redis_server::RedisServer::start() else {
        return;
    };
    let url = redis.url();
    let redis_port = url.trim_end_matches('/').rsplit(':').next().unwrap();
    let microdot = Microdot::start_with_args(python, "microdot_app.py", SECRET, &[redis_port]);
    let config = || {
        Session::new(SECRET)
            .max_age(Duration::from_secs(600))
            .leeway(Duration::from_secs(30))
            .revocation(jwt_session::revocation::RedisStore::open(&url).unwrap())
            .user_claim("user")
    };
    let rust = start_rust(config());
    let admin = config();
    let python_login = |offset_ms: i64| {
        let mut browser = Browser::new();
        let body = json!({"user": "ann", "clock_offset_ms": offset_ms});
        let url = format!("{}/store-login", microdot.base);
        assert_eq!(browser.request("POST", &url, Some(&body)).0, 200);
        browser
    };
    // Propagation to the Rust instance's replica takes up to 100 ms.
    let soon = |browser: &mut Browser, expected: Value| {
        for _ in 0..50 {
            if browser.session_at(&rust) == expected {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(browser.session_at(&rust), expected);
    };
    for offset_ms in [10_000, -10_000] {
        let mut before = python_login(offset_ms);
        soon(&mut before, json!({"user": "ann"}));
        actix_web::rt::System::new()
            .block_on(admin.revoke_user("ann"))
            .unwrap();
        soon(&mut before, json!({}));
        let mut after = python_login(offset_ms);
        soon(&mut after, json!({"user": "ann"}));
    }
}

// ---------------------------------------------------------------- encrypted sessions (jwcrypto)

/// `base64url({"alg":"dir","enc":"A256GCM"})`, then the empty encrypted key.
const JWE_HEADER: &str = "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..";

/// A Microdot app reading and writing encrypted sessions with jwcrypto and the README snippet.
fn start_jwcrypto(python: &Path, secret: &str) -> Microdot {
    Microdot::start_script(python, "jwe_app.py", secret)
}

#[test]
fn jwcrypto_decrypts_what_rust_saved() {
    let Some(python) = venv_python() else { return };
    let peer = start_jwcrypto(python, SECRET);
    let rust = start_rust(Session::new(SECRET).encrypted());
    for data in [all_types(), json!({})] {
        let mut browser = Browser::new();
        assert_eq!(browser.save_at(&rust, &data), 200);
        assert!(
            browser.token().starts_with(JWE_HEADER),
            "{}",
            browser.token()
        );
        assert_eq!(
            browser.session_at(&peer.base),
            data,
            "Python derives the key with HKDF and decrypts"
        );
    }
}

#[test]
fn rust_reads_what_jwcrypto_encrypted() {
    let Some(python) = venv_python() else { return };
    let peer = start_jwcrypto(python, SECRET);
    let rust = start_rust(Session::new(SECRET).encrypted());
    for data in [all_types(), json!({})] {
        let mut browser = Browser::new();
        assert_eq!(browser.save_at(&peer.base, &data), 200);
        assert!(
            browser.token().starts_with(JWE_HEADER),
            "{}",
            browser.token()
        );
        assert_eq!(
            browser.session_at(&rust),
            data,
            "Rust reads what Python saved"
        );
        assert_eq!(
            browser.session_at(&peer.base),
            data,
            "control: Python reads it too"
        );
    }
    let signed_rust = start_rust(Session::new(SECRET));
    let mut browser = Browser::new();
    browser.save_at(&peer.base, &json!({"user": "joe"}));
    assert_eq!(
        browser.session_at(&signed_rust),
        json!({}),
        "a signed config refuses encrypted tokens"
    );
}

#[test]
fn tampered_encrypted_tokens_are_refused_both_ways() {
    let Some(python) = venv_python() else { return };
    let peer = start_jwcrypto(python, SECRET);
    let rust = start_rust(Session::new(SECRET).encrypted());
    for (saver, reader) in [(&rust, &peer.base), (&peer.base, &rust)] {
        for (segment, part) in [(0, "header"), (2, "IV"), (3, "ciphertext"), (4, "tag")] {
            let mut browser = Browser::new();
            browser.save_at(saver, &json!({"user": "joe", "admin": false}));
            assert_eq!(browser.session_at(reader)["user"], "joe", "control");
            let tampered = common::jwe::flip_byte(&browser.token(), segment);
            browser.set_token(&tampered);
            assert_eq!(
                browser.session_at(reader),
                json!({}),
                "{reader} refuses a flipped {part} byte in a token {saver} saved"
            );
            assert_eq!(browser.session_at(saver), json!({}), "and so does {saver}");
        }
    }
}

#[test]
fn python_honours_the_exp_and_rotation_reaches_python() {
    let Some(python) = venv_python() else { return };
    let peer = start_jwcrypto(python, SECRET);
    // Two seconds of lifetime, then past it: the snippet refuses it; Rust allows 30 s leeway.
    let expiring = start_rust(
        Session::new(SECRET)
            .encrypted()
            .max_age(Duration::from_secs(2)),
    );
    let mut browser = Browser::new();
    browser.save_at(&expiring, &json!({"user": "joe"}));
    assert_eq!(
        browser.session_at(&peer.base)["user"],
        "joe",
        "not expired yet"
    );
    std::thread::sleep(Duration::from_millis(3100)); // exp ≤ save time + 2 s < now
    assert_eq!(
        browser.session_at(&peer.base),
        json!({}),
        "Python refuses it"
    );
    assert_eq!(browser.session_at(&expiring), json!({"user": "joe"}));

    let old_peer = start_jwcrypto(python, OLD_SECRET);
    let rotating = start_rust(
        Session::new(SECRET)
            .encrypted()
            .previous_secrets([OLD_SECRET]),
    );
    let mut browser = Browser::new();
    browser.save_at(&old_peer.base, &json!({"user": "joe"}));
    assert_eq!(
        browser.session_at(&peer.base),
        json!({}),
        "control: new key"
    );
    assert_eq!(browser.session_at(&rotating), json!({"user": "joe"}));
    assert_eq!(
        browser.session_at(&peer.base),
        json!({"user": "joe"}),
        "re-encrypted under the new secret, with a kid Python ignores"
    );
}

#[test]
fn the_readme_shows_the_tested_python_snippet() {
    let root = Path::new(ROOT);
    let app = std::fs::read_to_string(root.join("tests/jwe_app.py")).unwrap();
    let start = app.find("# --- README snippet start\n").unwrap();
    let end = app.find("# --- README snippet end").unwrap();
    let snippet = &app[start + "# --- README snippet start\n".len()..end];
    let readme = std::fs::read_to_string(root.join("docs/guide.md")).unwrap();
    assert!(
        readme.contains(&format!("```python\n{snippet}```")),
        "docs/guide.md must show tests/jwe_app.py's snippet verbatim:\n{snippet}"
    );
}
