use jwt_session::{SessionDict, with_session};

struct Api;

impl Api {
    fn greeting() -> String {
        "hi".to_owned()
    }

    #[with_session]
    async fn index(session: SessionDict) -> String {
        let _ = session;
        Self::greeting()
    }
}

fn main() {}
