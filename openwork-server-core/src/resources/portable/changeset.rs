//! A set of file changes applied all or nothing, for imports (D5).
//!
//! Guarantee: changes are applied one by one in order, each write atomically (temp file,
//! fsync, rename). Before each change, whatever it will replace — a file, a symlink or a
//! whole folder tree — is copied into memory. If a change fails, every change already made
//! is undone in reverse order from those copies (contents, permissions, symlinks, and the
//! folders the writes created), so the workspace is left as it was. What cannot be
//! promised: a crash of the process in the middle leaves the changes made so far, and a
//! failure while undoing is logged and the rest of the undo still runs.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::fs::atomic::{FileMode, write_atomic};

/// One change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Change {
    /// Create or replace a file with these bytes (parent folders are created).
    Write {
        /// The file.
        path: PathBuf,
        /// Its new contents.
        bytes: Vec<u8>,
    },
    /// Remove a file, symlink or whole folder; nothing there is fine.
    Remove {
        /// What to remove.
        path: PathBuf,
    },
}

impl Change {
    /// The path this change touches.
    pub(crate) fn path(&self) -> &Path {
        match self {
            Self::Write { path, .. } | Self::Remove { path } => path,
        }
    }
}

/// Changes in the order they are applied.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ChangeSet {
    changes: Vec<Change>,
}

impl ChangeSet {
    /// Adds a file write.
    pub(crate) fn write(&mut self, path: PathBuf, bytes: impl Into<Vec<u8>>) {
        self.changes.push(Change::Write {
            path,
            bytes: bytes.into(),
        });
    }

    /// Adds a removal.
    pub(crate) fn remove(&mut self, path: PathBuf) {
        self.changes.push(Change::Remove { path });
    }

    /// The changes, in order.
    pub(crate) fn changes(&self) -> &[Change] {
        &self.changes
    }

    /// Every file path the changes touch, including the files inside folders to be
    /// removed, sorted and without repeats: the paths to lock. Blocking.
    pub(crate) fn touched_files(&self) -> Vec<PathBuf> {
        let mut paths = Vec::new();
        for change in &self.changes {
            paths.push(change.path().to_path_buf());
            if let Change::Remove { path } = change {
                collect_files(path, &mut paths);
            }
        }
        paths.sort();
        paths.dedup();
        paths
    }

    /// Applies every change, or none: on the first failure the ones made are undone and
    /// the failure is returned. Blocking.
    pub(crate) fn apply(&self) -> io::Result<()> {
        let mut undo: Vec<Undo> = Vec::with_capacity(self.changes.len());
        for change in &self.changes {
            let result = Saved::capture(change.path()).and_then(|saved| {
                let created = missing_ancestors(change.path());
                undo.push(Undo {
                    path: change.path().to_path_buf(),
                    saved,
                    created,
                });
                perform(change)
            });
            if let Err(error) = result {
                for step in undo.iter().rev() {
                    if let Err(undo_error) = step.run() {
                        tracing::error!(
                            target: "openwork_server::import",
                            "Could not restore {} after a failed import: {undo_error}",
                            step.path.display()
                        );
                    }
                }
                return Err(error);
            }
        }
        Ok(())
    }
}

fn perform(change: &Change) -> io::Result<()> {
    match change {
        Change::Write { path, bytes } => write_atomic(path, bytes, FileMode::Default),
        Change::Remove { path } => remove_any(path),
    }
}

/// Removes whatever is at `path` without following a symlink there.
fn remove_any(path: &Path) -> io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Regular files and symlinks under `dir` (not following symlinks).
fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        match entry.file_type() {
            Ok(kind) if kind.is_dir() => collect_files(&entry.path(), out),
            Ok(_) => out.push(entry.path()),
            Err(_) => {}
        }
    }
}

/// The ancestors of `path` that do not exist yet, outermost first: a write creates them,
/// so undoing it removes them.
fn missing_ancestors(path: &Path) -> Vec<PathBuf> {
    let mut missing: Vec<PathBuf> = path
        .ancestors()
        .skip(1)
        .take_while(|dir| !dir.as_os_str().is_empty() && fs::symlink_metadata(dir).is_err())
        .map(Path::to_path_buf)
        .collect();
    missing.reverse();
    missing
}

/// What was at a path before a change.
#[derive(Debug)]
enum Saved {
    /// Nothing.
    Absent,
    /// A file, symlink or folder tree, entry by entry (folders before their contents).
    Entries(Vec<Entry>),
}

/// One saved filesystem entry.
#[derive(Debug)]
enum Entry {
    Dir {
        path: PathBuf,
        mode: u32,
    },
    File {
        path: PathBuf,
        bytes: Vec<u8>,
        mode: u32,
    },
    Link {
        path: PathBuf,
        target: PathBuf,
    },
}

impl Saved {
    fn capture(path: &Path) -> io::Result<Self> {
        match fs::symlink_metadata(path) {
            Ok(_) => {
                let mut entries = Vec::new();
                capture_entry(path, &mut entries)?;
                Ok(Self::Entries(entries))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Self::Absent),
            Err(e) => Err(e),
        }
    }
}

fn capture_entry(path: &Path, out: &mut Vec<Entry>) -> io::Result<()> {
    let meta = fs::symlink_metadata(path)?;
    let mode = mode_of(&meta);
    if meta.file_type().is_symlink() {
        out.push(Entry::Link {
            path: path.to_path_buf(),
            target: fs::read_link(path)?,
        });
    } else if meta.is_dir() {
        out.push(Entry::Dir {
            path: path.to_path_buf(),
            mode,
        });
        for entry in fs::read_dir(path)? {
            capture_entry(&entry?.path(), out)?;
        }
    } else {
        out.push(Entry::File {
            path: path.to_path_buf(),
            bytes: fs::read(path)?,
            mode,
        });
    }
    Ok(())
}

