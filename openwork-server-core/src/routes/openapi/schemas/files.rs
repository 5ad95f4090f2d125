//! Shapes of the inbox, the outbox (artifacts), file sessions and markdown file access
//! (contract §8, Appendix A `files/content`).

use serde_json::Value;
use utoipa::ToSchema;

/// A file in the inbox.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub(crate) struct InboxItem {
    /// base64url (no padding) of `path`; the download id.
    id: String,
    /// Path relative to the inbox.
    path: String,
    /// Size in bytes.
    size: u64,
    /// Modification time (epoch ms, may be fractional).
    updated_at: f64,
    /// File name.
    name: String,
}

/// `GET /workspace/{id}/inbox`.
#[derive(ToSchema)]
pub(crate) struct InboxList {
    /// Files, newest first (empty when the inbox is disabled).
    items: Vec<InboxItem>,
}

/// `POST /workspace/{id}/inbox` form.
#[derive(ToSchema)]
pub(crate) struct InboxUpload {
    /// The file.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// Destination relative to the inbox (default: the uploaded file name; `?path=` wins).
    #[schema(required = false)]
    path: String,
}

/// `POST /workspace/{id}/inbox` answer.
#[derive(ToSchema)]
pub(crate) struct InboxUploaded {
    /// Always `true`.
    ok: bool,
    /// Where it was stored, relative to the inbox.
    path: String,
    /// Bytes written.
    bytes: u64,
}

/// A file in the outbox.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub(crate) struct ArtifactItem {
    /// base64url (no padding) of `path`; the download id.
    id: String,
    /// Path relative to the outbox.
    path: String,
    /// Size in bytes.
    size: u64,
    /// Modification time (epoch ms, may be fractional).
    updated_at: f64,
}

/// `GET /workspace/{id}/artifacts`.
#[derive(ToSchema)]
pub(crate) struct ArtifactList {
    /// Files, newest first (empty when the outbox is disabled).
    items: Vec<ArtifactItem>,
}

/// A file session (contract §8.4).
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub(crate) struct FileSession {
    /// Session id (UUID).
    id: String,
    /// The workspace.
    workspace_id: String,
    /// Creation time (epoch ms).
    created_at: u64,
    /// Expiry time (epoch ms).
    expires_at: u64,
    /// Milliseconds left.
    ttl_ms: u64,
    /// Whether writes are allowed through it.
    can_write: bool,
}

/// `{"session": FileSession}`.
#[derive(ToSchema)]
pub(crate) struct FileSessionEnvelope {
    /// The session.
    session: FileSession,
}

/// `POST /workspace/{id}/files/sessions` body (`{}` is fine).
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub(crate) struct CreateFileSession {
    /// Lifetime in seconds, clamped to 30 s … 24 h (default 15 min).
    #[schema(required = false)]
    ttl_seconds: f64,
    /// `false` asks for a read-only session.
    #[schema(required = false)]
    write: bool,
}

/// `POST /files/sessions/{session_id}/renew` body (`{}` is fine).
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub(crate) struct RenewFileSession {
    /// New lifetime from now, in seconds (default 15 min).
    #[schema(required = false)]
    ttl_seconds: f64,
}

/// File or folder.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub(crate) enum EntryKind {
    /// A regular file.
    File,
    /// A folder.
    Dir,
}

/// A catalog entry.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub(crate) struct CatalogEntry {
    /// Workspace-relative path.
    path: String,
    /// File or folder.
    #[schema(inline)]
    kind: EntryKind,
    /// Size in bytes (0 for folders).
    size: u64,
    /// Modification time (epoch ms, may be fractional).
    mtime_ms: f64,
    /// `<integer mtime ms>:<size>`.
    revision: String,
}

/// `GET /files/sessions/{session_id}/catalog/snapshot`.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub(crate) struct CatalogSnapshot {
    /// The session.
    session_id: String,
    /// The workspace.
    workspace_id: String,
    /// When (epoch ms).
    generated_at: u64,
    /// The workspace's current file-event sequence number.
    cursor: u64,
    /// Entries after filtering, before `limit`.
    total: u64,
    /// Whether more entries follow.
    truncated: bool,
    /// The `after` of the next page, when truncated.
    #[schema(required = false)]
    next_after: String,
    /// Entries in path byte order.
    items: Vec<CatalogEntry>,
}

/// What happened to a file.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub(crate) enum FileEventType {
    /// Written.
    Write,
    /// Deleted.
    Delete,
    /// Renamed (`path` → `toPath`).
    Rename,
    /// Folder created.
    Mkdir,
}

/// A file event.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub(crate) struct FileEvent {
    /// Event id (UUID).
    id: String,
    /// Per-workspace sequence number.
    seq: u64,
    /// The workspace.
    workspace_id: String,
    /// What happened.
    #[schema(rename = "type", inline)]
    kind: FileEventType,
    /// Workspace-relative path.
    path: String,
    /// New path of a rename.
    #[schema(required = false)]
    to_path: String,
    /// New revision of a write.
    #[schema(required = false)]
    revision: String,
    /// When (epoch ms).
    timestamp: u64,
}

/// `GET /files/sessions/{session_id}/catalog/events`.
#[derive(ToSchema)]
pub(crate) struct FileEventList {
    /// Events after `since`, oldest first.
    items: Vec<FileEvent>,
    /// The latest sequence number.
    cursor: u64,
}

/// `POST /files/sessions/{session_id}/read-batch` body.
#[derive(ToSchema)]
pub(crate) struct ReadBatch {
    /// 1–64 workspace-relative paths.
    #[schema(min_items = 1, max_items = 64)]
    paths: Vec<String>,
}

