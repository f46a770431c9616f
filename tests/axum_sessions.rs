//! The axum adapter over real `Router`s (tower's `oneshot`): the session behaviours the
//! actix suite checks, and cookies that cross between an actix app and an axum app.

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, Response, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use jwt_session::axum::SessionLayer;
use jwt_session::revocation::{Lookup, MemoryStore, RevocationStore, StoreError};
use jwt_session::{Session, SessionDict, SessionError, TypedSession};
use serde::{Deserialize, Serialize};
use tower::ServiceExt;

#[path = "../examples/axum_counter.rs"]
mod axum_counter;

const SECRET: &str = "test secret: at least thirty-two bytes long";

#[derive(Default, Serialize, Deserialize)]
struct Counter {
    n: u64,
}

async fn count(mut session: SessionDict) -> Result<String, SessionError> {
    let n = session.get::<u64>("n")?.unwrap_or(0) + 1;
    session.insert("n", n)?;
    session.save()?;
    Ok(n.to_string())
}

async fn read(session: SessionDict) -> Result<String, SessionError> {
    Ok(session.get::<u64>("n")?.unwrap_or(0).to_string())
}

async fn delete(session: SessionDict) -> &'static str {
    session.delete();
    "bye"
}

async fn renew(mut session: SessionDict) -> Result<&'static str, SessionError> {
    session.renew();
    session.save()?;
    Ok("renewed")
}

async fn save_then_delete(mut session: SessionDict) -> Result<&'static str, SessionError> {
    session.insert("n", 99)?;
    session.save()?;
    session.delete();
    Ok("deleted")
}

async fn delete_then_save(mut session: SessionDict) -> Result<&'static str, SessionError> {
    session.delete();
    session.insert("n", 7)?;
    session.save()?;
    Ok("saved")
}

async fn typed(mut counter: TypedSession<Counter>) -> Result<String, SessionError> {
    counter.n += 1;
    counter.save()?;
    Ok(counter.n.to_string())
}

/// Three extractors of one request: one state, whichever saves last.
async fn three(
    first: SessionDict,
    mut counter: TypedSession<Counter>,
    second: SessionDict,
) -> Result<String, SessionError> {
    let seen = (first.get::<u64>("n")?, second.get::<u64>("n")?);
    counter.n += 10;
    counter.save()?;
    Ok(format!("{seen:?} {}", counter.n))
}

async fn flash(mut counter: TypedSession<Counter>) -> Result<&'static str, SessionError> {
    counter.flash("info", "hello")?;
    Ok("flashed")
}

async fn flashes(mut counter: TypedSession<Counter>) -> Result<String, SessionError> {
    let taken = counter.take_flashes()?;
    let texts: Vec<String> = taken
        .iter()
        .map(|f| format!("{}:{}", f.category, f.message))
        .collect();
    Ok(texts.join(","))
}

async fn fail(mut session: SessionDict) -> Result<StatusCode, SessionError> {
    session.insert("n", 1)?;
    session.save()?;
    Ok(StatusCode::INTERNAL_SERVER_ERROR)
}

/// The handler sets a session cookie of its own, and another cookie.
async fn own_cookie(mut session: SessionDict) -> Result<Response<Body>, SessionError> {
    session.insert("n", 5)?;
    session.save()?;
    let mut response = "ok".into_response();
    let headers = response.headers_mut();
    headers.append(header::SET_COOKIE, "session=forged".parse().unwrap());
    headers.append(header::SET_COOKIE, "theme=dark".parse().unwrap());
    Ok(response)
}

async fn config(session: Session) -> String {
    format!("{session:?}").len().to_string()
}

fn routes() -> Router {
    Router::new()
        .route("/count", get(count))
        .route("/read", get(read))
        .route("/delete", get(delete))
        .route("/renew", get(renew))
        .route("/save_then_delete", get(save_then_delete))
        .route("/delete_then_save", get(delete_then_save))
        .route("/typed", get(typed))
        .route("/three", get(three))
        .route("/flash", get(flash))
        .route("/flashes", get(flashes))
        .route("/fail", get(fail))
        .route("/own_cookie", get(own_cookie))
        .route("/config", get(config))
        .route("/bare", get(|| async { "bare" }))
}

