//! SECURITY (D1): path confinement. Lexical checks are not enough: a symlink planted inside
//! a workspace could send a read or write anywhere. Every write that lands under a root
//! checks here, after following symlinks, that it stays inside.

use std::path::Path;

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
    let trimmed = input.trim();
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
/// Blocking (a few `stat`s).
pub(crate) fn resolve_under(root: &Path, relative: &str) -> Result<std::path::PathBuf, PathError> {
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
}
