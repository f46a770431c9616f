//! Logins over `actix_web::test`: the extractors, `login_user`/`logout_user`, the remember
//! cookie, open-redirect defences and flash messages, through the `user_login` example and a
//! small app with integer ids.

#[allow(dead_code)]
#[path = "../../examples/user_login.rs"]
mod user_login;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::{StatusCode, header};
use actix_web::{App, HttpRequest, HttpResponse, test, web};
use jsonwebtoken::Algorithm;
use jwt_session::{
    Session, SessionDict, SessionError,
    login::{
        CurrentUser, FreshLogin, LoggedIn, Login, LoginUser, Remember, current_user, login_user,
        logout_user,
    },
    with_session,
};
use serde_json::{Value, json};

use crate::common::jar::Jar;
use crate::common::{SECRET, foreign_token, parts_of, set_cookies, unix_now};

/// Sends `req` with the jar's cookies and stores what comes back, as a browser does.
async fn call<S>(app: &S, jar: &mut Jar, req: test::TestRequest) -> ServiceResponse
where
    S: Service<actix_http::Request, Response = ServiceResponse, Error = actix_web::Error>,
{
    let req = match jar.header_for("/") {
        Some(cookies) => req.insert_header((header::COOKIE, cookies)),
        None => req,
    };
    let res = test::call_service(app, req.to_request()).await;
    jar.update(&res);
    res
}

async fn body(res: ServiceResponse) -> String {
    String::from_utf8(test::read_body(res).await.to_vec()).unwrap()
}

fn location<B>(res: &ServiceResponse<B>) -> &str {
    res.headers()
        .get(header::LOCATION)
        .map_or("", |value| value.to_str().unwrap())
}

/// The cookie called `name` that `res` sets.
fn set_cookie<B>(res: &ServiceResponse<B>, name: &str) -> Option<Cookie<'static>> {
    set_cookies(res)
        .into_iter()
        .map(|value| Cookie::parse(value).unwrap())
        .find(|cookie| cookie.name() == name)
}

/// The payload of the session cookie `res` sets.
fn saved_session<B>(res: &ServiceResponse<B>) -> Value {
    let cookie = set_cookie(res, "session").expect("a session cookie");
    parts_of(cookie.value()).1
}

/// Posts the login form to `uri` (`/login`, with any `?next=`) with the jar's cookies.
async fn log_in<S>(
    app: &S,
    jar: &mut Jar,
    uri: &str,
    (username, password): (&str, &str),
    remember: bool,
) -> ServiceResponse
where
    S: Service<actix_http::Request, Response = ServiceResponse, Error = actix_web::Error>,
{
    let mut form = vec![("username", username), ("password", password)];
    if remember {
        form.push(("remember_me", "on"));
    }
    call(app, jar, test::TestRequest::post().uri(uri).set_form(form)).await
}

macro_rules! example_app {
    () => {
        test::init_service(
            App::new()
                .app_data(crate::common::session())
                .configure(user_login::routes),
        )
        .await
    };
}

// ---------------------------------------------------------------- a small app, integer ids

#[derive(Clone, Debug)]
struct Member {
    id: u64,
}

impl LoginUser for Member {
    type Id = u64;

    fn id(&self) -> u64 {
        self.id
    }
}

/// Members exist below 100; every load is counted.
fn members(loads: &Arc<AtomicUsize>) -> Login<Member> {
    let loads = Arc::clone(loads);
    Login::new(move |id: u64| {
        loads.fetch_add(1, Ordering::SeqCst);
        async move { (id < 100).then_some(Member { id }) }
    })
    .login_url("/signin?lang=en")
    .redirect_url("/home")
}

async fn sign_in(req: HttpRequest, id: web::Path<u64>) -> Result<HttpResponse, SessionError> {
    login_user(&req, &Member { id: *id }, Remember::Days(2)).await
}

async fn required(member: LoggedIn<Member>) -> String {
    format!("member {}", member.id)
}

async fn optional(member: CurrentUser<Member>) -> String {
    member
        .as_ref()
        .map_or_else(|| "anonymous".to_owned(), |m| format!("member {}", m.id))
}

async fn fresh(member: FreshLogin<Member>) -> String {
    format!("fresh member {}", member.id)
}

