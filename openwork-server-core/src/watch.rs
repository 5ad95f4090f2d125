//! The file watcher behind reload events (contract §6.3): per local workspace, the root
//! (non-recursive: `opencode.json[c]`, `AGENTS.md`, `.opencode` appearing) and the
//! `.opencode/{skills,commands,plugins,agents,agent}` trees (recursive). Unlike the
//! reference, trees created after startup are picked up as soon as they appear, and the
//! watchers follow changes to the workspace list.

use notify::event::{EventKind, ModifyKind};
use notify::{Event, RecommendedWatcher, RecursiveMode, Watcher};
use std::collections::HashSet;
use std::path::{Component, Path, PathBuf};
use tokio::sync::mpsc;

use crate::events::{Origin, ReloadReason, ReloadTrigger};
use crate::state::AppState;
use crate::workspace::{Workspace, WorkspaceType};

/// Target of watcher log events.
const TARGET: &str = "openwork_server::watch";

/// The trees under `.opencode` that produce events, and what they mean.
const TREES: &[(&str, ReloadReason, &str)] = &[
    ("skills", ReloadReason::Skills, "skill"),
    ("commands", ReloadReason::Commands, "command"),
    ("plugins", ReloadReason::Plugins, "plugin"),
    ("agents", ReloadReason::Agents, "agent"),
    ("agent", ReloadReason::Agents, "agent"),
];

/// Files whose changes mean nothing to OpenCode.
const IGNORED_NAMES: &[&str] = &[".DS_Store", "Thumbs.db"];
/// Folders never looked into.
const IGNORED_DIRS: &[&str] = &[".git", "node_modules"];

/// Starts watching every local workspace, and keeps following the workspace list until
/// shutdown. Returns how many workspaces are watched now. The first watches are in place
/// when this returns, so no change made right after startup is missed.
pub(crate) fn start(state: &AppState) -> usize {
    let watches = WatchSet::build(state);
    let count = watches.watched.len();
    let state = state.clone();
    tokio::spawn(async move { supervise(state, watches).await });
    count
}

fn watchable(state: &AppState) -> Vec<Workspace> {
    state
        .workspaces()
        .items
        .iter()
        .filter(|ws| ws.workspace_type == WorkspaceType::Local && !ws.path.is_empty())
        .cloned()
        .collect()
}

/// The watchers of the current workspace list and the channel their events arrive on.
struct WatchSet {
    watched: Vec<WorkspaceWatch>,
    events: mpsc::UnboundedReceiver<(usize, Event)>,
}

impl WatchSet {
    fn build(state: &AppState) -> Self {
        let (tx, events) = mpsc::unbounded_channel();
        let watched = watchable(state)
            .into_iter()
            .enumerate()
            .filter_map(|(index, ws)| WorkspaceWatch::new(index, ws, tx.clone()))
            .collect();
        Self { watched, events }
    }
}

/// Turns file events into reload events, and rebuilds the watchers whenever the workspace
/// list changes; ends at shutdown.
async fn supervise(state: AppState, mut watches: WatchSet) {
    let mut changes = state.subscribe_workspaces();
    loop {
        tokio::select! {
            () = state.shutdown.cancelled() => return,
            changed = changes.changed() => {
                if changed.is_err() {
                    return;
                }
                watches = WatchSet::build(&state);
            }
            Some((index, event)) = watches.events.recv() => {
                // Indexes are positions in the list the set was built from; a set built
                // from an empty list never receives anything.
                if let Some(watch) = watches.watched.iter_mut().find(|w| w.index == index) {
                    watch.handle(&state, &event);
                }
            }
        }
    }
}

/// The watcher of one workspace.
struct WorkspaceWatch {
    /// Position in the list the watch set was built from; tags this watcher's events.
    index: usize,
    workspace: Workspace,
    root: PathBuf,
    watcher: RecommendedWatcher,
    /// Folders currently watched, so a tree is added once.
    watched: HashSet<PathBuf>,
}

