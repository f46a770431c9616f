// The names the expansion introduces are mixed-site: the handler body cannot reach them.
use jwt_session::{SessionDict, with_session};

#[with_session]
async fn index(session: SessionDict) -> String {
    drop(__session_handle);
    drop(__session);
    drop(__response);
    session.len().to_string()
}

fn main() {}
