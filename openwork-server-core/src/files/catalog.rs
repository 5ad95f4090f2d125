//! The live file catalog of a workspace (contract §8.4 snapshot, D11): an in-memory index of
//! every file and folder under the root, keyed by the UTF-8 relative path in a `BTreeMap`
//! so byte order is both the sort order and the `after` order of pagination. It is built
//! once, on first use, by one walk off the async threads (symlinks skipped, everything else
//! included, `.git` and `node_modules` too, as in the reference), and then kept current:
//!
//! * API writes (write-batch, ops) update it directly through [`Catalog::sync_silent`];
//! * a recursive watcher ([`watcher`]) reports every other change, which updates the index
//!   AND records a file event, so syncing clients see edits made by the agent, an editor
//!   or git. A change already in the index (an API write) records nothing twice.
//!
//! A workspace's catalog opens with its first file session; external changes are reported
//! from then on (before that no client could hold a cursor that needs them).
//!
//! Snapshot pages are answered from the index; no request walks the tree. When the
//! watcher cannot be started (e.g. the inotify watch limit), the catalog falls back to a
//! fresh walk per page, which is what the reference does.

pub(crate) mod watcher;

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use serde::Serialize;

use super::events::{FileEventType, FileEvents};
use super::mtime_ms;

/// Entries per page when the client names no (valid) limit.
pub(crate) const DEFAULT_LIMIT: usize = 2000;
/// Most entries per page.
pub(crate) const MAX_LIMIT: usize = 10_000;

/// File or folder.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum EntryKind {
    /// Anything that is not a folder (symlinks are never indexed).
    File,
    /// A folder.
    Dir,
}

/// What the index knows about one path.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Entry {
    /// File or folder.
    pub(crate) kind: EntryKind,
    /// Bytes (0 for folders).
    pub(crate) size: u64,
    /// Modification time, fractional epoch ms.
    pub(crate) mtime_ms: f64,
}

impl Entry {
    /// The entry for `lstat` metadata; `None` for symlinks, which the catalog skips.
    pub(crate) fn from_metadata(metadata: &std::fs::Metadata) -> Option<Self> {
        let file_type = metadata.file_type();
        if file_type.is_symlink() {
            return None;
        }
        let kind = if file_type.is_dir() {
            EntryKind::Dir
        } else {
            EntryKind::File
        };
        Some(Self {
            kind,
            size: if kind == EntryKind::Dir {
                0
            } else {
                metadata.len()
            },
            mtime_ms: mtime_ms(metadata),
        })
    }

    /// `"<floor mtime ms>:<size>"`.
    pub(crate) fn revision(&self) -> String {
        format!("{}:{}", self.mtime_ms.floor() as u64, self.size)
    }
}

/// The index: relative path → entry, in byte order.
pub(crate) type Index = BTreeMap<String, Entry>;

/// Walks `dir` (absolute) whose relative path is `rel` ("" for the root) into `out`,
/// skipping symlinks and names that are not UTF-8. Unreadable folders are skipped.
pub(crate) fn walk_into(dir: &Path, rel: &str, out: &mut Index) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for dirent in entries.flatten() {
        let Ok(name) = dirent.file_name().into_string() else {
            continue;
        };
        // `DirEntry::metadata` does not follow symlinks.
        let Some(entry) = dirent
            .metadata()
            .ok()
            .and_then(|m| Entry::from_metadata(&m))
        else {
            continue;
        };
        let child = if rel.is_empty() {
            name
        } else {
            format!("{rel}/{name}")
        };
        if entry.kind == EntryKind::Dir {
            walk_into(&dirent.path(), &child, out);
        }
        out.insert(child, entry);
    }
}

/// A page request, already parsed.
#[derive(Clone, Debug, Default)]
pub(crate) struct PageQuery {
    /// Normalised prefix: keep `path == prefix` or paths under `prefix/`.
    pub(crate) prefix: Option<String>,
    /// Keep paths strictly after this one (byte order).
    pub(crate) after: Option<String>,
    /// Keep folders (`includeDirs=false` drops them).
    pub(crate) include_dirs: bool,
    /// Most entries returned.
    pub(crate) limit: usize,
}

