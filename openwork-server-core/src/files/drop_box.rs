//! The inbox and the outbox (contract §8.2–§8.3): two folders under `.opencode/openwork/`
//! that clients drop files into (inbox) and pick results up from (outbox). This module owns
//! what both share: the folder locations, item ids (base64url of the relative path),
//! the recursive listing and the streaming download.
//!
//! SECURITY (D1): the box folder must resolve inside the workspace and every item inside
//! its box, after following symlinks. The listing skips symlinks altogether; a download
//! whose id names a path that leads outside answers `400 invalid_path` "Path escapes the
//! workspace", like every other escape.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::alphabet::URL_SAFE;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use bytes::{Bytes, BytesMut};
use futures_util::Stream;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use tokio::io::AsyncReadExt as _;

use super::mtime_ms;
use crate::error::ApiError;
use crate::fs::confine::{ensure_inside, normalize_relative, resolve_under};
use crate::workspace::Workspace;

/// Which of the two boxes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DropBox {
    /// `.opencode/openwork/inbox`: clients upload, the agent reads.
    Inbox,
    /// `.opencode/openwork/outbox`: the agent writes, clients download.
    Outbox,
}

impl DropBox {
    /// The box folder of a workspace (as given, never canonicalised).
    pub(crate) fn root(self, workspace: &Workspace) -> PathBuf {
        let name = match self {
            Self::Inbox => "inbox",
            Self::Outbox => "outbox",
        };
        workspace
            .root()
            .join(".opencode")
            .join("openwork")
            .join(name)
    }

    /// The listing's `items`: every regular file of the box, newest change first, as JSON
    /// (inbox items also carry their `name`). Walks on a blocking thread.
    pub(crate) async fn list_json(self, workspace: &Workspace) -> Result<Vec<Value>, ApiError> {
        let workspace_root = workspace.root().to_path_buf();
        let root = self.root(workspace);
        let items = tokio::task::spawn_blocking(move || list(&workspace_root, &root))
            .await
            .map_err(ApiError::internal)?;
        let with_name = self == Self::Inbox;
        Ok(items.iter().map(|item| item.to_json(with_name)).collect())
    }
}

/// One regular file in a box.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct BoxItem {
    /// Relative path with `/` separators.
    pub(crate) path: String,
    /// Size in bytes.
    pub(crate) size: u64,
    /// Modification time in fractional epoch milliseconds.
    pub(crate) updated_at: f64,
}

impl BoxItem {
    /// `{"id","path","size","updatedAt"}`, plus `"name"` (the basename) for inbox items.
    pub(crate) fn to_json(&self, with_name: bool) -> Value {
        let mut item = json!({
            "id": encode_id(&self.path),
            "path": self.path,
            "size": self.size,
            "updatedAt": js_number(self.updated_at),
        });
        if with_name {
            let name = self.path.rsplit('/').next().unwrap_or(&self.path);
            item["name"] = Value::from(name);
        }
        item
    }
}

/// A number as JavaScript prints it: integral values without a trailing `.0`, so an
/// mtime of whole milliseconds reads `1795248251753` like the reference's `mtimeMs`.
pub(crate) fn js_number(value: f64) -> Value {
    if value.fract() == 0.0 && value.abs() < 9_007_199_254_740_992.0 {
        Value::from(value as i64)
    } else {
        Value::from(value)
    }
}

/// The id of an item: base64url without padding of its relative path.
pub(crate) fn encode_id(relative: &str) -> String {
    URL_SAFE_NO_PAD.encode(relative)
}

/// The relative path an id names, normalised like any client path; `None` when the id is
/// not base64url of a valid relative path. Padding is accepted but not required.
pub(crate) fn decode_id(id: &str) -> Option<String> {
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &URL_SAFE,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let bytes = LENIENT.decode(id.trim()).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    normalize_relative(&text, true).ok()
}

/// Every regular file under `root`, newest first (ties by path). Symlinks, other
/// non-regular entries and names that are not UTF-8 are skipped; unreadable folders are
/// skipped too, so one bad entry never breaks the listing. A box folder that is missing,
/// or that resolves outside the workspace (D1), lists nothing. Blocking.
pub(crate) fn list(workspace_root: &Path, root: &Path) -> Vec<BoxItem> {
    if ensure_inside(workspace_root, root).is_err() {
        return Vec::new();
    }
    let mut items = Vec::new();
    let mut pending = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, prefix)) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            // `DirEntry::file_type` does not follow symlinks, so a link is seen as a link.
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let relative = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            if kind.is_dir() {
                pending.push((entry.path(), relative));
            } else if kind.is_file() {
                let Ok(metadata) = entry.metadata() else {
                    continue;
                };
                items.push(BoxItem {
                    path: relative,
                    size: metadata.len(),
                    updated_at: mtime_ms(&metadata),
                });
            }
        }
    }
    items.sort_by(|a, b| {
        b.updated_at
            .total_cmp(&a.updated_at)
            .then_with(|| a.path.cmp(&b.path))
    });
    items
}

