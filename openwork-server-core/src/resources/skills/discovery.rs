//! Skill discovery (contract §4.9) and its caches: which folders are scanned, the
//! `X/SKILL.md` and domain `X/Y/SKILL.md` layouts, de-duplication by name, and the listing
//! JSON built from pieces escaped once per file change.
//!
//! `GET /workspace/:id/skills` is a hot route, so a warm listing costs one `stat` per
//! skills folder and one per skill, with no reads, parses or hash lookups; every entry is
//! revalidated by its `stat`, so a listing never serves what the disk no longer says.

use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use super::{SkillItem, SkillMeta, parse_skill};
use crate::fs::cache::FileStamp;
use crate::workspace::Workspace;

/// A file or folder modified this recently is read again next time instead of being
/// trusted by its stamp: a second change within one timestamp tick would not change it.
const SETTLE: Duration = Duration::from_millis(100);

/// Discovery's caches: the subfolders of every skills (and domain) folder seen, each
/// carrying the parse of its `SKILL.md`. One per server (routes) or per export.
#[derive(Debug, Default)]
pub(crate) struct SkillFiles {
    folders: Mutex<HashMap<PathBuf, Listing>>,
}

/// A folder's subfolders as last read.
#[derive(Debug)]
struct Listing {
    stamp: FileStamp,
    /// Read too soon after a change to be trusted next time (see [`SETTLE`]).
    settled: bool,
    subfolders: Arc<[Arc<Subfolder>]>,
}

/// One subfolder of a skills or domain folder, with the paths discovery needs and the
/// parse of its `SKILL.md`.
#[derive(Debug)]
struct Subfolder {
    /// The folder (a domain folder is scanned one level deeper).
    dir: PathBuf,
    /// Its entry name, to carry this cache over when the parent is listed again.
    file_name: OsString,
    /// Its name, when UTF-8 (a skill name must be).
    name: Option<String>,
    /// `<dir>/SKILL.md`.
    skill_md: PathBuf,
    /// `skill_md` as reported to clients.
    shown: String,
    /// `shown` as a JSON string literal.
    shown_json: String,
    /// The last parse of `SKILL.md` and the stamp it was read under; `None` inside for a
    /// file that is not an acceptable skill.
    parsed: Mutex<Option<(FileStamp, Option<Arc<SkillMeta>>)>>,
}

impl Subfolder {
    fn new(dir: PathBuf, file_name: OsString) -> Self {
        let skill_md = dir.join("SKILL.md");
        let shown = skill_md.to_string_lossy().into_owned();
        Self {
            name: file_name.to_str().map(str::to_owned),
            shown_json: serde_json::to_string(&shown).unwrap_or_default(),
            shown,
            skill_md,
            dir,
            file_name,
            parsed: Mutex::new(None),
        }
    }

    fn lock_parsed(&self) -> MutexGuard<'_, Option<(FileStamp, Option<Arc<SkillMeta>>)>> {
        self.parsed.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Whether a file's stamp can be trusted to change with its contents.
fn settled(metadata: &std::fs::Metadata) -> bool {
    metadata
        .modified()
        .ok()
        .and_then(|modified| SystemTime::now().duration_since(modified).ok())
        .is_some_and(|age| age >= SETTLE)
}

/// What `<folder>/SKILL.md` is.
enum Candidate {
    /// No such file: the folder may be a domain folder.
    Missing,
    /// There is something named `SKILL.md`, but not an acceptable skill.
    Rejected,
    /// An acceptable skill.
    Skill(Arc<SkillMeta>),
}

impl SkillFiles {
    fn lock_folders(&self) -> MutexGuard<'_, HashMap<PathBuf, Listing>> {
        self.folders.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Subfolders of `dir` in readdir order (`None` when it is not a folder). Symlinked
    /// folders are not followed, like the reference's `Dirent.isDirectory()`.
    fn subfolders(&self, dir: &Path) -> Option<Arc<[Arc<Subfolder>]>> {
        let metadata = match std::fs::metadata(dir) {
            Ok(metadata) if metadata.is_dir() => metadata,
            _ => {
                self.lock_folders().remove(dir);
                return None;
            }
        };
        // Adding, removing or renaming an entry changes the folder's stamp.
        let stamp = FileStamp::of(&metadata);
        let previous = match self.lock_folders().get(dir) {
            Some(listing) if listing.settled && listing.stamp == stamp => {
                return Some(listing.subfolders.clone());
            }
            Some(listing) => Some(listing.subfolders.clone()),
            None => None,
        };
        let reused = |file_name: &OsString| {
            previous
                .iter()
                .flat_map(|list| list.iter())
                .find(|sub| sub.file_name == *file_name)
                .cloned()
        };
        let subfolders: Arc<[Arc<Subfolder>]> = std::fs::read_dir(dir)
            .ok()?
            .filter_map(Result::ok)
            .filter(|entry| entry.file_type().is_ok_and(|t| t.is_dir()))
            .map(|entry| {
                let file_name = entry.file_name();
                // Kept subfolders keep their parsed SKILL.md.
                reused(&file_name)
                    .unwrap_or_else(|| Arc::new(Subfolder::new(entry.path(), file_name)))
            })
            .collect();
        self.lock_folders().insert(
            dir.to_owned(),
            Listing {
                stamp,
                settled: settled(&metadata),
                subfolders: subfolders.clone(),
            },
        );
        Some(subfolders)
    }

