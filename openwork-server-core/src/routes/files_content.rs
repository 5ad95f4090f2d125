//! Markdown files of a workspace, read and written whole (contract Appendix A):
//! `GET /workspace/:id/files/content?path=` and `POST /workspace/:id/files/content`.
//!
//! Only `.md`, `.mdx` and `.markdown` files (any case), up to 5,000,000 bytes. Writes take
//! an optional `baseUpdatedAt` (the `updatedAt` the client loaded) and answer
//! `409 conflict` when the file changed since; the check runs before the approval prompt
//! (D4) and again under the file's lock right before the write.

use axum::Json;
use axum::http::{StatusCode, Uri};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use tokio::io::AsyncReadExt as _;

use super::guard::{ReadAccess, WriteAccess};
use super::openapi::params::WorkspaceId;
use super::openapi::schemas::{self, ErrorBody};
use super::skills::query_param;
use crate::error::ApiError;
use crate::files::drop_box::js_number;
use crate::files::events::FileEventType;
use crate::files::{mtime_ms, revision};
use crate::fs::confine::{PathError, normalize_relative, resolve_under};
use crate::pipeline::extract::JsonObject;
use crate::resources::skills::js_string;
use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Largest file read or written through these routes (the file-session limit).
const MAX_BYTES: u64 = 5_000_000;

/// This resource's routes.
pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(read_file_content, write_file_content))
}

/// Normalises a client path and refuses anything but markdown.
fn markdown_path(requested: &str) -> Result<String, ApiError> {
    let relative = normalize_relative(requested, true)?;
    let extension = relative
        .rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase());
    match extension.as_deref() {
        Some("md" | "mdx" | "markdown") => Ok(relative),
        _ => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_path",
            "Only markdown files are supported",
        )),
    }
}

/// SECURITY (D1): the absolute path, which must stay inside the workspace after following
/// symlinks.
async fn resolve(root: &Path, relative: &str) -> Result<PathBuf, ApiError> {
    let (root, relative) = (root.to_path_buf(), relative.to_owned());
    tokio::task::spawn_blocking(move || resolve_under(&root, &relative))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::from)
}

fn too_large(size: u64) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "file_too_large",
        "File exceeds size limit",
    )
    .with_details(json!({ "maxBytes": MAX_BYTES, "size": size }))
}

fn file_not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "file_not_found", "File not found")
}

/// `{"path","content","bytes","updatedAt"}`; content decoded as UTF-8 (invalid sequences
/// replaced, as the reference's `readFile(…, "utf8")` does).
#[utoipa::path(
    get,
    path = "/workspace/{id}/files/content",
    summary = "Read a markdown file",
    tag = "files",
    params(WorkspaceId, ("path" = String, Query, description = "Workspace-relative path of a `.md`, `.mdx` or `.markdown` file")),
    security(("bearer" = ["viewer"])),
    extensions(("x-openwork-access" = json!("workspace-read"))),
    responses(
        (status = 200, description = "The file's text", body = schemas::files::FileContent),
        (status = 400, description = "- `invalid_path`: Only markdown files are supported | Path is required | Path contains null byte | Path traversal is not allowed | Path must point to a file | Path escapes the workspace", body = ErrorBody),
        (status = 404, description = "- `file_not_found`: File not found", body = ErrorBody),
        (status = 413, description = "- `file_too_large`: File exceeds size limit (details: `maxBytes`, `size`)", body = ErrorBody),
    ),
)]
async fn read_file_content(access: ReadAccess, uri: Uri) -> Result<Json<Value>, ApiError> {
    let requested = query_param(&uri, "path").unwrap_or_default();
    let relative = markdown_path(requested.trim())?;
    let path = resolve(access.workspace.root(), &relative).await?;
    let mut file = tokio::fs::File::open(&path)
        .await
        .map_err(|_| file_not_found())?;
    let metadata = file.metadata().await.map_err(|_| file_not_found())?;
    if !metadata.is_file() {
        return Err(file_not_found());
    }
    if metadata.len() > MAX_BYTES {
        return Err(too_large(metadata.len()));
    }
    let mut bytes = Vec::with_capacity(metadata.len() as usize);
    // Bounded even if the file grows after the stat.
    (&mut file)
        .take(MAX_BYTES)
        .read_to_end(&mut bytes)
        .await
        .map_err(ApiError::internal)?;
    Ok(Json(json!({
        "path": relative,
        "content": String::from_utf8_lossy(&bytes),
        "bytes": metadata.len(),
        "updatedAt": js_number(mtime_ms(&metadata)),
    })))
}

/// The file's current `updatedAt`, `None` when it does not exist; a folder (or anything
/// but a regular file) at the path is `400 invalid_path` "Path must point to a file".
async fn current_updated_at(path: &Path) -> Result<Option<f64>, ApiError> {
    match tokio::fs::metadata(path).await {
        Ok(metadata) if metadata.is_file() => Ok(Some(mtime_ms(&metadata))),
        Ok(_) => Err(PathError::NotAFile.into()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(super::guard::write_error(error)),
    }
}

/// `409 conflict` when the client loaded another version than the one on disk.
fn check_base(base: Option<f64>, current: Option<f64>, force: bool) -> Result<(), ApiError> {
    match (base, current) {
        (Some(base), Some(current)) if !force && base != current => Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            "File changed since it was loaded",
        )
        .with_details(json!({
            "baseUpdatedAt": js_number(base),
            "currentUpdatedAt": js_number(current),
        }))),
        _ => Ok(()),
    }
}

