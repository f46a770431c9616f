use jwt_session::{TypedSession, with_session};

#[derive(serde::Serialize, serde::Deserialize)]
struct Cart {
    items: Vec<String>,
}

#[with_session]
async fn index(cart: TypedSession<Cart>) -> String {
    cart.items.len().to_string()
}

fn main() {}
