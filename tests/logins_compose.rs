//! Logins that compose (issue 19): one notes app using `TypedSession` + `LoggedIn` +
//! `FreshLogin` + flash + autosave + `logout_everywhere` + a `from_fn` middleware, run over
//! HTTP once per store (none, `MemoryStore`, an async-only store, a real `redis-server`) and
//! once encrypted. Every step asserts on the very next request, without yielding: logins and
//! logouts finish before their response leaves.

mod common;

use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse};
use actix_web::http::{StatusCode, header};
use actix_web::middleware::{Next, from_fn};
use actix_web::{App, HttpRequest, HttpResponse, test, web};
use jwt_session::login::{
    FreshLogin, LoggedIn, Login, Remember, login_user, logout_everywhere, logout_user,
    logout_user_keep_data,
};
use jwt_session::revocation::{Lookup, MemoryStore, RedisStore, RevocationStore, StoreError};
use jwt_session::{Session, SessionDict, SessionError, TypedSession, with_session};
use serde::{Deserialize, Serialize};

use common::jar::Jar;
use common::redis_server::RedisServer;
use common::{SECRET, User, parts_of};

/// The app's typed view: its own entries, one renamed and one that disappears when `None`.
#[derive(Serialize, Deserialize, Default, Debug)]
#[serde(default)]
struct Notes {
    notes: Vec<String>,
    #[serde(rename = "t", skip_serializing_if = "Option::is_none")]
    title: Option<String>,
}

#[derive(Deserialize)]
struct Query {
    #[serde(default)]
    name: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    remember: bool,
}

async fn sign_in(req: HttpRequest, q: web::Query<Query>) -> Result<HttpResponse, SessionError> {
    login_user(&req, &User(q.name.clone()), Remember::from(q.remember)).await
}

/// The user, their notes and the flashes, shown once.
#[with_session]
async fn show(
    user: LoggedIn<User>,
    mut notes: TypedSession<Notes>,
) -> Result<String, SessionError> {
    let flashes: Vec<String> = notes
        .take_flashes()?
        .into_iter()
        .map(|flash| flash.message)
        .collect();
    Ok(format!(
        "{} {:?} {:?} {:?}",
        user.0.0, notes.notes, notes.title, flashes
    ))
}

#[with_session(autosave)]
async fn add(
    _user: LoggedIn<User>,
    q: web::Query<Query>,
    mut notes: TypedSession<Notes>,
) -> Result<HttpResponse, SessionError> {
    notes.notes.push(q.text.clone());
    notes.title = (!q.text.is_empty()).then(|| q.text.clone());
    notes.flash("info", format!("added {}", q.text))?;
    Ok(HttpResponse::Ok().finish())
}

/// Clears the title: its entry must leave the session.
#[with_session]
async fn untitle(mut notes: TypedSession<Notes>) -> Result<HttpResponse, SessionError> {
    notes.title = None;
    notes.save()?;
    Ok(HttpResponse::Ok().finish())
}

async fn fresh(user: FreshLogin<User>) -> String {
    format!("fresh {}", user.0.0)
}

async fn sign_out(req: HttpRequest) -> Result<HttpResponse, SessionError> {
    logout_user(&req, HttpResponse::Ok().finish()).await
}

async fn sign_out_keep(req: HttpRequest) -> Result<HttpResponse, SessionError> {
    logout_user_keep_data(&req, HttpResponse::Ok().finish()).await
}

async fn everywhere(req: HttpRequest) -> Result<HttpResponse, SessionError> {
    logout_everywhere(&req, HttpResponse::Ok().finish()).await
}

/// A middleware that logs out whoever calls `/mw-logout`.
#[with_session]
async fn logout_middleware(
    session: SessionDict,
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if req.path() == "/mw-logout" {
        session.delete();
    }
    next.call(req).await
}

fn notes_app(
    session: Session,
) -> App<
    impl actix_web::dev::ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .wrap(from_fn(logout_middleware))
        .app_data(session)
        .app_data(Login::new(|id: String| async move { Some(User(id)) }))
        .route("/login", web::post().to(sign_in))
        .route("/notes", web::get().to(show))
        .route("/add", web::post().to(add))
        .route("/untitle", web::post().to(untitle))
        .route("/fresh", web::get().to(fresh))
        .route("/logout", web::post().to(sign_out))
        .route("/logout-keep", web::post().to(sign_out_keep))
        .route("/everywhere", web::post().to(everywhere))
        .route("/mw-logout", web::post().to(HttpResponse::Ok))
}

/// An app the story drives: a request in, its status, `Set-Cookie` lines and body out. The
/// notes app is written once per framework (`notes_app` on actix, `axum_notes::app` on
/// axum); the story and its assertions are shared.
trait NotesApp {
    async fn send(
        &self,
        method: &str,
        uri: &str,
        cookies: Option<String>,
    ) -> (u16, Vec<String>, String);
}

/// The actix notes app, as built by `test::init_service`.
struct Actix<S>(S);

impl<S, B> NotesApp for Actix<S>
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    async fn send(
        &self,
        method: &str,
        uri: &str,
        cookies: Option<String>,
    ) -> (u16, Vec<String>, String) {
        let req = match method {
            "POST" => test::TestRequest::post(),
            _ => test::TestRequest::get(),
        }
        .uri(uri);
        let req = match cookies {
            Some(cookies) => req.insert_header((header::COOKIE, cookies)),
            None => req,
        };
        let res = test::call_service(&self.0, req.to_request()).await;
        let status = res.status().as_u16();
        let set_cookies = res
            .headers()
            .get_all(header::SET_COOKIE)
            .map(|value| value.to_str().unwrap().to_owned())
            .collect();
        let body = test::read_body(res).await;
        (
            status,
            set_cookies,
            String::from_utf8_lossy(&body).into_owned(),
        )
    }
}

/// One browser: its jar, and the app.
struct Browser<'a, A> {
    app: &'a A,
    jar: Jar,
}