/// Three ways to ask for the user in one request.
async fn all_at_once(
    req: HttpRequest,
    optional: CurrentUser<Member>,
    required: LoggedIn<Member>,
) -> Result<String, SessionError> {
    let again = current_user::<Member>(&req).await?;
    Ok(format!(
        "{:?} {:?} {:?}",
        optional.as_ref().map(|m| m.id),
        required.id,
        again.map(|m| m.id)
    ))
}

/// Logs out, then asks for the user in the same request.
async fn sign_out(req: HttpRequest) -> Result<HttpResponse, SessionError> {
    let response = logout_user(&req, HttpResponse::Ok().finish()).await?;
    assert!(current_user::<Member>(&req).await?.is_none());
    Ok(response)
}

macro_rules! members_app {
    ($loads:expr) => {
        test::init_service(
            App::new()
                .app_data(crate::common::session())
                .app_data(members($loads))
                .route("/signin/{id}", web::post().to(sign_in))
                .route("/required", web::get().to(required))
                .route("/optional", web::get().to(optional))
                .route("/fresh", web::get().to(fresh))
                .route("/all", web::get().to(all_at_once))
                .route("/signout", web::post().to(sign_out)),
        )
        .await
    };
}

/// An app with the members login, `/signin/{id}` and `routes`, under `session`.
macro_rules! members_app_with {
    ($session:expr, $loads:expr, $($path:literal => $route:expr),* $(,)?) => {
        test::init_service(
            App::new()
                .app_data($session)
                .app_data(members($loads))
                .route("/signin/{id}", web::post().to(sign_in))
                $(.route($path, $route))*,
        )
        .await
    };
}

/// Signs member `id` in and returns the remember cookie it gets (`Remember::Days(2)`).
async fn remember_cookie_of<S>(app: &S, id: u64) -> Cookie<'static>
where
    S: Service<actix_http::Request, Response = ServiceResponse, Error = actix_web::Error>,
{
    let uri = format!("/signin/{id}");
    let res = call(
        app,
        &mut Jar::default(),
        test::TestRequest::post().uri(&uri),
    )
    .await;
    set_cookie(&res, "_remember").expect("a remember cookie")
}

/// A browser that dropped the session cookie: only `remember` is left.
fn jar_with_only(remember: &Cookie<'_>) -> Jar {
    let mut jar = Jar::default();
    jar.set("_remember", remember.value());
    jar
}

// ---------------------------------------------------------------- the tests

#[actix_web::test]
async fn required_optional_and_fresh_paths() {
    let loads = Arc::new(AtomicUsize::new(0));
    let app = members_app!(&loads);
    let mut jar = Jar::default();

    let res = call(
        &app,
        &mut jar,
        test::TestRequest::get().uri("/required?a=1&b=x%20y"),
    )
    .await;
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(
        location(&res),
        "/signin?lang=en&next=/required%3Fa%3D1%26b%3Dx%2520y"
    );
    let res = call(&app, &mut jar, test::TestRequest::get().uri("/fresh")).await;
    assert_eq!(location(&res), "/signin?lang=en&next=/fresh");
    let res = call(&app, &mut jar, test::TestRequest::get().uri("/optional")).await;
    assert_eq!(body(res).await, "anonymous");
    assert_eq!(loads.load(Ordering::SeqCst), 0, "no id, no load");

    let res = call(&app, &mut jar, test::TestRequest::post().uri("/signin/7")).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&res),
        "/home",
        "Login::redirect_url without a next"
    );
    assert_eq!(saved_session(&res), json!({"_user_id": 7, "_fresh": true}));

    for (uri, expected) in [
        ("/required", "member 7"),
        ("/optional", "member 7"),
        ("/fresh", "fresh member 7"),
    ] {
        let res = call(&app, &mut jar, test::TestRequest::get().uri(uri)).await;
        assert_eq!(res.status(), StatusCode::OK, "{uri}");
        assert_eq!(body(res).await, expected);
    }

    // An id the loader no longer knows is no login.
    let res = call(&app, &mut jar, test::TestRequest::post().uri("/signin/150")).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = call(&app, &mut jar, test::TestRequest::get().uri("/required")).await;
    assert_eq!(res.status(), StatusCode::FOUND);
}

