//! The behaviour of `#[with_session]` over real actix-web services.

use actix_web::http::{StatusCode, header};
use actix_web::{App, HttpRequest, HttpResponse, Responder, get, post, route, routes, test, web};
use jsonwebtoken::Algorithm;
use jwt_session::{SessionDict, SessionError, with_session};
use serde_json::json;

use crate::common::*;

#[post("/save-then-delete")]
#[with_session]
async fn save_then_delete(mut session: SessionDict) -> Result<HttpResponse, SessionError> {
    session.insert("a", 1)?;
    session.save()?;
    session.delete();
    Ok(HttpResponse::Ok().finish())
}

#[post("/delete-then-save")]
#[with_session]
async fn delete_then_save(mut session: SessionDict) -> Result<HttpResponse, SessionError> {
    session.delete();
    session.insert("a", 2)?;
    session.save()?;
    Ok(HttpResponse::Ok().finish())
}

#[post("/save-twice")]
#[with_session]
async fn save_twice(mut session: SessionDict) -> Result<HttpResponse, SessionError> {
    session.insert("a", 1)?;
    session.save()?;
    session.insert("a", 3)?;
    session.save()?;
    session.insert("a", 4)?; // never saved: must not be sent
    Ok(HttpResponse::Ok().finish())
}

#[post("/fail")]
#[with_session]
async fn save_then_fail(mut session: SessionDict) -> Result<HttpResponse, actix_web::Error> {
    session.insert("a", 1)?;
    session.save()?;
    Err(actix_web::error::ErrorInternalServerError("boom"))
}

#[post("/fail-4xx")]
#[with_session]
async fn save_then_bad_request(mut session: SessionDict) -> Result<HttpResponse, actix_web::Error> {
    session.insert("a", 1)?;
    session.save()?;
    Err(actix_web::error::ErrorBadRequest("bad form"))
}

#[post("/status-503")]
#[with_session]
async fn save_then_503(mut session: SessionDict) -> Result<HttpResponse, SessionError> {
    session.insert("a", 1)?;
    session.save()?;
    Ok(HttpResponse::ServiceUnavailable().finish())
}

// The route attribute below #[with_session].
#[with_session]
#[post("/below")]
async fn route_below(mut session: SessionDict) -> Result<&'static str, SessionError> {
    session.insert("where", "below")?;
    session.save()?;
    Ok("ok")
}

// A sync handler, as Microdot allows; the session is not the last parameter.
#[post("/sync/{name}")]
#[with_session]
fn sync_handler(
    mut session: SessionDict,
    path: web::Path<String>,
    req: HttpRequest,
) -> Result<String, SessionError> {
    session.insert("name", path.into_inner())?;
    session.save()?;
    Ok(req.path().to_owned())
}

// Early `return` and `?` in the body.
#[post("/early")]
#[with_session]
async fn early_return(
    form: web::Form<Vec<(String, String)>>,
    mut session: SessionDict,
) -> Result<HttpResponse, SessionError> {
    if form.is_empty() {
        return Ok(HttpResponse::BadRequest().body("empty form"));
    }
    for (key, value) in form.into_inner() {
        session.insert(key, value)?;
    }
    session.save()?;
    Ok(HttpResponse::Ok().finish())
}

/// Docs, other attributes, visibility and generics are kept.
/// (actix's route attributes cannot take generic fns, so this one is registered with `.route`.)
#[with_session]
#[allow(clippy::unused_async)]
pub(crate) async fn generic<T: Default + ToString + 'static>(
    session: SessionDict,
    _data: web::Data<T>,
) -> impl Responder {
    format!("{}:{}", T::default().to_string(), session.len())
}

#[route("/methods", method = "GET", method = "PUT")]
#[with_session]
async fn methods(session: SessionDict) -> String {
    session.len().to_string()
}

#[routes]
#[get("/multi-a")]
#[get("/multi-b")]
#[with_session]
async fn multi(session: SessionDict) -> String {
    session.len().to_string()
}

#[with_session]
async fn plain(session: SessionDict, json: web::Json<serde_json::Value>) -> web::Redirect {
    session.delete();
    web::Redirect::to(json["to"].as_str().unwrap_or("/").to_owned()).see_other()
}

macro_rules! app {
    () => {
        test::init_service(
            App::new()
                .app_data(session())
                .app_data(web::Data::new(7u8))
                .route("/read", web::get().to(echo_session))
                .service(save_then_delete)
                .service(delete_then_save)
                .service(save_twice)
                .service(save_then_fail)
                .service(save_then_bad_request)
                .service(save_then_503)
                .service(route_below)
                .service(sync_handler)
                .service(early_return)
                .route("/generic", web::get().to(generic::<u8>))
                .service(methods)
                .service(multi)
                .route("/plain", web::post().to(plain)),
        )
        .await
    };
}

