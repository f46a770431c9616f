// A session parameter without #[with_session] names the attribute in the error.
use actix_web::{App, HttpResponse, get, web};
use jwt_session::{SessionDict, TypedSession};

#[derive(serde::Serialize, serde::Deserialize, Default)]
struct Cart {
    items: Vec<String>,
}

#[get("/cart")]
async fn cart(cart: TypedSession<Cart>) -> String {
    cart.items.len().to_string()
}

async fn index(session: SessionDict) -> HttpResponse {
    HttpResponse::Ok().body(session.len().to_string())
}

fn main() {
    let _ = App::new().service(cart).route("/", web::get().to(index));
}
