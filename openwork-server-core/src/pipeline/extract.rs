//! Our own body and path extractors, so malformed input answers with the contract's JSON
//! errors instead of the framework's plain-text rejections (§4.0, D9).

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::mount::invalid_encoding;

/// The error for a path parameter that is not valid percent-encoded UTF-8 (D9).
pub(crate) fn invalid_path_encoding() -> ApiError {
    invalid_encoding()
}
use crate::error::ApiError;

/// A request body that must be a JSON object. Empty, malformed or non-object bodies
/// (`null`, arrays, numbers) answer `400 invalid_json`. The `Content-Type` is not
/// consulted, as in the reference.
#[derive(Debug, Clone)]
pub(crate) struct JsonObject(pub(crate) Map<String, Value>);

/// Largest JSON body read, the reference runtime's default request limit (128 MiB).
pub(crate) const MAX_JSON_BODY: usize = 128 * 1024 * 1024;

impl<S: Send + Sync> FromRequest<S> for JsonObject {
    type Rejection = ApiError;

    async fn from_request(request: Request, _state: &S) -> Result<Self, ApiError> {
        let limited = Limited::new(request.into_body(), MAX_JSON_BODY);
        let bytes = match limited.collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(error) if error.is::<LengthLimitError>() => {
                return Err(ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    "Request body is too large",
                ));
            }
            // The client went away or sent a broken chunked body.
            Err(_) => return Err(ApiError::invalid_json()),
        };
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(map)) => Ok(Self(map)),
            _ => Err(ApiError::invalid_json()),
        }
    }
}

impl JsonObject {
    /// The string value of `key`, if it is a string.
    pub(crate) fn str(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(Value::as_str)
    }
}

/// Query parameters read as `URLSearchParams.get` reads them: the first value of each name
/// wins and later repeats are ignored, so a repeated parameter is never a framework
/// rejection (plain text). `T`'s fields should be `Option<String>` (or `T` a map of strings);
/// a query that still does not fit is `400 invalid_query`.
#[derive(Debug, Clone)]
pub(crate) struct FirstQuery<T>(pub(crate) T);

impl<T, S> FromRequestParts<S> for FirstQuery<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let invalid = || {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_query",
                "Invalid query string",
            )
        };
        let axum::extract::Query(pairs) =
            axum::extract::Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)
                .map_err(|_| invalid())?;
        let mut first = Map::new();
        for (name, value) in pairs {
            first.entry(name).or_insert(Value::String(value));
        }
        serde_json::from_value(Value::Object(first))
            .map(Self)
            .map_err(|_| invalid())
    }
}

/// Percent-decoded path parameters; a malformed encoding is `400 invalid_path` (D9).
#[derive(Debug, Clone)]
pub(crate) struct PathParams<T>(pub(crate) T);

impl<T, S> FromRequestParts<S> for PathParams<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Self(p.0))
            .map_err(|_| invalid_encoding())
    }
}
