//! The workspace inbox (contract §8.2): `POST /workspace/:id/inbox` (multipart upload),
//! `GET /workspace/:id/inbox` and `GET /workspace/:id/inbox/:inboxId`.
//!
//! Uploads are streamed, never buffered whole (GAP §11.2.17): the `file` part goes to a
//! staging temp file in `.opencode/openwork/` (beside the inbox, so it never shows in the
//! listing and the final rename stays on one filesystem) while its size is counted, so an
//! oversized upload is refused as soon as it passes the limit. The `path` form field may
//! follow the file part, which is why the file is staged before its destination is known.
//! Once the body is complete and every check has passed (D4), the operator is asked; only
//! then is the staged file renamed over the destination. A refused upload leaves nothing
//! behind: the temp file is removed and folders created for it are removed again.

use axum::Json;
use axum::extract::multipart::Field;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{StatusCode, Uri, header};
use axum::response::Response;
use serde_json::{Value, json};
use std::io;
use std::path::{Path, PathBuf};
use tokio::io::AsyncWriteExt as _;

use super::ensure_writable;
use super::guard::{ReadAccess, WriteAccess};
use super::openapi::params::WorkspaceId;
use super::openapi::schemas::{self, ErrorBody};
use super::skills::query_param;
use crate::auth::Scope;
use crate::auth::extract::ClientAuth;
use crate::config::Switches;
use crate::error::ApiError;
use crate::files::drop_box::{self, DownloadError, DropBox};
use crate::fs::confine::{PathError, ensure_inside, normalize_relative, resolve_under};
use crate::pipeline::extract::PathParams;
use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Bytes of the `path` field kept in memory; beyond it the request is refused as too
/// large.
const MAX_FIELD_BYTES: usize = 1024 * 1024;

/// This resource's routes. The upload route lifts the framework's default body limit: the
/// handler enforces the inbox limit itself, while streaming.
pub(super) fn router() -> OpenApiRouter<AppState> {
    let (schemas, paths, methods) = routes!(list_inbox, upload_inbox_file);
    OpenApiRouter::new()
        .routes((
            schemas,
            paths,
            methods.layer(axum::extract::DefaultBodyLimit::disable()),
        ))
        .routes(routes!(download_inbox_item))
}

fn inbox_disabled() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "inbox_disabled",
        "Workspace inbox is disabled",
    )
}

fn expected_multipart() -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "invalid_payload",
        "Expected multipart/form-data",
    )
}

fn file_required() -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "file_required",
        "Form field 'file' is required",
    )
}

fn file_too_large(max_bytes: u64, size: u64) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "file_too_large",
        "File exceeds upload limit",
    )
    .with_details(json!({ "maxBytes": max_bytes, "size": size }))
}

fn fields_too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        "Request body is too large",
    )
}

/// `{"items":[{"id","path","size","updatedAt","name"}]}`, newest first; `{"items":[]}`
/// when the inbox is disabled or missing.
#[utoipa::path(
    get,
    path = "/workspace/{id}/inbox",
    summary = "List the inbox",
    tag = "inbox",
    params(WorkspaceId),
    security(("bearer" = ["viewer"])),
    extensions(("x-openwork-access" = json!("workspace-read"))),
    responses((status = 200, description = "Files in the inbox, newest first", body = schemas::files::InboxList)),
)]
async fn list_inbox(
    State(state): State<AppState>,
    access: ReadAccess,
) -> Result<Json<Value>, ApiError> {
    if !Switches::read(&state.env).inbox_enabled {
        return Ok(Json(json!({ "items": [] })));
    }
    let items = DropBox::Inbox.list_json(&access.workspace).await?;
    Ok(Json(json!({ "items": items })))
}

/// The inbox item's bytes as an attachment.
#[utoipa::path(
    get,
    path = "/workspace/{id}/inbox/{inbox_id}",
    summary = "Download an inbox file",
    tag = "inbox",
    params(WorkspaceId, ("inbox_id" = String, Path, description = "An `id` from the listing")),
    security(("bearer" = ["viewer"])),
    extensions(("x-openwork-access" = json!("workspace-read"))),
    responses(
        (status = 200, description = "The file", content_type = "application/octet-stream", body = Vec<u8>, headers(
            ("Content-Length" = u64, description = "Size in bytes"),
            ("Content-Disposition" = String, description = "`attachment; filename=\"<name>\"`"),
        )),
        (status = 400, description = "- `invalid_inbox_item`: Inbox item id is invalid\n- `invalid_path`: Path is required | Path contains null byte | Path traversal is not allowed | Path must point to a file | Path escapes the workspace", body = ErrorBody),
        (status = 404, description = "- `inbox_disabled`: Workspace inbox is disabled\n- `inbox_item_not_found`: Inbox item not found", body = ErrorBody),
    ),
)]
async fn download_inbox_item(
    State(state): State<AppState>,
    access: ReadAccess,
    PathParams((_, inbox_id)): PathParams<(String, String)>,
) -> Result<Response, ApiError> {
    if !Switches::read(&state.env).inbox_enabled {
        return Err(inbox_disabled());
    }
    let relative = drop_box::decode_id(&inbox_id).ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_inbox_item",
            "Inbox item id is invalid",
        )
    })?;
    drop_box::download(
        access.workspace.root().to_path_buf(),
        DropBox::Inbox.root(&access.workspace),
        relative,
    )
    .await
    .map_err(|error| match error {
        DownloadError::NotFound => ApiError::new(
            StatusCode::NOT_FOUND,
            "inbox_item_not_found",
            "Inbox item not found",
        ),
        DownloadError::Refused(error) => error,
    })
}

