//! Chunked sessions (`Session::max_chunks`, issue 27): sessions over 4 KB split over
//! `name.0`, `name.1`, …, joined back, and no stale chunk ever read or left behind.

use actix_web::http::header;
use actix_web::{App, HttpResponse, test, web};
use jwt_session::test::CookieJar;
use jwt_session::{Session, SessionDict, SessionError, with_session};
use serde::Deserialize;

use crate::common::{SECRET, set_cookies};

#[derive(Deserialize)]
struct Size {
    bytes: usize,
    #[serde(default)]
    seed: usize,
}

/// Stores `bytes` of incompressible-looking text, so the token grows with it.
#[with_session]
async fn fill(
    mut session: SessionDict,
    size: web::Query<Size>,
) -> Result<HttpResponse, SessionError> {
    let text: String = (0..size.bytes)
        .map(|i| char::from(b'a' + ((i * 7 + i / 26 + size.seed) % 26) as u8))
        .collect();
    session.insert("blob", text)?;
    session.save()?;
    Ok(HttpResponse::Ok().finish())
}

#[with_session]
async fn show(session: SessionDict) -> String {
    let blob: Option<String> = session.get("blob").unwrap_or_default();
    blob.map_or(0, |blob| blob.len()).to_string()
}

#[with_session]
async fn drop_it(session: SessionDict) -> HttpResponse {
    session.delete();
    HttpResponse::Ok().finish()
}

macro_rules! app {
    ($config:expr) => {
        test::init_service(
            App::new()
                .app_data($config)
                .route("/fill", web::post().to(fill))
                .route("/show", web::get().to(show))
                .route("/delete", web::post().to(drop_it)),
        )
        .await
    };
}

