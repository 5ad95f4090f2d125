//! `ops` of file sessions (contract §8.4): `mkdir`, `delete` and `rename`, run in order with
//! one result per operation, one approval for the request, and (D12) one audit line per
//! applied operation.

use crate::routes::openapi::errors;
use crate::routes::openapi::params::FileSessionId;
use crate::routes::openapi::schemas::{self, ErrorBody};
use axum::extract::State;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

use super::{MAX_ITEMS, SessionWriter, confined, payload_error, writable_session};
use crate::error::ApiError;
use crate::files::events::FileEventType;
use crate::fs::confine::resolve_under;
use crate::pipeline::extract::{JsonObject, PathParams};
use crate::state::AppState;

const OPS_ACTION: &str = "workspace.files.session.ops";

/// One operation as the client sent it, with its string paths already validated.
struct Operation {
    /// The `type` value as sent (echoed in the result).
    kind: Value,
    path: Option<String>,
    from: Option<String>,
    to: Option<String>,
    recursive: bool,
}

/// What an applied operation did, for the file event and the audit line.
struct Applied {
    item: Value,
    event: Option<(FileEventType, String, Option<String>)>,
    audit: Option<(String, String)>,
}

impl Applied {
    fn failed(item: Value) -> Self {
        Self {
            item,
            event: None,
            audit: None,
        }
    }
}

/// `POST /files/sessions/{session_id}/ops`.
#[utoipa::path(
    post,
    path = "/files/sessions/{session_id}/ops",
    summary = "Create folders, delete and rename files",
    tag = "file-sessions",
    params(FileSessionId),
    security(("bearer" = ["collaborator"])),
    extensions(("x-openwork-approval" = json!("workspace.files.session.ops"))),
    request_body = schemas::files::FileOperations,
    responses(
        (status = 200, description = "One result per operation, in order", body = schemas::files::OperationResults),
        (status = 400, description = "- `invalid_path`: Invalid percent-encoding in path\n- `invalid_payload`: operations must be a non-empty array | operations must include <= 64 items\n- `invalid_path`: Path is required | Path contains null byte | Subdirectories are not allowed | Path traversal is not allowed | Path must point to a file | Path escapes the workspace", body = ErrorBody),
        (status = 403, description = "- `read_only`: Server is in read-only mode\n- `forbidden`: Insufficient token scope (details: `required`, `scope`) | File session does not belong to this token | File session is read-only", body = ErrorBody),
        (status = 404, description = errors::SESSION_NOT_FOUND, body = ErrorBody),
    ),
)]
pub(super) async fn apply_ops(
    State(state): State<AppState>,
    SessionWriter(actor): SessionWriter,
    PathParams(session_id): PathParams<String>,
    JsonObject(body): JsonObject,
) -> Result<axum::Json<Value>, ApiError> {
    let access = writable_session(&state, actor, &session_id)?;
    let raw = body
        .get("operations")
        .and_then(Value::as_array)
        .filter(|ops| !ops.is_empty())
        .ok_or_else(|| payload_error("operations must be a non-empty array"))?;
    if raw.len() > MAX_ITEMS {
        return Err(payload_error("operations must include <= 64 items"));
    }
    let raw = raw.clone();
    let root = access.workspace.root().to_path_buf();
    // Every path the operations name is normalised and confined before the approval (D4).
    let (operations, paths) = tokio::task::spawn_blocking(move || {
        let mut operations = Vec::new();
        let mut paths = Vec::new();
        for op in &raw {
            let mut field = |key: &str| -> Result<Option<String>, ApiError> {
                match op.get(key).and_then(Value::as_str) {
                    None => Ok(None),
                    Some(raw) => {
                        let (rel, abs) = confined(&root, raw)?;
                        paths.push(abs.to_string_lossy().into_owned());
                        Ok(Some(rel))
                    }
                }
            };
            let path = field("path")?;
            let from = field("from")?;
            let to = field("to")?;
            operations.push(Operation {
                kind: op.get("type").cloned().unwrap_or(Value::Null),
                path,
                from,
                to,
                recursive: op.get("recursive") == Some(&Value::Bool(true)),
            });
        }
        Ok::<_, ApiError>((operations, paths))
    })
    .await
    .map_err(ApiError::internal)??;
    if !paths.is_empty() {
        access
            .approve(
                OPS_ACTION,
                format!(
                    "Apply {} file operation(s) via file session",
                    operations.len()
                ),
                paths,
            )
            .await?;
    }
    let catalog = state.catalogs.existing(&access.workspace.id);
    let mut items = Vec::with_capacity(operations.len());
    for op in operations {
        let root = access.workspace.root().to_path_buf();
        let mut locked: Vec<PathBuf> = [&op.path, &op.from, &op.to]
            .into_iter()
            .flatten()
            .map(|rel| root.join(rel))
            .collect();
        locked.sort();
        // A path named twice (`rename a → a`, or `path` and `from` alike) is locked once:
        // the locks are not reentrant, and a second wait would never end.
        locked.dedup();
        let mut guards = Vec::with_capacity(locked.len());
        for path in &locked {
            guards.push(state.file_locks.lock(path).await);
        }
        let catalog = catalog.clone();
        let applied = tokio::task::spawn_blocking(move || {
            let touched: Vec<&str> = [&op.path, &op.from, &op.to]
                .into_iter()
                .flatten()
                .map(String::as_str)
                .collect();
            let claim = catalog.as_ref().map(|catalog| catalog.claim(&touched));
            let applied = apply(&root, &op);
            if let Some(claim) = claim {
                claim.finish();
            }
            applied
        })
        .await
        .map_err(ApiError::internal)?;
        drop(guards);
        if let Some((kind, path, to)) = applied.event {
            state
                .file_events
                .record(&access.workspace.id, kind, path, to, None);
        }
        if let Some((target, summary)) = applied.audit {
            access.audit(OPS_ACTION, target, summary).await;
        }
        items.push(applied.item);
    }
    let cursor = state.file_events.cursor(&access.workspace.id);
    Ok(axum::Json(json!({ "items": items, "cursor": cursor })))
}