fn app(session: Session) -> Router {
    routes().layer(SessionLayer::new(session))
}

fn base() -> Session {
    Session::new(SECRET).max_age(Duration::from_secs(3600))
}

/// The response to `GET uri`, with `cookie` (`name=value`) when given.
async fn call(app: &Router, uri: &str, cookie: Option<&str>) -> Response<Body> {
    let mut request = Request::get(uri);
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    let request = request.body(Body::empty()).unwrap();
    app.clone().oneshot(request).await.unwrap()
}

async fn text(response: Response<Body>) -> String {
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// Every `Set-Cookie` of `response`.
fn set_cookies(response: &Response<Body>) -> Vec<String> {
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|value| value.to_str().unwrap().to_owned())
        .collect()
}

/// The `session=...` pair the response sets, if it sets exactly one; panics on more.
fn session_pair(response: &Response<Body>) -> Option<String> {
    let sessions: Vec<String> = set_cookies(response)
        .into_iter()
        .filter(|c| c.starts_with("session="))
        .collect();
    assert!(
        sessions.len() <= 1,
        "more than one session cookie: {sessions:?}"
    );
    sessions
        .first()
        .map(|c| c.split(';').next().unwrap().to_owned())
}

/// `GET uri` and its body and session cookie.
async fn visit(app: &Router, uri: &str, cookie: Option<&str>) -> (String, Option<String>) {
    let response = call(app, uri, cookie).await;
    assert_eq!(response.status(), StatusCode::OK, "{uri}");
    let pair = session_pair(&response);
    (text(response).await, pair)
}

fn is_removal(pair: &str, response_cookies: &[String]) -> bool {
    pair == "session=" && response_cookies.iter().any(|c| c.contains("Max-Age=0"))
}

#[tokio::test]
async fn a_counter_round_trips() {
    let app = app(base());
    let (n, cookie) = visit(&app, "/count", None).await;
    assert_eq!(n, "1");
    let cookie = cookie.expect("a first save sets the cookie");
    let (n, next) = visit(&app, "/count", Some(&cookie)).await;
    assert_eq!(n, "2");
    let (n, _) = visit(&app, "/read", next.as_deref()).await;
    assert_eq!(n, "2");
}

#[tokio::test]
async fn the_counter_example_counts() {
    let app = axum_counter::app(base());
    let (first, cookie) = visit(&app, "/", None).await;
    let (second, _) = visit(&app, "/", cookie.as_deref()).await;
    assert_eq!(first, "You have visited this page 1 times.");
    assert_eq!(second, "You have visited this page 2 times.");
}

#[tokio::test]
async fn an_untouched_session_sets_no_cookie_but_varies_on_cookie() {
    let app = app(base());
    let (_, cookie) = visit(&app, "/count", None).await;
    let response = call(&app, "/read", cookie.as_deref()).await;
    assert!(
        set_cookies(&response).is_empty(),
        "{:?}",
        set_cookies(&response)
    );
    assert_eq!(response.headers()[header::VARY], "Cookie");
    let bare = call(&app, "/bare", cookie.as_deref()).await;
    assert!(set_cookies(&bare).is_empty());
    assert!(
        bare.headers().get(header::VARY).is_none(),
        "no session loaded"
    );
}

#[tokio::test]
async fn a_5xx_changes_no_cookie() {
    let app = app(base());
    let response = call(&app, "/fail", None).await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        set_cookies(&response).is_empty(),
        "{:?}",
        set_cookies(&response)
    );
}

