//! The one JSON error envelope of the API: `{"error": {"code", "message", "problems"?}}` with
//! stable codes. Internal errors are logged once with their cause chain and stay opaque.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;

#[derive(Debug, Clone, Serialize)]
pub struct FieldProblem {
    pub path: String,
    pub message: String,
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub problems: Vec<FieldProblem>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            problems: Vec::new(),
        }
    }
    pub fn not_found(code: &'static str, what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, format!("{what} not found"))
    }
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "auth.unauthorized", message)
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "auth.forbidden", message)
    }
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }
    pub fn invalid(
        code: &'static str,
        message: impl Into<String>,
        problems: Vec<FieldProblem>,
    ) -> Self {
        Self {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code,
            message: message.into(),
            problems,
        }
    }
    /// Logs the cause chain once and answers an opaque 500.
    pub fn internal(err: impl std::fmt::Display) -> Self {
        tracing::error!(error = %err, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; see the server log",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = json!({ "code": self.code, "message": self.message });
        if !self.problems.is_empty() {
            error["problems"] = serde_json::to_value(&self.problems).unwrap_or_default();
        }
        (self.status, Json(json!({ "error": error }))).into_response()
    }
}

impl From<suture_storage::StorageError> for ApiError {
    fn from(e: suture_storage::StorageError) -> Self {
        match e {
            suture_storage::StorageError::NotFound => ApiError::not_found("not_found", "resource"),
            other => ApiError::internal(other),
        }
    }
}

impl From<suture_engine::EngineError> for ApiError {
    fn from(e: suture_engine::EngineError) -> Self {
        ApiError::internal(e)
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