#[actix_web::test]
async fn the_user_is_loaded_once_per_request() {
    let loads = Arc::new(AtomicUsize::new(0));
    let app = members_app!(&loads);
    let mut jar = Jar::default();
    call(&app, &mut jar, test::TestRequest::post().uri("/signin/3")).await;
    let before = loads.load(Ordering::SeqCst);
    let res = call(&app, &mut jar, test::TestRequest::get().uri("/all")).await;
    assert_eq!(body(res).await, "Some(3) 3 Some(3)");
    assert_eq!(
        loads.load(Ordering::SeqCst) - before,
        1,
        "two extractors and a call, one load"
    );
}

#[actix_web::test]
async fn logout_in_the_same_request_forgets_the_user() {
    let loads = Arc::new(AtomicUsize::new(0));
    let app = members_app!(&loads);
    let mut jar = Jar::default();
    call(&app, &mut jar, test::TestRequest::post().uri("/signin/3")).await;
    let res = call(&app, &mut jar, test::TestRequest::post().uri("/signout")).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(saved_session(&res), json!({}));
    let res = call(&app, &mut jar, test::TestRequest::get().uri("/optional")).await;
    assert_eq!(body(res).await, "anonymous");
}

#[actix_web::test]
async fn login_sets_microdots_keys_and_a_remember_cookie_with_the_session_attributes() {
    let app = example_app!();
    let mut jar = Jar::default();
    let res = log_in(&app, &mut jar, "/login", ("susan", "hello"), true).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/");
    assert_eq!(
        saved_session(&res),
        json!({"_user_id": "user001", "_fresh": true})
    );

    let remember = set_cookie(&res, "_remember").expect("a remember cookie");
    assert_eq!(remember.http_only(), Some(true));
    assert_eq!(remember.secure(), Some(true));
    assert_eq!(remember.same_site(), Some(SameSite::Lax));
    assert_eq!(remember.path(), Some("/"));
    assert_eq!(remember.max_age().unwrap().whole_seconds(), 30 * 86_400);
    let (header, claims) = parts_of(remember.value());
    assert_eq!(header, json!({"alg": "HS256", "typ": "JWT"}));
    assert_eq!(claims["user_id"], "user001");
    assert_eq!(claims["days"], 30);
    let exp = claims["exp"].as_u64().unwrap();
    assert!(exp.abs_diff(unix_now() + 30 * 86_400) <= 5, "{claims}");
    assert_eq!(claims["iat"].as_u64().unwrap() + 30 * 86_400, exp);
    // And the purpose marker that keeps it from passing for a session.
    assert_eq!(claims["_purpose"], "remember");
    assert_eq!(claims.as_object().unwrap().len(), 5, "{claims}");

    let res = call(&app, &mut jar, test::TestRequest::get().uri("/")).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(body(res).await.contains("Hello, susan!"));
}

#[actix_web::test]
async fn the_remember_cookie_restores_a_login_that_is_not_fresh() {
    let app = example_app!();
    let mut jar = Jar::default();
    let res = log_in(&app, &mut jar, "/login", ("david", "bye"), true).await;
    let remember = set_cookie(&res, "_remember").unwrap();

    // The browser was closed: only the remember cookie is left.
    let mut jar = Jar::default();
    jar.set("_remember", remember.value());
    let res = call(&app, &mut jar, test::TestRequest::get().uri("/fresh")).await;
    assert_eq!(
        res.status(),
        StatusCode::FOUND,
        "a restored login is not fresh"
    );
    assert_eq!(location(&res), "/login?next=/fresh");

    let res = call(&app, &mut jar, test::TestRequest::get().uri("/")).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        set_cookie(&res, "_remember").is_none(),
        "its lifetime counts from the login"
    );
    assert!(body(res).await.contains("Hello, david!"));
    // The example's `/` is a plain handler: the restore is recomputed on every request...
    let res = call(&app, &mut jar, test::TestRequest::get().uri("/fresh")).await;
    assert_eq!(res.status(), StatusCode::FOUND, "still not fresh");

    // ...and a logged-in password entry makes it fresh again.
    let res = log_in(
        &app,
        &mut jar,
        "/login?next=/fresh",
        ("david", "bye"),
        false,
    )
    .await;
    assert_eq!(location(&res), "/fresh");
    let removal = set_cookie(&res, "_remember").expect("an old remember cookie is cleared");
    assert_eq!(removal.max_age().unwrap().whole_seconds(), 0);
    let res = call(&app, &mut jar, test::TestRequest::get().uri("/fresh")).await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[with_session]
