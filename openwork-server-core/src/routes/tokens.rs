//! `GET/POST /tokens` and `DELETE /tokens/:id` (contract §4.16): host-only management of
//! scoped tokens. Creating and revoking need no approval but are refused in read-only mode.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::ensure_writable;
use super::openapi::schemas::{self, ErrorBody};
use crate::auth::Scope;
use crate::auth::extract::HostAuth;
use crate::error::ApiError;
use crate::pipeline::extract::{JsonObject, PathParams};
use crate::state::AppState;

/// Issued tokens without their digests.
#[utoipa::path(
    get,
    path = "/tokens",
    summary = "List issued tokens",
    tag = "tokens",
    security(("hostToken" = []), ("bearer" = ["owner"])),
    responses((status = 200, description = "Issued tokens (built-in tokens are not listed)", body = schemas::server::TokenList)),
)]
pub(super) async fn list_tokens(State(state): State<AppState>, _host: HostAuth) -> Json<Value> {
    let items: Vec<Value> = state
        .tokens
        .list()
        .into_iter()
        .map(|record| {
            let mut item = json!({
                "id": record.id,
                "scope": record.scope,
                "createdAt": record.created_at,
            });
            if let Some(label) = record.label {
                item["label"] = label.into();
            }
            item
        })
        .collect();
    Json(json!({ "items": items }))
}

/// Issues a token; the plaintext appears in this response only.
#[utoipa::path(
    post,
    path = "/tokens",
    summary = "Issue a scoped token",
    tag = "tokens",
    security(("hostToken" = []), ("bearer" = ["owner"])),
    request_body = schemas::server::CreateToken,
    responses(
        (status = 201, description = "The new token, shown once", body = schemas::server::IssuedToken),
        (status = 400, description = "- `invalid_scope`: Token scope must be owner, collaborator, or viewer", body = ErrorBody),
        (status = 403, description = "- `read_only`: Server is in read-only mode", body = ErrorBody),
    ),
)]
pub(super) async fn create_token(
    State(state): State<AppState>,
    _host: HostAuth,
    body: Result<JsonObject, ApiError>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    ensure_writable(&state)?;
    let body = body?;
    let scope = body
        .str("scope")
        .and_then(Scope::from_name)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_scope",
                "Token scope must be owner, collaborator, or viewer",
            )
        })?;
    let label = body.str("label").map(str::to_owned);
    let issued = state
        .tokens
        .create(scope, label)
        .await
        .map_err(ApiError::internal)?;
    let body = serde_json::to_value(issued).map_err(ApiError::internal)?;
    Ok((StatusCode::CREATED, Json(body)))
}

/// Revokes a token at once.
#[utoipa::path(
    delete,
    path = "/tokens/{id}",
    summary = "Revoke a token",
    tag = "tokens",
    params(("id" = String, Path, description = "Token id")),
    security(("hostToken" = []), ("bearer" = ["owner"])),
    responses(
        (status = 200, description = "Revoked", body = schemas::Ok),
        (status = 400, description = "- `invalid_path`: Invalid percent-encoding in path", body = ErrorBody),
        (status = 403, description = "- `read_only`: Server is in read-only mode", body = ErrorBody),
        (status = 404, description = "- `token_not_found`: Token not found", body = ErrorBody),
    ),
)]
pub(super) async fn revoke_token(
    State(state): State<AppState>,
    _host: HostAuth,
    PathParams(id): PathParams<String>,
) -> Result<Json<Value>, ApiError> {
    ensure_writable(&state)?;
    if !state.tokens.revoke(&id).await.map_err(ApiError::internal)? {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "token_not_found",
            "Token not found",
        ));
    }
    Ok(Json(json!({ "ok": true })))
}
