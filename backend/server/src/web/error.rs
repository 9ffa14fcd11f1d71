//! Errors on dashboard pages render the error page with a fitting status; internal errors are
//! logged once and stay opaque.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use crate::views::ErrorPage;

#[derive(Debug)]
pub struct WebError {
    pub status: StatusCode,
    pub title: &'static str,
    pub message: String,
}

impl WebError {
    pub fn not_found(what: &str) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            title: "Not found",
            message: format!("This {what} does not exist, or it belongs to another tenant."),
        }
    }
    pub fn forbidden(message: &str) -> Self {
        Self {
            status: StatusCode::FORBIDDEN,
            title: "Not allowed",
            message: message.to_string(),
        }
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            title: "Bad request",
            message: message.into(),
        }
    }
    pub fn internal(err: impl std::fmt::Display) -> Self {
        tracing::error!(error = %err, "internal error on a dashboard page");
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            title: "Something went wrong",
            message: "The error was logged on the server.".into(),
        }
    }
}

impl From<suture_storage::StorageError> for WebError {
    fn from(e: suture_storage::StorageError) -> Self {
        WebError::internal(e)
    }
}

impl From<crate::api::error::ApiError> for WebError {
    fn from(e: crate::api::error::ApiError) -> Self {
        if e.status.is_server_error() {
            return WebError {
                status: e.status,
                title: "Something went wrong",
                message: "The error was logged on the server.".into(),
            };
        }
        WebError {
            status: e.status,
            title: "That did not work",
            message: e.message,
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let page = ErrorPage {
            status: self.status.as_u16(),
            title: self.title.to_string(),
            message: self.message,
        };
        match askama::Template::render(&page) {
            Ok(html) => (self.status, Html(html)).into_response(),
            Err(_) => (self.status, self.title).into_response(),
        }
    }
}
