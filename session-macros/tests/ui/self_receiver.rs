use jwt_session::{SessionDict, with_session};

struct Handlers;

impl Handlers {
    #[with_session]
    async fn index(&self, session: SessionDict) -> String {
        session.len().to_string()
    }
}

fn main() {}
