//! The `#[with_session]` attribute of [`jwt-session`](https://docs.rs/jwt-session).
//!
//! Depend on `jwt-session`, which re-exports this macro together with the runtime that its
//! expansion calls; the macro's documentation lives there.

#![deny(missing_docs)]

mod args;
mod expand;
mod handler;

use proc_macro::TokenStream;

/// Loads the session into a handler's `SessionDict` parameter and writes the session
/// cookie on its response. See the `jwt-session` crate for the full documentation.
#[proc_macro_attribute]
pub fn with_session(args: TokenStream, item: TokenStream) -> TokenStream {
    let item = proc_macro2::TokenStream::from(item);
    let expanded = args::parse(args.into())
        .and_then(|args| Ok((args, handler::parse(item.clone())?)))
        .map(|(args, handler)| expand::expand(&args, handler));
    match expanded {
        Ok(tokens) => tokens.into(),
        // The original item stays, so one mistake gives one error and IDEs keep working.
        Err(err) => {
            let mut tokens = handler::recovery(item);
            tokens.extend(err.to_compile_error());
            tokens.into()
        }
    }
}
