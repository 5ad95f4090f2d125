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
