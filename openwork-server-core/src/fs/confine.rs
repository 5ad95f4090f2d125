//! SECURITY (D1): path confinement. Lexical checks are not enough: a symlink planted inside
//! a workspace could send a read or write anywhere. Every write that lands under a root
//! checks here, after following symlinks, that it stays inside.

use std::path::{Component, Path, PathBuf};

use crate::error::ApiError;

/// `400 invalid_path` "Path escapes the workspace".
pub(crate) fn escapes() -> ApiError {
    ApiError::new(
        http::StatusCode::BAD_REQUEST,
        "invalid_path",
        "Path escapes the workspace",
    )
}

/// SECURITY (D1): `target` — or, when it does not exist yet, its nearest existing
/// ancestor — must resolve inside the workspace root after following symlinks, so a link
/// planted in `.opencode` cannot redirect a skill or command write elsewhere. A dangling
/// link on the way counts as an escape: `400 invalid_path` "Path escapes the workspace".
/// Blocking (a few `stat`s).
pub(crate) fn ensure_inside(root: &Path, target: &Path) -> Result<(), ApiError> {
    // SECURITY: a `..` in the part that does not exist yet would be checked against an
    // ancestor inside the root and then walked out of by `create_dir_all` or the write.
    // Workspace roots are lexically normalised, so no legitimate target carries one.
    if target
        .components()
        .any(|c| matches!(c, Component::ParentDir))
    {
        return Err(escapes());
    }
    // Without a root on disk there is nothing inside it that could be a link.
    let Ok(real_root) = root.canonicalize() else {
        return Ok(());
    };
    let mut probe = Some(target);
    while let Some(path) = probe {
        if std::fs::symlink_metadata(path).is_ok() {
            let real = path.canonicalize().map_err(|_| escapes())?;
            return if real.starts_with(&real_root) {
                Ok(())
            } else {
                Err(escapes())
            };
        }
        probe = path.parent();
    }
    Ok(())
}

/// Why a client-supplied relative path was refused (all `400 invalid_path`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PathError {
    /// "Path is required".
    Required,
    /// "Path contains null byte".
    NullByte,
    /// "Subdirectories are not allowed".
    Subdirectories,
    /// "Path traversal is not allowed".
    Traversal,
    /// "Path must point to a file".
    NotAFile,
    /// "Path escapes the workspace" (D1: a symlink leads outside the root).
    Escapes,
    /// "Path goes through a file": a folder the path needs is a file (not in the reference,
    /// which fails with a 500 there).
    ThroughFile,
}

impl PathError {
    /// The message the reference gives.
    pub(crate) fn message(self) -> &'static str {
        match self {
            Self::Required => "Path is required",
            Self::NullByte => "Path contains null byte",
            Self::Subdirectories => "Subdirectories are not allowed",
            Self::Traversal => "Path traversal is not allowed",
            Self::NotAFile => "Path must point to a file",
            Self::Escapes => "Path escapes the workspace",
            Self::ThroughFile => "Path goes through a file",
        }
    }
}

impl From<PathError> for ApiError {
    fn from(error: PathError) -> Self {
        ApiError::new(
            http::StatusCode::BAD_REQUEST,
            "invalid_path",
            error.message(),
        )
    }
}

/// The reference's `normalizeWorkspaceRelativePath` (contract §8.1): trims, turns `\` into
/// `/`, strips leading `/`, one `./` and one `workspace/` prefix, drops empty segments and
/// refuses `.`/`..` segments, NUL bytes and (unless allowed) subdirectories.
pub(crate) fn normalize_relative(input: &str, allow_subdirs: bool) -> Result<String, PathError> {
    let trimmed = input.trim_matches(is_js_whitespace);
    if trimmed.is_empty() {
        return Err(PathError::Required);
    }
    if trimmed.contains('\0') {
        return Err(PathError::NullByte);
    }
    let slashed = trimmed.replace('\\', "/");
    let mut rest = slashed.trim_start_matches('/');
    rest = rest.strip_prefix("./").unwrap_or(rest);
    rest = rest.strip_prefix("workspace/").unwrap_or(rest);
    rest = rest.trim_start_matches('/');
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    if segments.is_empty() {
        return Err(PathError::Required);
    }
    if !allow_subdirs && segments.len() > 1 {
        return Err(PathError::Subdirectories);
    }
    if segments.iter().any(|s| *s == "." || *s == "..") {
        return Err(PathError::Traversal);
    }
    Ok(segments.join("/"))
}