    /// `<folder>/SKILL.md`, parsed only when its stamp changed.
    fn candidate(&self, folder: &Subfolder) -> Candidate {
        let before = match std::fs::metadata(&folder.skill_md) {
            Ok(metadata) if metadata.is_file() => metadata,
            // Something named SKILL.md that is not a readable file still makes this a
            // skill folder (never a domain folder), as the reference's `exists` check does.
            Ok(_) => return Candidate::Rejected,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                *folder.lock_parsed() = None;
                return Candidate::Missing;
            }
            Err(_) => return Candidate::Rejected,
        };
        let stamp = FileStamp::of(&before);
        if let Some((cached, meta)) = folder.lock_parsed().as_ref() {
            if *cached == stamp {
                return meta.clone().map_or(Candidate::Rejected, Candidate::Skill);
            }
        }
        let Ok(bytes) = std::fs::read(&folder.skill_md) else {
            return Candidate::Rejected;
        };
        let meta = folder
            .name
            .as_deref()
            .and_then(|name| parse_skill(&String::from_utf8_lossy(&bytes), name))
            .map(Arc::new);
        // Cached only when nothing changed around the read and the stamp is trustworthy;
        // otherwise the next listing reads the file again.
        let after = std::fs::metadata(&folder.skill_md).ok();
        let unchanged = after.as_ref().is_some_and(|m| FileStamp::of(m) == stamp);
        *folder.lock_parsed() = (unchanged && settled(&before)).then(|| (stamp, meta.clone()));
        meta.map_or(Candidate::Rejected, Candidate::Skill)
    }

    /// Scans one skills folder: `X/SKILL.md`, else the domain layout `X/Y/SKILL.md`.
    fn scan(&self, dir: &Path, scope: &'static str, out: &mut Vec<CachedSkill>) {
        let Some(folders) = self.subfolders(dir) else {
            return;
        };
        let mut push = |folder: &Arc<Subfolder>, candidate| {
            if let Candidate::Skill(meta) = candidate {
                out.push(CachedSkill {
                    meta,
                    folder: folder.clone(),
                    scope,
                });
            }
        };
        for folder in folders.iter() {
            match self.candidate(folder) {
                Candidate::Missing => {
                    for sub in self.subfolders(&folder.dir).iter().flat_map(|d| d.iter()) {
                        push(sub, self.candidate(sub));
                    }
                }
                candidate => push(folder, candidate),
            }
        }
    }
}

/// A skill found by discovery, owned: its listing entry and its file's text.
#[derive(Clone, Debug)]
pub(crate) struct FoundSkill {
    /// The listing entry.
    pub(crate) item: SkillItem,
    /// The raw `SKILL.md` text.
    pub(crate) content: String,
}

/// A skill found by discovery, shared with the cache. Serializes as a [`SkillItem`].
#[derive(Clone, Debug)]
pub(crate) struct CachedSkill {
    meta: Arc<SkillMeta>,
    folder: Arc<Subfolder>,
    scope: &'static str,
}

impl CachedSkill {
    /// The skill's name.
    pub(crate) fn name(&self) -> &str {
        &self.meta.name
    }

    /// The raw `SKILL.md` text.
    pub(crate) fn content(&self) -> &str {
        &self.meta.content
    }

    /// The listing entry as an owned value.
    pub(crate) fn item(&self) -> SkillItem {
        SkillItem {
            name: self.meta.name.clone(),
            description: self.meta.description.clone(),
            path: self.folder.shown.clone(),
            scope: self.scope,
            trigger: self.meta.trigger.clone(),
        }
    }

