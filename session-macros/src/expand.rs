//! Code generation: the user's fn becomes an inner fn, unchanged, inside an outer handler
//! that extracts the session and writes its cookie on the response. The inner fn keeps
//! `return`, `?`, `impl Trait` return types, sync bodies and the user's spans working as
//! written.
//!
//! This handler:
//!
//! ```text
//! #[with_session(autosave)]
//! /// Greets the user.
//! #[tracing::instrument(skip(session))]
//! pub async fn greet(
//!     #[cfg(feature = "metrics")] req: HttpRequest,
//!     path: web::Path<String>,
//!     (a, b): (u8, u8),
//!     mut session: SessionDict,
//! ) -> Result<String, SessionError> {
//!     #![allow(clippy::needless_return)]
//!     session.insert("name", path.as_str())?;
//!     return Ok(format!("hello {a} {b}"));
//! }
//! ```
//!
//! expands to this, where every name starting with `__` is mixed-site, out of the body's
//! reach:
//!
//! ```text
//! /// Greets the user.
//! #[tracing::instrument(skip(session))] // outer attributes stay on the handler
//! pub async fn greet(
//!     #[cfg(feature = "metrics")] req: HttpRequest, // `cfg` and `cfg_attr` are forwarded
//!     path: web::Path<String>,
//!     __arg2: (u8, u8), // a pattern, or a name that is the fn's, goes under its position
//!     session: ::jwt_session::__private::SessionLoader
//! ) -> ::jwt_session::__private::SessionResponder<Result<String, SessionError>> {
//!     // The user's fn as written, with its inner attributes, without outer ones, private.
//!     async fn greet(
//!         #[cfg(feature = "metrics")] req: HttpRequest,
//!         path: web::Path<String>,
//!         (a, b): (u8, u8),
//!         mut session: SessionDict,
//!     ) -> Result<String, SessionError> {
//!         #![allow(clippy::needless_return)]
//!         session.insert("name", path.as_str())?;
//!         return Ok(format!("hello {a} {b}"));
//!     }
//!     let (__session, __session_handle) =
//!         ::jwt_session::__private::SessionLoader::into_parts(session);
//!     // `true`: autosave. The call carries the span of the user's session type.
//!     let __session =
//!         <SessionDict as ::jwt_session::__private::SessionParam>::from_dict(__session, true);
//!     let __response = greet(#[cfg(feature = "metrics")] req, path, __arg2, __session).await;
//!     // A logout's or renewal's revocation, if any, is written before the response.
//!     ::jwt_session::__private::SessionHandle::settle(&__session_handle).await;
//!     // Spanned at the user's return type, so a non-Responder is reported there.
//!     ::jwt_session::__private::SessionResponder::new(__response, __session_handle)
//! }
//! ```
//!
//! A sync fn is called without `.await` from an async handler that allows
//! `clippy::unused_async`, and generic parameters are passed by turbofish (none is when an
//! argument is `impl Trait`, which forbids it):
//!
//! ```text
//! #[with_session]
//! fn count<T: Serialize>(cart: TypedSession<Cart>, data: web::Data<T>) -> String {
//!     cart.items.len().to_string()
//! }
//! ```
//!
//! ```text
//! #[allow(clippy::unused_async)]
//! async fn count<T: Serialize>(
//!     cart: ::jwt_session::__private::SessionLoader,
//!     data: web::Data<T>
//! ) -> ::jwt_session::__private::SessionResponder<String> {
//!     fn count<T: Serialize>(cart: TypedSession<Cart>, data: web::Data<T>) -> String {
//!         cart.items.len().to_string()
//!     }
//!     let (__session, __session_handle) =
//!         ::jwt_session::__private::SessionLoader::into_parts(cart);
//!     let __session =
//!         <TypedSession<Cart> as ::jwt_session::__private::SessionParam>::from_dict(__session, false);
//!     let __response = count::<T>(__session, data);
//!     ::jwt_session::__private::SessionHandle::settle(&__session_handle).await;
//!     ::jwt_session::__private::SessionResponder::new(__response, __session_handle)
//! }
//! ```
//!
//! A `middleware::from_fn` function (one taking a `Next`) keeps its return type, and ends in
//! `MiddlewareReturn::finish_session`; `crate = path` replaces `::jwt_session`:
//!
//! ```text
//! #[with_session(crate = ::my_session)]
//! async fn track(
//!     req: ServiceRequest,
//!     next: Next<impl MessageBody>,
//!     session: SessionDict,
//! ) -> Result<ServiceResponse<impl MessageBody>, Error> {
//!     next.call(req).await
//! }
//! ```
//!
//! ```text
//! async fn track(
//!     req: ServiceRequest,
//!     next: Next<impl MessageBody>,
//!     session: ::my_session::__private::SessionLoader
//! ) -> Result<ServiceResponse<impl MessageBody>, Error> {
//!     async fn track(
//!         req: ServiceRequest,
//!         next: Next<impl MessageBody>,
//!         session: SessionDict,
//!     ) -> Result<ServiceResponse<impl MessageBody>, Error> {
//!         next.call(req).await
//!     }
//!     let (__session, __session_handle) =
//!         ::my_session::__private::SessionLoader::into_parts(session);
//!     let __session =
//!         <SessionDict as ::my_session::__private::SessionParam>::from_dict(__session, false);
//!     let __response = track(req, next, __session).await;
//!     ::my_session::__private::SessionHandle::settle(&__session_handle).await;
//!     ::my_session::__private::MiddlewareReturn::finish_session(__response, __session_handle)
//! }
//! ```
//!
//! The unit test at the end of this file checks that each example expands exactly as shown.

