//! The login examples in a real browser: Debian's Chromium, driven through chromedriver with
//! fantoccini, against the real `login` and `user_login` example binaries on free loopback ports.
//!
//! Needs `chromium` and `chromedriver` (Debian: `apt-get install chromium chromium-driver`;
//! or set `CHROMIUM` and `CHROMEDRIVER`). Locally, without them the test skips with a loud
//! message; under `CI=true` it fails. Screenshots go to `target/tmp/screenshots/`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};

#[path = "../../tests/common/mod.rs"]
mod common;
use actix_web::{HttpResponse, web};
use common::net::{
    Process, example_binary, free_port, serve_in_background, skip_or_fail, wait_for_port,
};
use serde_json::json;

fn find_tool(env: &str, candidates: &[&str]) -> Option<PathBuf> {
    if let Ok(path) = std::env::var(env) {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    candidates
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
        .find(|path| path.is_file())
}

/// Chromium and chromedriver, or `None` after a loud message (a failure under `CI=true`).
fn browser_tools() -> Option<(PathBuf, PathBuf)> {
    let chromium = find_tool(
        "CHROMIUM",
        &["chromium", "chromium-browser", "google-chrome"],
    );
    let driver = find_tool("CHROMEDRIVER", &["chromedriver"]);
    match (chromium, driver) {
        (Some(chromium), Some(driver)) => Some((chromium, driver)),
        (chromium, driver) => {
            let why = format!("chromium: {chromium:?}, chromedriver: {driver:?}");
            skip_or_fail(
                "the browser test",
                &why,
                "apt-get install chromium chromium-driver",
            );
            None
        }
    }
}

fn start_example(name: &str, port: u16) -> Process {
    let child = Command::new(example_binary(name))
        .env("PORT", port.to_string())
        .env_remove("SESSION_SECRET")
        .env_remove("INSECURE_COOKIE")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|err| panic!("start the {name} example: {err}"));
    wait_for_port(port);
    Process(child)
}

async fn open_browser(chromium: &Path, driver: &Path) -> (Process, Client) {
    let port = free_port();
    let child = Command::new(driver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let driver = Process(child);
    wait_for_port(port);
    let profile = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("chromium-profile-{port}"));
    let capabilities = json!({
        "goog:chromeOptions": {
            "binary": chromium,
            // The flags this workplace's closed network needs (no background connections).
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                     "--no-first-run", "--disable-background-networking", "--disable-component-update",
                     "--disable-sync", "--window-size=800,500", format!("--user-data-dir={}", profile.display())],
        }
    });
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities.as_object().unwrap().clone())
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("open a Chromium session");
    (driver, client)
}

/// The page's `h1` once `expected` accepts it. Retries through navigations, where an element
/// found on the old page goes stale.
async fn wait_for_heading(client: &Client, expected: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut last = None;
    loop {
        if let Ok(element) = client.find(Locator::Css("h1")).await
            && let Ok(text) = element.text().await
        {
            if expected(&text) {
                return text;
            }
            last = Some(text);
        }
        assert!(
            Instant::now() < deadline,
            "the heading never matched; last seen: {last:?}"
        );
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn heading(client: &Client) -> String {
    wait_for_heading(client, |_| true).await
}

async fn log_in(client: &Client, name: &str) {
    let input = client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("input[name=username]"))
        .await
        .unwrap();
    input.send_keys(name).await.unwrap();
    client
        .find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_heading(client, |h| h.starts_with("Hello")).await;
}

async fn screenshot(client: &Client, name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, client.screenshot().await.unwrap()).unwrap();
    path
}

