//! The expansion names everything by absolute path, so local items called `core`, `std`,
//! `jwt_session`, `Result` or `SessionResponder` cannot break it, and it works inside a
//! method body where `#[get]` above it re-emits the fn.
#![deny(warnings)]
#![warn(clippy::pedantic)]

mod core {}
mod std {}
#[allow(dead_code)]
mod jwt_session {}

use ::actix_web::{App, HttpResponse, get, test, web};
use ::jwt_session::{Session, SessionDict, SessionError, with_session};

mod shadowed {
    #![allow(dead_code, non_camel_case_types)]
    use super::{HttpResponse, SessionDict, SessionError, get, web, with_session};

    pub struct Option;
    pub struct Some;
    pub struct Ok;
    pub enum Result {}
    pub struct SessionResponder;
    pub struct SessionLoader;
    pub struct __private;

    pub struct Routes;

    impl Routes {
        pub fn configure(config: &mut web::ServiceConfig) {
            #[get("/")]
            #[with_session]
            #[allow(clippy::unused_async)] // the user's own lint, kept on the expansion
            async fn index(
                mut session: SessionDict,
            ) -> ::core::result::Result<HttpResponse, SessionError> {
                session.insert("n", 1)?;
                session.save()?;
                ::core::result::Result::Ok(HttpResponse::Ok().finish())
            }
            config.service(index);
        }
    }
}

#[actix_web::test]
async fn works_with_shadowed_names_inside_a_method_body() {
    let app = test::init_service(
        App::new()
            .app_data(Session::new("test secret: at least thirty-two bytes long"))
            .configure(shadowed::Routes::configure),
    )
    .await;
    let res = test::call_service(&app, test::TestRequest::get().uri("/").to_request()).await;
    assert_eq!(res.status(), 200);
    assert!(res.headers().contains_key("set-cookie"));
}
