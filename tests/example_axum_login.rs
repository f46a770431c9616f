//! `examples/axum_login.rs` over HTTP (axum through tower's `oneshot`): the contract
//! `user_login` serves, and logins that cross between the two examples both ways.

use actix_web::{App, test};
use axum::body::Body;
use axum::http::Request;
use jwt_session::Session;
use jwt_session::test::CookieJar;
use tower::ServiceExt;

#[allow(dead_code)]
#[path = "../examples/axum_login.rs"]
mod axum_login;
#[allow(dead_code, clippy::duplicate_mod)]
#[path = "../examples/user_login.rs"]
mod user_login;

const SECRET: &str = "axum_login test secret: 32 bytes or more";

/// A browser against the axum example: the jar follows every `Set-Cookie`.
struct Browser {
    app: axum::Router,
    jar: CookieJar,
}

impl Browser {
    fn new() -> Self {
        Self {
            app: axum_login::app(Session::new(SECRET)),
            jar: CookieJar::new(),
        }
    }

    async fn send(
        &mut self,
        method: &str,
        uri: &str,
        form: &str,
        site: &str,
    ) -> (u16, String, String) {
        let mut request = Request::builder()
            .method(method)
            .uri(uri)
            .header("sec-fetch-site", site);
        if let Some(cookies) = self.jar.header_for(uri) {
            request = request.header("cookie", cookies);
        }
        if !form.is_empty() {
            request = request.header("content-type", "application/x-www-form-urlencoded");
        }
        let response = self
            .app
            .clone()
            .oneshot(request.body(Body::from(form.to_owned())).unwrap())
            .await
            .unwrap();
        for value in response.headers().get_all("set-cookie") {
            self.jar.store(value.to_str().unwrap());
        }
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .map(|value| value.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (
            status,
            location,
            String::from_utf8_lossy(&body).into_owned(),
        )
    }

    async fn get(&mut self, uri: &str) -> (u16, String, String) {
        self.send("GET", uri, "", "same-origin").await
    }

    async fn post(&mut self, uri: &str, form: &str) -> (u16, String, String) {
        self.send("POST", uri, form, "same-origin").await
    }
}

#[actix_web::test]
async fn axum_login_serves_what_user_login_serves() {
    let mut browser = Browser::new();
    let (status, location, _) = browser.get("/").await;
    assert_eq!((status, location.as_str()), (302, "/login?next=/"));

    let (status, location, _) = browser.post("/login", "username=susan&password=nope").await;
    assert_eq!((status, location.as_str()), (303, "/login"));
    let (_, _, page) = browser.get("/login").await;
    assert!(page.contains("Wrong username or password."), "{page}");
    assert!(
        !browser.get("/login").await.2.contains("Wrong"),
        "the flash shows once"
    );

    let before = browser.jar.header_for("/");
    let (status, _, _) = browser
        .send(
            "POST",
            "/login",
            "username=susan&password=hello",
            "cross-site",
        )
        .await;
    assert_eq!(status, 403, "a cross-site login is refused");
    assert_eq!(
        browser.jar.header_for("/"),
        before,
        "with no session change"
    );

    let (status, location, _) = browser
        .post(
            "/login?next=/fresh",
            "username=susan&password=hello&remember_me=on",
        )
        .await;
    assert_eq!((status, location.as_str()), (303, "/fresh"));
    assert!(browser.jar.cookie("_remember").is_some());
    assert!(browser.get("/").await.2.contains("Hello, susan!"));
    assert_eq!(browser.get("/fresh").await.0, 200);

    // The session ends (closed browser); the remember cookie logs susan back in, not fresh.
    browser.jar.remove("session");
    assert!(browser.get("/").await.2.contains("Hello, susan!"));
    assert_eq!(browser.get("/fresh").await.0, 302);

    let (status, location, _) = browser.post("/logout", "").await;
    assert_eq!((status, location.as_str()), (303, "/"));
    assert!(
        browser.jar.cookie("_remember").is_none(),
        "remember cleared"
    );
    assert_eq!(browser.get("/").await.0, 302);
}

/// A login on either example is a login on the other: same secret, config and cookies.
#[actix_web::test]
async fn logins_cross_between_axum_login_and_user_login() {
    let actix = test::init_service(
        App::new()
            .app_data(user_login::session(Session::new(SECRET)))
            .configure(user_login::routes),
    )
    .await;
    // Logged in on axum, read on actix.
    let mut browser = Browser::new();
    browser
        .post("/login", "username=david&password=bye&remember_me=on")
        .await;
    let cookies = browser.jar.header_for("/").unwrap();
    let req = test::TestRequest::get()
        .uri("/")
        .insert_header(("cookie", cookies));
    let body = test::read_body(test::call_service(&actix, req.to_request()).await).await;
    assert!(String::from_utf8_lossy(&body).contains("Hello, david!"));
    // The remember cookie alone, minted on axum, restores on actix.
    let remember = format!(
        "_remember={}",
        browser.jar.cookie("_remember").unwrap().value()
    );
    let req = test::TestRequest::get()
        .uri("/")
        .insert_header(("cookie", remember));
    let body = test::read_body(test::call_service(&actix, req.to_request()).await).await;
    assert!(String::from_utf8_lossy(&body).contains("Hello, david!"));

    // Logged in on actix, read on axum.
    let req = test::TestRequest::post()
        .uri("/login")
        .insert_header(("sec-fetch-site", "same-origin"))
        .set_form([("username", "susan"), ("password", "hello")]);
    let res = test::call_service(&actix, req.to_request()).await;
    assert_eq!(res.status(), 303);
    let mut on_axum = Browser::new();
    on_axum.jar.update(&res);
    assert!(on_axum.get("/").await.2.contains("Hello, susan!"));
    assert_eq!(on_axum.get("/fresh").await.0, 200, "fresh on both");
}