#[actix_web::test]
async fn login_logout_in_chromium() {
    let Some((_server, _driver, client, base)) = launch("login").await else {
        return;
    };
    let base = format!("{base}/");

    // 1. Logged out.
    client.goto(&base).await.unwrap();
    assert_eq!(
        wait_for_heading(&client, |h| h.starts_with("You are not")).await,
        "You are not logged in."
    );
    screenshot(&client, "logged-out.png").await;

    // 2. Log in.
    log_in(&client, "ann").await;
    assert_eq!(heading(&client).await, "Hello ann!");
    screenshot(&client, "logged-in.png").await;

    // 3. Still logged in after a reload.
    client.refresh().await.unwrap();
    assert_eq!(
        wait_for_heading(&client, |h| h.starts_with("Hello")).await,
        "Hello ann!"
    );

    // 4. The cookie as the browser holds it.
    let cookies = client.get_all_cookies().await.unwrap();
    let session = cookies
        .iter()
        .find(|c| c.name() == "session")
        .expect("a session cookie");
    assert_eq!(session.http_only(), Some(true));
    assert_eq!(session.path(), Some("/"));
    assert_eq!(
        session.same_site().map(|s| s.to_string()).as_deref(),
        Some("Lax")
    );
    let visible = client
        .execute("return document.cookie", vec![])
        .await
        .unwrap();
    assert_eq!(visible, json!(""), "HttpOnly keeps it from scripts");

    // 5. Log out: not logged in, and the cookie is gone.
    client
        .find(Locator::Css("form[action='/logout'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert_eq!(
        wait_for_heading(&client, |h| h.starts_with("You are not")).await,
        "You are not logged in."
    );
    let cookies = client.get_all_cookies().await.unwrap();
    assert!(cookies.iter().all(|c| c.name() != "session"), "{cookies:?}");

    // 6. HTML in the name is shown, not interpreted.
    log_in(&client, "<b>x</b>").await;
    assert_eq!(heading(&client).await, "Hello <b>x</b>!");
    assert!(
        client
            .find_all(Locator::Css("h1 b"))
            .await
            .unwrap()
            .is_empty(),
        "no <b> element was injected"
    );

    client.close().await.unwrap();
}

/// Fills the `user_login` example's form and submits it.
async fn submit_credentials(client: &Client, username: &str, password: &str, remember: bool) {
    let wait = client.wait().at_most(Duration::from_secs(10));
    let field = wait
        .for_element(Locator::Css("input[name=username]"))
        .await
        .unwrap();
    field.send_keys(username).await.unwrap();
    let field = client
        .find(Locator::Css("input[name=password]"))
        .await
        .unwrap();
    field.send_keys(password).await.unwrap();
    if remember {
        let checkbox = client
            .find(Locator::Css("input[name=remember_me]"))
            .await
            .unwrap();
        checkbox.click().await.unwrap();
    }
    let button = client
        .find(Locator::Css("button[type=submit]"))
        .await
        .unwrap();
    button.click().await.unwrap();
}

/// The path and query the browser shows.
async fn current_path(client: &Client) -> String {
    let url = client.current_url().await.unwrap();
    match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    }
}