async fn restore_and_show(user: CurrentUser<Member>, session: SessionDict) -> HttpResponse {
    HttpResponse::Ok().json(json!({"user": user.as_ref().map(|m| m.id), "session": session}))
}

#[actix_web::test]
async fn a_with_session_handler_writes_the_restored_session() {
    let loads = Arc::new(AtomicUsize::new(0));
    let app = members_app_with!(crate::common::session(), &loads, "/show" => web::get().to(restore_and_show));
    let remember = remember_cookie_of(&app, 9).await;
    assert_eq!(remember.max_age().unwrap().whole_seconds(), 2 * 86_400);
    let res = call(
        &app,
        &mut jar_with_only(&remember),
        test::TestRequest::get().uri("/show"),
    )
    .await;
    assert_eq!(saved_session(&res), json!({"_user_id": 9, "_fresh": false}));
    let shown: Value = test::read_body_json(res).await;
    assert_eq!(shown["user"], 9);
}

#[actix_web::test]
async fn bad_remember_cookies_log_no_one_in() {
    let app = example_app!();
    let exp = unix_now() + 3600;
    let valid = foreign_token(
        &json!({"user_id": "user001", "days": 1, "exp": exp}),
        Algorithm::HS256,
        SECRET.as_bytes(),
    );
    let session_token = foreign_token(
        &json!({"_user_id": "user001", "_fresh": true}),
        Algorithm::HS256,
        SECRET.as_bytes(),
    );
    let cases = [
        (
            "expired",
            foreign_token(
                &json!({"user_id": "user001", "days": 1, "exp": unix_now() - 120}),
                Algorithm::HS256,
                SECRET.as_bytes(),
            ),
        ),
        (
            "without exp",
            foreign_token(
                &json!({"user_id": "user001", "days": 1}),
                Algorithm::HS256,
                SECRET.as_bytes(),
            ),
        ),
        (
            "exp as a string",
            foreign_token(
                &json!({"user_id": "user001", "days": 1, "exp": exp.to_string()}),
                Algorithm::HS256,
                SECRET.as_bytes(),
            ),
        ),
        (
            "another secret",
            foreign_token(
                &json!({"user_id": "user001", "days": 1, "exp": exp}),
                Algorithm::HS256,
                b"another secret that is 32+ bytes long",
            ),
        ),
        (
            "another algorithm",
            foreign_token(
                &json!({"user_id": "user001", "days": 1, "exp": exp}),
                Algorithm::HS512,
                SECRET.as_bytes(),
            ),
        ),
        (
            "null user",
            foreign_token(
                &json!({"user_id": null, "days": 1, "exp": exp}),
                Algorithm::HS256,
                SECRET.as_bytes(),
            ),
        ),
        (
            "unknown user",
            foreign_token(
                &json!({"user_id": "user999", "days": 1, "exp": exp}),
                Algorithm::HS256,
                SECRET.as_bytes(),
            ),
        ),
        ("a session token", session_token.clone()),
        (
            "a session token with user_id and exp",
            foreign_token(
                &json!({"user_id": "user001", "exp": exp, "cart": []}),
                Algorithm::HS256,
                SECRET.as_bytes(),
            ),
        ),
        ("garbage", String::from("a.b.c")),
    ];
    for (what, token) in cases {
        let mut jar = Jar::default();
        jar.set("_remember", &token);
        let res = call(&app, &mut jar, test::TestRequest::get().uri("/")).await;
        assert_eq!(res.status(), StatusCode::FOUND, "{what}");
        assert!(
            set_cookie(&res, "session").is_none(),
            "{what}: nothing saved"
        );
    }
    // Control: a token from an independent signer with the right secret works...
    let mut jar = Jar::default();
    jar.set("_remember", &valid);
    let res = call(&app, &mut jar, test::TestRequest::get().uri("/")).await;
    assert_eq!(res.status(), StatusCode::OK, "control");
    // ...and a remember token is no session.
    let mut jar = Jar::default();
    jar.set("session", &valid);
    let res = call(&app, &mut jar, test::TestRequest::get().uri("/")).await;
    assert_eq!(res.status(), StatusCode::FOUND);
}