impl WorkspaceWatch {
    fn new(
        index: usize,
        workspace: Workspace,
        tx: mpsc::UnboundedSender<(usize, Event)>,
    ) -> Option<Self> {
        let root = PathBuf::from(&workspace.path);
        let watcher = notify::recommended_watcher(move |result: notify::Result<Event>| {
            if let Ok(event) = result {
                // The receiver is gone only when the watchers are being rebuilt.
                let _ = tx.send((index, event));
            }
        });
        let watcher = match watcher {
            Ok(watcher) => watcher,
            Err(error) => {
                tracing::warn!(target: TARGET, "cannot watch {}: {error}", workspace.path);
                return None;
            }
        };
        let mut watch = Self {
            index,
            workspace,
            root,
            watcher,
            watched: HashSet::new(),
        };
        watch.add(watch.root.clone(), RecursiveMode::NonRecursive);
        watch.add_opencode_trees();
        Some(watch)
    }

    fn add(&mut self, path: PathBuf, mode: RecursiveMode) -> bool {
        if self.watched.contains(&path) || !path.is_dir() {
            return false;
        }
        match self.watcher.watch(&path, mode) {
            Ok(()) => {
                self.watched.insert(path);
                true
            }
            Err(error) => {
                tracing::warn!(target: TARGET, "cannot watch {}: {error}", path.display());
                false
            }
        }
    }

    /// Watches `.opencode` and whichever of its trees exist; returns the trees newly added.
    fn add_opencode_trees(&mut self) -> Vec<usize> {
        let opencode = self.root.join(".opencode");
        self.add(opencode.clone(), RecursiveMode::NonRecursive);
        let mut added = Vec::new();
        for (index, (tree, _, _)) in TREES.iter().enumerate() {
            if self.add(opencode.join(tree), RecursiveMode::Recursive) {
                added.push(index);
            }
        }
        added
    }

    fn handle(&mut self, state: &AppState, event: &Event) {
        if matches!(
            event.kind,
            EventKind::Access(_) | EventKind::Modify(ModifyKind::Metadata(_)) | EventKind::Other
        ) {
            return;
        }
        for path in &event.paths {
            self.handle_path(state, path);
        }
    }

    fn handle_path(&mut self, state: &AppState, path: &Path) {
        let Ok(relative) = path.strip_prefix(&self.root) else {
            return;
        };
        let parts: Vec<&str> = relative
            .components()
            .filter_map(|c| match c {
                Component::Normal(part) => part.to_str(),
                _ => None,
            })
            .collect();
        if parts.iter().any(|p| IGNORED_DIRS.contains(p))
            || parts.last().is_some_and(|p| IGNORED_NAMES.contains(p))
        {
            return;
        }
        let shown = Some(path.to_string_lossy().into_owned());
        let workspace_id = self.workspace.id.clone();
        let record = |reason, trigger| {
            state
                .events
                .record(&workspace_id, reason, Some(trigger), Origin::Watcher);
        };
        match parts.as_slice() {
            [name @ ("opencode.json" | "opencode.jsonc")] => record(
                ReloadReason::Config,
                ReloadTrigger::new("config", Some((*name).to_owned()), "updated", shown),
            ),
            ["AGENTS.md"] => record(
                ReloadReason::Agents,
                ReloadTrigger::new("agent", None, "updated", shown),
            ),
            [".opencode"] | [".opencode", _] => {
                // `.opencode` or one of its trees appeared (or went): watch what is there
                // now, and report a tree that appeared, since files may already be in it.
                for index in self.add_opencode_trees() {
                    let (tree, reason, kind) = TREES[index];
                    let dir = self.root.join(".opencode").join(tree);
                    record(
                        reason,
                        ReloadTrigger::new(
                            kind,
                            None,
                            "updated",
                            Some(dir.to_string_lossy().into_owned()),
                        ),
                    );
                }
                self.watched.retain(|dir| dir.is_dir());
            }
            [".opencode", tree, rest @ ..] => {
                let Some((_, reason, kind)) = TREES.iter().find(|(t, _, _)| t == tree) else {
                    return;
                };
                let name = match (*kind, rest.first()) {
                    ("skill", Some(first)) => Some((*first).to_owned()),
                    ("command", Some(_)) => rest
                        .last()
                        .map(|file| file.strip_suffix(".md").unwrap_or(file).to_owned()),
                    _ => None,
                };
                record(*reason, ReloadTrigger::new(kind, name, "updated", shown));
            }
            _ => {}
        }
    }
}