/// Why a download could not start.
#[derive(Debug)]
pub(crate) enum DownloadError {
    /// Nothing downloadable there: missing, or not a regular file.
    NotFound,
    /// The path leads outside its box or workspace (D1), or another error to answer as is.
    Refused(ApiError),
}

/// Streams `relative` from the box at `root` as an attachment: `Content-Type:
/// application/octet-stream`, `Content-Length`, `Content-Disposition: attachment;
/// filename="<basename>"`. The body is read from disk as it is sent, never buffered whole.
pub(crate) async fn download(
    workspace_root: PathBuf,
    root: PathBuf,
    relative: String,
) -> Result<Response, DownloadError> {
    let checked = relative.clone();
    let path = tokio::task::spawn_blocking(move || {
        // SECURITY (D1): the box itself, then the item inside it, after following links.
        ensure_inside(&workspace_root, &root)?;
        resolve_under(&root, &checked).map_err(ApiError::from)
    })
    .await
    .map_err(|e| DownloadError::Refused(ApiError::internal(e)))?
    .map_err(DownloadError::Refused)?;
    let file = tokio::fs::File::open(&path)
        .await
        .map_err(|_| DownloadError::NotFound)?;
    // The size comes from the opened file, so it matches the bytes streamed.
    let metadata = file.metadata().await.map_err(|_| DownloadError::NotFound)?;
    if !metadata.is_file() {
        return Err(DownloadError::NotFound);
    }
    let name = relative.rsplit('/').next().unwrap_or(&relative);
    let body = Body::from_stream(file_chunks(file));
    Ok((
        StatusCode::OK,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            ),
            (header::CONTENT_LENGTH, HeaderValue::from(metadata.len())),
            (header::CONTENT_DISPOSITION, attachment(name)),
        ],
        body,
    )
        .into_response())
}

/// The file's bytes in chunks of up to 64 KiB, read as the client consumes them.
fn file_chunks(file: tokio::fs::File) -> impl Stream<Item = std::io::Result<Bytes>> {
    futures_util::stream::try_unfold(file, |mut file| async move {
        let mut chunk = BytesMut::with_capacity(64 * 1024);
        let read = file.read_buf(&mut chunk).await?;
        Ok((read > 0).then(|| (chunk.freeze(), file)))
    })
}

/// `attachment; filename="<name>"` as the reference writes it (the name unescaped);
/// control characters, which no header may carry, become `_`.
fn attachment(name: &str) -> HeaderValue {
    let cleaned: String = name
        .chars()
        .map(|c| if c.is_control() { '_' } else { c })
        .collect();
    HeaderValue::from_bytes(format!("attachment; filename=\"{cleaned}\"").as_bytes())
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_bad_ids_are_refused() {
        assert_eq!(encode_id("docs/a.txt"), "ZG9jcy9hLnR4dA");
        assert_eq!(encode_id("sub/r.txt"), "c3ViL3IudHh0");
        assert_eq!(decode_id("ZG9jcy9hLnR4dA").as_deref(), Some("docs/a.txt"));
        assert_eq!(decode_id("ZG9jcy9hLnR4dA==").as_deref(), Some("docs/a.txt"));
        assert_eq!(decode_id(&encode_id("../x")), None);
        assert_eq!(decode_id(&encode_id("")), None);
        assert_eq!(decode_id("not base64!"), None);
        assert_eq!(decode_id(&URL_SAFE_NO_PAD.encode([0xff, 0xfe])), None);
    }

    #[test]
    fn numbers_print_like_javascript() {
        assert_eq!(js_number(1795248251753.0).to_string(), "1795248251753");
        assert_eq!(
            js_number(1795248251753.173).to_string(),
            "1795248251753.173"
        );
    }

    #[cfg(unix)]
    #[test]
    fn listing_is_recursive_newest_first_and_skips_symlinks() {
        let ws = tempfile::tempdir().unwrap();
        let root = ws.path().join("box");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(root.join("old.txt"), "1").unwrap();
        std::fs::write(root.join("sub/new.txt"), "22").unwrap();
        let old = std::fs::File::options()
            .write(true)
            .open(root.join("old.txt"))
            .unwrap();
        old.set_modified(std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1))
            .unwrap();
        std::os::unix::fs::symlink("/etc/hostname", root.join("link")).unwrap();
        let items = list(ws.path(), &root);
        let paths: Vec<_> = items.iter().map(|i| i.path.as_str()).collect();
        assert_eq!(paths, ["sub/new.txt", "old.txt"]);
        assert_eq!(items[0].size, 2);
        assert_eq!(
            items[0].to_json(true)["name"],
            Value::from("new.txt"),
            "inbox items carry the basename"
        );
        assert!(items[1].to_json(false).get("name").is_none());
        assert!(list(ws.path(), &ws.path().join("missing")).is_empty());
    }
}