/// One result of a batch: `ok` says which of the optional fields are present.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub(crate) struct BatchItem {
    /// Whether this item succeeded.
    ok: bool,
    /// Workspace-relative path.
    path: String,
    /// `file` (reads).
    #[schema(required = false)]
    kind: String,
    /// Size in bytes.
    #[schema(required = false)]
    bytes: u64,
    /// Modification time (epoch ms).
    #[schema(required = false)]
    updated_at: f64,
    /// `<integer mtime ms>:<size>`.
    #[schema(required = false)]
    revision: String,
    /// The revision before a write (`null` for a new file).
    #[schema(required = false)]
    previous_revision: Option<String>,
    /// The content (reads).
    #[schema(required = false)]
    content_base64: String,
    /// Failure code: `file_not_found`, `file_too_large`, `read_failed`, `invalid_path`,
    /// `conflict`, `write_failed`.
    #[schema(required = false)]
    code: String,
    /// Failure message.
    #[schema(required = false)]
    message: String,
    /// Size limit (`file_too_large`).
    #[schema(required = false)]
    max_bytes: u64,
    /// Actual size (`file_too_large`).
    #[schema(required = false)]
    size: u64,
    /// The revision the client expected (`conflict`).
    #[schema(required = false)]
    expected_revision: String,
    /// The revision on disk (`conflict`; `null` when the file is gone).
    #[schema(required = false)]
    current_revision: Option<String>,
}

/// `POST /files/sessions/{session_id}/read-batch` answer.
#[derive(ToSchema)]
pub(crate) struct ReadBatchResult {
    /// One item per path, in request order.
    items: Vec<BatchItem>,
}

/// One file to write.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub(crate) struct FileWrite {
    /// Workspace-relative path.
    path: String,
    /// The content, base64 (must not be empty).
    content_base64: String,
    /// Write only if the file is still at this revision.
    #[schema(required = false)]
    if_match_revision: String,
    /// Write regardless of the revision.
    #[schema(required = false)]
    force: bool,
}

/// `POST /files/sessions/{session_id}/write-batch` body.
#[derive(ToSchema)]
pub(crate) struct WriteBatch {
    /// 1–64 writes.
    #[schema(min_items = 1, max_items = 64)]
    writes: Vec<FileWrite>,
}

/// `POST /files/sessions/{session_id}/write-batch` answer.
#[derive(ToSchema)]
pub(crate) struct WriteBatchResult {
    /// Pre-check failures first, then the planned writes.
    items: Vec<BatchItem>,
    /// The latest file-event sequence number.
    cursor: u64,
}

/// One file operation.
#[derive(ToSchema)]
pub(crate) struct FileOperation {
    /// `mkdir`, `delete` or `rename` (others fail per item).
    #[schema(rename = "type")]
    kind: String,
    /// Target of `mkdir` and `delete`.
    #[schema(required = false)]
    path: String,
    /// Delete folders with their contents.
    #[schema(required = false)]
    recursive: bool,
    /// Source of `rename`.
    #[schema(required = false)]
    from: String,
    /// Destination of `rename`.
    #[schema(required = false)]
    to: String,
}

/// `POST /files/sessions/{session_id}/ops` body.
#[derive(ToSchema)]
pub(crate) struct FileOperations {
    /// 1–64 operations, applied in order.
    #[schema(min_items = 1, max_items = 64)]
    operations: Vec<FileOperation>,
}

/// The result of one operation.
#[derive(ToSchema)]
pub(crate) struct OperationResult {
    /// Whether it succeeded.
    ok: bool,
    /// The operation's `type` as sent.
    #[schema(rename = "type")]
    kind: Value,
    /// Target of `mkdir`/`delete`.
    #[schema(required = false)]
    path: String,
    /// Source of `rename`.
    #[schema(required = false)]
    from: String,
    /// Destination of `rename`.
    #[schema(required = false)]
    to: String,
    /// Failure code: `file_not_found`, `invalid_operation`, `operation_failed`.
    #[schema(required = false)]
    code: String,
    /// Failure message.
    #[schema(required = false)]
    message: String,
}

/// `POST /files/sessions/{session_id}/ops` answer.
#[derive(ToSchema)]
pub(crate) struct OperationResults {
    /// One result per operation, in order.
    items: Vec<OperationResult>,
    /// The latest file-event sequence number.
    cursor: u64,
}

/// `GET /workspace/{id}/files/content`.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub(crate) struct FileContent {
    /// Workspace-relative path.
    path: String,
    /// UTF-8 text.
    content: String,
    /// Size in bytes.
    bytes: u64,
    /// Modification time (epoch ms, may be fractional).
    updated_at: f64,
}

/// `POST /workspace/{id}/files/content` body.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub(crate) struct FileContentWrite {
    /// Workspace-relative path of a `.md`, `.mdx` or `.markdown` file.
    path: String,
    /// The new text.
    content: String,
    /// The `updatedAt` the client loaded; a newer file is a `409 conflict`.
    #[schema(required = false)]
    base_updated_at: f64,
    /// Write even if the file changed.
    #[schema(required = false)]
    force: bool,
}

/// `POST /workspace/{id}/files/content` answer.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub(crate) struct FileContentWritten {
    /// Always `true`.
    ok: bool,
    /// Workspace-relative path.
    path: String,
    /// Bytes written.
    bytes: u64,
    /// New modification time (epoch ms).
    updated_at: f64,
    /// New revision.
    revision: String,
}