#[tokio::test]
async fn delete_removes_and_the_last_call_wins() {
    let app = app(base());
    let (_, cookie) = visit(&app, "/count", None).await;
    let response = call(&app, "/delete", cookie.as_deref()).await;
    let cookies = set_cookies(&response);
    assert!(
        is_removal(&session_pair(&response).unwrap(), &cookies),
        "{cookies:?}"
    );

    let response = call(&app, "/save_then_delete", cookie.as_deref()).await;
    let cookies = set_cookies(&response);
    assert!(
        is_removal(&session_pair(&response).unwrap(), &cookies),
        "{cookies:?}"
    );

    let (_, saved) = visit(&app, "/delete_then_save", cookie.as_deref()).await;
    let (n, _) = visit(&app, "/read", saved.as_deref()).await;
    assert_eq!(n, "7", "the save after the delete wins");
}

#[tokio::test]
async fn renew_issues_a_new_token_with_the_same_data() {
    let app = app(base().revocation(MemoryStore::new()));
    let (_, old) = visit(&app, "/count", None).await;
    let (_, new) = visit(&app, "/renew", old.as_deref()).await;
    assert_ne!(old, new);
    let (n, _) = visit(&app, "/read", new.as_deref()).await;
    assert_eq!(n, "1", "the data survives a renew");
    let (n, _) = visit(&app, "/read", old.as_deref()).await;
    assert_eq!(n, "0", "a renewed save revokes the old token");
}

#[tokio::test]
async fn typed_views_and_dicts_share_one_state() {
    let app = app(base());
    let (n, cookie) = visit(&app, "/typed", None).await;
    assert_eq!(n, "1");
    let (n, cookie) = visit(&app, "/count", cookie.as_deref()).await;
    assert_eq!(n, "2", "a dict reads what the typed view saved");
    let (seen, cookie) = visit(&app, "/three", cookie.as_deref()).await;
    assert_eq!(seen, "(Some(2), Some(2)) 12");
    let (n, _) = visit(&app, "/read", cookie.as_deref()).await;
    assert_eq!(n, "12");
}

#[tokio::test]
async fn a_flash_is_shown_once() {
    let app = app(base());
    let (_, cookie) = visit(&app, "/flash", None).await;
    let (shown, cookie) = visit(&app, "/flashes", cookie.as_deref()).await;
    assert_eq!(shown, "info:hello");
    let (shown, _) = visit(&app, "/flashes", cookie.as_deref()).await;
    assert_eq!(shown, "", "taken flashes are gone");
}

#[tokio::test]
async fn the_session_replaces_a_handler_set_session_cookie_and_keeps_others() {
    let app = app(base());
    let response = call(&app, "/own_cookie", None).await;
    let cookies = set_cookies(&response);
    assert!(cookies.iter().any(|c| c == "theme=dark"), "{cookies:?}");
    let pair = session_pair(&response).unwrap();
    assert_ne!(pair, "session=forged");
    let (n, _) = visit(&app, "/read", Some(&pair)).await;
    assert_eq!(n, "5");
}

#[tokio::test]
async fn bad_foreign_or_tampered_cookies_give_an_empty_session() {
    let app = app(base());
    let (_, cookie) = visit(&app, "/count", None).await;
    let cookie = cookie.unwrap();
    let mut tampered = cookie.clone().into_bytes();
    let last = tampered.len() - 3;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    let foreign = app_cookie(Session::new("another secret, also thirty-two bytes")).await;
    for bad in [
        "session=garbage",
        "session=",
        "session=a.b.c",
        &tampered,
        &foreign,
    ] {
        let (n, _) = visit(&app, "/read", Some(bad)).await;
        assert_eq!(n, "0", "{bad}");
        let (n, _) = visit(&app, "/count", Some(bad)).await;
        assert_eq!(n, "1", "{bad}");
    }
}

/// A session cookie saved by an axum app under `session`.
async fn app_cookie(session: Session) -> String {
    visit(&app(session), "/count", None).await.1.unwrap()
}

#[tokio::test]
async fn a_route_without_the_layer_names_the_layer_to_add() {
    let response = call(&routes(), "/count", None).await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body = text(response).await;
    assert!(body.contains("SessionLayer::new(session)"), "{body}");
    let response = call(&routes(), "/config", None).await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
}

#[tokio::test]
async fn the_config_is_an_extractor() {
    let (len, cookie) = visit(&app(base()), "/config", None).await;
    assert!(len.parse::<usize>().unwrap() > 0);
    assert_eq!(cookie, None);
}

