//! Secure signed-cookie user sessions for actix-web in one attribute: `#[with_session]`.
//!
//! The session is a JSON object stored in the `session` cookie as a JWT signed with
//! HS256, in the same wire format as Python's Microdot and PyJWT, so an actix app and a
//! Microdot app that share a secret share their users' sessions.
//!
//! # Quick start
//!
//! ```
//! use actix_web::{App, HttpResponse, Responder, get, post, test, web};
//! use jwt_session::{Session, SessionDict, SessionError, with_session};
//!
//! #[derive(serde::Deserialize)]
//! struct Login {
//!     username: String,
//! }
//!
//! #[post("/login")]
//! #[with_session]
//! async fn login(form: web::Form<Login>, mut session: SessionDict) -> Result<impl Responder, SessionError> {
//!     session.insert("username", &form.username)?;
//!     session.save()?;
//!     Ok(HttpResponse::SeeOther().insert_header(("Location", "/")).finish())
//! }
//!
//! #[get("/")]
//! #[with_session]
//! async fn index(session: SessionDict) -> Result<String, SessionError> {
//!     Ok(match session.get::<String>("username")? {
//!         Some(name) => format!("Logged in as {name}"),
//!         None => "Not logged in".to_owned(),
//!     })
//! }
//!
//! # actix_web::rt::System::new().block_on(async {
//! // Shows the library's log (`tracing`): why a cookie was refused, and the fix for a
//! // misconfiguration, which also goes to stderr when no subscriber is installed.
//! tracing_subscriber::fmt::init();
//! // In a real app the secret comes from the environment: at least 32 random bytes.
//! let session = Session::new("an example secret of at least 32 bytes");
//! let app = test::init_service(App::new().app_data(session).service(login).service(index)).await;
//!
//! let req = test::TestRequest::post().uri("/login").set_form([("username", "joe")]).to_request();
//! let res = test::call_service(&app, req).await;
//! let cookie = res.response().cookies().next().unwrap().into_owned();
//! assert_eq!(cookie.name(), "session");
//!
//! let res = test::call_service(&app, test::TestRequest::get().uri("/").cookie(cookie).to_request()).await;
//! assert_eq!(test::read_body(res).await, "Logged in as joe");
//! # });
//! ```
//!
//! # The attribute
//!
//! `#[with_session]` goes on an actix-web handler with one session parameter, a
//! [`SessionDict`] or a [`TypedSession<T>`](TypedSession), anywhere in its parameter list
//! and next to any other extractors. It loads the session from the request's cookie,
//! passes it in, and when the handler returns:
//!
//! - writes the cookie scheduled by [`SessionDict::save`] or [`SessionDict::delete`], if
//!   any (the last call wins; a response carries at most one session cookie);
//! - drops that cookie when the response is a 5xx or comes from an error;
//! - adds `Vary: Cookie`.
//!
//! The route attribute (`#[get]`, `#[post]`, `#[route]`, `#[routes]`) may stand above or
//! below it, and `web::get().to(handler)` works too. Sync handlers are accepted, as in
//! Microdot. Any `Responder` may be returned, and `return` and `?` work as usual.
//!
//! A cookie that is missing, tampered with, signed with another key or algorithm, or
//! expired gives an empty session; the reason is logged at debug level with `tracing`.
//!
//! Its options (`autosave`, `crate = path`), `middleware::from_fn` functions and the
//! mistakes it reports are described, with examples, on [`with_session`] itself.
//!
//! # Logins, flash messages and CSRF
//!
//! On top of the session, as Microdot's `Login` and `CSRF` extensions and with their wire
//! format: [`Login`](login::Login) (the login URL and an async user loader), the extractors [`LoggedIn`](login::LoggedIn),
//! [`FreshLogin`](login::FreshLogin) and [`CurrentUser`](login::CurrentUser), [`login_user`](login::login_user) and [`logout_user`](login::logout_user), a remember-me
//! cookie ([`Remember`](login::Remember)); flash messages with [`SessionDict::flash`] and
//! [`SessionDict::take_flashes`]; and the [`Csrf`](csrf::Csrf) middleware.
//!
//! # Rejected cookies in the logs
//!
//! A rejected cookie is never an error for the client: the session is empty and the request
//! goes on. Each rejection is logged once at debug level with `tracing`, with a `reason` field
//! drawn from a fixed vocabulary, so an app can count attacks or misconfigurations:
//!
//! | `reason` | the cookie |
//! | --- | --- |
//! | `too_large` | is over 8 KiB, refused before any parsing |
//! | `malformed` | is not a compact JWS of JSON objects, or its header is unacceptable (`crit`, `b64`, a non-string `kid`); for an encrypted config, not a compact JWE (a `zip` header, a non-empty encrypted key, an IV that is not 12 bytes or a tag that is not 16) |
//! | `wrong_alg` | names another algorithm than the configured one (`none` included); for an encrypted config, anything but `dir` with `A256GCM` |
//! | `wrong_typ` | has a header `typ` other than `JWT` |
//! | `unknown_kid` | names a key id that no configured key has |
//! | `bad_signature` | is not signed by any configured key |
//! | `undecryptable` | is an encrypted token that no configured key authenticates (tampered, or another secret) |
//! | `malformed_claim` | has a registered claim of the wrong JSON type |
//! | `expired` | is past its `exp`, idle timeout or absolute timeout |
//! | `not_yet_valid` | has `nbf`, `iat` or `session_start` in the future |
//! | `missing_claim` | lacks a claim that the configured lifetimes need |
//! | `unrevocable` | under a revocation store, has no `jti` or no `exp` |
//! | `revoked` | under a revocation store, was logged out, renewed away or revoked with its user |
//! | `wrong_purpose` | is a side token (it carries `_purpose`, as a remember-me cookie does), not a session |
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use actix_web::{App, test, web};
//! use jwt_session::{Session, SessionDict, with_session};
//! use tracing::field::{Field, Visit};
//! use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
//!
//! /// Collects the `reason` of every rejected session cookie.
//! #[derive(Clone, Default)]
//! struct Reasons(Arc<Mutex<Vec<String>>>);
//!
//! impl<S: tracing::Subscriber> Layer<S> for Reasons {
//!     fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
//!         struct Find(Option<String>);
//!         impl Visit for Find {
//!             fn record_str(&mut self, field: &Field, value: &str) {
//!                 if field.name() == "reason" {
//!                     self.0 = Some(value.to_owned());
//!                 }
//!             }
//!             fn record_debug(&mut self, _: &Field, _: &dyn std::fmt::Debug) {}
//!         }
//!         let mut find = Find(None);
//!         event.record(&mut find);
//!         self.0.lock().unwrap().extend(find.0);
//!     }
//! }
//!
//! #[with_session]
//! async fn index(session: SessionDict) -> String {
//!     format!("{} entries", session.len())
//! }
//!
//! let reasons = Reasons::default();
//! let subscriber = tracing_subscriber::fmt().with_max_level(tracing::Level::DEBUG).finish();
//! tracing::subscriber::with_default(subscriber.with(reasons.clone()), || {
//!     actix_web::rt::System::new().block_on(async {
//!         let app = test::init_service(
//!             App::new().app_data(Session::new([7u8; 32])).route("/", web::get().to(index)),
//!         ).await;
//!         let forged = "session=eyJhbGciOiJub25lIn0.eyJ1c2VyIjoiYWRtaW4ifQ.";
//!         let req = test::TestRequest::get().insert_header(("cookie", forged)).to_request();
//!         assert_eq!(test::call_and_read_body(&app, req).await, "0 entries");
//!     });
//! });
//! assert_eq!(*reasons.0.lock().unwrap(), ["wrong_alg"]);
//! ```

