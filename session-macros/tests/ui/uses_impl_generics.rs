use actix_web::web;
use jwt_session::{SessionDict, with_session};

trait Greeter: 'static {
    fn greeting() -> String;
}

struct Api<T>(T);

impl<T: Greeter> Api<T> {
    #[with_session]
    async fn index(data: web::Data<String>, session: SessionDict) -> String {
        let _ = session;
        format!("{data}{}", T::greeting())
    }
}

fn main() {}
