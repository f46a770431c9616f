//! `?` on a [`SessionError`] in an actix handler: a 500 for the client, the whole chain in
//! the log (see [`error_body`]).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

use crate::engine::report::error_body;
use crate::error::SessionError;

impl ResponseError for SessionError {
    fn status_code(&self) -> StatusCode {
        StatusCode::INTERNAL_SERVER_ERROR
    }

    fn error_response(&self) -> HttpResponse {
        match error_body(self) {
            Some(body) => HttpResponse::InternalServerError()
                .content_type("text/plain; charset=utf-8")
                .body(body),
            None => HttpResponse::InternalServerError().finish(),
        }
    }
}