/// SECURITY (D1): the absolute path of normalised `relative` under `root`, checked so that
/// following symlinks never leaves `root`: every existing component on the way must resolve
/// inside the canonical root. What does not exist yet is made of normal segments only, so
/// creating it cannot leave the root either. A final component that is a symlink is
/// checked too (a read would follow it; an atomic write replaces the link itself).
/// A `relative` that is not made of normal segments only (absolute, `.`, `..`) is
/// refused as traversal, a NUL byte as such.
/// Blocking (a few `stat`s).
pub(crate) fn resolve_under(root: &Path, relative: &str) -> Result<PathBuf, PathError> {
    if relative.contains('\0') {
        return Err(PathError::NullByte);
    }
    // SECURITY: callers pass `normalize_relative` output, but a raw string must not get
    // through either: `join` would let an absolute path replace the root, and a `..`
    // in the part that does not exist yet would escape once created.
    if !Path::new(relative)
        .components()
        .all(|c| matches!(c, Component::Normal(_)))
    {
        return Err(PathError::Traversal);
    }
    let target = root.join(relative);
    if target == root {
        return Err(PathError::NotAFile);
    }
    let Ok(real_root) = root.canonicalize() else {
        // No root on disk: nothing under it can be a link.
        return Ok(target);
    };
    let mut probe = Some(target.as_path());
    while let Some(path) = probe {
        if std::fs::symlink_metadata(path).is_ok() {
            let real = path.canonicalize().map_err(|_| PathError::Escapes)?;
            return if real.starts_with(&real_root) {
                Ok(target)
            } else {
                Err(PathError::Escapes)
            };
        }
        probe = path.parent();
    }
    Ok(target)
}