impl<'a, A: NotesApp> Browser<'a, A> {
    fn new(app: &'a A) -> Self {
        Self {
            app,
            jar: Jar::default(),
        }
    }

    async fn send(&mut self, method: &str, uri: &str) -> (StatusCode, String) {
        let (status, set_cookies, body) =
            self.app.send(method, uri, self.jar.header_for("/")).await;
        for set_cookie in &set_cookies {
            self.jar.store(set_cookie);
        }
        (StatusCode::from_u16(status).unwrap(), body)
    }

    async fn post(&mut self, uri: &str) -> StatusCode {
        self.send("POST", uri).await.0
    }

    async fn get(&mut self, uri: &str) -> (StatusCode, String) {
        self.send("GET", uri).await
    }

    /// Logs `name` in with remember-me, then forgets the session cookie (it expired, or the
    /// browser was closed): only the remember cookie is left.
    async fn remembered_login(&mut self, name: &str) {
        let status = self
            .post(&format!("/login?name={name}&remember=true"))
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "login of {name}");
        self.jar.remove("session");
    }

    /// What a thief holding a copy of this browser's cookies gets from `uri` now.
    fn copy(&self) -> Option<String> {
        self.jar.header_for("/")
    }
}

async fn replay(app: &impl NotesApp, cookies: &Option<String>, uri: &str) -> StatusCode {
    let (status, _, _) = app.send("GET", uri, cookies.clone()).await;
    StatusCode::from_u16(status).unwrap()
}

/// The whole story under `session`. `revocable`: the config has a store, so copies of
/// logged-out cookies must be refused and `logout_everywhere` must work.
async fn notes_story(session: Session, revocable: bool) {
    let app = Actix(test::init_service(notes_app(session.clone())).await);
    story(&app, revocable).await;
    story(&axum_notes::app(session), revocable).await;
}