/// How to put one path back.
#[derive(Debug)]
struct Undo {
    path: PathBuf,
    saved: Saved,
    created: Vec<PathBuf>,
}

impl Undo {
    fn run(&self) -> io::Result<()> {
        match &self.saved {
            Saved::Absent => remove_any(&self.path)?,
            Saved::Entries(entries) => {
                // A file over a file is replaced atomically; anything else is cleared first.
                let single_file = matches!(entries.as_slice(), [Entry::File { .. }])
                    && fs::symlink_metadata(&self.path).is_ok_and(|m| m.is_file());
                if !single_file {
                    remove_any(&self.path)?;
                }
                for entry in entries {
                    restore(entry)?;
                }
            }
        }
        for dir in self.created.iter().rev() {
            // Only empty folders go; one still holding something was not only ours.
            let _ = fs::remove_dir(dir);
        }
        Ok(())
    }
}

fn restore(entry: &Entry) -> io::Result<()> {
    match entry {
        Entry::Dir { path, mode } => {
            fs::create_dir_all(path)?;
            set_mode(path, *mode)
        }
        Entry::File { path, bytes, mode } => {
            write_atomic(path, bytes, FileMode::Default)?;
            set_mode(path, *mode)
        }
        Entry::Link { path, target } => make_link(target, path),
    }
}

#[cfg(unix)]
fn mode_of(meta: &fs::Metadata) -> u32 {
    std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o7777
}

#[cfg(not(unix))]
fn mode_of(_meta: &fs::Metadata) -> u32 {
    0
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> io::Result<()> {
    Ok(())
}

#[cfg(unix)]
fn make_link(target: &Path, path: &Path) -> io::Result<()> {
    std::os::unix::fs::symlink(target, path)
}

#[cfg(not(unix))]
fn make_link(_target: &Path, _path: &Path) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// Every entry under `root`: files with their bytes, folders and links marked.
    fn snapshot(root: &Path) -> BTreeMap<PathBuf, String> {
        let mut out = BTreeMap::new();
        fn visit(dir: &Path, root: &Path, out: &mut BTreeMap<PathBuf, String>) {
            for entry in fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                let rel = path.strip_prefix(root).unwrap().to_path_buf();
                let meta = fs::symlink_metadata(&path).unwrap();
                if meta.file_type().is_symlink() {
                    out.insert(
                        rel,
                        format!("-> {}", fs::read_link(&path).unwrap().display()),
                    );
                } else if meta.is_dir() {
                    out.insert(rel, format!("dir {:o}", mode_of(&meta)));
                    visit(&path, root, out);
                } else {
                    let text = String::from_utf8(fs::read(&path).unwrap()).unwrap();
                    out.insert(rel, format!("{text} {:o}", mode_of(&meta)));
                }
            }
        }
        visit(root, root, &mut out);
        out
    }

    fn put(root: &Path, rel: &str, text: &str) {
        let path = root.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    #[test]
    fn applies_writes_and_removals_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        put(root, "skills/old/SKILL.md", "old");
        put(root, "keep.txt", "keep");
        let mut set = ChangeSet::default();
        set.remove(root.join("skills"));
        set.write(root.join("skills/new/SKILL.md"), "new");
        set.write(root.join("keep.txt"), "changed");
        set.apply().unwrap();
        let seen = snapshot(root);
        assert!(!seen.contains_key(Path::new("skills/old")));
        assert_eq!(
            fs::read_to_string(root.join("skills/new/SKILL.md")).unwrap(),
            "new"
        );
        assert_eq!(
            fs::read_to_string(root.join("keep.txt")).unwrap(),
            "changed"
        );
    }

    #[test]
    fn a_failure_midway_restores_everything() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        put(root, "config.json", "{\"a\":1}");
        put(root, "skills/one/SKILL.md", "one");
        put(root, "skills/one/notes/extra.md", "extra");
        put(root, "blocker", "a file where a folder is needed");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(
                root.join("skills/one/SKILL.md"),
                fs::Permissions::from_mode(0o600),
            )
            .unwrap();
            std::os::unix::fs::symlink("one/SKILL.md", root.join("skills/link.md")).unwrap();
        }
        let before = snapshot(root);

        let mut set = ChangeSet::default();
        set.write(root.join("config.json"), "{\"a\":2}");
        set.remove(root.join("skills"));
        set.write(root.join("skills/two/SKILL.md"), "two");
        set.write(root.join("fresh/deep/file.md"), "fresh");
        set.write(root.join("blocker/inside.md"), "cannot be written");
        set.write(root.join("never.md"), "not reached");
        assert!(set.apply().is_err());
        assert_eq!(snapshot(root), before);
    }

    #[test]
    fn touched_files_include_the_contents_of_removed_folders() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        put(root, "commands/a.md", "a");
        put(root, "commands/sub/b.md", "b");
        let mut set = ChangeSet::default();
        set.remove(root.join("commands"));
        set.write(root.join("commands/a.md"), "new");
        assert_eq!(
            set.touched_files(),
            [
                root.join("commands"),
                root.join("commands/a.md"),
                root.join("commands/sub/b.md"),
            ]
        );
    }
}