/// Stores the multipart `file` under the inbox after approval:
/// `{"ok":true,"path":"<rel>","bytes":<size>}`.
#[utoipa::path(
    post,
    path = "/workspace/{id}/inbox",
    summary = "Upload a file to the inbox",
    tag = "inbox",
    params(
        WorkspaceId,
        ("path" = Option<String>, Query, description = "Destination relative to the inbox (wins over the form's `path`)"),
    ),
    security(("bearer" = ["collaborator"])),
    extensions(
        ("x-openwork-access" = json!("workspace-write")),
        ("x-openwork-approval" = json!("workspace.inbox.upload")),
    ),
    request_body(content = schemas::files::InboxUpload, content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "Stored", body = schemas::files::InboxUploaded),
        (status = 400, description = "- `invalid_payload`: Expected multipart/form-data\n- `file_required`: Form field 'file' is required\n- `invalid_path`: Path is required | Path contains null byte | Path traversal is not allowed | Path must point to a file | Path escapes the workspace", body = ErrorBody),
        (status = 404, description = "- `inbox_disabled`: Workspace inbox is disabled", body = ErrorBody),
        (status = 413, description = "- `file_too_large`: File exceeds upload limit (details: `maxBytes`, `size`)\n- `payload_too_large`: Request body is too large", body = ErrorBody),
    ),
)]
async fn upload_inbox_file(
    State(state): State<AppState>,
    ClientAuth(actor): ClientAuth,
    PathParams(id): PathParams<String>,
    uri: Uri,
    request: Request,
) -> Result<Json<Value>, ApiError> {
    // The reference's order: read-only, scope, inbox switch, then the workspace.
    ensure_writable(&state)?;
    actor.require(Scope::Collaborator)?;
    let switches = Switches::read(&state.env);
    if !switches.inbox_enabled {
        return Err(inbox_disabled());
    }
    let workspace = state.resolve_workspace(&id)?;
    let is_multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("multipart/form-data"));
    if !is_multipart {
        return Err(expected_multipart());
    }
    let access = WriteAccess {
        state,
        actor,
        workspace,
    };
    let query_path = query_param(&uri, "path")
        .unwrap_or_default()
        .trim()
        .to_owned();
    let inbox = DropBox::Inbox.root(&access.workspace);
    let multipart = Multipart::from_request(request, &())
        .await
        .map_err(|_| expected_multipart())?;
    let form = read_form(
        multipart,
        access.workspace.root(),
        &inbox,
        &query_path,
        switches.inbox_max_bytes,
    )
    .await?;

    let requested = first_non_empty(&[
        query_path.as_str(),
        form.path.as_str(),
        form.staged.file_name.as_str(),
    ]);
    let relative = normalize_relative(requested, true)?;
    let workspace_root = access.workspace.root().to_path_buf();
    let dest = {
        let (inbox, relative) = (inbox.clone(), relative.clone());
        blocking(move || checked_destination(&workspace_root, &inbox, &relative)).await??
    };
    let shown = dest.to_string_lossy().into_owned();
    access
        .approve(
            "workspace.inbox.upload",
            format!("Upload {relative} to inbox"),
            vec![shown.clone()],
        )
        .await?;
    {
        let _lock = access.state.file_locks.lock(&dest).await;
        let workspace_root = access.workspace.root().to_path_buf();
        let (inbox, relative, dest) = (inbox.clone(), relative.clone(), dest.clone());
        let staged = form.staged;
        blocking(move || {
            // The tree may have changed while the operator decided: check again.
            checked_destination(&workspace_root, &inbox, &relative)?;
            staged.commit(&dest).map_err(super::guard::write_error)
        })
        .await??;
    }
    access
        .audit(
            "workspace.inbox.upload",
            shown,
            format!("Uploaded {relative} to inbox"),
        )
        .await;
    Ok(Json(
        json!({ "ok": true, "path": relative, "bytes": form.size }),
    ))
}

