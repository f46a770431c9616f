//! Micro-benchmarks of logins: `cargo bench -p jwt-session-xtests --bench login`.
//!
//! Whole requests through actix-web's service stack in process (no network), behind the
//! `Csrf` middleware: a bare handler, a `LoggedIn` handler with the session cookie, the same
//! with only the remember cookie (the login restored on every request, as for a plain
//! handler), and a checked POST, so the share of the login machinery is visible.

use actix_web::dev::{Service, ServiceResponse};
use actix_web::{App, HttpRequest, HttpResponse, test, web};
use divan::Bencher;
use jwt_session::{
    Session, SessionError,
    csrf::Csrf,
    login::{LoggedIn, Login, LoginUser, login_user},
};

fn main() {
    divan::main();
}

#[derive(Clone)]
struct User(u64);

impl LoginUser for User {
    type Id = u64;

    fn id(&self) -> u64 {
        self.0
    }
}

async fn bare() -> HttpResponse {
    HttpResponse::Ok().finish()
}

async fn greet(user: LoggedIn<User>) -> HttpResponse {
    HttpResponse::Ok().body(user.0.0.to_string())
}

async fn log_in(req: HttpRequest) -> Result<HttpResponse, SessionError> {
    login_user(&req, &User(7), true).await
}

/// `name=value` of the cookie called `name` that `res` sets.
fn cookie<B>(res: &ServiceResponse<B>, name: &str) -> String {
    res.response()
        .cookies()
        .find(|cookie| cookie.name() == name)
        .map(|cookie| format!("{name}={}", cookie.value()))
        .unwrap()
}

#[divan::bench(args = ["bare", "session", "remember", "csrf_post"])]
fn through_actix(bencher: Bencher, case: &str) {
    let runtime = actix_web::rt::System::new();
    let app = runtime.block_on(test::init_service(
        App::new()
            .wrap(Csrf::new())
            .app_data(Session::new("benchmark secret: at least thirty-two bytes"))
            .app_data(Login::new(|id: u64| async move { Some(User(id)) }))
            .route("/bare", web::get().to(bare))
            .route("/post", web::post().to(bare))
            .route("/user", web::get().to(greet))
            .route("/login", web::post().to(log_in)),
    ));
    let login = runtime.block_on(app.call(test::TestRequest::post().uri("/login").to_request()));
    let login = login.unwrap();
    let (method, uri, cookie) = match case {
        "bare" => ("GET", "/bare", String::new()),
        "session" => ("GET", "/user", cookie(&login, "session")),
        "remember" => ("GET", "/user", cookie(&login, "_remember")),
        _ => ("POST", "/post", String::new()),
    };
    bencher.bench_local(|| {
        runtime.block_on(async {
            let req = if method == "POST" {
                test::TestRequest::post().insert_header(("sec-fetch-site", "same-origin"))
            } else {
                test::TestRequest::get()
            };
            let req = req.uri(uri).insert_header(("cookie", cookie.as_str()));
            let res = test::call_service(&app, req.to_request()).await;
            assert!(res.status().is_success());
        })
    });
}
