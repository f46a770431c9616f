//! The CSRF rules as an actix-web middleware.

use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::rc::Rc;

use actix_web::body::EitherBody;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::header;
use actix_web::{Error, HttpResponse};

use super::response::add_vary;
use crate::csrf::{Csrf, CsrfVerdict, SEC_FETCH_SITE, VARY_ON};

fn add_vary_on_checked_headers(headers: &mut header::HeaderMap) {
    for name in VARY_ON {
        add_vary(headers, name);
    }
}

/// A header's text; a value that is not visible ASCII is reported as such and never passes.
fn header_text<'r>(req: &'r ServiceRequest, name: &str) -> Option<&'r str> {
    req.headers()
        .get(name)
        .map(|value| value.to_str().unwrap_or("(not visible ASCII)"))
}

impl<S, B> Transform<S, ServiceRequest> for Csrf
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = CsrfMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(CsrfMiddleware {
            service: Rc::new(service),
            csrf: self.clone(),
        }))
    }
}

/// The service [`Csrf`] wraps around the app's.
#[doc(hidden)]
pub struct CsrfMiddleware<S> {
    service: Rc<S>,
    csrf: Csrf,
}

impl<S, B> Service<ServiceRequest> for CsrfMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Error>>>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        // The path the router matches (percent-decoded as it decodes), so that an exempt
        // pattern covers exactly the requests its route receives.
        let verdict = self.csrf.judge(
            req.method().as_str(),
            req.match_info().as_str(),
            header_text(&req, SEC_FETCH_SITE),
            header_text(&req, header::ORIGIN.as_str()),
        );
        let service = Rc::clone(&self.service);
        match verdict {
            CsrfVerdict::Unchecked => {
                Box::pin(async move { Ok(service.call(req).await?.map_into_left_body()) })
            }
            CsrfVerdict::Refused(refusal) => {
                tracing::warn!(method = %req.method(), path = req.path(), "CSRF check refused the request: {refusal}");
                let mut response = HttpResponse::Forbidden()
                    .content_type("text/plain; charset=utf-8")
                    .body(format!("Forbidden: {refusal}"));
                add_vary_on_checked_headers(response.headers_mut());
                Box::pin(ready(Ok(req.into_response(response).map_into_right_body())))
            }
            CsrfVerdict::Passed => Box::pin(async move {
                let mut response = service.call(req).await?;
                add_vary_on_checked_headers(response.headers_mut());
                Ok(response.map_into_left_body())
            }),
        }
    }
}
