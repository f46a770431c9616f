use jwt_session::{SessionDict, with_session};

#[with_session]
const fn index(session: SessionDict) -> usize {
    let _ = session;
    0
}

fn main() {}
