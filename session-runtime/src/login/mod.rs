//! User logins on top of the session: Microdot's `Login` extension, ported.
//!
//! The wire format is Microdot's: the session keys `_user_id` and `_fresh`, and the
//! `_remember` cookie, so a user logged in on a Microdot app that shares the secret is
//! logged in here too, and the other way round.
//!
//! A layer on sessions: these files use the crate's public API and the seam `crate::ext`,
//! nothing else of the crate.

mod config;
pub(crate) mod current;
mod extract;
pub(crate) mod redirect;
pub(crate) mod remember;
pub(crate) mod unauthorized;

// The adapters' glue calls the rules through these.
#[cfg_attr(not(any(feature = "actix", feature = "axum")), allow(unused_imports))]
pub(crate) use current::{self as rules, Keep};

pub use config::{Login, LoginUser};
pub use extract::{CurrentUser, FreshLogin, LoggedIn, LoginRedirect};
pub use remember::Remember;
pub use unauthorized::{LoginUnauthorized, Unauthorized};
// The actix-web calls, from the adapter (a public path, not a use of it).
#[cfg(feature = "actix")]
pub use crate::actix::login::{
    current_user, login_user, login_user_into, logout_everywhere, logout_user,
    logout_user_keep_data,
};

/// The session key holding the logged-in user's id, as in Microdot.
pub(crate) const USER_ID: &str = "_user_id";
/// The session key that is `true` after an interactive login and `false` after a restore
/// from the remember cookie, as in Microdot.
pub(crate) const FRESH: &str = "_fresh";
