use jwt_session::{SessionDict, with_session};

#[with_session(crate = jwt_session, crate = jwt_session)]
async fn index(session: SessionDict) -> String {
    session.len().to_string()
}

fn main() {}