use proc_macro2::{Group, Ident, Span, TokenStream, TokenTree};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{AttrStyle, FnArg, GenericParam, ItemFn, Pat, ReturnType, Type};

use crate::args::Args;
use crate::handler::Handler;

pub(crate) fn expand(args: &Args, handler: Handler) -> TokenStream {
    let Handler {
        item,
        session_index,
        middleware,
    } = handler;
    let private = private_path(args, Span::call_site());
    // Mixed-site names: the user's body cannot see or shadow them.
    let mut loader = hidden("__session_loader");
    let session = hidden("__session");
    let handle = hidden("__session_handle");

    let ItemFn {
        attrs, vis, sig, ..
    } = &item;
    let name = &sig.ident;
    let (_, _, where_clause) = sig.generics.split_for_impl();
    let generics = &sig.generics;
    let (return_type, return_span) = match &sig.output {
        ReturnType::Default => (quote!(()), sig.paren_token.span.join()),
        ReturnType::Type(_, ty) => (quote!(#ty), ty.span()),
    };
    let response = format_ident!(
        "__response",
        span = Span::mixed_site().located_at(return_span)
    );
    // Spanned at the return type, so a non-Responder type is reported there.
    let (outer_return, finish) = {
        let private = private_path(args, return_span);
        if middleware {
            (
                return_type.clone(),
                quote_spanned!(return_span=> #private::MiddlewareReturn::finish_session),
            )
        } else {
            (
                quote!(#private::SessionResponder<#return_type>),
                quote_spanned!(return_span=> #private::SessionResponder::new),
            )
        }
    };

    // The outer parameters keep the user's names where they are plain identifiers, so
    // attribute macros applied after this one (`#[tracing::instrument(skip(session))]`)
    // see the parameters they expect.
    let mut outer_inputs = Vec::new();
    let mut call_args = Vec::new();
    let mut session_type = quote!();
    let mut session_span = Span::call_site();
    for (index, input) in sig.inputs.iter().enumerate() {
        let FnArg::Typed(typed) = input else { continue };
        let cfgs = typed
            .attrs
            .iter()
            .filter(|attr| attr.path().is_ident("cfg") || attr.path().is_ident("cfg_attr"));
        let cfgs = quote!(#(#cfgs)*);
        // A parameter named like the fn itself would shadow the inner fn at the call.
        let arg = plain_name(&typed.pat)
            .filter(|name| *name != sig.ident)
            .unwrap_or_else(|| hidden(&format!("__arg{index}")));
        if index == session_index {
            outer_inputs.push(quote!(#cfgs #arg: #private::SessionLoader));
            call_args.push(quote!(#cfgs #session));
            loader = arg;
            session_span = typed.ty.span();
            session_type = respan(typed.ty.to_token_stream(), session_span);
        } else {
            let ty = &typed.ty;
            outer_inputs.push(quote!(#cfgs #arg: #ty));
            call_args.push(quote!(#cfgs #arg));
        }
    }

    let turbofish = turbofish(&item);
    let await_inner = sig.asyncness.map(|_| quote!(.await));
    let allow_unused_async = sig
        .asyncness
        .is_none()
        .then(|| quote!(#[allow(clippy::unused_async)]));
    // Outer attributes (docs, lints, route macros, `#[tracing::instrument]`) belong to the
    // handler actix-web sees. Inner ones (`#![allow(..)]` opening the body) stay in the body,
    // now the inner fn's; in front of the outer fn they would not compile.
    let outer_attrs = attrs
        .iter()
        .filter(|attr| matches!(attr.style, AttrStyle::Outer));
    let mut inner = item.clone();
    inner
        .attrs
        .retain(|attr| matches!(attr.style, AttrStyle::Inner(_)));
    inner.vis = syn::Visibility::Inherited;

    let autosave = args.autosave;
    // Spanned at the user's session type, so a type that is not a session is reported there.
    let session_param = {
        let private = private_path(args, session_span);
        quote!(<#session_type as #private::SessionParam>::from_dict)
    };

    quote! {
        #(#outer_attrs)*
        #allow_unused_async
        #vis async fn #name #generics (#(#outer_inputs),*) -> #outer_return #where_clause {
            #inner
            let (#session, #handle) = #private::SessionLoader::into_parts(#loader);
            let #session = #session_param(#session, #autosave);
            let #response = #name #turbofish (#(#call_args),*) #await_inner;
            #private::SessionHandle::settle(&#handle).await;
            #finish(#response, #handle)
        }
    }
}

/// The path of the runtime's hidden module, every token carrying `span`.
fn private_path(args: &Args, span: Span) -> TokenStream {
    let path = match &args.krate {
        Some(krate) => quote!(#krate::__private),
        None => quote!(::jwt_session::__private),
    };
    respan(path, span)
}

fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut token| {
            if let TokenTree::Group(group) = &token {
                let mut respanned = Group::new(group.delimiter(), respan(group.stream(), span));
                respanned.set_span(span);
                token = TokenTree::Group(respanned);
            } else {
                token.set_span(span);
            }
            token
        })
        .collect()
}

/// `::<T, N>` naming the user's type and const parameters, so the inner call never needs
/// inference; empty when there are none, or when `impl Trait` arguments forbid it.
fn turbofish(item: &ItemFn) -> Option<TokenStream> {
    let params: Vec<_> = item
        .sig
        .generics
        .params
        .iter()
        .filter_map(|param| match param {
            GenericParam::Type(ty) => Some(&ty.ident),
            GenericParam::Const(konst) => Some(&konst.ident),
            _ => None,
        })
        .collect();
    let has_impl_trait_arg = item.sig.inputs.iter().any(
        |input| matches!(input, FnArg::Typed(typed) if matches!(&*typed.ty, Type::ImplTrait(_))),
    );
    (!params.is_empty() && !has_impl_trait_arg).then(|| quote!(::<#(#params),*>))
}

/// The identifier of a `name` or `mut name` pattern.
fn plain_name(pat: &Pat) -> Option<Ident> {
    match pat {
        Pat::Ident(ident) if ident.by_ref.is_none() && ident.subpat.is_none() => {
            Some(ident.ident.clone())
        }
        _ => None,
    }
}

/// An identifier resolved at the macro's own site, invisible to the user's code.
fn hidden(name: &str) -> Ident {
    format_ident!("{}", name, span = Span::mixed_site())
}

#[cfg(test)]
mod tests {
    use proc_macro2::{Delimiter, TokenStream, TokenTree};

    /// The `text` blocks of this file's module docs.
    fn doc_blocks() -> Vec<String> {
        let mut blocks = Vec::new();
        let mut current: Option<String> = None;
        for line in include_str!("expand.rs").lines() {
            let Some(line) = line.strip_prefix("//!") else {
                continue;
            };
            let line = line.strip_prefix(' ').unwrap_or(line);
            match (&mut current, line) {
                (None, "```text") => current = Some(String::new()),
                (Some(_), "```") => blocks.extend(current.take()),
                (Some(block), line) => {
                    block.push_str(line);
                    block.push('\n');
                }
                (None, _) => {}
            }
        }
        blocks
    }

    /// Expands `input`, whose first line is the `#[with_session(..)]` attribute.
    fn expand(input: &str) -> TokenStream {
        let (attribute, item) = input.split_once('\n').unwrap();
        let args = attribute
            .strip_prefix("#[with_session")
            .and_then(|rest| rest.strip_suffix(']'))
            .expect("an example starts with #[with_session]");
        let args = args
            .strip_prefix('(')
            .and_then(|args| args.strip_suffix(')'))
            .unwrap_or(args);
        let (args, error) = crate::args::parse(args.parse().unwrap());
        assert!(error.is_none(), "{attribute}");
        let handler = crate::handler::parse(item.parse().unwrap())
            .unwrap_or_else(|err| panic!("{err}: {item}"));
        super::expand(&args, handler)
    }

    /// The tokens of `tokens` as text, with groups opened and closed, ignoring spacing.
    fn flatten(tokens: TokenStream) -> Vec<String> {
        let mut flat = Vec::new();
        for token in tokens {
            match token {
                TokenTree::Group(group) => {
                    let (open, close) = match group.delimiter() {
                        Delimiter::Parenthesis => ("(", ")"),
                        Delimiter::Brace => ("{", "}"),
                        Delimiter::Bracket => ("[", "]"),
                        Delimiter::None => ("", ""),
                    };
                    flat.push(open.to_owned());
                    flat.extend(flatten(group.stream()));
                    flat.push(close.to_owned());
                }
                TokenTree::Punct(punct) => flat.push(punct.as_char().to_string()),
                other => flat.push(other.to_string()),
            }
        }
        flat
    }

    #[test]
    fn the_module_docs_show_the_exact_expansion() {
        let blocks = doc_blocks();
        assert_eq!(
            blocks.len(),
            6,
            "three examples, each an input and its expansion"
        );
        for pair in blocks.chunks(2) {
            let expected: TokenStream = pair[1].parse().unwrap();
            assert_eq!(
                flatten(expand(&pair[0])).join(" "),
                flatten(expected).join(" "),
                "the expansion of\n{}",
                pair[0]
            );
        }
    }
}
