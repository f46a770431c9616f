use jwt_session::{SessionDict, with_session};

#[with_session]
async fn index(first: SessionDict, second: SessionDict) -> String {
    format!("{} {}", first.len(), second.len())
}

fn main() {}
