// A parameter may share the handler's name: the generated call still reaches the inner fn.

use actix_web::{App, HttpResponse, test, web};
use jwt_session::{Session, SessionError, TypedSession, with_session};

#[derive(serde::Serialize, serde::Deserialize, Default)]
struct Login {
    user: Option<String>,
}

#[with_session]
async fn login(mut login: TypedSession<Login>) -> Result<HttpResponse, SessionError> {
    login.user = Some("ann".to_owned());
    login.save()?;
    Ok(HttpResponse::Ok().finish())
}

fn main() {
    actix_web::rt::System::new().block_on(async {
        let app = test::init_service(
            App::new()
                .app_data(Session::new([7u8; 32]))
                .route("/", web::post().to(login)),
        )
        .await;
        let res = test::call_service(&app, test::TestRequest::post().to_request()).await;
        assert!(res.headers().contains_key("set-cookie"));
    });
}