/// The names of the cookies `jar` holds for `/`.
fn names(jar: &CookieJar) -> Vec<String> {
    let header = jar.header_for("/").unwrap_or_default();
    let mut names: Vec<String> = header
        .split("; ")
        .filter(|pair| !pair.is_empty())
        .map(|pair| pair.split('=').next().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

/// POSTs to `uri` with `jar`'s cookies, and follows the response's `Set-Cookie`.
async fn step<S, B>(app: &S, jar: &mut CookieJar, uri: &str) -> Vec<String>
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
{
    let res = test::call_service(app, jar.post(uri).to_request()).await;
    assert!(res.status().is_success(), "{}", res.status());
    let lines = set_cookies(&res);
    jar.update(&res);
    lines
}

async fn shown<S, B>(app: &S, jar: &CookieJar) -> String
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    let res = test::call_service(app, jar.get("/show").to_request()).await;
    String::from_utf8(test::read_body(res).await.to_vec()).unwrap()
}

/// A 7 KB session round-trips in three chunks, signed and encrypted, and shrinks to two
/// chunks, to one plain cookie, and to nothing without a stale chunk at any step.
#[actix_web::test]
async fn a_10_kb_session_round_trips_and_shrinks_without_stale_chunks() {
    for config in [
        Session::new(SECRET).max_chunks(3),
        Session::new(SECRET).max_chunks(3).encrypted(),
    ] {
        let app = app!(config);
        let mut jar = CookieJar::new();
        let lines = step(&app, &mut jar, "/fill?bytes=7000").await;
        assert!(lines.iter().all(|line| line.len() <= 4096), "{lines:?}");
        assert_eq!(names(&jar), ["session.0", "session.1", "session.2"]);
        assert_eq!(shown(&app, &jar).await, "7000");

        step(&app, &mut jar, "/fill?bytes=4000").await;
        assert_eq!(
            names(&jar),
            ["session.0", "session.1"],
            "shrunk to two chunks"
        );
        assert_eq!(shown(&app, &jar).await, "4000");

        step(&app, &mut jar, "/fill?bytes=100").await;
        assert_eq!(names(&jar), ["session"], "unchunked: every chunk cleared");
        assert_eq!(shown(&app, &jar).await, "100");

        step(&app, &mut jar, "/fill?bytes=7000").await;
        step(&app, &mut jar, "/delete").await;
        assert!(names(&jar).is_empty(), "deleted: {:?}", names(&jar));
        assert_eq!(shown(&app, &jar).await, "0");
    }
}

/// Past `max_chunks` cookies a save fails (a 500 through `?`) and sets nothing; without
/// chunking, a session over 4 KB fails as before.
#[actix_web::test]
async fn past_the_last_chunk_a_save_is_refused() {
    for (config, bytes) in [
        (Session::new(SECRET).max_chunks(2), 7000),
        (Session::new(SECRET), 4000),
    ] {
        let app = app!(config);
        let req = test::TestRequest::post().uri(&format!("/fill?bytes={bytes}"));
        let res = test::call_service(&app, req.to_request()).await;
        assert_eq!(res.status(), 500);
        assert!(set_cookies(&res).is_empty());
    }
}

/// Every malformed chunk set reads as an empty session, never an older one.
#[actix_web::test]
async fn a_malformed_chunk_set_is_an_empty_session() {
    let app = app!(Session::new(SECRET).max_chunks(3));
    let chunks_of = |jar: &CookieJar| -> Vec<(String, String)> {
        ["session.0", "session.1", "session.2"]
            .iter()
            .filter_map(|name| {
                let cookie = jar.cookie(name)?;
                Some((cookie.name().to_owned(), cookie.value().to_owned()))
            })
            .collect()
    };
    let mut old = CookieJar::new();
    step(&app, &mut old, "/fill?bytes=7000").await;
    let old = chunks_of(&old);
    let mut new = CookieJar::new();
    step(&app, &mut new, "/fill?bytes=6900&seed=1").await;
    let new = chunks_of(&new);
    assert_eq!((old.len(), new.len()), (3, 3));
    let pair = |(name, value): &(String, String)| format!("{name}={value}");
    let header =
        |pairs: &[&(String, String)]| pairs.iter().map(|p| pair(p)).collect::<Vec<_>>().join("; ");
    let mut hundreds: Vec<String> = (0..300).map(|i| format!("session.{i}=x")).collect();
    hundreds[0] = pair(&new[0]);
    let cases = [
        ("a gap", header(&[&new[0], &new[2]])),
        ("no first chunk", header(&[&new[1], &new[2]])),
        ("old and new mixed", header(&[&new[0], &old[1], &new[2]])),
        ("one chunk short", header(&[&new[0], &new[1]])),
        (
            "reordered",
            header(&[&new[1], &new[0], &new[2]])
                .replace("session.1=", "session.X=")
                .replace("session.0=", "session.1=")
                .replace("session.X=", "session.0="),
        ),
        (
            "a plain cookie beside chunks",
            format!("session=abc; {}", header(&[&new[0], &new[1], &new[2]])),
        ),
        ("hundreds of name.N cookies", hundreds.join("; ")),
    ];
    for (what, cookies) in cases {
        let req = test::TestRequest::get()
            .uri("/show")
            .insert_header((header::COOKIE, cookies));
        let res = test::call_service(&app, req.to_request()).await;
        assert_eq!(res.status(), 200, "{what}");
        let body = test::read_body(res).await;
        assert_eq!(body, "0", "{what}: an empty session");
    }
    let whole = header(&[&new[0], &new[1], &new[2]]);
    let req = test::TestRequest::get()
        .uri("/show")
        .insert_header((header::COOKIE, whole));
    let body = test::read_body(test::call_service(&app, req.to_request()).await).await;
    assert_eq!(body, "6900", "the control reads");
}

/// Chunks carry the session cookie's prefix and attributes, `Partitioned` included.
#[actix_web::test]
async fn chunks_keep_the_prefix_and_attributes() {
    let config = Session::new(SECRET)
        .cookie_name("__Host-id")
        .partitioned(true)
        .max_chunks(3);
    let app = app!(config);
    let res = test::call_service(
        &app,
        test::TestRequest::post()
            .uri("/fill?bytes=7000")
            .to_request(),
    )
    .await;
    let lines = set_cookies(&res);
    for line in &lines {
        assert!(line.starts_with("__Host-id"), "{line}");
        for attribute in ["; Secure", "; Path=/", "; Partitioned", "; HttpOnly"] {
            assert!(line.contains(attribute), "{line} lacks {attribute}");
        }
        assert!(!line.contains("Domain"), "{line}");
    }
    for chunk in ["__Host-id.0=ey", "__Host-id.1=", "__Host-id.2="] {
        assert!(
            lines.iter().any(|l| l.starts_with(chunk)),
            "{chunk} in {lines:?}"
        );
    }
}