/// One entry as the snapshot reports it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PageItem {
    path: String,
    kind: EntryKind,
    size: u64,
    #[serde(serialize_with = "serialize_ms")]
    mtime_ms: f64,
    revision: String,
}

impl PageItem {
    /// The relative path.
    pub(crate) fn path(&self) -> &str {
        &self.path
    }
}

/// A page: the entries and how many matched before the limit (Addendum 2).
#[derive(Debug)]
pub(crate) struct Page {
    /// At most `limit` entries, in byte order.
    pub(crate) items: Vec<PageItem>,
    /// Entries left after all filters, before the limit.
    pub(crate) total: usize,
}

/// Fractional ms as JavaScript prints them: integral values without a `.0`.
pub(crate) fn serialize_ms<S: serde::Serializer>(ms: &f64, s: S) -> Result<S::Ok, S::Error> {
    if ms.fract() == 0.0 && *ms >= 0.0 && *ms < 9.0e15 {
        s.serialize_u64(*ms as u64)
    } else {
        s.serialize_f64(*ms)
    }
}

/// Fractional ms as a JSON value printed the JavaScript way (see [`serialize_ms`]).
pub(crate) fn ms_json(ms: f64) -> serde_json::Value {
    if ms.fract() == 0.0 && (0.0..9.0e15).contains(&ms) {
        (ms as u64).into()
    } else {
        ms.into()
    }
}

/// Answers a page from `index`. Range bounds do the `prefix` and `after` filtering; the
/// whole index is counted only when a filter leaves no cheaper way to know `total`.
pub(crate) fn page(index: &Index, query: &PageQuery) -> Page {
    let after = query.after.as_deref();
    let keep = |entry: &Entry| query.include_dirs || entry.kind != EntryKind::Dir;
    let mut items = Vec::with_capacity(query.limit.min(MAX_LIMIT));
    let mut total = 0;
    let mut take = |path: &str, entry: &Entry| {
        total += 1;
        if items.len() < query.limit {
            items.push(PageItem {
                path: path.to_owned(),
                kind: entry.kind,
                size: entry.size,
                mtime_ms: entry.mtime_ms,
                revision: entry.revision(),
            });
        }
    };
    let range = match query.prefix.as_deref() {
        None => {
            let lower = after.map_or(Bound::Unbounded, Bound::Excluded);
            // The first page of an unfiltered listing, the common case, counts in O(1).
            if after.is_none() && query.include_dirs {
                for (path, entry) in index.iter().take(query.limit) {
                    take(path, entry);
                }
                return Page {
                    items,
                    total: index.len(),
                };
            }
            index.range::<str, _>((lower, Bound::Unbounded))
        }
        Some(prefix) => {
            if let Some(entry) = index.get(prefix)
                && keep(entry)
                && after.is_none_or(|a| prefix > a)
            {
                take(prefix, entry);
            }
            // Everything under `prefix/` sorts between `prefix/` and `prefix0` ('0' follows '/').
            let start = format!("{prefix}/");
            let end = format!("{prefix}0");
            let lower = match after {
                // Past everything under the prefix: an empty range (and a reversed one would
                // make `BTreeMap::range` panic).
                Some(a) if a >= end.as_str() => return Page { items, total },
                Some(a) if a >= start.as_str() => Bound::Excluded(a.to_owned()),
                _ => Bound::Included(start),
            };
            index.range::<String, _>((lower, Bound::Excluded(end)))
        }
    };
    for (path, entry) in range.filter(|(_, entry)| keep(entry)) {
        take(path, entry);
    }
    Page { items, total }
}

