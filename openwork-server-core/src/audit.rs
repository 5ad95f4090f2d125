//! The audit log (contract §6.1): one JSON line per successful write, per workspace, under
//! the data dir (`OPENWORK_DATA_DIR`, default `~/.openwork/openwork-server`), read newest
//! first. Reads fall back to the early servers' `<ws>/.opencode/openwork/audit.jsonl`.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use crate::auth::Actor;
use crate::config::EnvSource;
use crate::fs::paths::resolve_lexical;
use crate::state::now_ms;
use crate::workspace::Workspace;

/// Most entries one read returns.
pub(crate) const MAX_READ: usize = 200;
/// Entries returned when no limit is given.
pub(crate) const DEFAULT_READ: usize = 50;

/// One audit line (key order as the reference writes it).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AuditEntry {
    pub(crate) id: String,
    pub(crate) workspace_id: String,
    pub(crate) actor: Value,
    pub(crate) action: String,
    pub(crate) target: String,
    pub(crate) summary: String,
    pub(crate) timestamp: u64,
}

/// The audit log service.
#[derive(Debug)]
pub(crate) struct AuditLog {
    env: EnvSource,
    /// Serialises appends so lines never interleave.
    append: Mutex<()>,
    /// Newest timestamp per audit file, so `GET config` need not read the log each time.
    newest: Mutex<HashMap<PathBuf, Option<u64>>>,
}

impl AuditLog {
    /// A log that finds its folder through `env` on every use, as the reference does.
    pub(crate) fn new(env: EnvSource) -> Self {
        Self {
            env,
            append: Mutex::new(()),
            newest: Mutex::new(HashMap::new()),
        }
    }

    /// `<dataDir>/audit/<workspaceId>.jsonl`.
    pub(crate) fn path_for(&self, workspace_id: &str) -> PathBuf {
        let home = self.env.get_non_empty("HOME").unwrap_or_else(|| "/".into());
        let data_dir = match self.env.get_non_empty("OPENWORK_DATA_DIR") {
            Some(dir) if dir == "~" => home,
            Some(dir) => match dir.strip_prefix("~/") {
                Some(rest) => resolve_lexical(&home, rest),
                None => dir,
            },
            None => resolve_lexical(&home, ".openwork/openwork-server"),
        };
        Path::new(&data_dir)
            .join("audit")
            .join(format!("{workspace_id}.jsonl"))
    }

    /// Appends an entry. Failures are logged, not returned: the write it records has
    /// already happened and must still be reported as done.
    pub(crate) async fn record(
        self: &std::sync::Arc<Self>,
        workspace: &Workspace,
        actor: &Actor,
        action: &str,
        target: String,
        summary: String,
    ) {
        let entry = AuditEntry {
            id: uuid::Uuid::new_v4().to_string(),
            workspace_id: workspace.id.clone(),
            actor: serde_json::to_value(actor).unwrap_or(Value::Null),
            action: action.to_owned(),
            target,
            summary,
            timestamp: now_ms(),
        };
        let path = self.path_for(&workspace.id);
        let log = self.clone();
        let result = tokio::task::spawn_blocking(move || log.append_line(&path, &entry)).await;
        if let Err(error) | Ok(Err(error)) = result.map_err(std::io::Error::other) {
            tracing::error!(target: "openwork_server::audit", "cannot write audit line: {error}");
        }
    }

    fn append_line(&self, path: &Path, entry: &AuditEntry) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(entry)?;
        line.push(b'\n');
        let _guard = self.append.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        file.write_all(&line)?;
        self.lock_newest()
            .insert(path.to_owned(), Some(entry.timestamp));
        Ok(())
    }

    /// The newest `limit` entries, newest first; malformed lines are skipped.
    pub(crate) async fn recent(&self, workspace: &Workspace, limit: usize) -> Vec<Value> {
        let files = self.read_paths(workspace);
        tokio::task::spawn_blocking(move || read_recent(&files, limit))
            .await
            .unwrap_or_default()
    }

    /// The timestamp of the newest entry, if any. Read from disk once per audit file, then
    /// kept current by [`AuditLog::record`]: the log is ours, nobody else appends to it.
    pub(crate) async fn newest_timestamp(&self, workspace: &Workspace) -> Option<u64> {
        let primary = self.path_for(&workspace.id);
        if let Some(cached) = self.lock_newest().get(&primary) {
            return *cached;
        }
        let files = self.read_paths(workspace);
        let newest = tokio::task::spawn_blocking(move || {
            read_recent(&files, 1)
                .first()
                .and_then(|e| e.get("timestamp"))
                .and_then(Value::as_u64)
        })
        .await
        .unwrap_or(None);
        self.lock_newest().entry(primary).or_insert(newest);
        newest
    }

    /// The primary file, then the legacy one used when the primary does not exist.
    fn read_paths(&self, workspace: &Workspace) -> (PathBuf, PathBuf) {
        (
            self.path_for(&workspace.id),
            Path::new(&workspace.path).join(".opencode/openwork/audit.jsonl"),
        )
    }

    fn lock_newest(&self) -> std::sync::MutexGuard<'_, HashMap<PathBuf, Option<u64>>> {
        self.newest.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn read_recent((primary, legacy): &(PathBuf, PathBuf), limit: usize) -> Vec<Value> {
    let text = match std::fs::read_to_string(primary) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::read_to_string(legacy).unwrap_or_default()
        }
        Err(_) => String::new(),
    };
    text.lines()
        .rev()
        .filter(|line| !line.trim().is_empty())
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(Value::is_object)
        .take(limit)
        .collect()
}