#[actix_web::test]
async fn a_second_app_with_another_secret_ignores_the_logins() {
    let app = example_app!();
    let other = test::init_service(
        App::new()
            .app_data(Session::new("the other app's secret, also 32+ bytes"))
            .configure(user_login::routes),
    )
    .await;
    let mut jar = Jar::default();
    log_in(&app, &mut jar, "/login", ("susan", "hello"), true).await;
    assert_eq!(
        call(&app, &mut jar, test::TestRequest::get().uri("/"))
            .await
            .status(),
        StatusCode::OK
    );
    let res = call(&other, &mut jar, test::TestRequest::get().uri("/")).await;
    assert_eq!(res.status(), StatusCode::FOUND);
}

#[actix_web::test]
async fn logout_clears_both_cookies() {
    let app = example_app!();
    let mut jar = Jar::default();
    log_in(&app, &mut jar, "/login", ("susan", "hello"), true).await;
    let res = call(&app, &mut jar, test::TestRequest::post().uri("/logout")).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/");
    assert_eq!(
        saved_session(&res),
        json!({}),
        "_user_id and _fresh are gone"
    );
    let removal = set_cookie(&res, "_remember").expect("the remember cookie is cleared");
    assert_eq!(removal.value(), "");
    assert_eq!(removal.max_age().unwrap().whole_seconds(), 0);
    assert_eq!(removal.path(), Some("/"));
    assert_eq!(removal.http_only(), Some(true));
    assert!(!jar.header_for("/").unwrap().contains("_remember"));
    let res = call(&app, &mut jar, test::TestRequest::get().uri("/")).await;
    assert_eq!(res.status(), StatusCode::FOUND, "logged out");

    // Logging out needs a login, as in Microdot's example.
    let res = call(
        &app,
        &mut Jar::default(),
        test::TestRequest::post().uri("/logout"),
    )
    .await;
    assert_eq!(location(&res), "/login?next=/logout");
}

#[actix_web::test]
async fn open_redirect_attempts_never_leave_the_site() {
    let app = example_app!();
    // Raw query values: as typed into a link, before the query is decoded.
    let hostile = [
        "//evil.example",
        "%2F%2Fevil.example",
        "/%2Fevil.example",
        "%252F%252Fevil.example",
        "/%5Cevil.example",
        "%2F%5Cevil.example",
        "/%255Cevil.example",
        "https://evil.example",
        "https%3A%2F%2Fevil.example",
        "https%253A%252F%252Fevil.example",
        "/%09/evil.example",
        "%2F%09%2Fevil.example",
        "javascript:alert(1)",
        "evil.example",
        // Dot segments: each resolves in a browser to the path `//evil.example`.
        "/.//evil.example",
        "/a/..//evil.example",
        "/%2e%2e/%2e%2e//evil.example",
        "/%252e%252e/%252e%252e//evil.example",
        "/%252E%252E/%252E%252E//evil.example",
        "/.%2f/evil.example",
        "/.%252F/evil.example",
        "/a/..%252f%252fevil.example",
        "/./%5Cevil.example",
        "/.%255C/evil.example",
        "/a/..%255Cevil.example",
    ];
    for next in hostile {
        let uri = format!("/login?next={next}");
        let res = log_in(&app, &mut Jar::default(), &uri, ("susan", "hello"), false).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{next}");
        assert_eq!(location(&res), "/", "next={next} falls back to the default");
    }
    for (next, expected) in [
        ("/fresh", "/fresh"),
        ("%2Ffresh%3Fa%3D1", "/fresh?a=1"),
        ("/a%252Fb", "/a%2Fb"),
        ("/orders?page=2", "/orders?page=2"),
        ("/orders%3Fpage%3D2", "/orders?page=2"),
        ("/a/./b", "/a/b"),
        ("/a/%252E/b/..", "/a/"),
    ] {
        let uri = format!("/login?next={next}");
        let res = log_in(&app, &mut Jar::default(), &uri, ("susan", "hello"), false).await;
        assert_eq!(location(&res), expected, "control: {next}");
    }
}