/// The catalog of one workspace.
pub(crate) struct Catalog {
    /// Workspace id, for the file events it records.
    pub(crate) workspace_id: String,
    /// Workspace root as configured.
    pub(crate) root: PathBuf,
    /// `None` until the first walk finishes.
    index: RwLock<Option<Index>>,
    /// Whether the watcher runs; without it every page walks afresh.
    live: AtomicBool,
    /// Flips to `true` once the index is built.
    ready: tokio::sync::watch::Sender<bool>,
    /// Paths the API is changing right now, with how many writers claim each. The watcher
    /// still updates the index for them but leaves the reporting to the API, so a write is
    /// never reported twice however late the API gets to [`Catalog::sync_silent`].
    claims: std::sync::Mutex<std::collections::HashMap<String, usize>>,
}

/// A claim on paths the API is about to change; released when dropped.
pub(crate) struct Claim {
    catalog: Arc<Catalog>,
    paths: Vec<String>,
}

impl Claim {
    /// Brings the index in line with what the API just did, then releases the claim.
    pub(crate) fn finish(self) {
        let paths: Vec<&str> = self.paths.iter().map(String::as_str).collect();
        self.catalog.sync_silent(&paths);
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        let mut claims = self
            .catalog
            .claims
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for path in &self.paths {
            if let Some(count) = claims.get_mut(path) {
                *count -= 1;
                if *count == 0 {
                    claims.remove(path);
                }
            }
        }
    }
}

impl std::fmt::Debug for Catalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Catalog")
            .field("workspace_id", &self.workspace_id)
            .field("root", &self.root)
            .finish_non_exhaustive()
    }
}

impl Catalog {
    fn new(workspace_id: &str, root: PathBuf) -> Self {
        Self {
            workspace_id: workspace_id.to_owned(),
            root,
            index: RwLock::new(None),
            live: AtomicBool::new(false),
            ready: tokio::sync::watch::channel(false).0,
            claims: std::sync::Mutex::new(std::collections::HashMap::new()),
        }
    }

    /// Claims `paths` (relative) for an API change; see [`Catalog::claims`].
    pub(crate) fn claim(self: &Arc<Self>, paths: &[&str]) -> Claim {
        let mut claims = self.claims.lock().unwrap_or_else(PoisonError::into_inner);
        for path in paths {
            *claims.entry((*path).to_owned()).or_default() += 1;
        }
        Claim {
            catalog: self.clone(),
            paths: paths.iter().map(|p| (*p).to_owned()).collect(),
        }
    }

    /// Whether the API is changing `path` right now.
    pub(crate) fn is_claimed(&self, path: &str) -> bool {
        self.claims
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains_key(path)
    }

    /// Waits until the first walk is done.
    pub(crate) async fn ready(&self) {
        let mut rx = self.ready.subscribe();
        // The sender lives as long as `self`, so this only ends when ready.
        let _ = rx.wait_for(|ready| *ready).await;
    }

    /// A snapshot page. Blocking only when the watcher is down (fresh walk).
    pub(crate) fn page(&self, query: &PageQuery) -> Page {
        if !self.live.load(Ordering::Acquire) {
            let mut fresh = Index::new();
            walk_into(&self.root, "", &mut fresh);
            return page(&fresh, query);
        }
        let index = self.index.read().unwrap_or_else(PoisonError::into_inner);
        page(index.as_ref().unwrap_or(&Index::new()), query)
    }

    /// Which of `paths` are not indexed as folders (a folder found there must be walked).
    pub(crate) fn unindexed_dirs<'a>(
        &self,
        paths: impl Iterator<Item = &'a str>,
    ) -> std::collections::HashSet<String> {
        let guard = self.index.read().unwrap_or_else(PoisonError::into_inner);
        paths
            .filter(|p| {
                guard
                    .as_ref()
                    .and_then(|index| index.get(*p))
                    .is_none_or(|e| e.kind != EntryKind::Dir)
            })
            .map(str::to_owned)
            .collect()
    }

    /// Installs the first index.
    fn install(&self, index: Index, live: bool) {
        *self.index.write().unwrap_or_else(PoisonError::into_inner) = Some(index);
        self.live.store(live, Ordering::Release);
        self.ready.send_replace(true);
    }

    /// Brings the index in line with the disk for `paths` (relative), recording nothing:
    /// for changes the API made and reports itself. Blocking (a few `lstat`s, a walk for
    /// a new folder).
    pub(crate) fn sync_silent(&self, paths: &[&str]) {
        let fresh = self.unindexed_dirs(paths.iter().copied());
        let observed: Vec<(String, Observed)> = paths
            .iter()
            .map(|p| ((*p).to_owned(), observe(&self.root, p, fresh.contains(*p))))
            .collect();
        let mut guard = self.index.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(index) = guard.as_mut() {
            for (path, seen) in observed {
                apply(index, &path, seen, &mut |_| {});
                refresh_parent(index, &self.root, &path);
            }
        }
    }
}