async fn read_with<S>(app: &S, cookie: &str) -> serde_json::Value
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse,
            Error = actix_web::Error,
        >,
{
    let req = test::TestRequest::get()
        .uri("/read")
        .insert_header((header::COOKIE, format!("session={cookie}")));
    test::call_and_read_body_json(app, req.to_request()).await
}

#[actix_web::test]
async fn save_then_delete_sends_only_the_delete() {
    let app = app!();
    let res = send(&app, test::TestRequest::post().uri("/save-then-delete")).await;
    let cookie = session_cookie(&res);
    assert_eq!(cookie.value(), "");
    assert_eq!(
        cookie.max_age(),
        Some(actix_web::cookie::time::Duration::ZERO)
    );
    let raw = set_cookies(&res).join("");
    assert!(
        raw.contains("Expires=Thu, 01 Jan 1970 00:00:00 GMT"),
        "{raw}"
    );
    assert!(raw.contains("Path=/"), "{raw}");
}

#[actix_web::test]
async fn delete_then_save_sends_only_the_save() {
    let app = app!();
    let res = send(&app, test::TestRequest::post().uri("/delete-then-save")).await;
    let cookie = session_cookie(&res);
    assert_eq!(read_with(&app, cookie.value()).await, json!({"a": 2}));
}

#[actix_web::test]
async fn save_is_a_snapshot_and_the_last_save_wins() {
    let app = app!();
    let res = send(&app, test::TestRequest::post().uri("/save-twice")).await;
    let cookie = session_cookie(&res);
    assert_eq!(read_with(&app, cookie.value()).await, json!({"a": 3}));
}

#[actix_web::test]
async fn no_save_no_delete_means_no_cookie_but_vary() {
    let app = app!();
    let res = send(&app, test::TestRequest::get().uri("/read")).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(set_cookies(&res).is_empty());
    assert_eq!(res.headers().get(header::VARY).unwrap(), "Cookie");
}

#[actix_web::test]
async fn cookie_attributes_are_the_secure_defaults() {
    let app = app!();
    let res = send(&app, test::TestRequest::post().uri("/delete-then-save")).await;
    let cookie = session_cookie(&res);
    assert_eq!(cookie.path(), Some("/"));
    assert_eq!(cookie.secure(), Some(true));
    assert_eq!(cookie.http_only(), Some(true));
    assert_eq!(cookie.same_site(), Some(actix_web::cookie::SameSite::Lax));
    assert_eq!(cookie.max_age(), None);
}

#[actix_web::test]
async fn a_5xx_or_an_error_drops_the_save() {
    let app = app!();
    for uri in ["/fail", "/status-503", "/fail-4xx"] {
        let res = send(&app, test::TestRequest::post().uri(uri)).await;
        assert!(
            res.status().is_client_error() || res.status().is_server_error(),
            "{uri}"
        );
        assert!(
            set_cookies(&res).is_empty(),
            "{uri}: {:?}",
            set_cookies(&res)
        );
        assert_eq!(res.headers().get(header::VARY).unwrap(), "Cookie", "{uri}");
    }
}

#[actix_web::test]
async fn route_attribute_below_and_above() {
    let app = app!();
    let res = send(&app, test::TestRequest::post().uri("/below")).await;
    assert_eq!(res.status(), StatusCode::OK);
    let cookie = session_cookie(&res);
    assert_eq!(
        read_with(&app, cookie.value()).await,
        json!({"where": "below"})
    );
    for req in [
        test::TestRequest::get().uri("/multi-a"),
        test::TestRequest::get().uri("/multi-b"),
        test::TestRequest::put().uri("/methods"),
    ] {
        let req = req.to_request();
        let uri = req.path().to_owned();
        let res = test::call_service(&app, req).await;
        assert_eq!(res.headers().get(header::VARY).unwrap(), "Cookie", "{uri}");
        assert_eq!(test::read_body(res).await, "0");
    }
}

#[actix_web::test]
async fn sync_handler_with_other_extractors() {
    let app = app!();
    let res = send(&app, test::TestRequest::post().uri("/sync/ann")).await;
    let cookie = session_cookie(&res);
    assert_eq!(test::read_body(res).await, "/sync/ann");
    assert_eq!(
        read_with(&app, cookie.value()).await,
        json!({"name": "ann"})
    );
}