#[actix_web::test]
async fn failed_logins_flash_once() {
    let app = example_app!();
    let mut jar = Jar::default();
    let res = log_in(&app, &mut jar, "/login", ("susan", "wrong"), false).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/login");
    assert!(set_cookie(&res, "_remember").is_none());
    let res = log_in(&app, &mut jar, "/login", ("nobody", "hello"), false).await;
    assert_eq!(
        location(&res),
        "/login",
        "an unknown user fails the same way"
    );
    assert_eq!(
        saved_session(&res)["_flashes"],
        json!([
            ["error", "Wrong username or password."],
            ["error", "Wrong username or password."]
        ])
    );

    let res = call(&app, &mut jar, test::TestRequest::get().uri("/login")).await;
    assert_eq!(
        saved_session(&res),
        json!({}),
        "taken, and saved without them"
    );
    let page = body(res).await;
    assert_eq!(
        page.matches("Wrong username or password.").count(),
        2,
        "{page}"
    );
    let res = call(&app, &mut jar, test::TestRequest::get().uri("/login")).await;
    assert!(
        set_cookies(&res).is_empty(),
        "nothing to take: no cookie re-issued"
    );
    assert!(!body(res).await.contains("Wrong username"));
}

#[with_session(autosave)]
async fn flash_autosave(mut session: SessionDict) -> Result<HttpResponse, SessionError> {
    session.flash("info", "saved by autosave")?;
    session.insert("later", 1)?;
    Ok(HttpResponse::Ok().finish())
}

#[with_session(autosave)]
async fn take_autosave(mut session: SessionDict) -> Result<HttpResponse, SessionError> {
    let taken = session.take_flashes()?;
    session.insert("after_take", taken.len())?;
    Ok(HttpResponse::Ok().body(taken.into_iter().map(|f| f.message).collect::<String>()))
}

#[with_session(autosave)]
async fn take_only(mut session: SessionDict) -> Result<HttpResponse, SessionError> {
    Ok(HttpResponse::Ok().body(session.take_flashes()?.len().to_string()))
}

#[actix_web::test]
async fn flashes_work_with_autosave() {
    let app = test::init_service(
        App::new()
            .app_data(crate::common::session())
            .route("/flash", web::post().to(flash_autosave))
            .route("/take", web::get().to(take_autosave))
            .route("/peek", web::get().to(take_only)),
    )
    .await;
    let mut jar = Jar::default();
    let res = call(&app, &mut jar, test::TestRequest::post().uri("/flash")).await;
    assert_eq!(
        saved_session(&res),
        json!({"_flashes": [["info", "saved by autosave"]], "later": 1}),
        "changes after flash() are kept: autosave saves once, at the end"
    );
    let res = call(&app, &mut jar, test::TestRequest::get().uri("/take")).await;
    assert_eq!(saved_session(&res), json!({"later": 1, "after_take": 1}));
    assert_eq!(body(res).await, "saved by autosave");
    let res = call(&app, &mut jar, test::TestRequest::get().uri("/peek")).await;
    assert!(set_cookies(&res).is_empty(), "nothing taken, nothing saved");
    assert_eq!(body(res).await, "0");
}

#[actix_web::test]
async fn extractors_without_a_login_config_fail_loudly() {
    let app = test::init_service(
        App::new()
            .app_data(crate::common::session())
            .route("/required", web::get().to(required)),
    )
    .await;
    let res =
        test::call_service(&app, test::TestRequest::get().uri("/required").to_request()).await;
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);

    // Registered as `web::Data`, it is found too.
    let loads = Arc::new(AtomicUsize::new(0));
    let app = test::init_service(
        App::new()
            .app_data(crate::common::session())
            .app_data(web::Data::new(members(&loads)))
            .route("/required", web::get().to(required)),
    )
    .await;
    let res =
        test::call_service(&app, test::TestRequest::get().uri("/required").to_request()).await;
    assert_eq!(location(&res), "/signin?lang=en&next=/required");
}