/// What the disk holds at one path: nothing, or an entry and, for a folder, its subtree.
#[derive(Debug)]
pub(crate) enum Observed {
    /// Missing, a symlink, or not UTF-8 reachable.
    Gone,
    /// A file or folder; a folder walked carries everything under it (`None` when it
    /// was indexed already and its children report their own changes).
    Present(Entry, Option<Index>),
}

/// `lstat`s `rel` under `root`; walks it when it is a folder and `walk` is set.
pub(crate) fn observe(root: &Path, rel: &str, walk: bool) -> Observed {
    let abs = root.join(rel);
    match std::fs::symlink_metadata(&abs)
        .ok()
        .and_then(|m| Entry::from_metadata(&m))
    {
        None => Observed::Gone,
        Some(entry) => {
            let subtree = (walk && entry.kind == EntryKind::Dir).then(|| {
                let mut subtree = Index::new();
                walk_into(&abs, rel, &mut subtree);
                subtree
            });
            Observed::Present(entry, subtree)
        }
    }
}

/// A change the index took in: what a watcher reports as a file event.
#[derive(Debug, PartialEq)]
pub(crate) struct Change {
    /// `write`, `mkdir` or `delete`.
    pub(crate) kind: FileEventType,
    /// Relative path.
    pub(crate) path: String,
    /// Revision after a write.
    pub(crate) revision: Option<String>,
}

/// Applies what was observed at `path`, calling `on_change` for every difference that is
/// an event (a folder whose mtime moved is not).
pub(crate) fn apply(
    index: &mut Index,
    path: &str,
    seen: Observed,
    on_change: &mut dyn FnMut(Change),
) {
    match seen {
        Observed::Gone => {
            if index.remove(path).is_some() {
                remove_subtree(index, path);
                on_change(Change {
                    kind: FileEventType::Delete,
                    path: path.to_owned(),
                    revision: None,
                });
            }
        }
        Observed::Present(entry, subtree) => {
            let before = index.insert(path.to_owned(), entry);
            match (before, entry.kind) {
                (Some(old), EntryKind::File) if old == entry => {}
                (old, EntryKind::File) => {
                    if old.is_some_and(|o| o.kind == EntryKind::Dir) {
                        remove_subtree(index, path);
                    }
                    on_change(Change {
                        kind: FileEventType::Write,
                        path: path.to_owned(),
                        revision: Some(entry.revision()),
                    });
                }
                (old, EntryKind::Dir) => {
                    if old.is_none_or(|o| o.kind != EntryKind::Dir) {
                        on_change(Change {
                            kind: FileEventType::Mkdir,
                            path: path.to_owned(),
                            revision: None,
                        });
                    }
                    if let Some(subtree) = subtree {
                        merge_subtree(index, path, subtree, on_change);
                    }
                }
            }
        }
    }
}

/// Replaces what the index holds under `dir/` with `subtree`, reporting differences.
fn merge_subtree(index: &mut Index, dir: &str, subtree: Index, on_change: &mut dyn FnMut(Change)) {
    let start = format!("{dir}/");
    let end = format!("{dir}0");
    let stale: Vec<String> = index
        .range::<str, _>((
            Bound::Included(start.as_str()),
            Bound::Excluded(end.as_str()),
        ))
        .filter(|(path, _)| !subtree.contains_key(*path))
        .map(|(path, _)| path.clone())
        .collect();
    for path in stale {
        // A removed folder's children go with it, as one event.
        if index.contains_key(&path) {
            apply(index, &path, Observed::Gone, on_change);
        }
    }
    for (path, entry) in subtree {
        let before = index.insert(path.clone(), entry);
        let kind = match (before, entry.kind) {
            (Some(old), _)
                if old.kind == entry.kind && (old == entry || entry.kind == EntryKind::Dir) =>
            {
                continue;
            }
            (_, EntryKind::Dir) => FileEventType::Mkdir,
            (_, EntryKind::File) => FileEventType::Write,
        };
        on_change(Change {
            kind,
            revision: (kind == FileEventType::Write).then(|| entry.revision()),
            path,
        });
    }
}

