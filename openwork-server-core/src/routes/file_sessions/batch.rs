//! `read-batch` and `write-batch` of file sessions (contract §8.4).
//!
//! D1: a path that leads outside the workspace through a symlink fails the whole request
//! with `400 invalid_path` "Path escapes the workspace", like every other invalid path of
//! the batch (the reference verified that one invalid path fails the whole request).

use axum::extract::State;
use base64::Engine;
use serde_json::{Map, Value, json};
use std::path::PathBuf;

use super::{
    MAX_FILE_BYTES, MAX_ITEMS, SessionWriter, confined, open_session, payload_error,
    writable_session,
};
use crate::auth::extract::ClientAuth;
use crate::error::ApiError;
use crate::files::catalog::ms_json;
use crate::files::events::FileEventType;
use crate::files::{mtime_ms, revision};
use crate::fs::atomic::{FileMode, write_atomic};
use crate::pipeline::extract::{JsonObject, PathParams};
use crate::routes::openapi::errors;
use crate::routes::openapi::params::FileSessionId;
use crate::routes::openapi::schemas::{self, ErrorBody};
use crate::state::AppState;

const WRITE_ACTION: &str = "workspace.files.session.write";

/// The `paths`/`writes` array of a batch, 1..=64 items, with the reference's messages.
fn batch_items<'a>(body: &'a Map<String, Value>, key: &str) -> Result<&'a Vec<Value>, ApiError> {
    let (not_array, empty, too_many) = match key {
        "paths" => (
            "paths must be an array",
            "paths must not be empty",
            "paths must include <= 64 items",
        ),
        _ => (
            "writes must be an array",
            "writes must not be empty",
            "writes must include <= 64 items",
        ),
    };
    let items = body
        .get(key)
        .and_then(Value::as_array)
        .ok_or_else(|| payload_error(not_array))?;
    if items.is_empty() {
        return Err(payload_error(empty));
    }
    if items.len() > MAX_ITEMS {
        return Err(payload_error(too_many));
    }
    Ok(items)
}

/// A per-item failure: `{"ok":false,"path","code","message"}`.
fn item_error(path: &str, code: &str, message: &str) -> Map<String, Value> {
    let mut item = Map::new();
    item.insert("ok".into(), false.into());
    item.insert("path".into(), path.into());
    item.insert("code".into(), code.into());
    item.insert("message".into(), message.into());
    item
}

fn too_large(path: &str, size: u64) -> Value {
    let mut item = item_error(path, "file_too_large", "File exceeds size limit");
    item.insert("maxBytes".into(), MAX_FILE_BYTES.into());
    item.insert("size".into(), size.into());
    Value::Object(item)
}

/// `POST /files/sessions/{session_id}/read-batch` (any scope).
#[utoipa::path(
    post,
    path = "/files/sessions/{session_id}/read-batch",
    summary = "Read files",
    tag = "file-sessions",
    params(FileSessionId),
    security(("bearer" = ["viewer"])),
    request_body = schemas::files::ReadBatch,
    responses(
        (status = 200, description = "One item per path, in order; failures are per item", body = schemas::files::ReadBatchResult),
        (status = 400, description = "- `invalid_path`: Invalid percent-encoding in path\n- `invalid_payload`: paths must be an array | paths must not be empty | paths must include <= 64 items\n- `invalid_path`: Path is required | Path contains null byte | Subdirectories are not allowed | Path traversal is not allowed | Path must point to a file | Path escapes the workspace", body = ErrorBody),
        (status = 403, description = errors::SESSION_OTHER_TOKEN, body = ErrorBody),
        (status = 404, description = errors::SESSION_NOT_FOUND, body = ErrorBody),
    ),
)]
pub(super) async fn read_batch(
    State(state): State<AppState>,
    ClientAuth(actor): ClientAuth,
    PathParams(session_id): PathParams<String>,
    JsonObject(body): JsonObject,
) -> Result<axum::Json<Value>, ApiError> {
    let (_, workspace) = open_session(&state, &actor.token_hash, &session_id)?;
    let raw: Vec<String> = batch_items(&body, "paths")?
        .iter()
        .map(|v| v.as_str().unwrap_or_default().to_owned())
        .collect();
    let root = workspace.root().to_path_buf();
    // One blocking task for the whole batch: resolving and reading 64 small files costs
    // less than scheduling 64 tasks.
    let items = tokio::task::spawn_blocking(move || -> Result<Vec<Value>, ApiError> {
        let targets = raw
            .iter()
            .map(|p| confined(&root, p))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(targets
            .into_iter()
            .map(|(rel, abs)| read_item(&rel, &abs))
            .collect())
    })
    .await
    .map_err(ApiError::internal)??;
    Ok(axum::Json(json!({ "items": items })))
}

