//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod jar;
pub mod jwe;
pub mod net;
pub mod redis_cluster;
pub mod redis_proxy;
pub mod redis_sentinel;
pub mod redis_server;
pub mod redis_tls;

use actix_web::body::MessageBody;
use actix_web::cookie::Cookie;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{HttpResponse, test};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use jwt_session::{Session, SessionDict, SessionError, with_session};

pub const SECRET: &str = "test secret: at least thirty-two bytes long";

/// A user of the login tests: its id is its name.
#[derive(Clone, Debug)]
pub struct User(pub String);

impl jwt_session::login::LoginUser for User {
    type Id = String;
    fn id(&self) -> String {
        self.0.clone()
    }
}

pub fn session() -> Session {
    Session::new(SECRET)
}

/// Every `Set-Cookie` header of `res`, as sent.
pub fn set_cookies<B>(res: &ServiceResponse<B>) -> Vec<String> {
    res.headers()
        .get_all(header::SET_COOKIE)
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

/// The one session cookie `res` sets; panics unless there is exactly one.
pub fn session_cookie<B>(res: &ServiceResponse<B>) -> Cookie<'static> {
    let all = set_cookies(res);
    let sessions: Vec<_> = all.iter().filter(|c| c.starts_with("session=")).collect();
    assert_eq!(
        sessions.len(),
        1,
        "expected one session Set-Cookie, got {all:?}"
    );
    Cookie::parse(sessions[0].clone()).unwrap()
}

/// A token signed by an independent implementation (jsonwebtoken's own signer), with
/// jsonwebtoken's standard header for `alg`.
pub fn foreign_token(claims: &serde_json::Value, alg: Algorithm, secret: &[u8]) -> String {
    let header = serde_json::to_value(Header::new(alg)).unwrap();
    forge(&header, claims, alg, &EncodingKey::from_secret(secret))
}

/// A token with any header and claims, signed with `key` under `alg`.
pub fn forge(
    header: &serde_json::Value,
    claims: &serde_json::Value,
    alg: Algorithm,
    key: &EncodingKey,
) -> String {
    forge_raw(
        &serde_json::to_vec(header).unwrap(),
        &serde_json::to_vec(claims).unwrap(),
        alg,
        key,
    )
}

/// A token over any header and payload bytes (not necessarily JSON), signed with `key`
/// under `alg`.
pub fn forge_raw(header: &[u8], payload: &[u8], alg: Algorithm, key: &EncodingKey) -> String {
    // Named explicitly: these tests must not depend on the process-wide provider either.
    let signer =
        (jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.signer_factory)(&alg, key).unwrap();
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let signature = URL_SAFE_NO_PAD.encode(signer.try_sign(input.as_bytes()).unwrap());
    format!("{input}.{signature}")
}

pub fn b64_json(value: &serde_json::Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

/// The decoded header and payload of `token`.
pub fn parts_of(token: &str) -> (serde_json::Value, serde_json::Value) {
    let mut segments = token
        .split('.')
        .map(|s| serde_json::from_slice(&URL_SAFE_NO_PAD.decode(s).unwrap()).unwrap());
    (segments.next().unwrap(), segments.next().unwrap())
}

pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Sends `req` to `app` and returns the response.
pub async fn send<S>(app: &S, req: test::TestRequest) -> ServiceResponse
where
    S: Service<actix_http::Request, Response = ServiceResponse, Error = actix_web::Error>,
{
    test::call_service(app, req.to_request()).await
}

/// `req` carrying `token` as the session cookie.
pub fn with_token(req: test::TestRequest, token: &str) -> test::TestRequest {
    req.insert_header((header::COOKIE, format!("session={token}")))
}

/// Answers with the session as JSON; register it with `.route(path, web::get().to(echo_session))`.
#[with_session]
pub async fn echo_session(session: SessionDict) -> HttpResponse {
    HttpResponse::Ok().json(&session)
}

/// GET / with `token` as the session cookie, on an app routing `/` to [`echo_session`]: the
/// echoed session and the response's `Set-Cookie` headers.
pub async fn read_session<S>(app: &S, token: &str) -> (serde_json::Value, Vec<String>)
where
    S: Service<actix_http::Request, Response = ServiceResponse, Error = actix_web::Error>,
{
    let res = send(app, with_token(test::TestRequest::get().uri("/"), token)).await;
    assert_eq!(res.status(), actix_web::http::StatusCode::OK);
    let cookies = set_cookies(&res);
    let body = serde_json::from_slice(&test::read_body(res).await).unwrap();
    (body, cookies)
}

/// The value of one `Set-Cookie` header.
pub fn token_of(set_cookie: &str) -> String {
    Cookie::parse(set_cookie.to_owned())
        .unwrap()
        .value()
        .to_owned()
}

/// Saves `{"user": "joe"}`; register it with `.route(path, web::post().to(save_user))`.
#[with_session]
pub async fn save_user(mut session: SessionDict) -> Result<HttpResponse, SessionError> {
    session.insert("user", "joe")?;
    session.save()?;
    Ok(HttpResponse::Ok().finish())
}

/// A `middleware::from_fn` that counts requests in the session and saves it, as Microdot
/// allows on before-request handlers.
#[with_session]
pub async fn count_requests(
    mut session: SessionDict,
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let seen = session.get::<u32>("requests")?.unwrap_or(0) + 1;
    session.insert("requests", seen)?;
    session.save()?;
    next.call(req).await
}

/// Sends `cookie` (a whole `Cookie` header value) to an app that echoes its session.
pub async fn echo<S>(app: &S, cookie: &str) -> (actix_web::http::StatusCode, Vec<String>, String)
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse,
            Error = actix_web::Error,
        >,
{
    let req = test::TestRequest::get()
        .uri("/")
        .insert_header((header::COOKIE, cookie.to_owned()));
    let res = send(app, req).await;
    let status = res.status();
    let set_cookies = set_cookies(&res);
    let body = String::from_utf8(test::read_body(res).await.to_vec()).unwrap();
    (status, set_cookies, body)
}