#![deny(missing_docs)]
// docs.rs builds with `--cfg docsrs` (see Cargo.toml): feature-gated items show their feature.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

#[cfg(feature = "actix")]
pub use jwt_session_macros::with_session;
pub use jwt_session_runtime::{
    Flash, SameSite, Session, SessionData, SessionDict, SessionError, TypedSession,
};
pub use jwt_session_runtime::{keys, revocation};

#[cfg(feature = "csrf")]
#[cfg_attr(docsrs, doc(cfg(feature = "csrf")))]
pub use jwt_session_runtime::csrf;
#[cfg(feature = "login")]
#[cfg_attr(docsrs, doc(cfg(feature = "login")))]
pub use jwt_session_runtime::login;
#[cfg(feature = "test-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub use jwt_session_runtime::test;

#[cfg(feature = "axum")]
pub use jwt_session_runtime::axum;

#[cfg(feature = "actix")]
#[doc(hidden)]
pub use jwt_session_runtime::__private;

/// Compiles the README's examples as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

/// Compiles the guide's examples as doctests.
#[cfg(doctest)]
#[doc = include_str!("../docs/guide.md")]
struct GuideDoctests;

/// Compiles the key rotation guide's examples as doctests.
#[cfg(doctest)]
#[doc = include_str!("../docs/key-rotation.md")]
struct KeyRotationDoctests;

/// Compiles the axum guide's examples as doctests.
#[cfg(all(doctest, feature = "axum"))]
#[doc = include_str!("../docs/axum.md")]
struct AxumDoctests;

/// The README's code is copied as is: the quick start's `[dependencies]` must cover what it
/// uses, which the doctests above cannot see (they build with this crate's dev-dependencies).
#[cfg(test)]
mod readme_quick_start {
    const README: &str = include_str!("../README.md");
    /// The guide's code is actix code: the actix quick start's dependencies must cover it.
    const GUIDE: &str = include_str!("../docs/guide.md");