/// Whether `c` is removed by JavaScript's `String.prototype.trim` (WhiteSpace and
/// LineTerminator). It differs from Rust's `char::is_whitespace` in two code points: the
/// reference trims U+FEFF (BOM) but keeps U+0085 (NEL).
fn is_js_whitespace(c: char) -> bool {
    match c {
        '\u{FEFF}' => true,
        '\u{0085}' => false,
        other => other.is_whitespace(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_like_the_reference() {
        for (input, expected) in [
            ("notes.md", "notes.md"),
            ("workspace/dir/notes.md", "dir/notes.md"),
            ("//workspace/dir/notes.md", "dir/notes.md"),
            ("./workspace/notes.md", "notes.md"),
            ("  a\\b//c.txt ", "a/b/c.txt"),
        ] {
            assert_eq!(
                normalize_relative(input, true).as_deref(),
                Ok(expected),
                "{input}"
            );
        }
        assert_eq!(
            normalize_relative("workspace/../secrets.md", true),
            Err(PathError::Traversal)
        );
        assert_eq!(
            normalize_relative("workspace/", true),
            Err(PathError::Required)
        );
        assert_eq!(normalize_relative("   ", true), Err(PathError::Required));
        assert_eq!(normalize_relative("a\0b", true), Err(PathError::NullByte));
        assert_eq!(
            normalize_relative("a/b", false),
            Err(PathError::Subdirectories)
        );
        assert_eq!(normalize_relative("a/./b", true), Err(PathError::Traversal));
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_cannot_lead_outside_the_root() {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), root.path().join("out")).unwrap();
        std::os::unix::fs::symlink(outside.path().join("f"), root.path().join("f-link")).unwrap();
        std::fs::create_dir(root.path().join("in")).unwrap();
        std::os::unix::fs::symlink(root.path().join("in"), root.path().join("in-link")).unwrap();

        assert_eq!(
            resolve_under(root.path(), "out/new.txt"),
            Err(PathError::Escapes)
        );
        assert_eq!(
            resolve_under(root.path(), "out/deep/new.txt"),
            Err(PathError::Escapes)
        );
        assert_eq!(
            resolve_under(root.path(), "f-link"),
            Err(PathError::Escapes)
        );
        assert!(resolve_under(root.path(), "in-link/new.txt").is_ok());
        assert!(resolve_under(root.path(), "new/dir/file.txt").is_ok());
    }

    #[test]
    fn trims_like_javascript() {
        assert_eq!(
            normalize_relative("\u{FEFF}notes.md\u{3000}", true).as_deref(),
            Ok("notes.md")
        );
        // NEL is not whitespace for the reference, so it stays part of the name.
        assert_eq!(
            normalize_relative("\u{0085}notes.md", true).as_deref(),
            Ok("\u{0085}notes.md")
        );
    }

    #[test]
    fn raw_relatives_that_are_not_plain_segments_are_refused() {
        let root = tempfile::tempdir().unwrap();
        // (`a/./b` is fine: `Path` drops interior `.` segments, it means `a/b`.)
        for raw in ["/etc/passwd", "../x", "a/../../x", "./a", ""] {
            assert!(resolve_under(root.path(), raw).is_err(), "{raw:?}");
        }
        assert_eq!(resolve_under(root.path(), "a\0b"), Err(PathError::NullByte));
        assert_eq!(
            resolve_under(root.path(), "../x"),
            Err(PathError::Traversal)
        );
    }

    #[test]
    fn parent_segments_in_a_target_are_an_escape() {
        let root = tempfile::tempdir().unwrap();
        // `missing/..` passes no existing link, yet creating it walks out of the root.
        let target = root.path().join("missing/../../outside.txt");
        let error = ensure_inside(root.path(), &target).unwrap_err();
        assert_eq!(error.code, "invalid_path");
        assert_eq!(error.message, "Path escapes the workspace");
        assert!(ensure_inside(root.path(), &root.path().join("new/file.txt")).is_ok());
    }
}

/// Property tests: "no input ever leaves the root".
#[cfg(test)]
mod props {
    use std::collections::BTreeMap;
    use std::path::{Path, PathBuf};

    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestCaseError, TestRunner};

    use super::*;

    /// Pieces that exercise every rule of the normaliser.
    const TOKENS: &[&str] = &[
        "..",
        ".",
        "/",
        "//",
        "\\",
        "\0",
        "workspace/",
        "workspace",
        "./",
        " ",
        "\t",
        "\u{FEFF}",
        "\u{0085}",
        "a",
        "b.md",
        "é",
        "日本",
        "..a",
        "a..",
        "...",
        "~",
        "C:",
    ];

    fn tokens() -> impl Strategy<Value = String> {
        prop::collection::vec(prop::sample::select(TOKENS), 0..16).prop_map(|t| t.concat())
    }

    /// Arbitrary unicode mixed with hostile token soup.
    fn inputs() -> impl Strategy<Value = String> {
        prop_oneof![any::<String>(), tokens(), "[./\\\\a\0 ]{0,24}"]
    }

    fn config() -> Config {
        Config {
            cases: 256,
            failure_persistence: None,
            ..Config::default()
        }
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn normalised_paths_are_plain_segments(input in inputs(), subdirs in any::<bool>()) {
            let Ok(out) = normalize_relative(&input, subdirs) else {
                return Ok(());
            };
            prop_assert!(!out.is_empty());
            prop_assert!(!out.starts_with('/'), "{out:?}");
            prop_assert!(!out.contains('\\') && !out.contains('\0'), "{out:?}");
            for segment in out.split('/') {
                prop_assert!(!matches!(segment, "" | "." | ".."), "{out:?}");
            }
            prop_assert!(subdirs || !out.contains('/'), "{out:?}");
            // What a caller joins onto a root can only descend into it.
            prop_assert!(
                Path::new(&out).components().all(|c| matches!(c, Component::Normal(_))),
                "{out:?}"
            );
        }

        #[test]
        fn errors_follow_the_reference_order(input in inputs()) {
            let trimmed = input.trim_matches(is_js_whitespace);
            let result = normalize_relative(&input, true);
            if trimmed.is_empty() {
                prop_assert_eq!(result, Err(PathError::Required));
            } else if trimmed.contains('\0') {
                prop_assert_eq!(result, Err(PathError::NullByte));
            }
        }
    }

    /// `base/root` (the workspace) next to `base/outside`, with links of every kind.
    struct Planted {
        base: tempfile::TempDir,
    }

    impl Planted {
        fn new() -> Self {
            use std::os::unix::fs::symlink;
            let base = tempfile::tempdir().unwrap();
            let b = base.path();
            let root = b.join("root");
            let outside = b.join("outside");
            std::fs::create_dir_all(root.join("in/deeper")).unwrap();
            std::fs::create_dir_all(&outside).unwrap();
            std::fs::write(root.join("file.txt"), "inside").unwrap();
            std::fs::write(root.join("in/f.txt"), "inside").unwrap();
            std::fs::write(outside.join("secret.txt"), "secret").unwrap();
            let links: [(&str, PathBuf); 16] = [
                ("out-dir", outside.clone()),
                ("out-file", outside.join("secret.txt")),
                ("in-link", root.join("in")),
                ("rel-in", "in".into()),
                ("rel-out", "../outside".into()),
                ("dangling", b.join("nowhere")),
                ("dangling-rel", "../nowhere-rel".into()),
                ("chain1", "chain2".into()),
                ("chain2", "out-dir".into()),
                ("chainin1", "chainin2".into()),
                ("chainin2", "in-link".into()),
                ("self", ".".into()),
                ("loop1", "loop2".into()),
                ("loop2", "loop1".into()),
                ("in/up", "..".into()),
                ("in/upup", "../..".into()),
            ];
            for (name, to) in links {
                symlink(to, root.join(name)).unwrap();
            }
            Self { base }
        }

        fn root(&self) -> PathBuf {
            self.base.path().join("root")
        }

        /// Every entry of `base` outside `root`, with file contents and link targets.
        fn outside_snapshot(&self) -> BTreeMap<PathBuf, String> {
            let mut out = BTreeMap::new();
            let mut stack = vec![self.base.path().to_path_buf()];
            while let Some(dir) = stack.pop() {
                for entry in std::fs::read_dir(&dir).unwrap() {
                    let path = entry.unwrap().path();
                    if path == self.root() {
                        continue;
                    }
                    let meta = std::fs::symlink_metadata(&path).unwrap();
                    let what = if meta.is_symlink() {
                        format!("link {:?}", std::fs::read_link(&path).unwrap())
                    } else if meta.is_dir() {
                        stack.push(path.clone());
                        "dir".to_owned()
                    } else {
                        format!("file {:?}", std::fs::read(&path).unwrap())
                    };
                    out.insert(path, what);
                }
            }
            out
        }
    }

    /// Segment names that hit the planted links, plus hostile and fresh ones.
    const SEGMENTS: &[&str] = &[
        "out-dir",
        "out-file",
        "in-link",
        "rel-in",
        "rel-out",
        "dangling",
        "dangling-rel",
        "chain1",
        "chainin1",
        "self",
        "loop1",
        "in",
        "up",
        "upup",
        "deeper",
        "f.txt",
        "file.txt",
        "secret.txt",
        "root",
        "outside",
        "nowhere",
        "new",
        "..",
        ".",
        "",
    ];

    fn planted_paths() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => prop::collection::vec(prop::sample::select(SEGMENTS), 1..6)
                .prop_map(|s| s.join("/")),
            1 => inputs(),
        ]
    }

    #[cfg(unix)]
    #[test]
    fn no_input_ever_leaves_the_root() {
        let planted = Planted::new();
        let root = planted.root();
        let real_root = root.canonicalize().unwrap();
        let before = planted.outside_snapshot();
        let mut runner = TestRunner::new(config());
        runner
            .run(&(planted_paths(), any::<bool>()), |(raw, normalise)| {
                let relative = if normalise {
                    match normalize_relative(&raw, true) {
                        Ok(relative) => relative,
                        Err(_) => return Ok(()),
                    }
                } else {
                    raw.clone()
                };
                let Ok(target) = resolve_under(&root, &relative) else {
                    return Ok(());
                };
                prop_assert!(target.starts_with(&root), "{raw:?} -> {target:?}");
                // A read follows every link: what it opens must be inside.
                if std::fs::metadata(&target).is_ok() {
                    let real = target
                        .canonicalize()
                        .map_err(|e| TestCaseError::fail(e.to_string()))?;
                    prop_assert!(real.starts_with(&real_root), "{raw:?} reads {real:?}");
                }
                // A write that follows links (worse than the routes' temp + rename)
                // must not change anything outside.
                if let Some(parent) = target.parent() {
                    let _ = std::fs::create_dir_all(parent);
                }
                let _ = std::fs::write(&target, "written");
                prop_assert_eq!(
                    &planted.outside_snapshot(),
                    &before,
                    "{:?} changed something outside the root",
                    raw
                );
                Ok(())
            })
            .unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn inside_paths_are_not_refused() {
        let planted = Planted::new();
        let root = planted.root();
        for relative in [
            "file.txt",
            "in/f.txt",
            "in-link/f.txt",
            "rel-in/deeper/new.txt",
            "chainin1/new/dir/x.md",
            "self/in/f.txt",
            "in/up/file.txt",
            "file.txt/below",
        ] {
            assert!(resolve_under(&root, relative).is_ok(), "{relative}");
        }
        for relative in [
            "out-dir/x",
            "out-file",
            "rel-out/secret.txt",
            "dangling",
            "dangling-rel/x",
            "chain1/new.txt",
            "loop1",
            "in/upup/outside/secret.txt",
        ] {
            assert_eq!(
                resolve_under(&root, relative),
                Err(PathError::Escapes),
                "{relative}"
            );
        }
    }
}
