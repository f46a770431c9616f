//! Checks that the item is a handler `#[with_session]` can wrap, and finds its session.

use proc_macro2::{TokenStream, TokenTree};
use syn::{FnArg, Item, ItemFn, Type};

const SESSION_TYPE: &str = "SessionDict";

/// A handler fn with exactly one `SessionDict` parameter.
pub(crate) struct Handler {
    pub(crate) item: ItemFn,
    /// Position of the `SessionDict` parameter in `item.sig.inputs`.
    pub(crate) session_index: usize,
}

/// The item to re-emit beside an error: the user's own, minus a `const` that would only
/// add a second, confusing error.
pub(crate) fn recovery(tokens: TokenStream) -> TokenStream {
    match syn::parse2::<ItemFn>(tokens.clone()) {
        Ok(mut item) if item.sig.constness.is_some() => {
            item.sig.constness = None;
            quote::ToTokens::into_token_stream(item)
        }
        _ => tokens,
    }
}

pub(crate) fn parse(tokens: TokenStream) -> syn::Result<Handler> {
    let item = match syn::parse2::<Item>(tokens)? {
        Item::Fn(item) => item,
        Item::Impl(item) => {
            return Err(syn::Error::new(
                item.impl_token.span,
                "#[with_session] goes on each handler fn, not on an impl block",
            ));
        }
        other => {
            return Err(syn::Error::new_spanned(
                other,
                "#[with_session] can only be applied to a handler fn, such as \
                 `async fn index(session: SessionDict) -> impl Responder`",
            ));
        }
    };
    if let Some(constness) = &item.sig.constness {
        return Err(syn::Error::new(
            constness.span,
            "#[with_session] cannot wrap a `const fn`: a session is loaded at request time; remove `const`",
        ));
    }
    if let Some(span) = find_self_type(
        quote::ToTokens::to_token_stream(&item.sig)
            .into_iter()
            .chain(quote::ToTokens::to_token_stream(&item.block)),
    ) {
        return Err(syn::Error::new(
            span,
            "#[with_session] cannot wrap a handler that uses `Self`: the body moves into a nested \
             fn, where `Self` is out of scope; write the type's name instead",
        ));
    }
    let mut session_index = None;
    for (index, input) in item.sig.inputs.iter().enumerate() {
        let ty = match input {
            FnArg::Receiver(receiver) => {
                return Err(syn::Error::new_spanned(
                    receiver,
                    "#[with_session] handlers cannot take `self`: actix-web handlers are free \
                     functions; move this one out of the impl block",
                ));
            }
            FnArg::Typed(typed) => &*typed.ty,
        };
        if let Type::Reference(reference) = ty
            && is_session_type(&reference.elem)
        {
            return Err(syn::Error::new_spanned(
                ty,
                "take the session by value: `session: SessionDict` (or `mut session: SessionDict`)",
            ));
        }
        if !is_session_type(ty) {
            continue;
        }
        if session_index.is_some() {
            return Err(syn::Error::new_spanned(
                input,
                "a handler takes exactly one `SessionDict`; remove this second one",
            ));
        }
        session_index = Some(index);
    }
    let Some(session_index) = session_index else {
        return Err(syn::Error::new(
            item.sig.paren_token.span.join(),
            format!(
                "#[with_session] needs a `{SESSION_TYPE}` parameter to fill, such as \
                 `session: {SESSION_TYPE}`; add one, or remove the attribute"
            ),
        ));
    };
    Ok(Handler {
        item,
        session_index,
    })
}

/// The span of the first `Self` in `tokens`, searched through groups.
fn find_self_type(tokens: impl IntoIterator<Item = TokenTree>) -> Option<proc_macro2::Span> {
    tokens.into_iter().find_map(|token| match token {
        TokenTree::Ident(ident) if ident == "Self" => Some(ident.span()),
        TokenTree::Group(group) => find_self_type(group.stream()),
        _ => None,
    })
}

/// Whether `ty` names `SessionDict` by its last path segment, however it is imported.
fn is_session_type(ty: &Type) -> bool {
    match ty {
        Type::Path(path) => {
            path.qself.is_none()
                && path
                    .path
                    .segments
                    .last()
                    .is_some_and(|s| s.ident == SESSION_TYPE)
        }
        Type::Group(group) => is_session_type(&group.elem),
        Type::Paren(paren) => is_session_type(&paren.elem),
        _ => false,
    }
}
