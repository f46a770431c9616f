use jwt_session::{SessionDict, with_session};

struct NotAResponse;

#[actix_web::get("/")]
#[with_session]
async fn index(session: SessionDict) -> NotAResponse {
    let _ = session;
    NotAResponse
}

fn main() {}