/// `limit` as the reference reads it: a number above 0 (capped at 200), else 50.
pub(crate) fn read_limit(raw: Option<&str>) -> usize {
    match raw.and_then(|v| v.trim().parse::<f64>().ok()) {
        Some(n) if n.is_finite() && n >= 1.0 => (n.trunc() as usize).min(MAX_READ),
        _ => DEFAULT_READ,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Scope;
    use std::sync::Arc;

    fn workspace(path: &Path) -> Workspace {
        Workspace::local(path)
    }

    #[tokio::test]
    async fn appends_and_reads_newest_first() {
        let home = tempfile::tempdir().unwrap();
        let ws_dir = tempfile::tempdir().unwrap();
        let env = EnvSource::fixed([("HOME", home.path().to_str().unwrap())]);
        let log = Arc::new(AuditLog::new(env));
        let ws = workspace(ws_dir.path());
        assert_eq!(log.newest_timestamp(&ws).await, None);
        let actor = Actor::remote("client-tok", Scope::Collaborator, None);
        for n in 0..3 {
            log.record(
                &ws,
                &actor,
                "plugins.add",
                "opencode.json".into(),
                format!("Added p{n}"),
            )
            .await;
        }
        let entries = log.recent(&ws, 2).await;
        let summaries: Vec<_> = entries
            .iter()
            .map(|e| e["summary"].as_str().unwrap())
            .collect();
        assert_eq!(summaries, ["Added p2", "Added p1"]);
        assert_eq!(
            log.newest_timestamp(&ws).await,
            entries[0]["timestamp"].as_u64()
        );
        let file = home
            .path()
            .join(format!(".openwork/openwork-server/audit/{}.jsonl", ws.id));
        let first = std::fs::read_to_string(file).unwrap();
        let line: Value = serde_json::from_str(first.lines().next().unwrap()).unwrap();
        let keys: Vec<_> = line.as_object().unwrap().keys().cloned().collect();
        assert_eq!(
            keys,
            [
                "id",
                "workspaceId",
                "actor",
                "action",
                "target",
                "summary",
                "timestamp"
            ]
        );
    }

    #[tokio::test]
    async fn falls_back_to_the_legacy_file_and_skips_bad_lines() {
        let home = tempfile::tempdir().unwrap();
        let ws_dir = tempfile::tempdir().unwrap();
        let legacy = ws_dir.path().join(".opencode/openwork/audit.jsonl");
        std::fs::create_dir_all(legacy.parent().unwrap()).unwrap();
        std::fs::write(&legacy, "{\"summary\":\"old\",\"timestamp\":5}\nnot json\n").unwrap();
        let env = EnvSource::fixed([
            ("HOME", home.path().to_str().unwrap()),
            ("OPENWORK_DATA_DIR", "~/data"),
        ]);
        let log = AuditLog::new(env);
        let ws = workspace(ws_dir.path());
        assert!(
            log.path_for(&ws.id)
                .starts_with(home.path().join("data/audit"))
        );
        let entries = log.recent(&ws, 50).await;
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0]["summary"], "old");
        assert_eq!(log.newest_timestamp(&ws).await, Some(5));
    }

    #[test]
    fn limits_follow_the_reference() {
        assert_eq!(read_limit(None), 50);
        assert_eq!(read_limit(Some("0")), 50);
        assert_eq!(read_limit(Some("-3")), 50);
        assert_eq!(read_limit(Some("abc")), 50);
        assert_eq!(read_limit(Some("7")), 7);
        assert_eq!(read_limit(Some("999")), 200);
    }
}
