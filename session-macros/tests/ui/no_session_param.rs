use jwt_session::with_session;

#[with_session]
async fn index(req: actix_web::HttpRequest) -> String {
    req.path().to_owned()
}

fn main() {}