/// Drops every entry under `dir/`.
fn remove_subtree(index: &mut Index, dir: &str) {
    let start = format!("{dir}/");
    let end = format!("{dir}0");
    let doomed: Vec<String> = index
        .range::<str, _>((
            Bound::Included(start.as_str()),
            Bound::Excluded(end.as_str()),
        ))
        .map(|(path, _)| path.clone())
        .collect();
    for path in doomed {
        index.remove(&path);
    }
}

/// Moves `from` and everything under it to `to`. `false` when `from` is not indexed.
pub(crate) fn move_subtree(index: &mut Index, from: &str, to: &str) -> bool {
    let Some(entry) = index.remove(from) else {
        return false;
    };
    remove_subtree(index, to);
    let start = format!("{from}/");
    let end = format!("{from}0");
    let children: Vec<(String, Entry)> = index
        .range::<str, _>((
            Bound::Included(start.as_str()),
            Bound::Excluded(end.as_str()),
        ))
        .map(|(path, entry)| (path.clone(), *entry))
        .collect();
    for (path, child) in children {
        index.remove(&path);
        index.insert(format!("{to}{}", &path[from.len()..]), child);
    }
    index.insert(to.to_owned(), entry);
    true
}

/// A folder's mtime moves when its children change; keep the parent's entry current
/// without reporting it.
fn refresh_parent(index: &mut Index, root: &Path, path: &str) {
    let Some((parent, _)) = path.rsplit_once('/') else {
        return;
    };
    if let Some(entry) = std::fs::symlink_metadata(root.join(parent))
        .ok()
        .and_then(|m| Entry::from_metadata(&m))
    {
        index.insert(parent.to_owned(), entry);
    }
}

/// The catalogs of all workspaces, created on first use.
#[derive(Debug, Default)]
pub(crate) struct Catalogs {
    catalogs: Mutex<HashMap<String, Arc<Catalog>>>,
}

impl Catalogs {
    /// The catalog of a workspace, starting its walk and watcher when it is new.
    pub(crate) fn open(
        &self,
        workspace_id: &str,
        root: PathBuf,
        events: Arc<FileEvents>,
        shutdown: tokio_util::sync::CancellationToken,
    ) -> Arc<Catalog> {
        let mut catalogs = self.catalogs.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(catalog) = catalogs.get(workspace_id).filter(|c| c.root == root) {
            return catalog.clone();
        }
        let catalog = Arc::new(Catalog::new(workspace_id, root));
        catalogs.insert(workspace_id.to_owned(), catalog.clone());
        watcher::start(catalog.clone(), events, shutdown);
        catalog
    }

