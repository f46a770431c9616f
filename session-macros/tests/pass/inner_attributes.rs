// Inner attributes opening a handler's body apply to that body, and still compile.
#![deny(unused_variables)]

use actix_web::{App, HttpResponse, test, web};
use jwt_session::{Session, SessionDict, SessionError, with_session};

/// An outer doc comment and an outer attribute stay on the handler.
#[actix_web::get("/")]
#[with_session]
async fn index(mut session: SessionDict) -> Result<HttpResponse, SessionError> {
    #![allow(unused_variables)]
    let unused = "would fail to build under deny(unused_variables) without the allow above";
    session.insert("visits", 1)?;
    session.save()?;
    Ok(HttpResponse::Ok().finish())
}

#[with_session]
#[actix_web::get("/below")]
async fn attribute_above_route(session: SessionDict) -> String {
    #![allow(unused_variables)]
    let unused = ();
    session.len().to_string()
}

#[with_session]
fn sync_handler(session: SessionDict) -> String {
    #![allow(unused_variables)]
    let unused = ();
    session.len().to_string()
}

fn main() {
    actix_web::rt::System::new().block_on(async {
        let app = test::init_service(
            App::new()
                .app_data(Session::new([7u8; 32]))
                .service(index)
                .service(attribute_above_route)
                .route("/sync", web::get().to(sync_handler)),
        )
        .await;
        let res = test::call_service(&app, test::TestRequest::get().uri("/").to_request()).await;
        assert!(res.headers().contains_key("set-cookie"));
        for uri in ["/below", "/sync"] {
            let res = test::call_service(&app, test::TestRequest::get().uri(uri).to_request()).await;
            assert_eq!(test::read_body(res).await, "0", "{uri}");
        }
    });
}
