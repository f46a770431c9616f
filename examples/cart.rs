//! A shopping cart held in the session, driven by HTML forms: add, remove, clear.
//! The session is typed (`TypedSession<Cart>`) and saved by `#[with_session(autosave)]`
//! whenever a handler changes it.
//!
//! ```text
//! cargo run --example cart         # then open http://127.0.0.1:8080
//! ```

use std::collections::BTreeMap;

use actix_web::{HttpResponse, get, post, web};
use jwt_session::{SessionError, TypedSession, with_session};

#[path = "common/mod.rs"]
mod common;
use common::{escape_html, page, redirect};

const PRODUCTS: [&str; 3] = ["apple", "bread", "coffee"];

/// The whole session: item name to quantity, under the `items` claim.
///
/// `#[serde(default)]`: a field added in a later version takes its default when an older
/// cookie lacks it, instead of the whole cart being replaced by an empty one.
#[derive(serde::Serialize, serde::Deserialize, Default)]
#[serde(default)]
struct Cart {
    items: BTreeMap<String, u32>,
}

#[get("/")]
#[with_session]
async fn index(cart: TypedSession<Cart>) -> Result<HttpResponse, SessionError> {
    let cart = &cart.items;
    let mut body = String::from("<h1>Cart</h1>\n");
    if cart.is_empty() {
        body.push_str("<p>Your cart is empty.</p>\n");
    } else {
        body.push_str("<ul>\n");
        for (item, quantity) in cart {
            let item = escape_html(item);
            body.push_str(&format!(
                r#"<li>{item} × {quantity} <form method="POST" action="/remove"><input type="hidden" name="item" value="{item}"><button>Remove one</button></form></li>
"#
            ));
        }
        body.push_str("</ul>\n<form method=\"POST\" action=\"/clear\"><button>Clear the cart</button></form>\n");
    }
    body.push_str("<h2>Products</h2>\n");
    for product in PRODUCTS {
        body.push_str(&format!(
            r#"<form method="POST" action="/add"><input type="hidden" name="item" value="{product}"><button>Add {product}</button></form>
"#
        ));
    }
    Ok(page("jwt-session cart example", &body))
}

#[derive(serde::Deserialize)]
struct Item {
    item: String,
}

#[post("/add")]
#[with_session(autosave)]
async fn add(form: web::Form<Item>, mut cart: TypedSession<Cart>) -> HttpResponse {
    if PRODUCTS.contains(&form.item.as_str()) {
        *cart.items.entry(form.into_inner().item).or_default() += 1;
    }
    redirect("/")
}

#[post("/remove")]
#[with_session(autosave)]
async fn remove(form: web::Form<Item>, mut cart: TypedSession<Cart>) -> HttpResponse {
    if let Some(quantity) = cart.items.get_mut(&form.item) {
        *quantity -= 1;
        if *quantity == 0 {
            cart.items.remove(&form.item);
        }
    }
    redirect("/")
}

#[post("/clear")]
#[with_session(autosave)]
async fn clear(mut cart: TypedSession<Cart>) -> HttpResponse {
    cart.items.clear();
    redirect("/")
}

/// Registers the example's routes; shared by `main` and the test suite.
pub fn routes(config: &mut web::ServiceConfig) {
    config
        .service(index)
        .service(add)
        .service(remove)
        .service(clear);
}

#[allow(dead_code)] // the test suite includes this file for its routes only
#[actix_web::main]
async fn main() -> std::io::Result<()> {
    common::serve("cart", common::demo_session(), routes).await
}
