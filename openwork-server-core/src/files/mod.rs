//! File transfer between clients and a workspace (contract §8): the file-event log every
//! write reports to, file revisions, and (in submodules) file sessions and the catalog.

pub(crate) mod catalog;
pub(crate) mod drop_box;
pub(crate) mod events;
pub(crate) mod sessions;

use std::fs::Metadata;
use std::time::UNIX_EPOCH;

/// Modification time in epoch milliseconds, fractional as the reference reports it.
pub(crate) fn mtime_ms(metadata: &Metadata) -> f64 {
    metadata
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

/// The weak validator of a file: `"<integer mtime ms>:<size>"` (0 size for folders).
pub(crate) fn revision(metadata: &Metadata) -> String {
    let size = if metadata.is_dir() { 0 } else { metadata.len() };
    format!("{}:{size}", mtime_ms(metadata).floor() as u64)
}