/// What the multipart body held.
struct UploadForm {
    /// The `file` part, on disk.
    staged: StagedFile,
    /// Its size in bytes.
    size: u64,
    /// The first `path` field when it is text, trimmed ("" otherwise).
    path: String,
}

/// Reads the whole form, streaming the first `file` part to a staging file and stopping
/// at the first part that breaks a rule.
async fn read_form(
    mut multipart: Multipart,
    workspace_root: &Path,
    inbox: &Path,
    query_path: &str,
    max_bytes: u64,
) -> Result<UploadForm, ApiError> {
    let mut staged: Option<(StagedFile, u64)> = None;
    let mut form_path: Option<String> = None;
    let mut field_bytes = 0usize;
    let mut ignored_bytes = 0u64;
    let mut seen_file = false;
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|_| expected_multipart())?
    {
        match field.name() {
            // Like `FormData.get`, only the first field of a name counts.
            Some("file") if !seen_file => {
                seen_file = true;
                let Some(file_name) = field.file_name().map(str::to_owned) else {
                    return Err(file_required());
                };
                let mut file = StagedFile::create(workspace_root, inbox, file_name).await?;
                let size = match file.fill(field, max_bytes).await? {
                    Filled::Complete(size) => size,
                    Filled::TooLarge(seen) => {
                        // The reference checks the path before the size; when the path is
                        // already known and invalid, that error wins.
                        let known = first_non_empty(&[
                            query_path,
                            form_path.as_deref().unwrap_or_default(),
                            &file.file_name,
                        ]);
                        normalize_relative(known, true)?;
                        return Err(file_too_large(max_bytes, seen));
                    }
                };
                staged = Some((file, size));
            }
            Some("path") if form_path.is_none() => {
                let is_text = field.file_name().is_none();
                let text = read_text(field, &mut field_bytes).await?;
                form_path = Some(if is_text {
                    text.trim().to_owned()
                } else {
                    String::new()
                });
            }
            // Ignored parts (a second file, unknown fields) are skipped without being
            // kept, within a budget as large as the file limit.
            _ => drain(field, &mut ignored_bytes, max_bytes).await?,
        }
    }
    let Some((staged, size)) = staged else {
        return Err(file_required());
    };
    Ok(UploadForm {
        staged,
        size,
        path: form_path.unwrap_or_default(),
    })
}

/// The `path` field as text, counted against [`MAX_FIELD_BYTES`].
async fn read_text(mut field: Field<'_>, budget_used: &mut usize) -> Result<String, ApiError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(|_| expected_multipart())? {
        *budget_used += chunk.len();
        if *budget_used > MAX_FIELD_BYTES {
            return Err(fields_too_large());
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Reads and discards an ignored part, counting its bytes against `budget`.
async fn drain(mut field: Field<'_>, used: &mut u64, budget: u64) -> Result<(), ApiError> {
    while let Some(chunk) = field.chunk().await.map_err(|_| expected_multipart())? {
        *used += chunk.len() as u64;
        if *used > budget {
            return Err(fields_too_large());
        }
    }
    Ok(())
}

/// `a || b || c` on strings.
fn first_non_empty<'a>(candidates: &[&'a str]) -> &'a str {
    candidates
        .iter()
        .copied()
        .find(|s| !s.is_empty())
        .unwrap_or_default()
}

/// SECURITY (D1): the destination under the inbox, with the inbox inside the workspace
/// and the destination inside the inbox after following symlinks. A folder in the way is
/// refused before anything is asked. Blocking.
fn checked_destination(
    workspace_root: &Path,
    inbox: &Path,
    relative: &str,
) -> Result<PathBuf, ApiError> {
    ensure_inside(workspace_root, inbox)?;
    let dest = resolve_under(inbox, relative)?;
    if dest.is_dir() {
        return Err(PathError::NotAFile.into());
    }
    // A file where a folder of the path must go fails now, before anyone is asked (D4).
    let nearest = dest
        .ancestors()
        .skip(1)
        .find(|dir| dir.symlink_metadata().is_ok());
    if nearest.is_some_and(|dir| !dir.is_dir()) {
        return Err(PathError::ThroughFile.into());
    }
    Ok(dest)
}

/// Runs blocking filesystem work off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(ApiError::internal)
}

/// How filling the staging file ended.
enum Filled {
    /// The whole part was written; its size.
    Complete(u64),
    /// The part passed the limit after this many bytes; the rest was not read.
    TooLarge(u64),
}

/// The uploaded file in its staging temp file. Dropping it removes the temp file and then
/// the folders created for it (when empty), so an abandoned upload leaves nothing.
struct StagedFile {
    // Field order matters: the temp file is removed before the folders it lives in.
    temp: tempfile::NamedTempFile,
    created: CreatedDirs,
    /// The file name the client gave the part.
    file_name: String,
}

