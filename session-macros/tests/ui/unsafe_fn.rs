use jwt_session::{SessionDict, with_session};

#[with_session]
async unsafe fn index(session: SessionDict) -> String {
    session.len().to_string()
}

fn main() {}
