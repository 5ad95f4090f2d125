//! The one error type of the HTTP API: `{"code","message","details"?}` with the contract's
//! stable codes (§3.5). Internal failures are logged once and reach the client only as the
//! generic 500 body.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::borrow::Cow;

/// An error answered to the client.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code, e.g. `workspace_not_found`.
    pub code: Cow<'static, str>,
    /// Human-readable message, stable for a given code.
    pub message: Cow<'static, str>,
    /// Optional structured details (boxed: a JSON value is large and errors travel in
    /// every `Result`).
    pub details: Option<Box<Value>>,
    /// Extra response headers (e.g. `Retry-After`).
    retry_after_secs: Option<u64>,
}

/// The message of an error response, kept in the response extensions so the request log
/// can report it without re-parsing the body.
#[derive(Clone, Debug)]
pub(crate) struct ErrorMessage(pub(crate) String);

impl ApiError {
    /// An error with a status, code and message.
    pub fn new(
        status: StatusCode,
        code: impl Into<Cow<'static, str>>,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            status,
            code: code.into(),
            message: message.into(),
            details: None,
            retry_after_secs: None,
        }
    }

    /// Adds structured details.
    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(Box::new(details));
        self
    }

    /// `404 not_found`: no such route.
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "Not found")
    }

    /// `400 invalid_json`: the body is not a JSON object.
    pub fn invalid_json() -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_json", "Invalid JSON body")
    }

    /// `401 unauthorized` for client routes.
    pub fn invalid_bearer() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Invalid bearer token",
        )
    }

    /// `401 unauthorized` for host routes.
    pub fn invalid_host_token() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Invalid host token",
        )
    }

    /// `403 read_only`: the server refuses writes.
    pub fn read_only() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "read_only",
            "Server is in read-only mode",
        )
    }

    /// `429 rate_limited` with `Retry-After` (D6).
    pub fn rate_limited(retry_after_secs: u64) -> Self {
        let mut error = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "Too many failed authentication attempts",
        );
        error.retry_after_secs = Some(retry_after_secs.max(1));
        error
    }

    /// `500 internal_error`. The cause is logged here, once; the client sees only the
    /// generic message.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(target: "openwork_server::error", "Unhandled error: {cause}");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "Unexpected server error",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({ "code": self.code, "message": self.message });
        if let Some(details) = self.details {
            body["details"] = *details;
        }
        let mut response = (self.status, Json(body)).into_response();
        if let Some(secs) = self.retry_after_secs {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
            .extensions_mut()
            .insert(ErrorMessage(self.message.into_owned()));
        response
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl std::error::Error for ApiError {}
