use jwt_session::with_session;

#[with_session]
struct Index;

fn main() {}