#[actix_web::test]
async fn login_renews_the_session_and_remember_ignores_session_lifetimes() {
    use std::time::Duration;
    let loads = Arc::new(AtomicUsize::new(0));
    let session = Session::new(SECRET)
        .idle_timeout(Duration::from_secs(600))
        .absolute_timeout(Duration::from_secs(3600));
    let app = members_app_with!(
        session,
        &loads,
        "/signout" => web::post().to(sign_out),
        "/show" => web::get().to(restore_and_show),
    );
    // A session that started 50 minutes ago, planted or not, with a cart in it.
    let now = unix_now();
    let old = foreign_token(
        &json!({"cart": [1], "iat": now - 10, "exp": now + 590, "session_start": now - 3000}),
        Algorithm::HS256,
        SECRET.as_bytes(),
    );
    let mut jar = Jar::default();
    jar.set("session", &old);
    let res = call(&app, &mut jar, test::TestRequest::post().uri("/signin/4")).await;
    let saved = saved_session(&res);
    assert_eq!(saved["cart"], json!([1]), "entries are kept");
    let start = saved["session_start"].as_u64().unwrap();
    assert!(
        start >= now,
        "the absolute clock restarts at login: {saved}"
    );

    // The remember token has no iat or session_start, and needs none.
    let remember = set_cookie(&res, "_remember").unwrap();

    // Logging out renews too.
    let mut jar = Jar::default();
    jar.set("session", &old);
    let res = call(&app, &mut jar, test::TestRequest::post().uri("/signout")).await;
    let saved = saved_session(&res);
    assert!(saved["session_start"].as_u64().unwrap() >= now, "{saved}");

    let mut jar = Jar::default();
    jar.set("_remember", remember.value());
    let res = call(&app, &mut jar, test::TestRequest::get().uri("/show")).await;
    let shown: Value = test::read_body_json(res).await;
    assert_eq!(shown["user"], 4);
}

#[actix_web::test]
async fn the_remember_cookie_expires_after_its_days() {
    use jwt_session::test::TestClock;
    use std::time::Duration;
    let clock = TestClock::new();
    let loads = Arc::new(AtomicUsize::new(0));
    let session = crate::common::session().clock(clock.clone());
    let app = members_app_with!(session, &loads, "/required" => web::get().to(required));
    let remember = remember_cookie_of(&app, 5).await;
    let restored_after = |elapsed: Duration| {
        let clock = clock.clone();
        let token = remember.clone();
        let app = &app;
        async move {
            clock.advance(elapsed);
            call(
                app,
                &mut jar_with_only(&token),
                test::TestRequest::get().uri("/required"),
            )
            .await
            .status()
        }
    };
    // `Remember::Days(2)`: valid a little before two days, refused past them and the leeway.
    assert_eq!(
        restored_after(Duration::from_secs(2 * 86_400 - 60)).await,
        StatusCode::OK
    );
    assert_eq!(
        restored_after(Duration::from_secs(120)).await,
        StatusCode::FOUND
    );
}

#[actix_web::test]
async fn a_remember_cookie_signed_with_a_previous_secret_still_works() {
    const OLD: &str = "the secret before the rotation, 32+ bytes";
    let app = test::init_service(
        App::new()
            .app_data(Session::new(SECRET).previous_secrets([OLD]))
            .configure(user_login::routes),
    )
    .await;
    let claims = json!({"user_id": "user002", "days": 30, "exp": unix_now() + 3600});
    let mut jar = Jar::default();
    jar.set(
        "_remember",
        &foreign_token(&claims, Algorithm::HS256, OLD.as_bytes()),
    );
    let res = call(&app, &mut jar, test::TestRequest::get().uri("/")).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(body(res).await.contains("Hello, david!"));
}

#[with_session(autosave)]
async fn count_visits(
    member: LoggedIn<Member>,
    mut session: SessionDict,
) -> Result<String, SessionError> {
    let visits = session.get::<u64>("visits")?.unwrap_or(0) + 1;
    session.insert("visits", visits)?;
    Ok(format!("member {} visit {visits}", member.id))
}

#[actix_web::test]
async fn a_restore_never_costs_an_autosave_handler_its_changes() {
    let loads = Arc::new(AtomicUsize::new(0));
    let app = members_app_with!(crate::common::session(), &loads, "/count" => web::get().to(count_visits));
    let mut jar = jar_with_only(&remember_cookie_of(&app, 6).await);
    for visit in 1..=3 {
        let res = call(&app, &mut jar, test::TestRequest::get().uri("/count")).await;
        assert_eq!(body(res).await, format!("member 6 visit {visit}"));
    }
}