    /// The catalog of a workspace if one was opened (API writes keep it current).
    pub(crate) fn existing(&self, workspace_id: &str) -> Option<Arc<Catalog>> {
        self.catalogs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(workspace_id)
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(size: u64) -> Entry {
        Entry {
            kind: EntryKind::File,
            size,
            mtime_ms: 1000.5,
        }
    }

    fn dir() -> Entry {
        Entry {
            kind: EntryKind::Dir,
            size: 0,
            mtime_ms: 1000.0,
        }
    }

    fn sample() -> Index {
        let mut index = Index::new();
        for (p, e) in [
            ("B.txt", file(1)),
            ("a.txt", file(2)),
            ("cat", dir()),
            ("cat/a.txt", file(3)),
            ("cat/b.txt", file(4)),
            ("cat/c", dir()),
            ("cat/c/d.txt", file(5)),
            ("cat.txt", file(6)),
            ("cat-x", file(7)),
        ] {
            index.insert(p.to_owned(), e);
        }
        index
    }

    fn paths(page: &Page) -> Vec<&str> {
        page.items.iter().map(|i| i.path.as_str()).collect()
    }

    fn query(
        prefix: Option<&str>,
        after: Option<&str>,
        include_dirs: bool,
        limit: usize,
    ) -> PageQuery {
        PageQuery {
            prefix: prefix.map(str::to_owned),
            after: after.map(str::to_owned),
            include_dirs,
            limit,
        }
    }

    #[test]
    fn pages_follow_byte_order_and_count_after_all_filters() {
        let index = sample();
        let all = page(&index, &query(None, None, true, 3));
        assert_eq!(paths(&all), ["B.txt", "a.txt", "cat"]);
        assert_eq!(all.total, 9);
        let next = page(&index, &query(None, Some("cat"), true, 3));
        assert_eq!(paths(&next), ["cat-x", "cat.txt", "cat/a.txt"]);
        assert_eq!(next.total, 6);
        // Addendum 2: prefix `cat` holds 5 entries; `after` narrows the total.
        assert_eq!(page(&index, &query(Some("cat"), None, true, 10)).total, 5);
        assert_eq!(
            page(&index, &query(Some("cat"), Some("cat"), true, 10)).total,
            4
        );
        let tail = page(&index, &query(Some("cat"), Some("cat/b.txt"), true, 10));
        assert_eq!(paths(&tail), ["cat/c", "cat/c/d.txt"]);
        assert_eq!(tail.total, 2);
        let files = page(&index, &query(Some("cat"), None, false, 10));
        assert_eq!(paths(&files), ["cat/a.txt", "cat/b.txt", "cat/c/d.txt"]);
    }

    #[test]
    fn an_after_past_the_prefix_is_an_empty_page() {
        // Found by the fuzz run: `after` sorting beyond everything under `prefix` panicked.
        let index = sample();
        for after in ["cat0", "cat1", "d", "\u{ee}"] {
            let past = page(&index, &query(Some("cat"), Some(after), true, 10));
            assert!(past.items.is_empty(), "{after}");
            assert_eq!(past.total, 0, "{after}");
        }
        let unknown = page(&index, &query(Some("__main__"), Some("\u{ee}"), true, 10));
        assert_eq!((unknown.items.len(), unknown.total), (0, 0));
    }

    #[test]
    fn applying_observations_reports_only_real_changes() {
        let mut index = sample();
        let mut changes = Vec::new();
        let mut record = |c: Change| changes.push((c.kind, c.path));
        apply(
            &mut index,
            "a.txt",
            Observed::Present(file(2), None),
            &mut record,
        );
        apply(
            &mut index,
            "a.txt",
            Observed::Present(file(9), None),
            &mut record,
        );
        apply(&mut index, "cat", Observed::Gone, &mut record);
        let mut sub = Index::new();
        sub.insert("new/x".to_owned(), file(1));
        apply(
            &mut index,
            "new",
            Observed::Present(dir(), Some(sub)),
            &mut record,
        );
        assert_eq!(
            changes,
            [
                (FileEventType::Write, "a.txt".to_owned()),
                (FileEventType::Delete, "cat".to_owned()),
                (FileEventType::Mkdir, "new".to_owned()),
                (FileEventType::Write, "new/x".to_owned()),
            ]
        );
        assert!(!index.keys().any(|k| k.starts_with("cat/")));
        assert!(move_subtree(&mut index, "new", "moved"));
        assert!(index.contains_key("moved/x") && !index.contains_key("new/x"));
    }

    #[test]
    fn integral_times_serialise_like_javascript() {
        let item = PageItem {
            path: "a".into(),
            kind: EntryKind::File,
            size: 1,
            mtime_ms: 1000.0,
            revision: "1000:1".into(),
        };
        let text = serde_json::to_string(&item).unwrap();
        assert!(text.contains("\"mtimeMs\":1000,"), "{text}");
    }
}
