use jwt_session::with_session;

struct Handlers;

#[with_session]
impl Handlers {}

fn main() {}
