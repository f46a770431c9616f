use jwt_session::{SessionDict, with_session};

#[with_session]
async fn index(session: Option<SessionDict>) -> String {
    format!("{}", session.is_some())
}

fn main() {}
