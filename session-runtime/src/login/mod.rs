//! User logins on top of the session: Microdot's `Login` extension, ported.
//!
//! The wire format is Microdot's: the session keys `_user_id` and `_fresh`, and the
//! `_remember` cookie, so a user logged in on a Microdot app that shares the secret is
//! logged in here too, and the other way round.
//!
//! A layer on sessions: these files use the crate's public API and the seam `crate::ext`,
//! nothing else of the crate.

mod config;
mod current;
mod extract;
mod redirect;
mod remember;

pub use config::{Login, LoginUser};
pub use current::{
    current_user, login_user, logout_everywhere, logout_user, logout_user_keep_data,
};
pub use extract::{CurrentUser, FreshLogin, LoggedIn, LoginRedirect};
pub use remember::Remember;

/// The session key holding the logged-in user's id, as in Microdot.
pub(crate) const USER_ID: &str = "_user_id";
/// The session key that is `true` after an interactive login and `false` after a restore
/// from the remember cookie, as in Microdot.
pub(crate) const FRESH: &str = "_fresh";