fn read_item(rel: &str, abs: &std::path::Path) -> Value {
    let metadata = match std::fs::metadata(abs) {
        Ok(m) if m.is_file() => m,
        _ => return Value::Object(item_error(rel, "file_not_found", "File not found")),
    };
    if metadata.len() > MAX_FILE_BYTES {
        return too_large(rel, metadata.len());
    }
    match std::fs::read(abs) {
        Ok(bytes) => json!({
            "ok": true,
            "path": rel,
            "kind": "file",
            "bytes": bytes.len(),
            "updatedAt": ms_json(mtime_ms(&metadata)),
            "revision": revision(&metadata),
            "contentBase64": base64::engine::general_purpose::STANDARD.encode(&bytes),
        }),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            Value::Object(item_error(rel, "file_not_found", "File not found"))
        }
        Err(_) => Value::Object(item_error(rel, "read_failed", "Unable to read file")),
    }
}

/// Decodes base64 the way Node's `Buffer.from(s, "base64")` does: standard and URL-safe
/// alphabets, padding optional, whitespace and other stray characters ignored, a dangling
/// sixth-bit character dropped. Never fails.
pub(crate) fn decode_lenient(text: &str) -> Vec<u8> {
    let mut clean: Vec<u8> = text
        .bytes()
        .take_while(|b| *b != b'=')
        .filter_map(|b| match b {
            b'-' => Some(b'+'),
            b'_' => Some(b'/'),
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'+' | b'/' => Some(b),
            _ => None,
        })
        .collect();
    if clean.len() % 4 == 1 {
        clean.pop();
    }
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_allow_trailing_bits(true)
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::RequireNone),
    );
    engine.decode(&clean).unwrap_or_default()
}

/// A write that passed validation and the pre-checks.
struct PlannedWrite {
    rel: String,
    abs: PathBuf,
    bytes: Vec<u8>,
    /// `ifMatchRevision` to re-check right before writing (`None` with `force`).
    expected: Option<String>,
}

fn current_revision(abs: &std::path::Path) -> Option<String> {
    std::fs::metadata(abs).ok().map(|m| revision(&m))
}

fn conflict(rel: &str, message: &str, expected: &str, current: Option<String>) -> Value {
    let mut item = item_error(rel, "conflict", message);
    item.insert("expectedRevision".into(), expected.into());
    item.insert(
        "currentRevision".into(),
        current.map_or(Value::Null, Value::from),
    );
    Value::Object(item)
}

/// `POST /files/sessions/{session_id}/write-batch`.
#[utoipa::path(
    post,
    path = "/files/sessions/{session_id}/write-batch",
    summary = "Write files",
    tag = "file-sessions",
    params(FileSessionId),
    security(("bearer" = ["collaborator"])),
    extensions(("x-openwork-approval" = json!("workspace.files.session.write"))),
    request_body = schemas::files::WriteBatch,
    responses(
        (status = 200, description = "Per-item results: pre-check failures first, then the writes", body = schemas::files::WriteBatchResult),
        (status = 400, description = "- `invalid_path`: Invalid percent-encoding in path\n- `invalid_payload`: writes must be an array | writes must not be empty | writes must include <= 64 items | write entries must be objects | contentBase64 is required\n- `invalid_path`: Path is required | Path contains null byte | Subdirectories are not allowed | Path traversal is not allowed | Path must point to a file | Path escapes the workspace", body = ErrorBody),
        (status = 403, description = "- `read_only`: Server is in read-only mode\n- `forbidden`: Insufficient token scope (details: `required`, `scope`) | File session does not belong to this token | File session is read-only", body = ErrorBody),
        (status = 404, description = errors::SESSION_NOT_FOUND, body = ErrorBody),
    ),
)]
pub(super) async fn write_batch(
    State(state): State<AppState>,
    SessionWriter(actor): SessionWriter,
    PathParams(session_id): PathParams<String>,
    JsonObject(body): JsonObject,
) -> Result<axum::Json<Value>, ApiError> {
    let access = writable_session(&state, actor, &session_id)?;
    let mut entries = Vec::new();
    for entry in batch_items(&body, "writes")? {
        let entry = entry
            .as_object()
            .ok_or_else(|| payload_error("write entries must be objects"))?;
        let content = entry
            .get("contentBase64")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| payload_error("contentBase64 is required"))?;
        let path = entry
            .get("path")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let expected = match (entry.get("ifMatchRevision"), entry.get("force")) {
            (_, Some(Value::Bool(true))) => None,
            (Some(Value::String(rev)), _) => Some(rev.clone()),
            _ => None,
        };
        entries.push((path.to_owned(), content.to_owned(), expected));
    }
    let root = access.workspace.root().to_path_buf();
    // Validation and pre-checks need no write, so they all run before the approval (D4).
    let (failures, planned) = tokio::task::spawn_blocking(move || {
        let mut failures = Vec::new();
        let mut planned = Vec::new();
        for (raw, content, expected) in entries {
            let (rel, abs) = confined(&root, &raw)?;
            let bytes = decode_lenient(&content);
            if bytes.len() as u64 > MAX_FILE_BYTES {
                failures.push(too_large(&rel, bytes.len() as u64));
                continue;
            }
            let metadata = std::fs::metadata(&abs).ok();
            if metadata.as_ref().is_some_and(|m| !m.is_file()) {
                failures.push(Value::Object(item_error(
                    &rel,
                    "invalid_path",
                    "Path must point to a file",
                )));
                continue;
            }
            let current = metadata.as_ref().map(revision);
            if let Some(expected) = &expected
                && current.as_ref() != Some(expected)
            {
                failures.push(conflict(
                    &rel,
                    "File changed since it was loaded",
                    expected,
                    current,
                ));
                continue;
            }
            planned.push(PlannedWrite {
                rel,
                abs,
                bytes,
                expected,
            });
        }
        Ok::<_, ApiError>((failures, planned))
    })
    .await
    .map_err(ApiError::internal)??;
    if !planned.is_empty() {
        access
            .approve(
                WRITE_ACTION,
                format!("Write {} file(s) via file session", planned.len()),
                planned
                    .iter()
                    .map(|p| p.abs.to_string_lossy().into_owned())
                    .collect(),
            )
            .await?;
    }
    let catalog = state.catalogs.existing(&access.workspace.id);
    let mut items = failures;
    for write in planned {
        // The lock makes the revision check and the write one step for concurrent batches.
        let _lock = state.file_locks.lock(&write.abs).await;
        let root = access.workspace.root().to_path_buf();
        let catalog = catalog.clone();
        let outcome = tokio::task::spawn_blocking(move || apply_write(&root, write, catalog))
            .await
            .map_err(ApiError::internal)?;
        if let WriteOutcome::Written {
            rel, abs, revision, ..
        } = &outcome
        {
            state.file_events.record(
                &access.workspace.id,
                FileEventType::Write,
                rel.clone(),
                None,
                Some(revision.clone()),
            );
            access
                .audit(
                    WRITE_ACTION,
                    abs.to_string_lossy(),
                    format!("Wrote {rel} via file session"),
                )
                .await;
        }
        items.push(outcome.into_item());
    }
    let cursor = state.file_events.cursor(&access.workspace.id);
    Ok(axum::Json(json!({ "items": items, "cursor": cursor })))
}

