//! The CSRF middleware over `actix_web::test`: every combination of `Sec-Fetch-Site`,
//! `Origin`, method and exemption, against the rule written out independently below.

use actix_web::http::{Method, StatusCode, header};
use actix_web::{App, HttpResponse, test, web};
use jwt_session::csrf::Csrf;

const ALLOWED: &str = "https://app.example";

const SEC_FETCH_SITE: [Option<&str>; 6] = [
    None,
    Some("same-origin"),
    Some("none"),
    Some("same-site"),
    Some("cross-site"),
    Some("bogus"),
];

const ORIGINS: [Option<&str>; 6] = [
    None,
    Some(ALLOWED),
    Some("https://api.app.example"),
    Some("http://api.app.example"),
    Some("https://evil.example"),
    Some("null"),
];

const METHODS: [Method; 7] = [
    Method::GET,
    Method::HEAD,
    Method::OPTIONS,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
];

/// The rule, spelled out case by case.
fn expected_to_pass(
    subdomains: bool,
    checked: bool,
    sec_fetch_site: Option<&str>,
    origin: Option<&str>,
) -> bool {
    if !checked {
        return true;
    }
    match sec_fetch_site {
        Some("same-origin") | Some("none") => true,
        Some("same-site") => subdomains,
        Some(_) => false,
        None => match origin {
            None => true,
            Some(origin) if origin == ALLOWED => true,
            Some("https://api.app.example") => subdomains,
            Some(_) => false,
        },
    }
}

macro_rules! app {
    ($csrf:expr) => {
        test::init_service(
            App::new()
                .wrap($csrf)
                .route("/form", web::route().to(HttpResponse::Ok))
                .route("/hooks/{name}", web::route().to(HttpResponse::Ok))
                .route("/unsubscribe", web::route().to(HttpResponse::Ok)),
        )
        .await
    };
}

#[actix_web::test]
async fn the_whole_matrix() {
    let mut cases = 0;
    for subdomains in [false, true] {
        let app = app!(
            Csrf::new()
                .allowed_origins([ALLOWED])
                .allow_subdomains(subdomains)
                .exempt("/hooks/{name}")
                .protect("/unsubscribe")
        );
        for method in METHODS {
            for (path, exempt, opted_in) in [
                ("/form", false, false),
                ("/hooks/ci", true, false),
                ("/unsubscribe", false, true),
            ] {
                for sec_fetch_site in SEC_FETCH_SITE {
                    for origin in ORIGINS {
                        let safe = matches!(method, Method::GET | Method::HEAD | Method::OPTIONS);
                        let checked = opted_in || (!safe && !exempt);
                        let pass = expected_to_pass(subdomains, checked, sec_fetch_site, origin);
                        let mut req = test::TestRequest::default()
                            .method(method.clone())
                            .uri(path);
                        if let Some(value) = sec_fetch_site {
                            req = req.insert_header(("sec-fetch-site", value));
                        }
                        if let Some(value) = origin {
                            req = req.insert_header((header::ORIGIN, value));
                        }
                        let res = test::call_service(&app, req.to_request()).await;
                        let what = format!(
                            "subdomains={subdomains} {method} {path} Sec-Fetch-Site={sec_fetch_site:?} Origin={origin:?}"
                        );
                        if pass {
                            assert_eq!(res.status(), StatusCode::OK, "{what}");
                        } else {
                            assert_eq!(res.status(), StatusCode::FORBIDDEN, "{what}");
                            let body = test::read_body(res).await;
                            let body = std::str::from_utf8(&body).unwrap();
                            let blamed = match sec_fetch_site {
                                Some(value) => format!("Sec-Fetch-Site is {value}"),
                                None => {
                                    format!("Origin {} is not an allowed origin", origin.unwrap())
                                }
                            };
                            assert_eq!(body, format!("Forbidden: {blamed}"), "{what}");
                        }
                        cases += 1;
                    }
                }
            }
        }
    }
    assert_eq!(cases, 2 * 7 * 3 * 6 * 6);
}

#[actix_web::test]
async fn protect_all_off_checks_only_opted_in_paths() {
    let app = app!(Csrf::new().protect_all(false).protect("/unsubscribe"));
    let attack = |path: &str, method: Method| {
        test::TestRequest::default()
            .method(method)
            .uri(path)
            .insert_header(("sec-fetch-site", "cross-site"))
            .to_request()
    };
    let res = test::call_service(&app, attack("/form", Method::POST)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = test::call_service(&app, attack("/unsubscribe", Method::GET)).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

#[actix_web::test]
async fn without_allowed_origins_an_origin_alone_is_refused() {
    let app = app!(Csrf::new());
    let req = test::TestRequest::post()
        .uri("/form")
        .insert_header((header::ORIGIN, ALLOWED));
    let res = test::call_service(&app, req.to_request()).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let req = test::TestRequest::post().uri("/form");
    assert_eq!(
        test::call_service(&app, req.to_request()).await.status(),
        StatusCode::OK
    );
}

#[actix_web::test]
async fn checked_responses_vary_on_both_headers() {
    let app = app!(Csrf::new());
    for req in [
        test::TestRequest::post().uri("/form"),
        test::TestRequest::post()
            .uri("/form")
            .insert_header(("sec-fetch-site", "same-origin")),
        test::TestRequest::post()
            .uri("/form")
            .insert_header(("sec-fetch-site", "cross-site")),
    ] {
        let res = test::call_service(&app, req.to_request()).await;
        assert_eq!(
            res.headers().get(header::VARY).unwrap(),
            "Sec-Fetch-Site, Origin"
        );
    }
    let res = test::call_service(&app, test::TestRequest::get().uri("/form").to_request()).await;
    assert!(res.headers().get(header::VARY).is_none(), "unchecked");
}

#[actix_web::test]
async fn a_header_that_is_not_text_is_refused() {
    let app = app!(Csrf::new());
    let req = test::TestRequest::post().uri("/form").insert_header((
        "sec-fetch-site",
        header::HeaderValue::from_bytes(b"same-origin\xff").unwrap(),
    ));
    let res = test::call_service(&app, req.to_request()).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

#[actix_web::test]
async fn exemptions_follow_the_path_the_router_sees() {
    let app = app!(Csrf::new().exempt("/hooks/{name}"));
    let attack = |path: &str| {
        test::TestRequest::post()
            .uri(path)
            .insert_header(("sec-fetch-site", "cross-site"))
            .to_request()
    };
    // `%68` is `h`: the router sends this to the exempt hook, so it is exempt too.
    let res = test::call_service(&app, attack("/%68ooks/ci")).await;
    assert_eq!(res.status(), StatusCode::OK);
    // An encoded slash is no path separator for the router: this is the hook, not /form.
    let res = test::call_service(&app, attack("/hooks/..%2Fform")).await;
    assert_eq!(res.status(), StatusCode::OK);
    for path in ["/form", "/hooks", "/hooks/ci/extra", "/%66orm"] {
        let res = test::call_service(&app, attack(path)).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{path} is not exempt");
    }
}
