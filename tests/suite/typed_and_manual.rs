//! Issue 7: typed sessions, Send + Sync, sessions without the macro, middleware,
//! `autosave` and `crate = path`.

extern crate jwt_session as renamed_sessions;

use actix_web::middleware::from_fn;
use actix_web::{App, HttpRequest, HttpResponse, get, post, test, web};
use jwt_session::{Session, SessionDict, SessionError, TypedSession, with_session};
use serde_json::json;

use crate::common::*;

#[derive(serde::Serialize, serde::Deserialize, Default, Debug, PartialEq)]
struct Cart {
    items: Vec<String>,
    owner: Option<String>,
}

#[post("/cart/{item}")]
#[with_session]
async fn add_to_cart(
    item: web::Path<String>,
    mut cart: TypedSession<Cart>,
) -> Result<HttpResponse, SessionError> {
    cart.items.push(item.into_inner());
    cart.owner = Some("ann".into());
    cart.save()?;
    Ok(HttpResponse::Ok().json(&*cart))
}

#[get("/cart")]
#[with_session]
async fn show_cart(cart: TypedSession<Cart>) -> HttpResponse {
    HttpResponse::Ok().json(&*cart)
}

macro_rules! app {
    () => {
        test::init_service(
            App::new()
                .app_data(session())
                .service(add_to_cart)
                .service(show_cart)
                .route("/dict", web::get().to(echo_session)),
        )
        .await
    };
}

#[actix_web::test]
async fn typed_sessions_round_trip_in_the_dict_wire_format() {
    let app = app!();
    let res = send(&app, test::TestRequest::post().uri("/cart/apple")).await;
    let token = session_cookie(&res).value().to_owned();
    let res = send(
        &app,
        with_token(test::TestRequest::post().uri("/cart/pear"), &token),
    )
    .await;
    let token = session_cookie(&res).value().to_owned();
    let cart: Cart = test::read_body_json(
        send(
            &app,
            with_token(test::TestRequest::get().uri("/cart"), &token),
        )
        .await,
    )
    .await;
    assert_eq!(
        cart,
        Cart {
            items: vec!["apple".into(), "pear".into()],
            owner: Some("ann".into())
        }
    );
    // The claims are T's fields: a dict reader (Microdot, or a SessionDict handler) sees them.
    let dict: serde_json::Value = test::read_body_json(
        send(
            &app,
            with_token(test::TestRequest::get().uri("/dict"), &token),
        )
        .await,
    )
    .await;
    assert_eq!(dict, json!({"items": ["apple", "pear"], "owner": "ann"}));
}

#[actix_web::test]
async fn a_payload_that_does_not_fit_gives_the_default() {
    let app = app!();
    let token = foreign_token(
        &json!({"items": "not a list"}),
        jsonwebtoken::Algorithm::HS256,
        SECRET.as_bytes(),
    );
    let cart: Cart = test::read_body_json(
        send(
            &app,
            with_token(test::TestRequest::get().uri("/cart"), &token),
        )
        .await,
    )
    .await;
    assert_eq!(cart, Cart::default());
}

#[actix_web::test]
async fn sessions_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<SessionDict>();
    assert_send_sync::<TypedSession<Cart>>();
    assert_send_sync::<Session>();
}

#[post("/threaded")]
#[with_session]
async fn threaded(mut session: SessionDict) -> Result<HttpResponse, SessionError> {
    // Moved to another thread and back: SessionDict is Send.
    session = std::thread::spawn(move || {
        session.insert("from", "another thread").unwrap();
        session
    })
    .join()
    .unwrap();
    session.save()?;
    Ok(HttpResponse::Ok().finish())
}