/// JavaScript's `String(type)` for the unsupported-type message.
fn type_name(kind: &Value) -> String {
    match kind {
        Value::String(s) => s.clone(),
        Value::Null => "undefined".to_owned(),
        other => other.to_string(),
    }
}

/// `{"ok":false,"type","code":"operation_failed","message"}` — thrown errors carry no path.
fn thrown(kind: &Value, message: String) -> Applied {
    Applied::failed(
        json!({"ok": false, "type": kind, "code": "operation_failed", "message": message}),
    )
}

/// Runs one operation. Blocking.
fn apply(root: &Path, op: &Operation) -> Applied {
    let kind = &op.kind;
    match kind.as_str() {
        Some("mkdir") => {
            let Some(rel) = &op.path else {
                return thrown(kind, "Path is required".to_owned());
            };
            let abs = match reresolve(root, rel) {
                Ok(abs) => abs,
                Err(message) => return thrown(kind, message),
            };
            match std::fs::create_dir_all(&abs) {
                Ok(()) => Applied {
                    item: json!({"ok": true, "type": "mkdir", "path": rel}),
                    event: Some((FileEventType::Mkdir, rel.clone(), None)),
                    audit: Some((
                        abs.to_string_lossy().into_owned(),
                        format!("Created folder {rel}"),
                    )),
                },
                Err(error) => thrown(kind, os_message(&error, "mkdir", &abs)),
            }
        }
        Some("delete") => {
            let Some(rel) = &op.path else {
                return thrown(kind, "Path is required".to_owned());
            };
            let abs = match reresolve(root, rel) {
                Ok(abs) => abs,
                Err(message) => return thrown(kind, message),
            };
            let Ok(metadata) = std::fs::symlink_metadata(&abs) else {
                return Applied::failed(json!({"ok": false, "type": kind, "path": rel,
                    "code": "file_not_found", "message": "Path not found"}));
            };
            // A symlink is removed itself, never what it points to.
            let removed = if !metadata.is_dir() {
                std::fs::remove_file(&abs).map_err(|e| os_message(&e, "unlink", &abs))
            } else if op.recursive {
                std::fs::remove_dir_all(&abs).map_err(|e| os_message(&e, "rm", &abs))
            } else {
                std::fs::remove_dir(&abs).map_err(|e| os_message(&e, "rmdir", &abs))
            };
            match removed {
                Ok(()) => Applied {
                    item: json!({"ok": true, "type": "delete", "path": rel}),
                    event: Some((FileEventType::Delete, rel.clone(), None)),
                    audit: Some((abs.to_string_lossy().into_owned(), format!("Deleted {rel}"))),
                },
                Err(message) => thrown(kind, message),
            }
        }
        Some("rename") => {
            let (Some(from), Some(to)) = (&op.from, &op.to) else {
                return thrown(kind, "Path is required".to_owned());
            };
            let (from_abs, to_abs) = match (reresolve(root, from), reresolve(root, to)) {
                (Ok(f), Ok(t)) => (f, t),
                (Err(message), _) | (_, Err(message)) => return thrown(kind, message),
            };
            if std::fs::symlink_metadata(&from_abs).is_err() {
                return Applied::failed(json!({"ok": false, "type": kind, "from": from, "to": to,
                    "code": "file_not_found", "message": "Source path not found"}));
            }
            let renamed = to_abs
                .parent()
                .map_or(Ok(()), std::fs::create_dir_all)
                .map_err(|e| os_message(&e, "mkdir", &to_abs))
                .and_then(|()| {
                    // SECURITY (D1): the created parents must not have opened a way out.
                    reresolve(root, to)?;
                    std::fs::rename(&from_abs, &to_abs)
                        .map_err(|e| os_message(&e, "rename", &from_abs))
                });
            match renamed {
                Ok(()) => Applied {
                    item: json!({"ok": true, "type": "rename", "from": from, "to": to}),
                    event: Some((FileEventType::Rename, from.clone(), Some(to.clone()))),
                    audit: Some((
                        to_abs.to_string_lossy().into_owned(),
                        format!("Renamed {from} to {to}"),
                    )),
                },
                Err(message) => thrown(kind, message),
            }
        }
        _ => Applied::failed(
            json!({"ok": false, "type": kind, "code": "invalid_operation",
            "message": format!("Unsupported operation type: {}", type_name(kind))}),
        ),
    }
}

/// SECURITY (D1): confinement again right before acting, against links planted since
/// validation or by an earlier operation of the same request.
fn reresolve(root: &Path, rel: &str) -> Result<PathBuf, String> {
    resolve_under(root, rel).map_err(|e| e.message().to_owned())
}

/// An OS error worded like Node's (`ENOTEMPTY: directory not empty, rmdir '<path>'`), the
/// message clients of the reference see.
fn os_message(error: &std::io::Error, syscall: &str, path: &Path) -> String {
    let (code, text) = match error.raw_os_error() {
        Some(2) => ("ENOENT", "no such file or directory"),
        Some(13) => ("EACCES", "permission denied"),
        Some(1) => ("EPERM", "operation not permitted"),
        Some(17) => ("EEXIST", "file already exists"),
        Some(20) => ("ENOTDIR", "not a directory"),
        Some(21) => ("EISDIR", "illegal operation on a directory"),
        Some(22) => ("EINVAL", "invalid argument"),
        Some(39) | Some(66) => ("ENOTEMPTY", "directory not empty"),
        _ => return error.to_string(),
    };
    format!("{code}: {text}, {syscall} '{}'", path.display())
}
