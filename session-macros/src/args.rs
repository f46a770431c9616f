//! The options inside `#[with_session(...)]`.

use proc_macro2::TokenStream;
use syn::parse::{Parse, ParseStream, Parser};
use syn::{Path, Token};

const ALLOWED: &str = "the allowed options are: `crate = path`";

/// The parsed options.
pub(crate) struct Args {
    /// Where the `jwt_session` crate is, for users who renamed the dependency.
    pub(crate) krate: Option<Path>,
}

pub(crate) fn parse(tokens: TokenStream) -> syn::Result<Args> {
    Args::parse.parse2(tokens)
}

impl Parse for Args {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut krate = None;
        while !input.is_empty() {
            if input.peek(Token![crate]) {
                let keyword: Token![crate] = input.parse()?;
                if krate.is_some() {
                    return Err(syn::Error::new(keyword.span, "duplicate option `crate`"));
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
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
        }
        Ok(Self { krate })
    }
}