async fn story(app: &impl NotesApp, revocable: bool) {
    let mut ann = Browser::new(app);

    // A typed save under a login keeps the login, renames its field, flashes once.
    assert_eq!(ann.post("/login?name=ann").await, StatusCode::SEE_OTHER);
    assert_eq!(ann.post("/add?text=milk").await, StatusCode::OK);
    assert_eq!(
        ann.get("/notes").await,
        (
            StatusCode::OK,
            r#"ann ["milk"] Some("milk") ["added milk"]"#.into()
        ),
        "the typed save kept `_user_id`, and the flash shows"
    );
    assert_eq!(
        ann.get("/notes").await.1,
        r#"ann ["milk"] Some("milk") []"#,
        "a flash shows once"
    );
    assert_eq!(
        ann.get("/fresh").await,
        (StatusCode::OK, "fresh ann".into())
    );
    // A field that serializes to nothing removes its entry, and only that one.
    assert_eq!(ann.post("/untitle").await, StatusCode::OK);
    assert_eq!(ann.get("/notes").await.1, r#"ann ["milk"] None []"#);

    // A second user on the same browser sees nothing of the first (Django's rule).
    let before_bob = ann.copy();
    assert_eq!(ann.post("/login?name=bob").await, StatusCode::SEE_OTHER);
    assert_eq!(ann.get("/notes").await.1, "bob [] None []");
    if revocable {
        assert_eq!(
            replay(app, &before_bob, "/notes").await,
            StatusCode::FOUND,
            "the session the login replaced is revoked at once"
        );
    }

    // Logout clears everything; the copy taken before is refused on the very next request.
    assert_eq!(ann.post("/add?text=eggs").await, StatusCode::OK);
    let before_logout = ann.copy();
    assert_eq!(ann.post("/logout").await, StatusCode::OK);
    assert_eq!(ann.get("/notes").await.0, StatusCode::FOUND);
    assert_eq!(ann.post("/login?name=bob").await, StatusCode::SEE_OTHER);
    assert_eq!(
        ann.get("/notes").await.1,
        "bob [] None []",
        "logout_user dropped the notes"
    );
    if revocable {
        assert_eq!(
            replay(app, &before_logout, "/notes").await,
            StatusCode::FOUND
        );
    }

    // `logout_user_keep_data` keeps the app's entries, not the login.
    assert_eq!(ann.post("/add?text=tea").await, StatusCode::OK);
    assert_eq!(ann.post("/logout-keep").await, StatusCode::OK);
    assert_eq!(ann.get("/notes").await.0, StatusCode::FOUND);
    assert_eq!(ann.post("/login?name=bob").await, StatusCode::SEE_OTHER);
    assert_eq!(
        ann.get("/notes").await.1,
        r#"bob ["tea"] Some("tea") ["added tea"]"#,
        "an anonymous session's entries (the flash too) survive the login"
    );

    // A `from_fn` middleware that deletes: the copy is refused at once.
    let before_middleware = ann.copy();
    assert_eq!(ann.post("/mw-logout").await, StatusCode::OK);
    assert_eq!(ann.get("/notes").await.0, StatusCode::FOUND);
    if revocable {
        assert_eq!(
            replay(app, &before_middleware, "/notes").await,
            StatusCode::FOUND
        );
    }

    // Remember-me: a restored login is not fresh, and survives the handler's typed save.
    ann.remembered_login("cyd").await;
    assert_eq!(ann.post("/add?text=jam").await, StatusCode::OK);
    ann.jar.remove("_remember");
    assert_eq!(
        ann.get("/notes").await.1,
        r#"cyd ["jam"] Some("jam") ["added jam"]"#,
        "the restored login was kept by the autosave"
    );
    assert_eq!(ann.get("/fresh").await.0, StatusCode::FOUND);

    // Log out everywhere: every device of the user, at once.
    let mut phone = Browser::new(app);
    let mut laptop = Browser::new(app);
    assert_eq!(
        phone.post("/login?name=dan&remember=true").await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(laptop.post("/login?name=dan").await, StatusCode::SEE_OTHER);
    let phone_copy = phone.copy();
    let status = laptop.post("/everywhere").await;
    if revocable {
        assert_eq!(status, StatusCode::OK);
        assert_eq!(laptop.get("/notes").await.0, StatusCode::FOUND);
        assert_eq!(
            phone.get("/notes").await.0,
            StatusCode::FOUND,
            "the other device"
        );
        assert_eq!(
            replay(app, &phone_copy, "/notes").await,
            StatusCode::FOUND,
            "and its remember cookie"
        );
        // A login right after works.
        assert_eq!(phone.post("/login?name=dan").await, StatusCode::SEE_OTHER);
        assert_eq!(phone.get("/notes").await.0, StatusCode::OK);
    } else {
        assert_eq!(
            status,
            StatusCode::INTERNAL_SERVER_ERROR,
            "no store: nothing could reach the other devices, and it says so"
        );
        assert_eq!(phone.get("/notes").await.0, StatusCode::OK);
    }
}

fn base() -> Session {
    Session::new(SECRET).max_age(Duration::from_secs(3600))
}

/// A `MemoryStore` reachable only through the async paths, as a networked store is.
#[derive(Clone, Default)]
struct AsyncOnly(MemoryStore);

impl RevocationStore for AsyncOnly {
    async fn lookup(&self, jti: &str, user: Option<&str>) -> Result<Lookup, StoreError> {
        actix_web::rt::task::yield_now().await;
        self.0.lookup(jti, user).await
    }
    async fn revoke_token(&self, jti: &str, ttl: Duration) -> Result<(), StoreError> {
        actix_web::rt::task::yield_now().await;
        self.0.revoke_token(jti, ttl).await
    }
    async fn revoke_user(&self, user: &str, at_ms: u64, ttl: Duration) -> Result<(), StoreError> {
        self.0.revoke_user(user, at_ms, ttl).await
    }
}

#[actix_web::test]
async fn without_a_store() {
    notes_story(base(), false).await;
}

#[actix_web::test]
async fn under_a_memory_store() {
    notes_story(base().revocation(MemoryStore::new()), true).await;
}

#[actix_web::test]
async fn under_an_async_only_store() {
    notes_story(base().revocation(AsyncOnly::default()), true).await;
}

#[actix_web::test]
async fn under_redis() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    notes_story(
        base().revocation(RedisStore::open(&redis.url()).unwrap()),
        true,
    )
    .await;
}

#[actix_web::test]
async fn encrypted_under_a_memory_store() {
    notes_story(base().encrypted().revocation(MemoryStore::new()), true).await;
}

/// `Session::apply` cannot wait for a store that must be awaited: a logout through it is
/// refused (a 500, the cookie unchanged and still valid) rather than reported done;
/// `apply_async` does it.
#[actix_web::test]
async fn a_sync_logout_under_an_awaited_store_is_refused_not_faked() {
    async fn sync_logout(req: HttpRequest) -> Result<HttpResponse, SessionError> {
        Session::load_async(&req).await?.delete();
        Ok(Session::apply(&req, HttpResponse::Ok().finish()))
    }
    async fn async_logout(req: HttpRequest) -> Result<HttpResponse, SessionError> {
        Session::load_async(&req).await?.delete();
        Ok(Session::apply_async(&req, HttpResponse::Ok().finish()).await)
    }
    // No `#[with_session]` middleware here: it would settle the logout asynchronously.
    let plain = |session: Session| {
        App::new()
            .app_data(session)
            .app_data(Login::new(|id: String| async move { Some(User(id)) }))
            .route("/login", web::post().to(sign_in))
            .route("/notes", web::get().to(show))
            .route("/sync-logout", web::post().to(sync_logout))
            .route("/async-logout", web::post().to(async_logout))
    };
    let app = Actix(test::init_service(plain(base().revocation(AsyncOnly::default()))).await);
    let mut ann = Browser::new(&app);
    assert_eq!(ann.post("/login?name=ann").await, StatusCode::SEE_OTHER);
    let copy = ann.copy();
    let res = test::call_service(
        &app.0,
        test::TestRequest::post()
            .uri("/sync-logout")
            .insert_header((header::COOKIE, copy.clone().unwrap()))
            .to_request(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        res.headers().get(header::SET_COOKIE).is_none(),
        "no cookie change"
    );
    assert_eq!(
        replay(&app, &copy, "/notes").await,
        StatusCode::OK,
        "not logged out"
    );

    assert_eq!(ann.post("/async-logout").await, StatusCode::OK);
    assert_eq!(replay(&app, &copy, "/notes").await, StatusCode::FOUND);

    // Under a store that records at once, the sync path works.
    let memory_app = Actix(test::init_service(plain(base().revocation(MemoryStore::new()))).await);
    let mut bob = Browser::new(&memory_app);
    assert_eq!(bob.post("/login?name=bob").await, StatusCode::SEE_OTHER);
    let copy = bob.copy();
    assert_eq!(bob.post("/sync-logout").await, StatusCode::OK);
    assert_eq!(
        replay(&memory_app, &copy, "/notes").await,
        StatusCode::FOUND
    );
}

/// How `TypedSession` claims its entries: by serde's field names (rename and alias
/// included), keeping every other entry; a map owns only what it serializes.
#[actix_web::test]
async fn a_typed_session_is_a_view() {
    #[derive(Serialize, Deserialize, Default)]
    #[serde(default)]
    struct Prefs {
        #[serde(rename = "theme_name", alias = "theme")]
        theme: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        lang: Option<String>,
    }
    #[with_session]
    async fn set_prefs(mut prefs: TypedSession<Prefs>) -> Result<HttpResponse, SessionError> {
        prefs.theme = "dark".into();
        prefs.lang = None;
        prefs.save()?;
        Ok(HttpResponse::Ok().finish())
    }
    #[with_session]
    async fn set_map(
        mut map: TypedSession<std::collections::BTreeMap<String, String>>,
    ) -> Result<HttpResponse, SessionError> {
        map.insert("k".into(), "v".into());
        map.save()?;
        Ok(HttpResponse::Ok().finish())
    }
    let session = Session::new(SECRET);
    let app = Actix(
        test::init_service(
            App::new()
                .app_data(session.clone())
                .route("/prefs", web::post().to(set_prefs))
                .route("/map", web::post().to(set_map)),
        )
        .await,
    );
    let cookie = session
        .test_cookie(&serde_json::json!({
            "_user_id": "ann", "_fresh": true, "theme": "light", "lang": "fr", "cart": [1, 2]
        }))
        .unwrap();
    let saved = |uri: &'static str| {
        let cookie = cookie.clone();
        let session = session.clone();
        let app = &app.0;
        async move {
            let req = test::TestRequest::post()
                .uri(uri)
                .cookie(cookie)
                .to_request();
            let res = test::call_service(app, req).await;
            match session.session_set_by(res.response()) {
                jwt_session::test::ResponseSession::Saved(map) => serde_json::Value::Object(map),
                other => panic!("{other:?}"),
            }
        }
    };
    assert_eq!(
        saved("/prefs").await,
        serde_json::json!({"_user_id": "ann", "_fresh": true, "theme_name": "dark", "cart": [1, 2]}),
        "the renamed field replaced its alias, `None` removed `lang`, the rest is kept"
    );
    // A map reads every entry it can (strings) and owns only what it writes back.
    assert_eq!(
        saved("/map").await,
        serde_json::json!({
            "_user_id": "ann", "_fresh": true, "theme": "light", "lang": "fr", "cart": [1, 2], "k": "v"
        }),
    );
}

/// The new-user flow of the README, end to end: log in, add a note, see the flash once,
/// reach the fresh-login page, log out everywhere, and an idle session expiring on the
/// test clock (past the idle timeout and the default 30 s leeway).
#[actix_web::test]
async fn the_new_user_flow_with_an_idle_timeout() {
    use jwt_session::test::TestClock;

    let clock = TestClock::new();
    let session = Session::new(SECRET)
        .idle_timeout(Duration::from_secs(600))
        .absolute_timeout(Duration::from_secs(8 * 3600))
        .revocation(MemoryStore::new())
        .clock(clock.clone());
    let app = Actix(test::init_service(notes_app(session)).await);
    let mut ann = Browser::new(&app);
    assert_eq!(ann.post("/login?name=ann").await, StatusCode::SEE_OTHER);
    assert_eq!(ann.post("/add?text=milk").await, StatusCode::OK);
    assert!(ann.get("/notes").await.1.ends_with(r#"["added milk"]"#));
    assert!(ann.get("/notes").await.1.ends_with("[]"));
    assert_eq!(ann.get("/fresh").await.0, StatusCode::OK);

    // Active use keeps the session alive: each visit past half the window re-issues it.
    for _ in 0..3 {
        clock.advance(Duration::from_secs(400));
        assert_eq!(ann.get("/notes").await.0, StatusCode::OK);
    }
    // Idle past the timeout and the leeway: logged out.
    clock.advance(Duration::from_secs(600 + 31));
    assert_eq!(ann.get("/notes").await.0, StatusCode::FOUND);

    assert_eq!(ann.post("/login?name=ann").await, StatusCode::SEE_OTHER);
    assert_eq!(ann.post("/everywhere").await, StatusCode::OK);
    assert_eq!(ann.get("/notes").await.0, StatusCode::FOUND);
}

/// A session cookie is never a remember cookie: one holding Microdot's `user_id` and `days`
/// (and an `exp`, from the config's `max_age`) is refused as `_remember` by default, as
/// it carries no purpose marker; Microdot's own shape is honoured only when the `Login`
/// accepts it, and even then not next to anything else.
#[actix_web::test]
async fn a_session_cannot_pass_for_a_remember_cookie() {
    let session = base();
    let strict = test::init_service(notes_app(session.clone())).await;
    let microdot = Login::new(|id: String| async move { Some(User(id)) })
        .accept_microdot_remember_cookies(true);
    let lenient = test::init_service(notes_app(session.clone()).app_data(microdot)).await;
    let remember_with = |claims: serde_json::Value| {
        let token = session.test_cookie(&claims).unwrap().value().to_owned();
        assert!(parts_of(&token).1["exp"].is_u64(), "a session with an exp");
        test::TestRequest::get()
            .uri("/notes")
            .insert_header((header::COOKIE, format!("_remember={token}")))
    };
    async fn status<S, B>(app: &S, req: test::TestRequest) -> StatusCode
    where
        S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    {
        test::call_service(app, req.to_request()).await.status()
    }
    let microdot_shape = serde_json::json!({"user_id": "ann", "days": 30});
    assert_eq!(
        status(&strict, remember_with(microdot_shape.clone())).await,
        StatusCode::FOUND,
        "by default a remember cookie needs the purpose marker"
    );
    assert_eq!(
        status(&lenient, remember_with(microdot_shape)).await,
        StatusCode::OK,
        "Microdot's remember token shape, when accepted"
    );
    for (claims, what) in [
        (
            serde_json::json!({"user_id": "ann", "days": 30, "cart": [1]}),
            "a session with extra entries",
        ),
        (
            serde_json::json!({"user_id": "ann", "days": 30, "_user_id": "ann"}),
            "a logged-in session that also holds user_id and days",
        ),
    ] {
        for app in [&strict, &lenient] {
            assert_eq!(
                status(app, remember_with(claims.clone())).await,
                StatusCode::FOUND,
                "{what}"
            );
        }
    }
}

/// A load after a login was restored from the remember cookie, in the same request, sees
/// the restored login.
#[actix_web::test]
async fn a_second_load_sees_a_restored_login() {
    async fn who(
        req: HttpRequest,
        user: jwt_session::login::CurrentUser<User>,
    ) -> Result<String, SessionError> {
        let dict = Session::load_async(&req).await?;
        Ok(format!(
            "{:?} {:?}",
            user.0.map(|user| user.0),
            dict.get::<String>("_user_id")?
        ))
    }
    let app = Actix(
        test::init_service(
            App::new()
                .app_data(base())
                .app_data(Login::new(|id: String| async move { Some(User(id)) }))
                .route("/login", web::post().to(sign_in))
                .route("/who", web::get().to(who)),
        )
        .await,
    );
    let mut ann = Browser::new(&app);
    ann.remembered_login("ann").await;
    assert_eq!(ann.get("/who").await.1, r#"Some("ann") Some("ann")"#);
}

// ------------------------------------------------ a review's findings (one test each)

/// After a logout in the handler, a handle loaded before can't save the old session back
/// (`SessionReplaced`), and a handle loaded after builds on the logged-out session: a
/// "logged out" flash carries no login.
#[actix_web::test]
async fn a_save_after_logout_cannot_bring_the_login_back() {
    #[with_session]
    async fn out_then_stale_save(
        req: HttpRequest,
        session: SessionDict,
    ) -> Result<HttpResponse, SessionError> {
        let response = logout_user(&req, HttpResponse::Ok().finish()).await?;
        session.save()?;
        Ok(response)
    }
    async fn out_then_flash(req: HttpRequest) -> Result<HttpResponse, SessionError> {
        let response = logout_user(&req, HttpResponse::Ok().finish()).await?;
        let mut page = Session::load_typed_async::<Notes>(&req).await?;
        page.flash("info", "logged out")?;
        Ok(Session::apply_async(&req, response).await)
    }
    let session = base().revocation(MemoryStore::new());
    let app = Actix(
        test::init_service(
            notes_app(session.clone())
                .route("/out-stale", web::post().to(out_then_stale_save))
                .route("/out-flash", web::post().to(out_then_flash)),
        )
        .await,
    );
    let mut ann = Browser::new(&app);
    assert_eq!(ann.post("/login?name=ann").await, StatusCode::SEE_OTHER);
    let copy = ann.copy();
    assert_eq!(
        ann.post("/out-stale").await,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert_eq!(
        replay(&app, &copy, "/notes").await,
        StatusCode::FOUND,
        "still logged out"
    );

    assert_eq!(ann.post("/login?name=ann").await, StatusCode::SEE_OTHER);
    let req = test::TestRequest::post()
        .uri("/out-flash")
        .insert_header((header::COOKIE, ann.copy().unwrap()));
    let res = test::call_service(&app.0, req.to_request()).await;
    assert_eq!(res.status(), StatusCode::OK);
    let jwt_session::test::ResponseSession::Saved(saved) = session.session_set_by(res.response())
    else {
        panic!("the flash is saved");
    };
    assert_eq!(
        serde_json::Value::Object(saved),
        serde_json::json!({"_flashes": [["info", "logged out"]], "notes": []}),
        "no `_user_id`: the flash builds on the logged-out session"
    );
}

/// A login restored from A's remember cookie, then `login_user` for B, then a fresh load
/// and a flash: the browser is B's.
#[actix_web::test]
async fn a_save_after_login_builds_on_the_new_user() {
    async fn switch(
        req: HttpRequest,
        current: jwt_session::login::CurrentUser<User>,
    ) -> Result<HttpResponse, SessionError> {
        assert_eq!(current.0.map(|user| user.0).as_deref(), Some("ann"));
        let response = login_user(&req, &User("bob".into()), Remember::No).await?;
        let mut page = Session::load_typed_async::<Notes>(&req).await?;
        page.flash("info", "welcome")?;
        Ok(Session::apply_async(&req, response).await)
    }
    let app = Actix(
        test::init_service(
            notes_app(base().revocation(MemoryStore::new()))
                .route("/switch", web::post().to(switch)),
        )
        .await,
    );
    let mut browser = Browser::new(&app);
    browser.remembered_login("ann").await;
    assert_eq!(browser.post("/switch").await, StatusCode::SEE_OTHER);
    assert_eq!(browser.get("/notes").await.1, r#"bob [] None ["welcome"]"#);
}

/// A restored login keeps only what it added: an entry the handler removes stays removed.
#[actix_web::test]
async fn a_restored_login_does_not_undo_the_handlers_removals() {
    #[with_session]
    async fn consume(
        _user: LoggedIn<User>,
        mut session: SessionDict,
    ) -> Result<HttpResponse, SessionError> {
        let state = session.remove("oauth_state");
        session.save()?;
        Ok(HttpResponse::Ok().body(format!("{state:?}")))
    }
    #[with_session]
    async fn plant(mut session: SessionDict) -> Result<HttpResponse, SessionError> {
        session.insert("oauth_state", "once")?;
        session.save()?;
        Ok(HttpResponse::Ok().finish())
    }
    let app = Actix(
        test::init_service(
            notes_app(base())
                .route("/plant", web::post().to(plant))
                .route("/consume", web::post().to(consume)),
        )
        .await,
    );
    let mut browser = Browser::new(&app);
    assert_eq!(
        browser.post("/login?name=ann&remember=true").await,
        StatusCode::SEE_OTHER
    );
    // The session expires; an anonymous one holds the one-time state.
    browser.jar.remove("session");
    assert_eq!(browser.post("/plant").await, StatusCode::OK);
    let (_, first) = browser.send("POST", "/consume").await;
    assert_eq!(first, r#"Some(String("once"))"#);
    let (status, second) = browser.send("POST", "/consume").await;
    assert_eq!(
        (status, second.as_str()),
        (StatusCode::OK, "None"),
        "consumed, still logged in"
    );
}

/// `logout_everywhere` revokes the user as the config's `user_claim` names them, and
/// reaches a login kept only by the remember cookie.
#[actix_web::test]
async fn logout_everywhere_follows_the_user_claim_and_the_remember_cookie() {
    // A custom claim: the app keeps its user under `username` too.
    #[with_session]
    async fn name_me(
        user: LoggedIn<User>,
        mut session: SessionDict,
    ) -> Result<HttpResponse, SessionError> {
        // Not the login's id, so only the claim can find it.
        session.insert("username", format!("{}@example.org", user.0.0))?;
        session.save()?;
        Ok(HttpResponse::Ok().finish())
    }
    let custom = base().revocation(MemoryStore::new()).user_claim("username");
    let app = Actix(
        test::init_service(notes_app(custom).route("/name-me", web::post().to(name_me))).await,
    );
    let (mut phone, mut laptop) = (Browser::new(&app), Browser::new(&app));
    for device in [&mut phone, &mut laptop] {
        assert_eq!(device.post("/login?name=ann").await, StatusCode::SEE_OTHER);
        assert_eq!(device.post("/name-me").await, StatusCode::OK);
    }
    assert_eq!(laptop.post("/everywhere").await, StatusCode::OK);
    assert_eq!(
        phone.get("/notes").await.0,
        StatusCode::FOUND,
        "revoked by `username`"
    );

    // Only the remember cookie is left on the device that logs out everywhere.
    let app = Actix(test::init_service(notes_app(base().revocation(MemoryStore::new()))).await);
    let (mut phone, mut laptop) = (Browser::new(&app), Browser::new(&app));
    assert_eq!(phone.post("/login?name=dan").await, StatusCode::SEE_OTHER);
    laptop.remembered_login("dan").await;
    assert_eq!(laptop.post("/everywhere").await, StatusCode::OK);
    assert_eq!(phone.get("/notes").await.0, StatusCode::FOUND);
}

/// With a `__Host-` session cookie, the remember cookie is `__Host-remember`.
#[actix_web::test]
async fn the_remember_cookie_takes_the_session_cookies_prefix() {
    let app = Actix(test::init_service(notes_app(base().cookie_name("__Host-session"))).await);
    let res = test::call_service(
        &app.0,
        test::TestRequest::post()
            .uri("/login?name=ann&remember=true")
            .to_request(),
    )
    .await;
    let names: Vec<String> = res
        .response()
        .cookies()
        .map(|cookie| cookie.name().to_owned())
        .collect();
    assert_eq!(names, ["__Host-session", "__Host-remember"]);
    let mut browser = Browser::new(&app);
    browser.jar.update_from(res.headers());
    browser.jar.remove("__Host-session");
    assert_eq!(
        browser.get("/notes").await.0,
        StatusCode::OK,
        "restored from it"
    );
}

/// A `TypedSession` with `#[serde(flatten)]` owns what it loaded: clearing a field removes
/// its entry, and the login stays.
#[actix_web::test]
async fn a_flatten_typed_session_can_remove_an_entry() {
    #[derive(Serialize, Deserialize, Default)]
    struct Loose {
        #[serde(skip_serializing_if = "Option::is_none")]
        coupon: Option<String>,
        #[serde(flatten)]
        rest: serde_json::Map<String, serde_json::Value>,
    }
    #[with_session]
    async fn drop_coupon(mut loose: TypedSession<Loose>) -> Result<HttpResponse, SessionError> {
        loose.coupon = None;
        loose.save()?;
        Ok(HttpResponse::Ok().finish())
    }
    let session = base();
    let app =
        test::init_service(notes_app(session.clone()).route("/drop", web::post().to(drop_coupon)))
            .await;
    let cookie = session
        .test_cookie(&serde_json::json!({"_user_id": "ann", "_fresh": true, "coupon": "X"}))
        .unwrap();
    let res = test::call_service(
        &app,
        test::TestRequest::post()
            .uri("/drop")
            .cookie(cookie)
            .to_request(),
    )
    .await;
    let jwt_session::test::ResponseSession::Saved(saved) = session.session_set_by(res.response())
    else {
        panic!("saved");
    };
    assert_eq!(
        serde_json::Value::Object(saved),
        serde_json::json!({"_user_id": "ann", "_fresh": true})
    );
}

/// Two configs sharing a key (users and admins) cannot restore each other's logins from the
/// remember cookie: its purpose names the session cookie it belongs to.
#[actix_web::test]
async fn a_remember_cookie_is_bound_to_its_config() {
    let users = test::init_service(notes_app(base())).await;
    let res = test::call_service(
        &users,
        test::TestRequest::post()
            .uri("/login?name=ann&remember=true")
            .to_request(),
    )
    .await;
    let remember = res
        .response()
        .cookies()
        .find(|cookie| cookie.name() == "_remember")
        .unwrap()
        .value()
        .to_owned();
    let admins = test::init_service(notes_app(base().cookie_name("admin_session"))).await;
    let with_remember = || {
        test::TestRequest::get()
            .uri("/notes")
            .insert_header((header::COOKIE, format!("_remember={remember}")))
            .to_request()
    };
    assert_eq!(
        test::call_service(&users, with_remember()).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        test::call_service(&admins, with_remember()).await.status(),
        StatusCode::FOUND,
        "another config's remember cookie restores no one"
    );
}

/// Remember cookies carry the user's `revoke_user` generation too: a `revoke_user` on an
/// instance whose clock is 10 s behind still denies a remember cookie minted just before
/// on the instance ahead, and a remember login right after works on both.
#[actix_web::test]
async fn revoke_user_reaches_remember_cookies_across_clock_skew() {
    use jwt_session::test::TestClock;

    let store = MemoryStore::new();
    let now = std::time::SystemTime::now();
    let instance = |clock: TestClock| base().revocation(store.clone()).clock(clock);
    let ahead = instance(TestClock::at(now + Duration::from_secs(10)));
    let behind = instance(TestClock::at(now));
    let a = Actix(test::init_service(notes_app(ahead)).await);
    let b = Actix(test::init_service(notes_app(behind.clone())).await);

    let mut browser = Browser::new(&a);
    browser.remembered_login("ann").await;
    let remembered = browser.copy();
    assert_eq!(replay(&b, &remembered, "/notes").await, StatusCode::OK);

    behind.revoke_user("ann").await.unwrap();
    assert_eq!(replay(&a, &remembered, "/notes").await, StatusCode::FOUND);
    assert_eq!(replay(&b, &remembered, "/notes").await, StatusCode::FOUND);

    let mut again = Browser::new(&a);
    again.remembered_login("ann").await;
    assert_eq!(
        replay(&b, &again.copy(), "/notes").await,
        StatusCode::OK,
        "a login after"
    );
}

/// Issue 25, finding 1: instance A runs 10 s ahead of B. A login with remember-me on A,
/// restored on B from the remember cookie alone, then `revoke_user` on B: the restored
/// session (not only the remember cookie) is refused on both instances, since it carries
/// the remember cookie's `revoke_user` generation.
#[actix_web::test]
async fn revoke_user_reaches_a_login_restored_across_clock_skew() {
    use jwt_session::test::TestClock;

    let store = MemoryStore::new();
    let now = std::time::SystemTime::now();
    let instance = |clock: TestClock| base().revocation(store.clone()).clock(clock);
    let ahead = instance(TestClock::at(now + Duration::from_secs(10)));
    let behind = instance(TestClock::at(now));
    let a = Actix(test::init_service(notes_app(ahead)).await);
    let b = Actix(test::init_service(notes_app(behind.clone())).await);

    let mut on_a = Browser::new(&a);
    on_a.remembered_login("ann").await;
    let mut on_b = Browser::new(&b);
    on_b.jar = on_a.jar.clone();
    assert_eq!(on_b.get("/notes").await.0, StatusCode::OK, "restored on B");
    on_b.jar.remove("_remember");
    let restored = on_b.copy();
    assert!(
        restored
            .as_deref()
            .is_some_and(|c| c.starts_with("session=")),
        "{restored:?}"
    );
    assert_eq!(replay(&a, &restored, "/notes").await, StatusCode::OK);

    behind.revoke_user("ann").await.unwrap();
    assert_eq!(replay(&b, &restored, "/notes").await, StatusCode::FOUND);
    assert_eq!(replay(&a, &restored, "/notes").await, StatusCode::FOUND);
}

/// Issue 25, finding 3: a request restores a login from the remember cookie, and while its
/// user loader waits, a second request from the same browser logs out. The logout wins:
/// the first request sets no session, and what it would have restored is refused.
#[actix_web::test]
async fn a_logout_during_a_remember_restore_wins() {
    use std::rc::Rc;
    use std::sync::Arc;
    use tokio::sync::Notify;

    let entered = Arc::new(Notify::new());
    let gate = Arc::new(Notify::new());
    let loader = {
        let (entered, gate) = (Arc::clone(&entered), Arc::clone(&gate));
        move |id: String| {
            let (entered, gate) = (Arc::clone(&entered), Arc::clone(&gate));
            async move {
                entered.notify_one();
                gate.notified().await;
                Some(User(id))
            }
        }
    };
    let session = base().revocation(MemoryStore::new());
    let app = Rc::new(
        test::init_service(
            App::new()
                .app_data(session.clone())
                .app_data(Login::new(loader))
                .route("/login", web::post().to(sign_in))
                .route("/notes", web::get().to(show))
                .route("/logout", web::post().to(sign_out)),
        )
        .await,
    );
    // Log in (the loader is not called by a login), keep only the remember cookie.
    let res = test::call_service(
        &*app,
        test::TestRequest::post()
            .uri("/login?name=ann&remember=true")
            .to_request(),
    )
    .await;
    let mut jar = Jar::default();
    jar.update_from(res.headers());
    jar.remove("session");
    let remember = jar.header_for("/");

    let restoring = actix_web::rt::spawn({
        let (app, remember) = (Rc::clone(&app), remember.clone());
        async move {
            let req = test::TestRequest::get()
                .uri("/notes")
                .insert_header((header::COOKIE, remember.unwrap()));
            let res = test::call_service(&*app, req.to_request()).await;
            let set_cookies: Vec<String> = res
                .headers()
                .get_all(header::SET_COOKIE)
                .map(|v| v.to_str().unwrap().to_owned())
                .collect();
            (res.status(), set_cookies)
        }
    });
    entered.notified().await;
    let logout = test::TestRequest::post()
        .uri("/logout")
        .insert_header((header::COOKIE, remember.clone().unwrap()));
    let res = test::call_service(&*app, logout.to_request()).await;
    assert_eq!(res.status(), StatusCode::OK);
    gate.notify_one();

    let (status, set_cookies) = restoring.await.unwrap();
    assert_eq!(status, StatusCode::FOUND, "the restore lost to the logout");
    assert!(
        !set_cookies.iter().any(|c| c.starts_with("session=ey")),
        "no restored session is set: {set_cookies:?}"
    );
    let replayed = test::TestRequest::get()
        .uri("/notes")
        .insert_header((header::COOKIE, remember.unwrap()));
    assert_eq!(
        test::call_service(&*app, replayed.to_request())
            .await
            .status(),
        StatusCode::FOUND,
        "the remember cookie is revoked"
    );
}

/// The notes app again, on axum: the same routes, users and behaviour, written with
/// axum's extractors and the same library types.
mod axum_notes {
    use axum::Router;
    use axum::body::Body;
    use axum::extract::{Query, Request};
    use axum::middleware::{Next, from_fn};
    use axum::response::{IntoResponse, Response};
    use axum::routing::{get, post};
    use jwt_session::axum::{LoginSession, SessionLayer};
    use jwt_session::login::{FreshLogin, LoggedIn, Login, Remember};
    use jwt_session::{Session, SessionDict, SessionError, TypedSession};
    use tower::ServiceExt;

    use super::{Notes, NotesApp, Query as Params, User};

    async fn sign_in(logins: LoginSession<User>, q: Query<Params>) -> Response {
        let user = User(q.name.clone());
        logins
            .login_user(&user, Remember::from(q.remember))
            .await
            .into_response()
    }

    async fn show(
        user: LoggedIn<User>,
        mut notes: TypedSession<Notes>,
    ) -> Result<String, SessionError> {
        let flashes: Vec<String> = notes
            .take_flashes()?
            .into_iter()
            .map(|flash| flash.message)
            .collect();
        Ok(format!(
            "{} {:?} {:?} {:?}",
            user.0.0, notes.notes, notes.title, flashes
        ))
    }

    async fn add(
        _user: LoggedIn<User>,
        q: Query<Params>,
        mut notes: TypedSession<Notes>,
    ) -> Result<(), SessionError> {
        notes.notes.push(q.text.clone());
        notes.title = (!q.text.is_empty()).then(|| q.text.clone());
        notes.flash("info", format!("added {}", q.text))?;
        notes.save()
    }

    async fn untitle(mut notes: TypedSession<Notes>) -> Result<(), SessionError> {
        notes.title = None;
        notes.save()
    }

    async fn fresh(user: FreshLogin<User>) -> String {
        format!("fresh {}", user.0.0)
    }

    async fn sign_out(logins: LoginSession<User>) -> Response {
        logins.logout_user(()).await.into_response()
    }

    async fn sign_out_keep(logins: LoginSession<User>) -> Response {
        logins.logout_user_keep_data(()).await.into_response()
    }

    async fn everywhere(logins: LoginSession<User>) -> Response {
        logins.logout_everywhere(()).await.into_response()
    }

    /// A middleware that logs out whoever calls `/mw-logout`.
    async fn logout_middleware(session: SessionDict, request: Request, next: Next) -> Response {
        if request.uri().path() == "/mw-logout" {
            session.delete();
        }
        next.run(request).await
    }

    pub(super) fn app(session: Session) -> Router {
        Router::new()
            .route("/login", post(sign_in))
            .route("/notes", get(show))
            .route("/add", post(add))
            .route("/untitle", post(untitle))
            .route("/fresh", get(fresh))
            .route("/logout", post(sign_out))
            .route("/logout-keep", post(sign_out_keep))
            .route("/everywhere", post(everywhere))
            .route("/mw-logout", post(|| async {}))
            .layer(from_fn(logout_middleware))
            .layer(axum::Extension(Login::new_send(|id: String| async move {
                Some(User(id))
            })))
            .layer(SessionLayer::new(session))
    }

    impl NotesApp for Router {
        async fn send(
            &self,
            method: &str,
            uri: &str,
            cookies: Option<String>,
        ) -> (u16, Vec<String>, String) {
            let mut request = axum::http::Request::builder().method(method).uri(uri);
            if let Some(cookies) = cookies {
                request = request.header("cookie", cookies);
            }
            let response = self
                .clone()
                .oneshot(request.body(Body::empty()).unwrap())
                .await
                .unwrap();
            let status = response.status().as_u16();
            let set_cookies = response
                .headers()
                .get_all("set-cookie")
                .iter()
                .map(|value| value.to_str().unwrap().to_owned())
                .collect();
            let body = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .unwrap();
            (
                status,
                set_cookies,
                String::from_utf8_lossy(&body).into_owned(),
            )
        }
    }
}

/// A login made on one framework is honoured by the other sharing the secret and the store:
/// the session cookie, the remember cookie alone, and a logout's revocation, both ways,
/// signed and encrypted.
#[actix_web::test]
async fn logins_cross_between_actix_and_axum() {
    for config in [
        base().revocation(MemoryStore::new()),
        base().encrypted().revocation(MemoryStore::new()),
    ] {
        let actix = Actix(test::init_service(notes_app(config.clone())).await);
        let axum = axum_notes::app(config);
        let apps: [(&dyn CrossApp, &dyn CrossApp); 2] = [(&actix, &axum), (&axum, &actix)];
        for (on, other) in apps {
            cross_login(on, other).await;
        }
    }
}

/// What a [`NotesApp`] answers: status, `Set-Cookie` lines, body.
type Answer<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = (u16, Vec<String>, String)> + 'a>>;

/// [`NotesApp`] as an object, so the two frameworks' apps fit one loop.
trait CrossApp {
    fn send_boxed<'a>(
        &'a self,
        method: &'a str,
        uri: &'a str,
        cookies: Option<String>,
    ) -> Answer<'a>;
}

impl<A: NotesApp> CrossApp for A {
    fn send_boxed<'a>(
        &'a self,
        method: &'a str,
        uri: &'a str,
        cookies: Option<String>,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = (u16, Vec<String>, String)> + 'a>> {
        Box::pin(self.send(method, uri, cookies))
    }
}

impl NotesApp for &dyn CrossApp {
    async fn send(
        &self,
        method: &str,
        uri: &str,
        cookies: Option<String>,
    ) -> (u16, Vec<String>, String) {
        (**self).send_boxed(method, uri, cookies).await
    }
}

async fn cross_login(on: &dyn CrossApp, other: &dyn CrossApp) {
    let mut browser = Browser::new(&on);
    let status = browser.post("/login?name=ann&remember=true").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(browser.post("/add?text=milk").await, StatusCode::OK);
    let mut there = Browser::new(&other);
    there.jar = browser.jar.clone();
    assert_eq!(
        there.get("/notes").await,
        (
            StatusCode::OK,
            r#"ann ["milk"] Some("milk") ["added milk"]"#.into()
        ),
        "the other framework reads the session, and its flash"
    );
    assert_eq!(there.get("/fresh").await.0, StatusCode::OK, "still fresh");
    // The remember cookie alone restores the login on the other framework, not fresh.
    there.jar.remove("session");
    assert_eq!(there.get("/notes").await.0, StatusCode::OK);
    assert_eq!(there.get("/fresh").await.0, StatusCode::FOUND);
    // A logout on the other framework is honoured by the first: the cookies it revoked (the
    // restored session and the remember cookie, which the first one issued) are refused.
    let before = there.copy();
    assert_eq!(replay(&on, &before, "/notes").await, StatusCode::OK);
    assert_eq!(there.post("/logout").await, StatusCode::OK);
    assert_eq!(replay(&on, &before, "/notes").await, StatusCode::FOUND);
}