#[actix_web::test]
async fn early_return_and_question_mark() {
    let app = app!();
    let res = send(
        &app,
        test::TestRequest::post()
            .uri("/early")
            .set_form(Vec::<(String, String)>::new()),
    )
    .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(set_cookies(&res).is_empty());

    // `?` on a refused registered claim turns into a 500, and nothing is saved.
    let res = send(
        &app,
        test::TestRequest::post()
            .uri("/early")
            .set_form([("aud", "x")]),
    )
    .await;
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(set_cookies(&res).is_empty());
    assert_eq!(
        test::read_body(res).await,
        "",
        "error details must not reach the client"
    );

    let res = send(
        &app,
        test::TestRequest::post()
            .uri("/early")
            .set_form([("k", "v")]),
    )
    .await;
    let cookie = session_cookie(&res);
    assert_eq!(read_with(&app, cookie.value()).await, json!({"k": "v"}));
}

#[actix_web::test]
async fn generics_and_route_with_methods() {
    let app = app!();
    let res = send(&app, test::TestRequest::get().uri("/generic")).await;
    assert_eq!(test::read_body(res).await, "0:0");
}

#[actix_web::test]
async fn registered_with_route_and_returning_redirect() {
    let app = app!();
    let req = test::TestRequest::post()
        .uri("/plain")
        .set_json(json!({"to": "/next"}));
    let res = test::call_service(&app, req.to_request()).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers().get(header::LOCATION).unwrap(), "/next");
    assert_eq!(session_cookie(&res).value(), "");
}

#[actix_web::test]
async fn hostile_cookies_give_an_empty_session() {
    let app = app!();
    let good = foreign_token(&json!({"a": 1}), Algorithm::HS256, SECRET.as_bytes());
    assert_eq!(
        read_with(&app, &good).await,
        json!({"a": 1}),
        "control: a valid foreign token is read"
    );

    let (head, rest) = good.split_once('.').unwrap();
    let (payload, signature) = rest.split_once('.').unwrap();
    let none_header = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0"; // {"alg":"none","typ":"JWT"}
    let admin = b64_json(&json!({"a": 1, "admin": true}));
    let hostile = [
        ("tampered payload", format!("{head}.{admin}.{signature}")),
        (
            "tampered signature",
            format!("{head}.{payload}.{}", flip_last(signature)),
        ),
        ("stripped signature", format!("{head}.{payload}.")),
        ("alg none", format!("{none_header}.{payload}.")),
        (
            "alg none with the old signature",
            format!("{none_header}.{payload}.{signature}"),
        ),
        (
            "wrong key",
            foreign_token(
                &json!({"a": 1}),
                Algorithm::HS256,
                b"some other secret of thirty-two bytes",
            ),
        ),
        (
            "HS512 with our secret",
            foreign_token(&json!({"a": 1}), Algorithm::HS512, SECRET.as_bytes()),
        ),
        (
            "expired",
            foreign_token(
                &json!({"a": 1, "exp": unix_now() - 3600}),
                Algorithm::HS256,
                SECRET.as_bytes(),
            ),
        ),
        (
            "not before the future",
            foreign_token(
                &json!({"a": 1, "nbf": unix_now() + 3600}),
                Algorithm::HS256,
                SECRET.as_bytes(),
            ),
        ),
        (
            "exp as a string",
            foreign_token(
                &json!({"a": 1, "exp": "99999999999"}),
                Algorithm::HS256,
                SECRET.as_bytes(),
            ),
        ),
        (
            "non-object payload",
            foreign_token(&json!([1, 2]), Algorithm::HS256, SECRET.as_bytes()),
        ),
        ("garbage", "not a token at all".to_owned()),
        ("bad base64", "@@@.###.$$$".to_owned()),
    ];
    for (attack, cookie) in hostile {
        let req = test::TestRequest::get()
            .uri("/read")
            .insert_header((header::COOKIE, format!("session={cookie}")));
        let res = test::call_service(&app, req.to_request()).await;
        assert_eq!(res.status(), StatusCode::OK, "{attack}");
        assert!(
            set_cookies(&res).is_empty(),
            "{attack}: the cookie is left alone, as in Microdot"
        );
        assert_eq!(test::read_body(res).await, "{}", "{attack}");
    }
}

#[actix_web::test]
async fn a_fresh_exp_is_accepted() {
    let app = app!();
    let token = foreign_token(
        &json!({"a": 1, "exp": unix_now() + 60, "iat": unix_now()}),
        Algorithm::HS256,
        SECRET.as_bytes(),
    );
    assert_eq!(read_with(&app, &token).await["a"], 1);
}

