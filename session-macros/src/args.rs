//! The options inside `#[with_session(...)]`.

use proc_macro2::TokenStream;
use syn::parse::{Parse, ParseStream, Parser};
use syn::{Path, Token};

const ALLOWED: &str = "the allowed options are: `crate = path` and `autosave`";

mod keyword {
    syn::custom_keyword!(autosave);
}

/// The parsed options.
#[derive(Default)]
pub(crate) struct Args {
    /// Where the `jwt_session` crate is, for users who renamed the dependency.
    pub(crate) krate: Option<Path>,
    /// Save at response time when the session was modified and not saved or deleted.
    pub(crate) autosave: bool,
}

/// The options, or the defaults beside the error when they do not parse: the handler is
/// then still expanded, so the user sees that one error rather than a cascade from code
/// that expects the expansion (as thiserror's fallback does).
pub(crate) fn parse(tokens: TokenStream) -> (Args, Option<syn::Error>) {
    match Args::parse.parse2(tokens) {
        Ok(args) => (args, None),
        Err(err) => (Args::default(), Some(err)),
    }
}

impl Parse for Args {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut krate = None;
        let mut autosave = false;
        while !input.is_empty() {
            if input.peek(keyword::autosave) {
                let keyword: keyword::autosave = input.parse()?;
                if autosave {
                    return Err(syn::Error::new(
                        keyword.span,
                        format!("duplicate option `autosave`; {ALLOWED}"),
                    ));
                }
                autosave = true;
            } else if input.peek(Token![crate]) {
                let keyword: Token![crate] = input.parse()?;
                if krate.is_some() {
                    return Err(syn::Error::new(
                        keyword.span,
                        format!("duplicate option `crate`; {ALLOWED}"),
                    ));
                }
                input.parse::<Token![=]>()?;
                krate = Some(input.parse()?);
            } else {
                let unknown: proc_macro2::TokenTree = input.parse()?;
                return Err(syn::Error::new(
                    unknown.span(),
                    format!("unknown option `{unknown}` for #[with_session]; {ALLOWED}"),
                ));
            }
            if input.is_empty() {
                break;
            }
            if !input.peek(Token![,]) {
                let unexpected: proc_macro2::TokenTree = input.parse()?;
                return Err(syn::Error::new(
                    unexpected.span(),
                    format!("expected `,` between options, found `{unexpected}`; {ALLOWED}"),
                ));
            }
            input.parse::<Token![,]>()?;
        }
        Ok(Self { krate, autosave })
    }
}