#[actix_web::test]
async fn a_session_can_cross_threads() {
    let app = test::init_service(
        App::new()
            .app_data(session())
            .service(threaded)
            .route("/dict", web::get().to(echo_session)),
    )
    .await;
    let res = send(&app, test::TestRequest::post().uri("/threaded")).await;
    let token = session_cookie(&res).value().to_owned();
    let res = send(
        &app,
        with_token(test::TestRequest::get().uri("/dict"), &token),
    )
    .await;
    assert_eq!(test::read_body(res).await, r#"{"from":"another thread"}"#);
}

// ---- without the macro

async fn manual_login(req: HttpRequest) -> Result<HttpResponse, SessionError> {
    let mut session = Session::load(&req)?;
    session.insert("user", "ann")?;
    session.save()?;
    Ok(Session::apply(&req, HttpResponse::Ok().finish()))
}

async fn manual_read(req: HttpRequest) -> Result<HttpResponse, SessionError> {
    let session = Session::load(&req)?;
    let body = session.get::<String>("user")?.unwrap_or_default();
    Ok(Session::apply(&req, HttpResponse::Ok().body(body)))
}

#[actix_web::test]
async fn load_and_apply_by_hand() {
    let app = test::init_service(
        App::new()
            .app_data(session())
            .route("/login", web::post().to(manual_login))
            .route("/me", web::get().to(manual_read)),
    )
    .await;
    let res = send(&app, test::TestRequest::post().uri("/login")).await;
    assert_eq!(res.headers().get("vary").unwrap(), "Cookie");
    let token = session_cookie(&res).value().to_owned();
    let res = send(
        &app,
        with_token(test::TestRequest::get().uri("/me"), &token),
    )
    .await;
    assert!(set_cookies(&res).is_empty(), "nothing saved, nothing sent");
    assert_eq!(test::read_body(res).await, "ann");

    let bare = test::init_service(App::new().route("/me", web::get().to(manual_read))).await;
    let res = send(&bare, test::TestRequest::get().uri("/me")).await;
    assert_eq!(res.status(), 500, "no Session app data");
}

// ---- middleware::from_fn, as Microdot allows on before-request handlers

#[get("/page")]
#[with_session]
async fn page(session: SessionDict) -> Result<String, SessionError> {
    Ok(format!(
        "requests: {}",
        session.get::<u32>("requests")?.unwrap_or(0)
    ))
}

#[actix_web::test]
async fn with_session_works_on_a_from_fn_middleware() {
    let app = test::init_service(
        App::new()
            .app_data(session())
            .wrap(from_fn(count_requests))
            .service(page),
    )
    .await;
    let res = test::call_service(&app, test::TestRequest::get().uri("/page").to_request()).await;
    let token = session_cookie(&res).value().to_owned(); // exactly one session cookie
    assert_eq!(
        test::read_body(res).await,
        "requests: 1",
        "the handler sees what the middleware saved"
    );
    let res = test::call_service(
        &app,
        with_token(test::TestRequest::get().uri("/page"), &token).to_request(),
    )
    .await;
    assert_eq!(res.headers().get("vary").unwrap(), "Cookie");
    let _ = session_cookie(&res);
    assert_eq!(test::read_body(res).await, "requests: 2");
}

// ---- autosave: every mutator counts, explicit calls win, unmodified sends nothing

#[post("/autosave/{op}")]
#[with_session(autosave)]
async fn autosaving(
    op: web::Path<String>,
    mut session: SessionDict,
) -> Result<HttpResponse, SessionError> {
    match op.as_str() {
        "insert" => session.insert("new", 1)?,
        "remove" => drop(session.remove("keep")),
        "clear" => session.clear(),
        "delete" => {
            session.insert("new", 1)?;
            session.delete();
        }
        _ => {} // read only
    }
    Ok(HttpResponse::Ok().finish())
}

#[post("/autosave-typed")]
#[with_session(autosave)]
async fn autosaving_typed(mut cart: TypedSession<Cart>) -> HttpResponse {
    cart.items.push("via DerefMut".into());
    HttpResponse::Ok().finish()
}

#[post("/no-autosave")]
#[with_session]
async fn not_autosaving(mut session: SessionDict) -> Result<HttpResponse, SessionError> {
    session.insert("new", 1)?;
    Ok(HttpResponse::Ok().finish())
}

#[actix_web::test]
async fn autosave_covers_every_mutator() {
    let app = test::init_service(
        App::new()
            .app_data(session())
            .service(autosaving)
            .service(autosaving_typed)
            .service(not_autosaving)
            .route("/dict", web::get().to(echo_session)),
    )
    .await;
    let start = foreign_token(
        &json!({"keep": true}),
        jsonwebtoken::Algorithm::HS256,
        SECRET.as_bytes(),
    );
    let cases = [
        ("insert", json!({"keep": true, "new": 1})),
        ("remove", json!({})),
        ("clear", json!({})),
    ];
    for (op, expected) in cases {
        let res = send(
            &app,
            with_token(
                test::TestRequest::post().uri(&format!("/autosave/{op}")),
                &start,
            ),
        )
        .await;
        let token = session_cookie(&res).value().to_owned();
        let res = send(
            &app,
            with_token(test::TestRequest::get().uri("/dict"), &token),
        )
        .await;
        assert_eq!(
            test::read_body_json::<serde_json::Value, _>(res).await,
            expected,
            "{op}"
        );
    }
    let res = send(
        &app,
        with_token(test::TestRequest::post().uri("/autosave/delete"), &start),
    )
    .await;
    assert_eq!(
        session_cookie(&res).value(),
        "",
        "an explicit delete wins over autosave"
    );
    let res = send(
        &app,
        with_token(test::TestRequest::post().uri("/autosave/read"), &start),
    )
    .await;
    assert!(set_cookies(&res).is_empty(), "unmodified: nothing sent");
    let res = send(&app, test::TestRequest::post().uri("/no-autosave")).await;
    assert!(
        set_cookies(&res).is_empty(),
        "without autosave, a change needs save()"
    );

    let res = send(&app, test::TestRequest::post().uri("/autosave-typed")).await;
    let (_, payload) = parts_of(session_cookie(&res).value());
    assert_eq!(payload, json!({"items": ["via DerefMut"], "owner": null}));
}

// ---- crate = path, for a renamed dependency

#[post("/renamed")]
#[with_session(crate = renamed_sessions)]
async fn renamed(
    mut session: renamed_sessions::SessionDict,
) -> Result<HttpResponse, renamed_sessions::SessionError> {
    session.insert("renamed", true)?;
    session.save()?;
    Ok(HttpResponse::Ok().finish())
}

#[actix_web::test]
async fn crate_option_names_a_renamed_dependency() {
    let app = test::init_service(App::new().app_data(session()).service(renamed)).await;
    let res = send(&app, test::TestRequest::post().uri("/renamed")).await;
    assert_eq!(
        parts_of(session_cookie(&res).value()).1,
        json!({"renamed": true})
    );
}