/// Writes a markdown file after approval:
/// `{"ok":true,"path","bytes","updatedAt","revision"}`.
#[utoipa::path(
    post,
    path = "/workspace/{id}/files/content",
    summary = "Write a markdown file",
    tag = "files",
    params(WorkspaceId),
    security(("bearer" = ["collaborator"])),
    extensions(
        ("x-openwork-access" = json!("workspace-write")),
        ("x-openwork-approval" = json!("workspace.file.write")),
    ),
    request_body = schemas::files::FileContentWrite,
    responses(
        (status = 200, description = "Written atomically", body = schemas::files::FileContentWritten),
        (status = 400, description = "- `invalid_payload`: content must be a string\n- `invalid_path`: Only markdown files are supported | Path is required | Path contains null byte | Path traversal is not allowed | Path must point to a file | Path escapes the workspace", body = ErrorBody),
        (status = 409, description = "- `conflict`: File changed since it was loaded (details: `baseUpdatedAt`, `currentUpdatedAt`)", body = ErrorBody),
        (status = 413, description = "- `file_too_large`: File exceeds size limit (details: `maxBytes`, `size`)", body = ErrorBody),
    ),
)]
async fn write_file_content(
    access: WriteAccess,
    JsonObject(body): JsonObject,
) -> Result<Json<Value>, ApiError> {
    // D4: every check that needs no write runs before the operator is asked.
    let relative = markdown_path(&js_string(body.get("path")))?;
    let Some(content) = body.get("content").and_then(Value::as_str) else {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_payload",
            "content must be a string",
        ));
    };
    let bytes = content.len() as u64;
    if bytes > MAX_BYTES {
        return Err(too_large(bytes));
    }
    let base = body
        .get("baseUpdatedAt")
        .and_then(Value::as_f64)
        .filter(|n| n.is_finite());
    let force = body.get("force").and_then(Value::as_bool) == Some(true);
    let path = resolve(access.workspace.root(), &relative).await?;
    check_base(base, current_updated_at(&path).await?, force)?;

    let shown = path.to_string_lossy().into_owned();
    access
        .approve(
            "workspace.file.write",
            format!("Write {relative}"),
            vec![shown.clone()],
        )
        .await?;
    let metadata = {
        let _lock = access.state.file_locks.lock(&path).await;
        // The file or the tree may have changed while the operator decided.
        let path = resolve(access.workspace.root(), &relative).await?;
        check_base(base, current_updated_at(&path).await?, force)?;
        // The live catalog is told before the write, so its watcher leaves reporting this
        // change to us and does not record it a second time as an outside change.
        let claim = access
            .state
            .catalogs
            .existing(&access.workspace.id)
            .map(|catalog| catalog.claim(&[relative.as_str()]));
        let written = access.write_file(&path, content.as_bytes()).await;
        if let Some(claim) = claim {
            tokio::task::spawn_blocking(move || claim.finish())
                .await
                .map_err(ApiError::internal)?;
        }
        written?;
        tokio::fs::metadata(&path)
            .await
            .map_err(ApiError::internal)?
    };
    let revision = revision(&metadata);
    access.state.file_events.record(
        &access.workspace.id,
        FileEventType::Write,
        relative.clone(),
        None,
        Some(revision.clone()),
    );
    access
        .audit("workspace.file.write", shown, format!("Wrote {relative}"))
        .await;
    Ok(Json(json!({
        "ok": true,
        "path": relative,
        "bytes": bytes,
        "updatedAt": js_number(mtime_ms(&metadata)),
        "revision": revision,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_markdown_paths_pass() {
        assert_eq!(markdown_path("notes.md").unwrap(), "notes.md");
        assert_eq!(markdown_path("workspace/a/B.MDX").unwrap(), "a/B.MDX");
        assert_eq!(markdown_path("x.markdown").unwrap(), "x.markdown");
        assert_eq!(
            markdown_path("x.txt").unwrap_err().message,
            "Only markdown files are supported"
        );
        assert_eq!(markdown_path("md").unwrap_err().code, "invalid_path");
        assert_eq!(
            markdown_path("../a.md").unwrap_err().message,
            "Path traversal is not allowed"
        );
    }

    #[test]
    fn conflicts_need_both_times_and_no_force() {
        assert!(check_base(Some(1.5), Some(1.5), false).is_ok());
        assert!(check_base(None, Some(1.5), false).is_ok());
        assert!(check_base(Some(1.0), None, false).is_ok());
        assert!(check_base(Some(1.0), Some(2.0), true).is_ok());
        let error = check_base(Some(1.0), Some(2.5), false).unwrap_err();
        assert_eq!(error.status, StatusCode::CONFLICT);
        assert_eq!(
            error.details.as_deref(),
            Some(&json!({ "baseUpdatedAt": 1, "currentUpdatedAt": 2.5 }))
        );
    }
}