#[tokio::test]
async fn autosave_keeps_changes_without_save() {
    async fn bump(mut session: SessionDict) -> Result<&'static str, SessionError> {
        session.insert("n", 41)?;
        Ok("changed")
    }
    let without = Router::new().route("/bump", get(bump));
    let (_, cookie) = visit(
        &without.clone().layer(SessionLayer::new(base())),
        "/bump",
        None,
    )
    .await;
    assert_eq!(cookie, None, "no save, no cookie");
    let layer = SessionLayer::new(base()).autosave(true);
    let (_, cookie) = visit(&without.layer(layer), "/bump", None).await;
    let (n, _) = visit(&app(base()), "/read", cookie.as_deref()).await;
    assert_eq!(n, "41");
}

/// A `MemoryStore` reachable only through the async paths, as a networked store is, so
/// the layer's response future must await the revocation.
#[derive(Clone, Default)]
struct AsyncOnly(MemoryStore);

impl RevocationStore for AsyncOnly {
    async fn lookup(&self, jti: &str, user: Option<&str>) -> Result<Lookup, StoreError> {
        tokio::task::yield_now().await;
        self.0.lookup(jti, user).await
    }
    async fn revoke_token(&self, jti: &str, ttl: Duration) -> Result<(), StoreError> {
        tokio::task::yield_now().await;
        self.0.revoke_token(jti, ttl).await
    }
    async fn revoke_user(&self, user: &str, at_ms: u64, ttl: Duration) -> Result<(), StoreError> {
        self.0.revoke_user(user, at_ms, ttl).await
    }
}

async fn delete_revokes_the_token(session: Session) {
    let app = app(session);
    let (_, cookie) = visit(&app, "/count", None).await;
    let (n, _) = visit(&app, "/read", cookie.as_deref()).await;
    assert_eq!(n, "1");
    let response = call(&app, "/delete", cookie.as_deref()).await;
    assert_eq!(response.status(), StatusCode::OK);
    let (n, _) = visit(&app, "/read", cookie.as_deref()).await;
    assert_eq!(n, "0", "a copy of the deleted cookie is refused");
}

#[tokio::test]
async fn delete_revokes_the_token_under_a_memory_store() {
    delete_revokes_the_token(base().revocation(MemoryStore::new())).await;
}

#[tokio::test]
async fn delete_revokes_the_token_under_an_async_store() {
    delete_revokes_the_token(base().revocation(AsyncOnly::default())).await;
}

#[test]
fn the_layer_future_is_send() {
    fn send<T: Send>(_: T) {}
    let request = Request::get("/count").body(Body::empty()).unwrap();
    send(app(base().revocation(AsyncOnly::default())).oneshot(request));
}

/// The actix side of the wire tests: the same routes, with `#[with_session]`.
mod actix_side {
    use actix_web::{App, HttpRequest, HttpResponse, get, test, web};
    use jwt_session::{Session, SessionDict, SessionError, with_session};

    #[get("/count")]
    #[with_session]
    async fn count(mut session: SessionDict) -> Result<HttpResponse, SessionError> {
        let n = session.get::<u64>("n")?.unwrap_or(0) + 1;
        session.insert("n", n)?;
        session.save()?;
        Ok(HttpResponse::Ok().body(n.to_string()))
    }

    #[get("/read")]
    #[with_session]
    async fn read(session: SessionDict) -> Result<HttpResponse, SessionError> {
        let n = session.get::<u64>("n")?.unwrap_or(0);
        Ok(HttpResponse::Ok().body(n.to_string()))
    }

    /// A dict from the attribute, then a typed view and a second dict loaded by hand.
    #[get("/three")]
    #[with_session]
    async fn three(req: HttpRequest, first: SessionDict) -> Result<HttpResponse, SessionError> {
        let mut counter = Session::load_typed::<super::Counter>(&req)?;
        let second = Session::load(&req)?;
        let seen = (first.get::<u64>("n")?, second.get::<u64>("n")?);
        counter.n += 10;
        counter.save()?;
        Ok(HttpResponse::Ok().body(format!("{seen:?} {}", counter.n)))
    }