    /// The owned form, entry and text.
    pub(crate) fn to_found(&self) -> FoundSkill {
        FoundSkill {
            item: self.item(),
            content: self.meta.content.clone(),
        }
    }

    /// Appends this item's JSON, the same bytes as serializing [`CachedSkill::item`].
    fn write_json(&self, out: &mut String) {
        out.push_str(&self.meta.json_head);
        out.push_str(&self.folder.shown_json);
        out.push_str(",\"scope\":\"");
        out.push_str(self.scope);
        out.push('"');
        out.push_str(&self.meta.json_tail);
    }
}

impl Serialize for CachedSkill {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.item().serialize(serializer)
    }
}

/// `{"items":[SkillItem...]}` for a listing, assembled from pieces escaped once.
pub(crate) fn list_json(skills: &[CachedSkill]) -> String {
    let mut out = String::with_capacity(
        16 + skills
            .iter()
            .map(|s| {
                s.meta.json_head.len() + s.folder.shown_json.len() + s.meta.json_tail.len() + 24
            })
            .sum::<usize>(),
    );
    out.push_str("{\"items\":[");
    for (n, skill) in skills.iter().enumerate() {
        if n > 0 {
            out.push(',');
        }
        skill.write_json(&mut out);
    }
    out.push_str("]}");
    out
}

/// The workspace folder and its ancestors, stopping after the first one holding `.git`.
fn search_roots(root: &Path) -> Vec<&Path> {
    let mut roots = Vec::new();
    let mut current = Some(root);
    while let Some(dir) = current {
        roots.push(dir);
        if dir.join(".git").exists() {
            break;
        }
        current = dir.parent();
    }
    roots
}

/// The skills folders to scan, in order, with the scope of what they hold.
pub(crate) fn skill_dirs(
    home: &Path,
    workspace: &Workspace,
    include_global: bool,
) -> Vec<(PathBuf, &'static str)> {
    let mut dirs = Vec::new();
    // A remote workspace without a folder has no project skills.
    if !workspace.path.is_empty() {
        for root in search_roots(workspace.root()) {
            dirs.push((root.join(".opencode").join("skills"), "project"));
            dirs.push((root.join(".claude").join("skills"), "project"));
        }
    }
    if include_global {
        for rel in [".config/opencode", ".claude", ".agents", ".agent"] {
            dirs.push((home.join(rel).join("skills"), "global"));
        }
    }
    dirs
}

/// Every discovered skill, de-duplicated by name (first wins), using and filling
/// `cache`. Blocking, but cheap once the cache is warm (see the module docs).
pub(crate) fn discover_cached(
    cache: &SkillFiles,
    home: &Path,
    workspace: &Workspace,
    include_global: bool,
) -> Vec<CachedSkill> {
    let mut found = Vec::new();
    for (dir, scope) in skill_dirs(home, workspace, include_global) {
        cache.scan(&dir, scope, &mut found);
    }
    let keep: Vec<bool> = {
        let mut seen = HashSet::with_capacity(found.len());
        found
            .iter()
            .map(|skill| seen.insert(skill.name()))
            .collect()
    };
    let mut keep = keep.into_iter();
    found.retain(|_| keep.next().unwrap_or(false));
    found
}

/// Every discovered skill with its text (owned), using and filling `cache`. Blocking:
/// call it from a blocking task.
pub(crate) fn discover_with(
    cache: &SkillFiles,
    home: &Path,
    workspace: &Workspace,
    include_global: bool,
) -> Vec<FoundSkill> {
    discover_cached(cache, home, workspace, include_global)
        .iter()
        .map(CachedSkill::to_found)
        .collect()
}

