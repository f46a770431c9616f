//! Page helpers shared by the examples.
#![allow(dead_code)] // each example uses a different subset

use actix_web::http::header;
use actix_web::{App, HttpResponse, HttpServer, web};
use jwt_session::{Session, SessionDict, SessionError};

pub mod users;

/// An HTML page that says it is a demo.
pub fn page(title: &str, body: &str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(page_html(title, body))
}

/// The HTML of [`page`], for the examples on other frameworks.
pub fn page_html(title: &str, body: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
  body {{ font-family: system-ui, sans-serif; max-width: 32rem; margin: 4rem auto; padding: 0 1rem; color: #222; }}
  .demo {{ background: #fff4d6; border: 1px solid #e0c36c; padding: .5rem .75rem; border-radius: 4px; font-size: .9rem; }}
  input, button {{ font-size: 1rem; padding: .3rem .5rem; }}
  form {{ display: inline; }}
</style>
</head>
<body>
<p class="demo">Demo of <code>jwt-session</code>: the session lives in a signed cookie. Not a real app.</p>
{body}
</body>
</html>
"#
    )
}

/// `303 See Other` to `location`: the answer to a form POST.
pub fn redirect(location: &'static str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// Escapes the five characters that are special in HTML text and attributes.
pub fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#x27;"),
            _ => escaped.push(c),
        }
    }
    escaped
}

/// The port from `PORT`, or `default`.
pub fn port(default: u16) -> u16 {
    std::env::var("PORT")
        .ok()
        .and_then(|port| port.parse().ok())
        .unwrap_or(default)
}

/// `SESSION_SECRET`, or else a random secret for this run with a one-line warning. Never a
/// secret written in the source: anyone who read it could forge sessions.
pub fn secret_from_env() -> Vec<u8> {
    secret_or_random(std::env::var("SESSION_SECRET").ok())
}

/// `secret`, or else a random one with a one-line warning (the testable half of
/// [`secret_from_env`]).
pub fn secret_or_random(secret: Option<String>) -> Vec<u8> {
    match secret {
        Some(secret) => secret.into_bytes(),
        None => {
            let mut secret = vec![0u8; 64];
            getrandom::getrandom(&mut secret)
                .expect("the OS random number generator is unavailable");
            eprintln!(
                "warning: SESSION_SECRET is not set: using a random secret, so sessions will not survive a restart"
            );
            secret
        }
    }
}

/// A demo's session config: the secret from [`secret_from_env`], without `Secure` so the
/// plain-http demo works in every browser.
pub fn demo_session() -> Session {
    or_exit(Session::try_new(secret_from_env())).secure(false)
}

/// The session config of the login examples: the secret from [`secret_from_env`].
/// `INSECURE_COOKIE=1` drops the `Secure` flag, for browsers that refuse `Secure` cookies
/// from plain `http://127.0.0.1` (Chromium and Firefox accept them).
pub fn session_from_env() -> Result<Session, SessionError> {
    let session = Session::try_new(secret_from_env())?;
    Ok(match std::env::var("INSECURE_COOKIE").as_deref() {
        Ok("1") => session.secure(false),
        _ => session,
    })
}

/// [`session_from_env`], or exit with a message when `SESSION_SECRET` is unusable.
pub fn session_from_env_or_exit() -> Session {
    or_exit(session_from_env())
}

fn or_exit(session: Result<Session, SessionError>) -> Session {
    session.unwrap_or_else(|err| {
        eprintln!("error: SESSION_SECRET: {err}");
        std::process::exit(2);
    })
}

/// Serves `routes` with `session` on `http://127.0.0.1:$PORT` (default 8080).
pub async fn serve(
    example: &str,
    session: Session,
    routes: fn(&mut web::ServiceConfig),
) -> std::io::Result<()> {
    let port = port(8080);
    println!("serving the {example} example on http://127.0.0.1:{port}");
    HttpServer::new(move || App::new().app_data(session.clone()).configure(routes))
        .bind(("127.0.0.1", port))?
        .run()
        .await
}

/// Adds one to the session's `visits` and saves it: a session written on every request.
pub fn count_visit(session: &mut SessionDict) -> Result<u64, SessionError> {
    let visits = session.get::<u64>("visits")?.unwrap_or(0) + 1;
    session.insert("visits", visits)?;
    session.save()?;
    Ok(visits)
}
