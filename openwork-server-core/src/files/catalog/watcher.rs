//! Keeps a [`Catalog`] current from a recursive `notify` watcher on the workspace root and
//! turns what changed into file events (DECISIONS §3: external changes are reported).
//!
//! The watcher only marks paths dirty; after a short quiet period the marked paths are
//! `lstat`ed and compared with the index. Comparing states rather than replaying raw
//! notifications makes the result independent of how the OS batches them: a temp file
//! that was created and renamed away before the batch is looked at leaves no trace, and a
//! change the API already put in the index is not reported a second time. A rename is
//! reported as `rename` when notify names both ends and the source was indexed; otherwise
//! it shows up as `delete` + `write`/`mkdir`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use notify::event::{AccessKind, EventKind, ModifyKind, RenameMode};
use notify::{Event, RecursiveMode, Watcher};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{Catalog, Change, Index, apply, move_subtree, observe, walk_into};
use crate::files::events::{FileEventType, FileEvents};

/// Quiet time before a batch of marks is looked at.
const SETTLE: Duration = Duration::from_millis(40);
/// Longest a busy tree delays a batch.
const MAX_DELAY: Duration = Duration::from_millis(400);

/// What the notify callback forwards.
enum Mark {
    /// Paths that may have changed.
    Paths(Vec<PathBuf>),
    /// A rename with both ends known.
    Rename(PathBuf, PathBuf),
    /// Events were lost (queue overflow): compare the whole tree.
    Rescan,
}

/// Starts the watcher, builds the index, then follows changes until shutdown.
pub(crate) fn start(catalog: Arc<Catalog>, events: Arc<FileEvents>, shutdown: CancellationToken) {
    tokio::spawn(async move {
        let (tx, rx) = mpsc::unbounded_channel();
        let root = catalog.root.clone();
        // The watcher starts before the walk so nothing changed in between is missed;
        // marks that arrive meanwhile are compared with the finished index.
        let built = tokio::task::spawn_blocking(move || {
            let watcher = watch(&root, tx);
            let mut index = Index::new();
            walk_into(&root, "", &mut index);
            (watcher, index)
        })
        .await;
        let Ok((watcher, index)) = built else {
            catalog.install(Index::new(), false);
            return;
        };
        catalog.install(index, watcher.is_some());
        if let Some(watcher) = watcher {
            follow(catalog, events, rx, shutdown).await;
            drop(watcher);
        }
    });
}

fn watch(root: &Path, tx: mpsc::UnboundedSender<Mark>) -> Option<notify::RecommendedWatcher> {
    let handler = move |result: notify::Result<Event>| {
        let mark = match result {
            Err(_) => Mark::Rescan,
            Ok(event) if event.need_rescan() => Mark::Rescan,
            Ok(Event {
                kind: EventKind::Access(AccessKind::Open(_) | AccessKind::Read | AccessKind::Any),
                ..
            }) => return,
            Ok(Event {
                kind: EventKind::Modify(ModifyKind::Name(RenameMode::Both)),
                mut paths,
                ..
            }) if paths.len() == 2 => {
                let to = paths.pop().unwrap_or_default();
                let from = paths.pop().unwrap_or_default();
                Mark::Rename(from, to)
            }
            Ok(event) => Mark::Paths(event.paths),
        };
        let _ = tx.send(mark);
    };
    let mut watcher = match notify::recommended_watcher(handler) {
        Ok(watcher) => watcher,
        Err(error) => {
            tracing::warn!(%error, root = %root.display(), "catalog watcher unavailable; pages will walk the tree");
            return None;
        }
    };
    if let Err(error) = watcher.watch(root, RecursiveMode::Recursive) {
        tracing::warn!(%error, root = %root.display(), "catalog watcher unavailable; pages will walk the tree");
        return None;
    }
    Some(watcher)
}

/// One settled batch of marks, as relative paths.
#[derive(Default)]
struct Batch {
    dirty: BTreeSet<String>,
    renames: Vec<(String, String)>,
    rescan: bool,
}