/// Every discovered skill of a workspace (contract §4.9 discovery rules), without a
/// cache. Blocking: call it from a blocking task.
#[allow(dead_code)] // the export engineer's entry point (§7); routes use the cached form
pub(crate) fn discover(home: &Path, workspace: &Workspace, include_global: bool) -> Vec<SkillItem> {
    discover_cached(&SkillFiles::default(), home, workspace, include_global)
        .iter()
        .map(CachedSkill::item)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn workspace(path: &Path) -> Workspace {
        Workspace::local(path)
    }

    #[test]
    fn discovery_walks_up_to_the_git_root_and_dedupes() {
        let top = tempfile::tempdir().unwrap();
        let repo = top.path().join("repo");
        let ws_path = repo.join("ws");
        std::fs::create_dir_all(repo.join(".git")).unwrap();
        write(
            &ws_path.join(".opencode/skills/a/SKILL.md"),
            "---\ndescription: ws a\n---\n",
        );
        write(
            &ws_path.join(".claude/skills/dom/b/SKILL.md"),
            "---\ndescription: b\n---\n",
        );
        write(
            &repo.join(".opencode/skills/a/SKILL.md"),
            "---\ndescription: repo a\n---\n",
        );
        write(
            &repo.join(".opencode/skills/c/SKILL.md"),
            "---\ndescription: c\n---\n",
        );
        // Above the git root: never scanned.
        write(
            &top.path().join(".opencode/skills/d/SKILL.md"),
            "---\ndescription: d\n---\n",
        );
        let home = tempfile::tempdir().unwrap();
        write(
            &home.path().join(".agents/skills/g/SKILL.md"),
            "---\ndescription: g\n---\n",
        );
        let ws = workspace(&ws_path);
        let items = discover(home.path(), &ws, false);
        let mut names: Vec<_> = items
            .iter()
            .map(|i| (i.name.as_str(), i.description.as_str()))
            .collect();
        names.sort_unstable();
        assert_eq!(names, [("a", "ws a"), ("b", "b"), ("c", "c")]);
        let global = discover(home.path(), &ws, true);
        let g = global.iter().find(|i| i.name == "g").unwrap();
        assert_eq!(g.scope, "global");
        assert_eq!(
            g.path,
            home.path()
                .join(".agents/skills/g/SKILL.md")
                .to_string_lossy()
        );
    }

    #[test]
    fn the_listing_json_is_what_serde_would_write() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join(".git")).unwrap();
        let dir = root.path().join(".opencode/skills");
        write(
            &dir.join("a/SKILL.md"),
            "---\ndescription: \"Quotes \\\" and \\\\ é\"\nwhen: now\n---\n",
        );
        write(&dir.join("b/SKILL.md"), "---\ndescription: plain\n---\n");
        let found = discover_cached(
            &SkillFiles::default(),
            root.path(),
            &workspace(root.path()),
            false,
        );
        assert_eq!(found.len(), 2);
        let expected =
            serde_json::json!({ "items": found.iter().map(CachedSkill::item).collect::<Vec<_>>() });
        assert_eq!(list_json(&found), serde_json::to_string(&expected).unwrap());
    }

    /// Backdates a file or folder so its stamp is trusted (older than [`SETTLE`]).
    fn age(path: &Path, secs: u64) {
        let when = SystemTime::now() - Duration::from_secs(secs);
        std::fs::File::open(path)
            .unwrap()
            .set_modified(when)
            .unwrap();
    }

    #[test]
    fn a_warm_cache_is_reused_and_follows_every_change_on_disk() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join(".git")).unwrap();
        let ws = workspace(root.path());
        let cache = SkillFiles::default();
        let skills = root.path().join(".opencode/skills");
        let file = skills.join("a/SKILL.md");
        let list = |cache: &SkillFiles| discover_cached(cache, root.path(), &ws, false);
        let names = |found: &[CachedSkill]| {
            let mut names: Vec<_> = found
                .iter()
                .map(|s| format!("{}={}", s.name(), s.meta.description))
                .collect();
            names.sort();
            names
        };
        assert!(list(&cache).is_empty());
        write(&file, "---\ndescription: one\n---\n");
        age(&file, 60);
        age(&skills, 60);
        let first = list(&cache);
        assert_eq!(names(&first), ["a=one"]);
        let again = list(&cache);
        assert!(
            Arc::ptr_eq(&first[0].meta, &again[0].meta),
            "served from the cache"
        );

        // Same size, other bytes, another (old) time: seen.
        write(&file, "---\ndescription: two\n---\n");
        age(&file, 30);
        assert_eq!(names(&list(&cache)), ["a=two"]);
        // A new domain folder changes the skills folder's stamp.
        write(&skills.join("dom/b/SKILL.md"), "---\ndescription: b\n---\n");
        assert_eq!(names(&list(&cache)), ["a=two", "b=b"]);
        age(&skills, 10);
        assert_eq!(names(&list(&cache)), ["a=two", "b=b"]);
        std::fs::remove_file(&file).unwrap();
        assert_eq!(names(&list(&cache)), ["b=b"]);
        std::fs::remove_dir_all(root.path().join(".opencode")).unwrap();
        assert!(list(&cache).is_empty());
    }
}
