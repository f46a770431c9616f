//! The demo users of the login examples: `susan` / `hello` and `david` / `bye`.

use argon2::{Argon2, PasswordHash, PasswordVerifier};
use jwt_session::login::{Login, LoginUser};

/// A user of the demo. Passwords are kept only as Argon2id hashes (PHC strings).
#[derive(Clone, Debug)]
pub struct User {
    id: &'static str,
    /// The name shown on the pages.
    pub username: &'static str,
    password_hash: &'static str,
}

impl LoginUser for User {
    type Id = String;

    fn id(&self) -> String {
        self.id.to_owned()
    }
}

/// `susan` / `hello` and `david` / `bye`, with the ids of Microdot's example.
const USERS: [User; 2] = [
    User {
        id: "user001",
        username: "susan",
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$APW7hh2+XdJMlA82UoM9Fg$WsVJjU3cq3QRtmVB4SQKUBen9ckA5GnqQE+gSLQVn2w",
    },
    User {
        id: "user002",
        username: "david",
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$OeqbEXzW21vTvJyl/45hcw$SP3grrphEIYNNSgmosJqgMIesiR+4s8xPubdZpFXEBI",
    },
];

fn user_by_id(id: &str) -> Option<User> {
    USERS.iter().find(|user| user.id == id).cloned()
}

/// The user whose name and password match. An unknown name costs a hash too, so timing
/// does not tell which names exist. Slow (tens of milliseconds): call it off the async
/// worker, in `web::block`.
pub fn check_credentials(username: &str, password: &str) -> Option<User> {
    let user = USERS.iter().find(|user| user.username == username);
    let hash = user.map_or(USERS[0].password_hash, |user| user.password_hash);
    let matches = PasswordHash::new(hash).is_ok_and(|hash| {
        Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok()
    });
    user.filter(|_| matches).cloned()
}

/// The login settings: ids are looked up in `USERS`.
pub fn login() -> Login<User> {
    Login::new_send(|id: String| async move { user_by_id(&id) })
}

/// The login examples' lifetimes over `base`: a session ends after 30 idle minutes and 12
/// hours at most, so a copied cookie does not work forever (remember-me logs the user back
/// in, not fresh).
pub fn lifetimes(base: jwt_session::Session) -> jwt_session::Session {
    base.idle_timeout(std::time::Duration::from_secs(30 * 60))
        .absolute_timeout(std::time::Duration::from_secs(12 * 3600))
}

/// The login settings of `user_login` and `axum_login`: the demo users, and remember
/// cookies as Microdot writes them accepted too, so a login shares with Microdot's example.
pub fn microdot_login() -> Login<User> {
    login().accept_microdot_remember_cookies(true)
}

/// The title of the login examples' pages.
pub const TITLE: &str = "jwt-session user login example";

/// The login page's body: the flashes, then the form (no `action`: it posts back to the
/// page's URL, `?next=…` included).
pub fn login_page_body(flashes: &[jwt_session::Flash]) -> String {
    let flashes: String = flashes
        .iter()
        .map(|flash| {
            format!(
                "<p class=\"flash {}\">{}</p>\n",
                super::escape_html(&flash.category),
                super::escape_html(&flash.message)
            )
        })
        .collect();
    format!(
        r#"<h1>Please log in</h1>
{flashes}<form method="POST">
  <p><label>Username<br><input name="username" autofocus required></label></p>
  <p><label>Password<br><input name="password" type="password" required></label></p>
  <p><label><input name="remember_me" type="checkbox"> Remember me</label></p>
  <p><button type="submit">Log in</button></p>
</form>"#
    )
}

/// The home page's body for `user`.
pub fn index_body(user: &User) -> String {
    format!(
        r#"<h1>Hello, {}!</h1>
<p><a href="/fresh">Click here</a> to access the fresh login page.</p>
<form method="POST" action="/logout"><button type="submit">Log out</button></form>"#,
        super::escape_html(user.username)
    )
}

/// The fresh-login page's body for `user`.
pub fn fresh_body(user: &User) -> String {
    format!(
        r#"<h1>Hello, {}!</h1>
<p>This page requires a fresh login session.</p>
<p><a href="/">Go back</a> to the main page.</p>"#,
        super::escape_html(user.username)
    )
}