enum WriteOutcome {
    Written {
        rel: String,
        abs: PathBuf,
        bytes: usize,
        updated_at: f64,
        revision: String,
        previous: Option<String>,
    },
    Failed(Value),
}

impl WriteOutcome {
    fn into_item(self) -> Value {
        match self {
            Self::Written {
                rel,
                bytes,
                updated_at,
                revision,
                previous,
                ..
            } => json!({
                "ok": true,
                "path": rel,
                "bytes": bytes,
                "updatedAt": ms_json(updated_at),
                "revision": revision,
                "previousRevision": previous,
            }),
            Self::Failed(item) => item,
        }
    }
}

/// Re-checks and writes one file. Runs under the file's lock, off the async threads.
fn apply_write(
    root: &std::path::Path,
    write: PlannedWrite,
    catalog: Option<std::sync::Arc<crate::files::catalog::Catalog>>,
) -> WriteOutcome {
    let previous = current_revision(&write.abs);
    if let Some(expected) = &write.expected
        && previous.as_ref() != Some(expected)
    {
        return WriteOutcome::Failed(conflict(
            &write.rel,
            "File changed before write could be applied",
            expected,
            previous,
        ));
    }
    // SECURITY (D1): resolve again right before writing; a symlink planted since the
    // pre-check must not redirect the write (or the parents it creates) outside.
    if let Err(error) = crate::fs::confine::resolve_under(root, &write.rel) {
        return WriteOutcome::Failed(Value::Object(item_error(
            &write.rel,
            "invalid_path",
            error.message(),
        )));
    }
    let claim = catalog.map(|catalog| catalog.claim(&[&write.rel]));
    let written = write_atomic(&write.abs, &write.bytes, FileMode::Default)
        .and_then(|()| std::fs::metadata(&write.abs));
    if let Some(claim) = claim {
        claim.finish();
    }
    match written {
        Ok(metadata) => WriteOutcome::Written {
            updated_at: mtime_ms(&metadata),
            revision: revision(&metadata),
            bytes: write.bytes.len(),
            rel: write.rel,
            abs: write.abs,
            previous,
        },
        Err(error) => WriteOutcome::Failed(Value::Object(item_error(
            &write.rel,
            "write_failed",
            &error.to_string(),
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::decode_lenient;

    #[test]
    fn base64_decoding_is_lenient() {
        assert_eq!(decode_lenient("aGVsbG8="), b"hello");
        assert_eq!(decode_lenient("aGVsbG8"), b"hello");
        assert_eq!(decode_lenient(" aGVs\nbG8= "), b"hello");
        assert_eq!(decode_lenient("-_8"), vec![0xfb, 0xff]);
        assert_eq!(decode_lenient("aGVsbG8=trailing"), b"hello");
    }
}
