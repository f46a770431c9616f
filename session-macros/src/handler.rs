//! Checks that the item is a handler `#[with_session]` can wrap, and finds its session.

use proc_macro2::{TokenStream, TokenTree};
use syn::{Abi, FnArg, Item, ItemFn, Safety, Type};

const SESSION_TYPES: [&str; 2] = ["SessionDict", "TypedSession"];

/// A handler fn with exactly one session parameter.
pub(crate) struct Handler {
    pub(crate) item: ItemFn,
    /// Position of the `SessionDict` or `TypedSession<T>` parameter in `item.sig.inputs`.
    pub(crate) session_index: usize,
    /// An actix `middleware::from_fn` function (it takes a `Next`), not a handler.
    pub(crate) middleware: bool,
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
    if let Safety::Unsafe(unsafety) = &item.sig.safety {
        return Err(syn::Error::new(
            unsafety.span,
            "#[with_session] cannot wrap an `unsafe fn`: the handler it generates is a safe fn \
             that actix-web calls on every request, where nothing upholds a safety contract; \
             remove `unsafe` and use an `unsafe` block inside",
        ));
    }
    if let Some(abi) = item.sig.abi.as_ref().filter(|abi| !is_rust_abi(abi)) {
        let abi = quote::ToTokens::to_token_stream(abi);
        return Err(syn::Error::new_spanned(
            &abi,
            format!(
                "#[with_session] cannot wrap an `{abi}` fn: the handler it generates is an \
                 `async fn` called by actix-web, which cannot keep a foreign ABI; remove `{abi}`"
            ),
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
        if !is_session_type(ty) {
            if mentions_session_type(quote::ToTokens::to_token_stream(ty)) {
                return Err(syn::Error::new_spanned(
                    ty,
                    "take the session by value, as `session: SessionDict` or `session: TypedSession<T>` \
                     (`mut` is fine); references, `Option` and other wrappers are not filled",
                ));
            }
            continue;
        }
        if session_index.is_some() {
            return Err(syn::Error::new_spanned(
                input,
                "a handler takes exactly one session (`SessionDict` or `TypedSession<T>`); remove this second one",
            ));
        }
        session_index = Some(index);
    }
    let Some(session_index) = session_index else {
        return Err(syn::Error::new(
            item.sig.paren_token.span.join(),
            "#[with_session] needs a `SessionDict` or `TypedSession<T>` parameter to fill, such as \
             `session: SessionDict`; add one, or remove the attribute",
        ));
    };
    let middleware =
        item.sig.inputs.iter().any(
            |input| matches!(input, FnArg::Typed(typed) if last_segment_is(&typed.ty, &["Next"])),
        );
    Ok(Handler {
        item,
        session_index,
        middleware,
    })
}

/// Whether `abi` is `extern "Rust"`, the ABI every fn has without `extern`.
fn is_rust_abi(abi: &Abi) -> bool {
    abi.name.as_ref().is_some_and(|name| name.value() == "Rust")
}

/// The span of the first `Self` in `tokens`, searched through groups.
fn find_self_type(tokens: impl IntoIterator<Item = TokenTree>) -> Option<proc_macro2::Span> {
    tokens.into_iter().find_map(|token| match token {
        TokenTree::Ident(ident) if ident == "Self" => Some(ident.span()),
        TokenTree::Group(group) => find_self_type(group.stream()),
        _ => None,
    })
}

/// Whether `ty` names `SessionDict` or `TypedSession` by its last path segment, however it
/// is imported.
fn is_session_type(ty: &Type) -> bool {
    last_segment_is(ty, &SESSION_TYPES)
}

fn last_segment_is(ty: &Type, names: &[&str]) -> bool {
    match ty {
        Type::Path(path) => {
            path.qself.is_none()
                && path
                    .path
                    .segments
                    .last()
                    .is_some_and(|segment| names.iter().any(|name| segment.ident == name))
        }
        Type::Group(group) => last_segment_is(&group.elem, names),
        Type::Paren(paren) => last_segment_is(&paren.elem, names),
        _ => false,
    }
}

/// Whether a session type appears anywhere inside `tokens`, such as `Option<SessionDict>`.
fn mentions_session_type(tokens: TokenStream) -> bool {
    tokens.into_iter().any(|token| match token {
        TokenTree::Ident(ident) => SESSION_TYPES.iter().any(|name| ident == name),
        TokenTree::Group(group) => mentions_session_type(group.stream()),
        _ => false,
    })
}
