use jwt_session::{SessionDict, with_session};

#[with_session]
extern "C" fn index(session: SessionDict) -> usize {
    session.len()
}

fn main() {}