#[actix_web::test]
async fn oversized_session_is_refused_at_save() {
    #[post("/")]
    #[with_session]
    async fn big(mut session: SessionDict) -> HttpResponse {
        session.insert("blob", "x".repeat(5000)).unwrap();
        match session.save() {
            Err(SessionError::TooLarge { size, limit }) => {
                HttpResponse::Ok().body(format!("{size}>{limit}"))
            }
            other => HttpResponse::InternalServerError().body(format!("{other:?}")),
        }
    }
    let app = test::init_service(App::new().app_data(session()).service(big)).await;
    let res = send(&app, test::TestRequest::post().uri("/")).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(set_cookies(&res).is_empty());
    let body = String::from_utf8(test::read_body(res).await.to_vec()).unwrap();
    assert!(body.ends_with(">4096"), "{body}");
}

#[actix_web::test]
async fn existing_vary_is_merged() {
    #[get("/")]
    #[with_session]
    async fn varies(_session: SessionDict) -> HttpResponse {
        HttpResponse::Ok()
            .insert_header((header::VARY, "Accept-Encoding"))
            .finish()
    }
    let app = test::init_service(App::new().app_data(session()).service(varies)).await;
    let res = send(&app, test::TestRequest::get().uri("/")).await;
    assert_eq!(
        res.headers().get_all(header::VARY).collect::<Vec<_>>(),
        ["Accept-Encoding, Cookie"]
    );
}

#[actix_web::test]
async fn session_registered_as_web_data_is_found_too() {
    let app = test::init_service(
        App::new()
            .app_data(web::Data::new(session()))
            .route("/read", web::get().to(echo_session)),
    )
    .await;
    let res = send(&app, test::TestRequest::get().uri("/read")).await;
    assert_eq!(res.status(), StatusCode::OK);
}

fn flip_last(segment: &str) -> String {
    let mut chars: Vec<char> = segment.chars().collect();
    let last = chars.last_mut().unwrap();
    *last = if *last == 'A' { 'Q' } else { 'A' };
    chars.into_iter().collect()
}

#[actix_web::test]
async fn a_non_utf8_neighbour_cookie_does_not_hide_the_session() {
    let app = app!();
    let token = foreign_token(&json!({"a": 1}), Algorithm::HS256, SECRET.as_bytes());
    let mut line = b"theme=caf\xe9; session=".to_vec(); // Latin-1, not UTF-8
    line.extend_from_slice(token.as_bytes());
    let cookie = header::HeaderValue::from_bytes(&line).unwrap();
    let req = test::TestRequest::get()
        .uri("/read")
        .insert_header((header::COOKIE, cookie));
    let body: serde_json::Value = test::call_and_read_body_json(&app, req.to_request()).await;
    assert_eq!(body, json!({"a": 1}));
}

#[actix_web::test]
async fn a_handler_set_session_cookie_is_replaced_not_duplicated() {
    #[post("/")]
    #[with_session]
    async fn both(mut session: SessionDict) -> Result<HttpResponse, SessionError> {
        session.insert("a", 1)?;
        session.save()?;
        Ok(HttpResponse::Ok()
            .cookie(actix_web::cookie::Cookie::new("session", "handmade"))
            .cookie(actix_web::cookie::Cookie::new("other", "kept"))
            .finish())
    }
    let app = test::init_service(App::new().app_data(session()).service(both)).await;
    let res = send(&app, test::TestRequest::post().uri("/")).await;
    assert_ne!(session_cookie(&res).value(), "handmade");
    assert!(
        set_cookies(&res)
            .iter()
            .any(|c| c.starts_with("other=kept"))
    );
}

// `#[cfg]` on a parameter.
#[post("/cfg")]
#[with_session]
async fn cfg_param(
    #[cfg(any())] never: web::Data<u32>,
    req: actix_web::HttpRequest,
    session: SessionDict,
) -> String {
    format!("{} {}", req.path(), session.len())
}

// An attribute macro below #[with_session] sees the user's parameter names.
#[post("/instrumented")]
#[with_session]
#[tracing::instrument(skip(session))]
async fn instrumented(req: actix_web::HttpRequest, session: SessionDict) -> String {
    format!("{} {}", req.path(), session.len())
}

#[actix_web::test]
async fn cfg_params_and_instrument_below() {
    let app = test::init_service(
        App::new()
            .app_data(session())
            .service(cfg_param)
            .service(instrumented),
    )
    .await;
    let res = send(&app, test::TestRequest::post().uri("/cfg")).await;
    assert_eq!(test::read_body(res).await, "/cfg 0");
    let res = send(&app, test::TestRequest::post().uri("/instrumented")).await;
    assert_eq!(test::read_body(res).await, "/instrumented 0");
}
