//! File events (contract §8.4 catalog events): per workspace, a sequence starting at 1 and
//! the last 500 events, fed by API writes (write-batch, ops, files/content) and by the
//! watcher for changes made outside the API.

use serde::Serialize;
use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};

use crate::state::now_ms;

/// Events kept per workspace.
pub(crate) const RETAINED: usize = 500;

/// What happened to a path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum FileEventType {
    Write,
    Delete,
    Rename,
    Mkdir,
}

/// One event as clients see it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FileEvent {
    pub(crate) id: String,
    pub(crate) seq: u64,
    pub(crate) workspace_id: String,
    #[serde(rename = "type")]
    pub(crate) kind: FileEventType,
    /// Workspace-relative path (the source, for a rename).
    pub(crate) path: String,
    /// Destination of a rename.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) to_path: Option<String>,
    /// Revision after a write.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) revision: Option<String>,
    pub(crate) timestamp: u64,
}

#[derive(Default)]
struct WorkspaceLog {
    seq: u64,
    events: VecDeque<FileEvent>,
}

/// The file-event logs of all workspaces.
#[derive(Default)]
pub(crate) struct FileEvents {
    logs: Mutex<HashMap<String, WorkspaceLog>>,
}

impl std::fmt::Debug for FileEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileEvents").finish_non_exhaustive()
    }
}

impl FileEvents {
    /// Records an event and returns its sequence number.
    pub(crate) fn record(
        &self,
        workspace_id: &str,
        kind: FileEventType,
        path: String,
        to_path: Option<String>,
        revision: Option<String>,
    ) -> u64 {
        let mut logs = self.logs.lock().unwrap_or_else(PoisonError::into_inner);
        let log = logs.entry(workspace_id.to_owned()).or_default();
        log.seq += 1;
        if log.events.len() == RETAINED {
            log.events.pop_front();
        }
        log.events.push_back(FileEvent {
            id: uuid::Uuid::new_v4().to_string(),
            seq: log.seq,
            workspace_id: workspace_id.to_owned(),
            kind,
            path,
            to_path,
            revision,
            timestamp: now_ms(),
        });
        log.seq
    }

    /// Retained events after `since`, oldest first, and the workspace's latest seq (0 when
    /// it has none). A client whose `since` is older than the oldest retained event sees a
    /// gap: the first returned `seq` is above `since + 1`.
    pub(crate) fn since(&self, workspace_id: &str, since: u64) -> (Vec<FileEvent>, u64) {
        let logs = self.logs.lock().unwrap_or_else(PoisonError::into_inner);
        match logs.get(workspace_id) {
            None => (Vec::new(), 0),
            Some(log) => (
                log.events
                    .iter()
                    .filter(|e| e.seq > since)
                    .cloned()
                    .collect(),
                log.seq,
            ),
        }
    }

    /// The latest seq of a workspace (0 when it has none).
    pub(crate) fn cursor(&self, workspace_id: &str) -> u64 {
        let logs = self.logs.lock().unwrap_or_else(PoisonError::into_inner);
        logs.get(workspace_id).map_or(0, |log| log.seq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequences_are_per_workspace_and_old_events_drop_off() {
        let events = FileEvents::default();
        assert_eq!(events.since("a", 0), (Vec::new(), 0));
        events.record(
            "a",
            FileEventType::Write,
            "x".into(),
            None,
            Some("1:1".into()),
        );
        events.record("b", FileEventType::Mkdir, "d".into(), None, None);
        events.record(
            "a",
            FileEventType::Rename,
            "x".into(),
            Some("y".into()),
            None,
        );
        let (items, cursor) = events.since("a", 1);
        assert_eq!(cursor, 2);
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].to_path.as_deref(), Some("y"));
        assert_eq!(events.cursor("b"), 1);
        for n in 0..600 {
            events.record("c", FileEventType::Write, format!("f{n}"), None, None);
        }
        let (items, cursor) = events.since("c", 0);
        assert_eq!((items.len(), cursor), (RETAINED, 600));
        assert_eq!(items[0].seq, 101);
    }
}
