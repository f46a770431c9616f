//! A shopping cart held in the session, driven by HTML forms: add, remove, clear.
//!
//! ```text
//! cargo run --example cart         # then open http://127.0.0.1:8080
//! ```

use std::collections::BTreeMap;

use actix_web::{App, HttpResponse, HttpServer, get, post, web};
use jwt_session::{Session, SessionDict, SessionError, with_session};

#[path = "common/mod.rs"]
mod common;
use common::{escape_html, page, redirect};

const PRODUCTS: [&str; 3] = ["apple", "bread", "coffee"];

/// Item name to quantity, stored under the `cart` key.
type Cart = BTreeMap<String, u32>;

fn cart_of(session: &SessionDict) -> Result<Cart, SessionError> {
    Ok(session.get::<Cart>("cart")?.unwrap_or_default())
}

#[get("/")]
#[with_session]
async fn index(session: SessionDict) -> Result<HttpResponse, SessionError> {
    let cart = cart_of(&session)?;
    let mut body = String::from("<h1>Cart</h1>\n");
    if cart.is_empty() {
        body.push_str("<p>Your cart is empty.</p>\n");
    } else {
        body.push_str("<ul>\n");
        for (item, quantity) in &cart {
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
#[with_session]
async fn add(
    form: web::Form<Item>,
    mut session: SessionDict,
) -> Result<HttpResponse, SessionError> {
    if PRODUCTS.contains(&form.item.as_str()) {
        let mut cart = cart_of(&session)?;
        *cart.entry(form.into_inner().item).or_default() += 1;
        session.insert("cart", cart)?;
        session.save()?;
    }
    Ok(redirect("/"))
}

#[post("/remove")]
#[with_session]
async fn remove(
    form: web::Form<Item>,
    mut session: SessionDict,
) -> Result<HttpResponse, SessionError> {
    let mut cart = cart_of(&session)?;
    if let Some(quantity) = cart.get_mut(&form.item) {
        *quantity -= 1;
        if *quantity == 0 {
            cart.remove(&form.item);
        }
        session.insert("cart", cart)?;
        session.save()?;
    }
    Ok(redirect("/"))
}

#[post("/clear")]
#[with_session]
async fn clear(mut session: SessionDict) -> Result<HttpResponse, SessionError> {
    session.remove("cart");
    session.save()?;
    Ok(redirect("/"))
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
    let secret = std::env::var("SESSION_SECRET")
        .unwrap_or_else(|_| "cart demo secret: set SESSION_SECRET in real apps!".into());
    let session = Session::new(secret).secure(false); // a plain-http demo
    let port = common::port(8080);
    println!("serving the cart example on http://127.0.0.1:{port}");
    HttpServer::new(move || App::new().app_data(session.clone()).configure(routes))
        .bind(("127.0.0.1", port))?
        .run()
        .await
}