    /// The body of the first block fenced as ```` ```{info} ```` after `heading`.
    fn block(heading: &str, info: &str) -> &'static str {
        let section = &README[README.find(heading).expect("the README has the heading")..];
        let fence = format!("```{info}\n");
        let start = section.find(&fence).expect("the section has the block") + fence.len();
        let len = section[start..].find("```").expect("the block is closed");
        &section[start..start + len]
    }

    /// The `name = ...` lines of the `[dependencies]` table.
    fn dependencies(toml: &str) -> Vec<(String, &str)> {
        toml.lines()
            .skip_while(|line| line.trim() != "[dependencies]")
            .skip(1)
            .take_while(|line| !line.trim_start().starts_with('['))
            .filter_map(|line| {
                let (name, spec) = line.split_once('=')?;
                Some((name.trim().replace('-', "_"), spec))
            })
            .collect()
    }

    /// The first segments of the paths in `code` (`serde` for `serde::Deserialize`), minus
    /// the names its `use` declarations bring into scope and the standard library.
    fn crates_used(code: &str) -> Vec<String> {
        let is_ident = |c: char| c.is_alphanumeric() || c == '_';
        let mut imported = vec!["std", "core", "alloc", "crate", "self", "super", "Self"];
        let mut used = Vec::new();
        // `use` declarations: their first segment is a crate used; the names they bring into
        // scope are their leaves, idents not followed by `::` (`use jwt_session::axum::X`
        // imports `X`, not `axum`). The rest of the code is scanned for `name::` paths.
        let mut body = String::new();
        let mut rest = code;
        while let Some(at) = rest.find("use ") {
            body.push_str(&rest[..at]);
            let declaration = &rest[at + 4..];
            let end = declaration.find(';').unwrap_or(declaration.len());
            let declaration = &declaration[..end];
            rest = &rest[at + 4 + end..];
            let first = declaration
                .trim_start()
                .split(|c: char| !is_ident(c))
                .next();
            used.extend(
                first
                    .filter(|name| !imported.contains(name))
                    .map(str::to_owned),
            );
            let mut names = declaration;
            while let Some(start) = names.find(is_ident) {
                let after = &names[start..];
                let len = after.find(|c: char| !is_ident(c)).unwrap_or(after.len());
                let (name, tail) = after.split_at(len);
                if !tail.trim_start().starts_with("::") && name != "as" && name != "self" {
                    imported.push(name);
                }
                names = tail;
            }
        }
        body.push_str(rest);
        for (at, _) in body.match_indices("::") {
            let before = &body[..at];
            let root = &before[before.trim_end_matches(is_ident).len()..];
            let preceded_by_path = before[..before.len() - root.len()].ends_with(':');
            if !root.is_empty() && !preceded_by_path && !imported.contains(&root) {
                used.push(root.to_owned());
            }
        }
        used.sort();
        used.dedup();
        used
    }

    /// The bodies of every Rust block in `text`.
    fn rust_blocks(text: &'static str) -> Vec<&'static str> {
        text.split("```rust")
            .skip(1)
            .map(|block| {
                let body = &block[block.find('\n').unwrap() + 1..];
                &body[..body.find("```").expect("the block is closed")]
            })
            .collect()
    }

    /// Every crate `code` uses is in `dependencies`, and serde with `derive` when it derives.
    fn assert_covered(dependencies: &[(String, &str)], code: &str) {
        for krate in crates_used(code) {
            assert!(
                dependencies.iter().any(|(name, _)| *name == krate),
                "the README's code uses `{krate}` but its quick start's [dependencies] lack it:\n{code}"
            );
        }
        if code.contains("derive(serde::") {
            let (_, serde) = dependencies
                .iter()
                .find(|(name, _)| name == "serde")
                .unwrap();
            assert!(
                serde.contains("\"derive\""),
                "serde needs its `derive` feature"
            );
        }
    }

    #[test]
    fn its_dependencies_cover_the_crates_the_readme_code_uses() {
        let actix = dependencies(block("## Quick start: actix-web", "toml"));
        let quick_start = block("## Quick start: actix-web", "rust,no_run");
        assert_eq!(
            crates_used(quick_start),
            ["actix_web", "jwt_session", "serde", "tracing_subscriber"],
            "the scan finds the crates"
        );
        let axum = dependencies(block("## Quick start: axum", "toml"));
        let axum_start = block("## Quick start: axum", "rust,no_run");
        assert_eq!(
            crates_used(axum_start),
            [
                "axum",
                "jwt_session",
                "serde",
                "tokio",
                "tracing_subscriber"
            ],
            "the scan finds the crates"
        );
        assert_covered(&actix, quick_start);
        assert_covered(&axum, axum_start);
        let guide = rust_blocks(GUIDE);
        assert!(guide.len() >= 2, "the guide's examples");
        for code in guide {
            assert_covered(&actix, code);
        }
        assert_eq!(rust_blocks(README).len(), 2, "the two quick starts");
    }
}
