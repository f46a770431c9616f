//! The login example, driven over HTTP through its real routes.

#[allow(dead_code)]
#[path = "../../examples/login.rs"]
mod login;

use actix_web::http::{StatusCode, header};
use actix_web::{App, test};

use crate::common::jar::Jar;
use crate::common::send;

async fn page<S>(app: &S, jar: &Jar) -> String
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse,
            Error = actix_web::Error,
        >,
{
    let mut req = test::TestRequest::get().uri("/");
    if let Some(cookies) = jar.header_for("/") {
        req = req.insert_header((header::COOKIE, cookies));
    }
    let res = test::call_service(app, req.to_request()).await;
    assert_eq!(res.status(), StatusCode::OK);
    String::from_utf8(test::read_body(res).await.to_vec()).unwrap()
}

#[actix_web::test]
async fn login_reload_logout_with_escaping() {
    let app = test::init_service(
        App::new()
            .app_data(crate::common::session())
            .configure(login::routes),
    )
    .await;
    let mut jar = Jar::default();
    let logged_out = page(&app, &jar).await;
    assert!(
        logged_out.contains("You are not logged in."),
        "{logged_out}"
    );
    assert!(logged_out.contains("demo"), "the page says it is a demo");

    let req = test::TestRequest::post()
        .uri("/")
        .set_form([("username", "<b>x</b> & 'q'")]);
    let res = test::call_service(&app, req.to_request()).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers().get(header::LOCATION).unwrap(), "/");
    jar.update(&res);

    let logged_in = page(&app, &jar).await;
    assert!(
        logged_in.contains("Hello &lt;b&gt;x&lt;/b&gt; &amp; &#x27;q&#x27;!"),
        "{logged_in}"
    );
    assert!(!logged_in.contains("<b>x</b>"));
    assert_eq!(
        page(&app, &jar).await,
        logged_in,
        "a reload keeps the user logged in"
    );

    let mut req = test::TestRequest::post().uri("/logout");
    req = req.insert_header((header::COOKIE, jar.header_for("/logout").unwrap()));
    let res = test::call_service(&app, req.to_request()).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    jar.update(&res);
    assert_eq!(jar.header_for("/"), None, "the cookie is gone");
    assert!(page(&app, &jar).await.contains("You are not logged in."));
}

#[actix_web::test]
async fn blank_username_does_not_log_in() {
    let app = test::init_service(
        App::new()
            .app_data(crate::common::session())
            .configure(login::routes),
    )
    .await;
    let res = send(
        &app,
        test::TestRequest::post()
            .uri("/")
            .set_form([("username", "   ")]),
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(crate::common::set_cookies(&res).is_empty());
}

#[actix_web::test]
async fn secret_comes_from_the_environment_or_is_random() {
    // The environment is read by `secret_from_env` alone; its halves are tested without
    // touching the process environment, which other tests in this binary read.
    let random = login::common::secret_or_random(None);
    assert_eq!(random.len(), 64);
    assert_ne!(random, login::common::secret_or_random(None));
    assert!(jwt_session::Session::try_new(random).is_ok());
    let short = login::common::secret_or_random(Some("short".to_owned()));
    assert!(matches!(
        jwt_session::Session::try_new(short),
        Err(jwt_session::SessionError::SecretTooShort { len: 5, .. })
    ));
}