    /// `GET uri` on an actix app under `session`: its body and session cookie.
    pub async fn visit(
        session: &Session,
        uri: &str,
        cookie: Option<&str>,
    ) -> (String, Option<String>) {
        let app = test::init_service(
            App::new()
                .app_data(session.clone())
                .service(count)
                .service(read)
                .service(three)
                .default_service(web::to(HttpResponse::NotFound)),
        )
        .await;
        let mut request = test::TestRequest::get().uri(uri);
        if let Some(cookie) = cookie {
            request = request.insert_header(("cookie", cookie));
        }
        let response = test::call_service(&app, request.to_request()).await;
        assert!(response.status().is_success(), "{uri}");
        let pair = response
            .headers()
            .get_all("set-cookie")
            .map(|v| v.to_str().unwrap().to_owned())
            .find(|c| c.starts_with("session="))
            .map(|c| c.split(';').next().unwrap().to_owned());
        let body = test::read_body(response).await;
        (String::from_utf8(body.to_vec()).unwrap(), pair)
    }
}

/// actix mints, axum reads and saves, actix reads that back: under `actix` and `axum`, two
/// configs that share the secret and settings (and nothing else, not even a store).
async fn cookies_cross(actix: Session, axum: Session) {
    let axum = app(axum);
    let (_, minted) = actix_side::visit(&actix, "/count", None).await;
    let minted = minted.expect("actix sets the cookie");
    let (n, _) = visit(&axum, "/read", Some(&minted)).await;
    assert_eq!(n, "1", "axum reads actix's cookie");
    let (n, from_axum) = visit(&axum, "/count", Some(&minted)).await;
    assert_eq!(n, "2");
    let (n, _) = actix_side::visit(&actix, "/read", from_axum.as_deref()).await;
    assert_eq!(n, "2", "actix reads axum's cookie");
    let (n, _) = actix_side::visit(&actix, "/count", from_axum.as_deref()).await;
    assert_eq!(n, "3");
}

#[actix_web::test]
async fn signed_cookies_cross_between_actix_and_axum() {
    cookies_cross(base(), base()).await;
}

#[actix_web::test]
async fn encrypted_cookies_cross_between_actix_and_axum() {
    cookies_cross(base().encrypted(), base().encrypted()).await;
}

#[actix_web::test]
async fn cookies_cross_with_a_memory_store_on_each_side() {
    cookies_cross(
        base().revocation(MemoryStore::new()),
        base().revocation(MemoryStore::new()),
    )
    .await;
}

#[actix_web::test]
async fn an_encrypted_cookie_is_not_read_as_a_signed_one_across_frameworks() {
    let (_, minted) = actix_side::visit(&base().encrypted(), "/count", None).await;
    let (n, _) = visit(&app(base()), "/read", minted.as_deref()).await;
    assert_eq!(n, "0");
}

/// Each token is verified once per request however many extractors load it, on both
/// frameworks (the counter is per thread; these single-threaded runtimes serve the request
/// on the test's thread).
#[actix_web::test]
async fn each_token_is_verified_once_per_request() {
    use jwt_session_runtime::__internals::verifications;
    let axum = app(base());
    let (_, cookie) = visit(&axum, "/count", None).await;
    let before = verifications();
    let (seen, _) = visit(&axum, "/three", cookie.as_deref()).await;
    assert_eq!(seen, "(Some(1), Some(1)) 11");
    assert_eq!(
        verifications() - before,
        1,
        "axum: three extractors, one verify"
    );

    let before = verifications();
    let (seen, saved) = actix_side::visit(&base(), "/three", cookie.as_deref()).await;
    assert_eq!(seen, "(Some(1), Some(1)) 11");
    assert_eq!(
        verifications() - before,
        1,
        "actix: three loads, one verify"
    );
    let (n, _) = visit(&axum, "/read", saved.as_deref()).await;
    assert_eq!(n, "11");
}
