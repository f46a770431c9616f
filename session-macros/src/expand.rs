//! Code generation: the user's fn becomes an inner fn, unchanged, inside an outer handler
//! that extracts the session and writes its cookie on the response.
//!
//! ```text
//! #[attrs] vis async fn name<G>(form: A, session: SessionLoader) -> SessionResponder<R> {
//!     fn name<G>(form: A, mut session: SessionDict) -> R { body }   // the user's fn, as written
//!     let (__session, __session_handle) = SessionLoader::into_parts(session);
//!     let __session = <SessionDict as SessionParam>::from_dict(__session, AUTOSAVE);
//!     let __response = name::<G>(form, __session).await;
//!     SessionResponder::new(__response, __session_handle)
//! }
//! ```
//! The inner fn keeps `return`, `?`, sync bodies and the user's spans working as written.
//! A `middleware::from_fn` function (one taking a `Next`) keeps its return type, and the
//! last line becomes `MiddlewareReturn::finish_session(__response, __session_handle)`.

use proc_macro2::{Group, Ident, Span, TokenStream, TokenTree};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{FnArg, GenericParam, ItemFn, Pat, ReturnType, Type};

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
        let arg = plain_name(&typed.pat).unwrap_or_else(|| hidden(&format!("__arg{index}")));
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
    let mut inner = item.clone();
    inner.attrs.clear();
    inner.vis = syn::Visibility::Inherited;

    let autosave = args.autosave;
    // Spanned at the user's session type, so a type that is not a session is reported there.
    let session_param = {
        let private = private_path(args, session_span);
        quote!(<#session_type as #private::SessionParam>::from_dict)
    };

    quote! {
        #(#attrs)*
        #allow_unused_async
        #vis async fn #name #generics (#(#outer_inputs),*) -> #outer_return #where_clause {
            #inner
            let (#session, #handle) = #private::SessionLoader::into_parts(#loader);
            let #session = #session_param(#session, #autosave);
            let #response = #name #turbofish (#(#call_args),*) #await_inner;
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