impl StagedFile {
    /// A fresh temp file in the inbox's parent folder, created if needed.
    async fn create(
        workspace_root: &Path,
        inbox: &Path,
        file_name: String,
    ) -> Result<Self, ApiError> {
        let (workspace_root, inbox) = (workspace_root.to_path_buf(), inbox.to_path_buf());
        let (temp, created) = blocking(move || -> Result<_, ApiError> {
            // SECURITY (D1): nothing is created unless the inbox lies inside the workspace.
            ensure_inside(&workspace_root, &inbox)?;
            let staging = inbox.parent().unwrap_or(&inbox).to_path_buf();
            // `create_dir_all` calls a file in its place "already exists".
            if staging.symlink_metadata().is_ok() && !staging.is_dir() {
                return Err(PathError::ThroughFile.into());
            }
            let created = CreatedDirs::create(&staging).map_err(super::guard::write_error)?;
            let temp = tempfile::Builder::new()
                .prefix(".inbox-upload-")
                .suffix(".tmp")
                .tempfile_in(&staging)
                .map_err(ApiError::internal)?;
            Ok((temp, created))
        })
        .await??;
        Ok(Self {
            temp,
            created,
            file_name,
        })
    }

    /// Copies the part into the temp file, counting bytes; stops reading as soon as the
    /// count passes `max_bytes`. The data is fsynced once complete.
    async fn fill(&mut self, mut field: Field<'_>, max_bytes: u64) -> Result<Filled, ApiError> {
        let handle = self
            .temp
            .as_file()
            .try_clone()
            .map_err(ApiError::internal)?;
        let mut out = tokio::fs::File::from_std(handle);
        let mut size = 0u64;
        while let Some(chunk) = field.chunk().await.map_err(|_| expected_multipart())? {
            size += chunk.len() as u64;
            if size > max_bytes {
                return Ok(Filled::TooLarge(size));
            }
            out.write_all(&chunk).await.map_err(ApiError::internal)?;
        }
        out.flush().await.map_err(ApiError::internal)?;
        out.sync_all().await.map_err(ApiError::internal)?;
        Ok(Filled::Complete(size))
    }

    /// Moves the staged file over `dest` (parents created; an existing file is replaced)
    /// and makes the rename durable. Blocking.
    fn commit(self, dest: &Path) -> io::Result<()> {
        let dir = dest.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)?;
        #[cfg(unix)]
        {
            // Temp files start owner-only; an inbox file is an ordinary file.
            use std::os::unix::fs::PermissionsExt;
            self.temp
                .as_file()
                .set_permissions(std::fs::Permissions::from_mode(0o644))?;
        }
        let Self { temp, created, .. } = self;
        match temp.persist(dest) {
            Ok(_) => {}
            // The inbox may sit on another filesystem than its parent (a mount or a link
            // inside the workspace): copy into a temp beside the destination instead.
            Err(error) if error.error.kind() == io::ErrorKind::CrossesDevices => {
                let mut source = std::fs::File::open(error.file.path())?;
                let mut copy = tempfile::Builder::new()
                    .prefix(".inbox-upload-")
                    .suffix(".tmp")
                    .tempfile_in(dir)?;
                io::copy(&mut source, copy.as_file_mut())?;
                copy.as_file().sync_all()?;
                copy.persist(dest).map_err(|e| e.error)?;
            }
            Err(error) => return Err(error.error),
        }
        std::fs::File::open(dir)?.sync_all()?;
        // The staging folder now holds the inbox: nothing to remove.
        created.keep();
        Ok(())
    }
}

/// Folders created for a staging file, deepest last; removed again (when empty) on drop.
#[derive(Default)]
struct CreatedDirs(Vec<PathBuf>);

impl CreatedDirs {
    /// `create_dir_all`, remembering which folders did not exist before.
    fn create(dir: &Path) -> io::Result<Self> {
        let mut missing = Vec::new();
        let mut probe = Some(dir);
        while let Some(path) = probe {
            if path.exists() {
                break;
            }
            missing.push(path.to_path_buf());
            probe = path.parent();
        }
        std::fs::create_dir_all(dir)?;
        missing.reverse();
        Ok(Self(missing))
    }

    /// Keeps the folders: they now hold a committed file.
    fn keep(mut self) {
        self.0.clear();
    }
}

impl Drop for CreatedDirs {
    fn drop(&mut self) {
        // `remove_dir` fails on a folder another upload is using, which is what we want.
        for dir in self.0.iter().rev() {
            if std::fs::remove_dir(dir).is_err() {
                break;
            }
        }
    }
}