impl Batch {
    fn take(&mut self, root: &Path, mark: Mark) {
        match mark {
            Mark::Rescan => self.rescan = true,
            Mark::Paths(paths) => {
                for path in paths {
                    if let Some(rel) = relative(root, &path) {
                        self.dirty.insert(rel);
                    }
                }
            }
            Mark::Rename(from, to) => match (relative(root, &from), relative(root, &to)) {
                (Some(from), Some(to)) => {
                    self.dirty.insert(from.clone());
                    self.dirty.insert(to.clone());
                    self.renames.push((from, to));
                }
                (from, to) => self.dirty.extend(from.into_iter().chain(to)),
            },
        }
    }
}

/// The UTF-8 workspace-relative form of a watched path; `None` for the root itself.
fn relative(root: &Path, path: &Path) -> Option<String> {
    let rel = path.strip_prefix(root).ok()?.to_str()?;
    (!rel.is_empty()).then(|| rel.to_owned())
}

async fn follow(
    catalog: Arc<Catalog>,
    events: Arc<FileEvents>,
    mut rx: mpsc::UnboundedReceiver<Mark>,
    shutdown: CancellationToken,
) {
    loop {
        let first = tokio::select! {
            () = shutdown.cancelled() => return,
            mark = rx.recv() => match mark { Some(mark) => mark, None => return },
        };
        let mut batch = Batch::default();
        batch.take(&catalog.root, first);
        let deadline = tokio::time::Instant::now() + MAX_DELAY;
        while let Ok(Some(mark)) = tokio::time::timeout_at(
            deadline.min(tokio::time::Instant::now() + SETTLE),
            rx.recv(),
        )
        .await
        {
            batch.take(&catalog.root, mark);
        }
        let catalog = catalog.clone();
        let events = events.clone();
        if tokio::task::spawn_blocking(move || reconcile(&catalog, &events, batch))
            .await
            .is_err()
        {
            return;
        }
    }
}

/// Compares the disk with the index for one batch and records what changed.
fn reconcile(catalog: &Catalog, events: &FileEvents, batch: Batch) {
    let root = &catalog.root;
    let mut record = |change: Change| {
        // The API reports its own changes (see `Catalog::claim`).
        if catalog.is_claimed(&change.path) {
            return;
        }
        events.record(
            &catalog.workspace_id,
            change.kind,
            change.path,
            None,
            change.revision,
        );
    };
    if batch.rescan {
        let mut fresh = Index::new();
        walk_into(root, "", &mut fresh);
        let mut guard = catalog
            .index
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let Some(index) = guard.as_mut() else { return };
        let gone: Vec<String> = index
            .keys()
            .filter(|k| !fresh.contains_key(*k))
            .cloned()
            .collect();
        for path in gone {
            if index.contains_key(&path) {
                apply(index, &path, super::Observed::Gone, &mut record);
            }
        }
        for (path, entry) in fresh {
            apply(
                index,
                &path,
                super::Observed::Present(entry, None),
                &mut record,
            );
        }
        return;
    }
    // Look at the disk before taking the lock, so pages are not held up by the walks.
    let renames: Vec<(String, String, bool)> = batch
        .renames
        .into_iter()
        .map(|(from, to)| {
            let moved = std::fs::symlink_metadata(root.join(&from)).is_err()
                && std::fs::symlink_metadata(root.join(&to)).is_ok();
            (from, to, moved)
        })
        .collect();
    let fresh = catalog.unindexed_dirs(batch.dirty.iter().map(String::as_str));
    let observed: Vec<(String, super::Observed)> = batch
        .dirty
        .into_iter()
        .map(|rel| {
            let seen = observe(root, &rel, fresh.contains(&rel));
            (rel, seen)
        })
        .collect();
    let mut guard = catalog
        .index
        .write()
        .unwrap_or_else(PoisonError::into_inner);
    let Some(index) = guard.as_mut() else { return };
    for (from, to, moved) in renames {
        let claimed = catalog.is_claimed(&from) || catalog.is_claimed(&to);
        if moved && move_subtree(index, &from, &to) && !claimed {
            events.record(
                &catalog.workspace_id,
                FileEventType::Rename,
                from,
                Some(to),
                None,
            );
        }
    }
    for (path, seen) in observed {
        apply(index, &path, seen, &mut record);
        super::refresh_parent(index, root, &path);
    }
}
