//! Lexical path handling with the semantics of Node's `path.resolve` and `path.basename`,
//! because reported paths and workspace ids must match the reference byte for byte.
//! Nothing here touches the filesystem or follows symlinks.

/// Resolves `path` against `base` the way `path.resolve(base, path)` does on POSIX:
/// absolute paths restart from `/`, `.` and `..` are folded, repeated and trailing slashes
/// removed.
pub(crate) fn resolve_lexical(base: &str, path: &str) -> String {
    let joined = if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("{base}/{path}")
    };
    let mut parts: Vec<&str> = Vec::new();
    for segment in joined.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    format!("/{}", parts.join("/"))
}

/// The last segment of `path` after removing trailing slashes, like `path.basename`.
pub(crate) fn basename(path: &str) -> &str {
    let trimmed = path.trim_end_matches('/');
    trimmed.rsplit('/').next().unwrap_or(trimmed)
}

/// Whether `path` equals `root` or lies under it, comparing whole segments.
pub(crate) fn is_within(path: &str, root: &str) -> bool {
    if root == "/" {
        return path.starts_with('/');
    }
    path == root
        || path
            .strip_prefix(root)
            .is_some_and(|rest| rest.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_like_node() {
        assert_eq!(resolve_lexical("/etc/openwork", "ws"), "/etc/openwork/ws");
        assert_eq!(resolve_lexical("/etc/openwork", "../ws/"), "/etc/ws");
        assert_eq!(resolve_lexical("/etc", "/tmp//ws/./"), "/tmp/ws");
        assert_eq!(resolve_lexical("/", "../.."), "/");
    }

    #[test]
    fn basenames_ignore_trailing_slashes() {
        assert_eq!(basename("/tmp/ws/"), "ws");
        assert_eq!(basename("http://10.0.0.8:4096"), "10.0.0.8:4096");
        assert_eq!(basename("Workspace"), "Workspace");
    }

    #[test]
    fn containment_compares_segments() {
        assert!(is_within("/tmp/ws", "/tmp/ws"));
        assert!(is_within("/tmp/ws/a", "/tmp/ws"));
        assert!(!is_within("/tmp/wsx", "/tmp/ws"));
        assert!(is_within("/anything", "/"));
        assert!(!is_within("", "/tmp"));
    }
}