async fn body_text(client: &Client) -> String {
    client
        .find(Locator::Css("body"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// A page on another site: a form that posts to `target` as soon as it loads.
fn start_attacker_page(target: &str) -> u16 {
    let page = format!(
        r#"<!doctype html><title>win a prize</title>
<form method="POST" action="{target}"><input name="username" value="mallory"></form>
<script>document.forms[0].submit()</script>"#
    );
    serve_in_background(move |config| {
        let page = page.clone();
        config.route(
            "/",
            web::get().to(move || {
                let page = page.clone();
                async move { HttpResponse::Ok().content_type("text/html").body(page) }
            }),
        );
    })
}

/// Serves `example` on a free port and opens Chromium: the two processes, the client and
/// the app's base URL; `None` when the browser tools are missing (outside CI).
async fn launch(example: &str) -> Option<(Process, Process, Client, String)> {
    let (chromium, driver) = browser_tools()?;
    let port = free_port();
    let server = start_example(example, port);
    let (driver, client) = open_browser(&chromium, &driver).await;
    Some((server, driver, client, format!("http://127.0.0.1:{port}")))
}

#[actix_web::test]
async fn user_login_remember_me_fresh_logout_and_csrf_in_chromium() {
    login_flow_in_chromium("user_login").await;
}

/// The same flow against the axum example: it serves what `user_login` serves.
#[actix_web::test]
async fn axum_login_remember_me_fresh_logout_and_csrf_in_chromium() {
    login_flow_in_chromium("axum_login").await;
}

async fn login_flow_in_chromium(example: &str) {
    let Some((_server, _driver, client, base)) = launch(example).await else {
        return;
    };

    // 1. Anonymous: sent to the login page, which says what went wrong on a bad password.
    client.goto(&format!("{base}/")).await.unwrap();
    wait_for_heading(&client, |h| h == "Please log in").await;
    assert_eq!(current_path(&client).await, "/login?next=/");
    submit_credentials(&client, "susan", "wrong", false).await;
    wait_for_heading(&client, |h| h == "Please log in").await;
    assert!(
        body_text(&client)
            .await
            .contains("Wrong username or password.")
    );
    client.refresh().await.unwrap();
    wait_for_heading(&client, |h| h == "Please log in").await;
    assert!(
        !body_text(&client).await.contains("Wrong username"),
        "a flash shows once"
    );

    // 2. Log in with "remember me".
    submit_credentials(&client, "susan", "hello", true).await;
    assert_eq!(
        wait_for_heading(&client, |h| h.starts_with("Hello")).await,
        "Hello, susan!"
    );
    screenshot(&client, &format!("{example}-logged-in.png")).await;
    let cookies = client.get_all_cookies().await.unwrap();
    let remember = cookies
        .iter()
        .find(|c| c.name() == "_remember")
        .expect("a remember cookie");
    assert_eq!(remember.http_only(), Some(true));
    assert_eq!(remember.secure(), Some(true));
    assert_eq!(
        remember.same_site().map(|s| s.to_string()).as_deref(),
        Some("Lax")
    );

    // 3. The browser "restarts": the session cookie is gone, the remember cookie stays.
    client.delete_cookie("session").await.unwrap();
    client.goto(&format!("{base}/")).await.unwrap();
    assert_eq!(
        wait_for_heading(&client, |h| h.starts_with("Hello")).await,
        "Hello, susan!"
    );
    client.goto(&format!("{base}/fresh")).await.unwrap();
    wait_for_heading(&client, |h| h == "Please log in").await;
    assert_eq!(
        current_path(&client).await,
        "/login?next=/fresh",
        "a restored login is not fresh"
    );

    // 4. Entering the password again makes it fresh, and `next` leads back.
    submit_credentials(&client, "susan", "hello", false).await;
    wait_for_heading(&client, |h| h.starts_with("Hello")).await;
    assert_eq!(current_path(&client).await, "/fresh");
    assert!(body_text(&client).await.contains("requires a fresh login"));

    // 5. A cross-site form post, from a page on `localhost`, is refused by the CSRF check.
    let attacker = start_attacker_page(&format!("{base}/logout"));
    client
        .goto(&format!("http://localhost:{attacker}/"))
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let refused = loop {
        let text = body_text(&client).await;
        if text.contains("Forbidden") || Instant::now() > deadline {
            break text;
        }
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(refused, "Forbidden: Sec-Fetch-Site is cross-site");
    screenshot(&client, &format!("{example}-csrf-refused.png")).await;
    client.goto(&format!("{base}/")).await.unwrap();
    assert_eq!(
        wait_for_heading(&client, |h| h.starts_with("Hello")).await,
        "Hello, susan!",
        "still logged in"
    );

    // 6. Log out: both cookies' logins are gone.
    let logout = client
        .find(Locator::Css("form[action='/logout'] button"))
        .await
        .unwrap();
    logout.click().await.unwrap();
    wait_for_heading(&client, |h| h == "Please log in").await;
    let cookies = client.get_all_cookies().await.unwrap();
    assert!(
        cookies.iter().all(|c| c.name() != "_remember"),
        "{cookies:?}"
    );
    client.delete_cookie("session").await.unwrap();
    client.goto(&format!("{base}/")).await.unwrap();
    wait_for_heading(&client, |h| h == "Please log in").await;

    client.close().await.unwrap();
}

/// A `next` whose dot segments resolve to `//evil.example` falls back to the default page:
/// Chromium ends on this origin, on `/`, never on a path that starts with `//`.
#[actix_web::test]
async fn dot_segment_next_values_stay_on_the_site_in_chromium() {
    let Some((_server, _driver, client, base)) = launch("user_login").await else {
        return;
    };
    // Raw query values, as in a link; the app decodes the query once.
    let cases = [
        ("/.//evil.example", "/"),
        ("/a/..//evil.example", "/"),
        ("/%2e%2e/%2e%2e//evil.example", "/"),
        ("/%252E%252E/%252e%252e//evil.example", "/"),
        ("/.%2f/evil.example", "/"),
        ("/./%5Cevil.example", "/"),
        // A same-site `next` with dot segments still leads there, resolved.
        ("/a/./../fresh", "/fresh"),
    ];
    for (next, expected) in cases {
        client.delete_all_cookies().await.unwrap();
        client
            .goto(&format!("{base}/login?next={next}"))
            .await
            .unwrap();
        submit_credentials(&client, "susan", "hello", false).await;
        let deadline = Instant::now() + Duration::from_secs(10);
        let url = loop {
            let url = client.current_url().await.unwrap();
            if !url.path().starts_with("/login") || Instant::now() > deadline {
                break url;
            }
            actix_web::rt::time::sleep(Duration::from_millis(50)).await;
        };
        assert_eq!(
            url.origin().ascii_serialization(),
            base,
            "next={next} left the site: {url}"
        );
        assert_eq!(url.path(), expected, "next={next}: {url}");
        wait_for_heading(&client, |h| h == "Hello, susan!").await;
    }
    client.close().await.unwrap();
}

/// A session app for the chunk test: `GET /fill?bytes=N` stores N bytes, `/show` answers
/// their count, `/delete` logs out. GETs, so the browser navigates to each step.
fn start_chunk_app(session: jwt_session::Session) -> u16 {
    use jwt_session::{SessionDict, SessionError, with_session};

    #[derive(serde::Deserialize)]
    struct Size {
        bytes: usize,
    }
    #[with_session]
    async fn fill(
        mut session: SessionDict,
        size: web::Query<Size>,
    ) -> Result<HttpResponse, SessionError> {
        let text: String = (0..size.bytes)
            .map(|i| char::from(b'a' + ((i * 7 + i / 26) % 26) as u8))
            .collect();
        session.insert("blob", text)?;
        session.save()?;
        Ok(HttpResponse::Ok().body("saved"))
    }
    #[with_session]
    async fn show(session: SessionDict) -> String {
        let blob: Option<String> = session.get("blob").unwrap_or_default();
        format!("{}", blob.map_or(0, |blob| blob.len()))
    }
    #[with_session]
    async fn delete(session: SessionDict) -> HttpResponse {
        session.delete();
        HttpResponse::Ok().body("deleted")
    }
    serve_in_background(move |config| {
        config
            .app_data(session.clone())
            .route("/fill", web::get().to(fill))
            .route("/show", web::get().to(show))
            .route("/delete", web::get().to(delete));
    })
}

/// Issue 27 in Chromium: a 10 KB session (a token of about 13.7 KB) round-trips in four
/// chunks, signed and encrypted, and shrinks from 4 chunks to 2, to one plain cookie (a
/// token that fits one cookie is never a lone chunk), to nothing, leaving no stale chunk
/// in the browser at any step.
#[actix_web::test]
async fn chunked_sessions_round_trip_and_shrink_in_chromium() {
    let Some((chromium, driver)) = browser_tools() else {
        return;
    };
    let secret = "chromium chunk test secret, 32 bytes or more";
    for (mode, session) in [
        ("signed", jwt_session::Session::new(secret).max_chunks(4)),
        (
            "encrypted",
            jwt_session::Session::new(secret).max_chunks(4).encrypted(),
        ),
    ] {
        let base = format!("http://127.0.0.1:{}", start_chunk_app(session));
        let (_driver, client) = open_browser(&chromium, &driver).await;
        let names = || async {
            let mut names: Vec<String> = client
                .get_all_cookies()
                .await
                .unwrap()
                .iter()
                .map(|cookie| cookie.name().to_owned())
                .collect();
            names.sort();
            names
        };
        let visit = |path: String| {
            let client = client.clone();
            async move {
                client.goto(&path).await.unwrap();
                client
                    .find(Locator::Css("body"))
                    .await
                    .unwrap()
                    .text()
                    .await
                    .unwrap()
            }
        };
        assert_eq!(visit(format!("{base}/fill?bytes=10240")).await, "saved");
        let four = ["session.0", "session.1", "session.2", "session.3"];
        assert_eq!(names().await, four, "{mode}");
        assert_eq!(
            visit(format!("{base}/show")).await,
            "10240",
            "{mode}: read back"
        );

        visit(format!("{base}/fill?bytes=4000")).await;
        assert_eq!(
            names().await,
            ["session.0", "session.1"],
            "{mode}: two chunks left"
        );
        assert_eq!(visit(format!("{base}/show")).await, "4000", "{mode}");

        visit(format!("{base}/fill?bytes=100")).await;
        assert_eq!(names().await, ["session"], "{mode}: unchunked");
        assert_eq!(visit(format!("{base}/show")).await, "100", "{mode}");

        visit(format!("{base}/fill?bytes=10240")).await;
        visit(format!("{base}/delete")).await;
        assert!(
            names().await.is_empty(),
            "{mode}: deleted: {:?}",
            names().await
        );
        assert_eq!(visit(format!("{base}/show")).await, "0", "{mode}");
        client.close().await.unwrap();
    }
}
