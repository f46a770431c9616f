use jwt_session::{SessionDict, with_session};

#[with_session(autosave, autosave)]
async fn index(session: SessionDict) -> String {
    session.len().to_string()
}

fn main() {}
