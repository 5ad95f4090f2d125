//! Atomic file replacement: write a temp file in the same folder, fsync it, rename it over
//! the target, fsync the folder. A reader sees the old bytes or the new ones, never a mix,
//! and a crash leaves at worst a stray temp file.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;

/// Who may read the written file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FileMode {
    /// Ordinary permissions: those of the file replaced, or `0644`.
    Default,
    /// Owner read/write only (`0600`), for files that hold secrets or their digests.
    Private,
}

/// Replaces `target` with `bytes` atomically, creating parent folders as needed.
pub(crate) fn write_atomic(target: &Path, bytes: &[u8], mode: FileMode) -> io::Result<()> {
    let dir = target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    // The temp file lives beside the target so the rename never crosses filesystems.
    let mut temp = tempfile::Builder::new()
        .prefix(".openwork-")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    set_mode(temp.as_file(), target, mode)?;
    temp.write_all(bytes)?;
    temp.as_file().sync_all()?;
    temp.persist(target).map_err(|e| e.error)?;
    // The rename is durable only once the folder entry is on disk.
    File::open(dir)?.sync_all()?;
    Ok(())
}

/// Temp files start as `0600`; ordinary files keep the mode of the file they replace
/// (or get `0644` when new) so other programs can still read them.
#[cfg(unix)]
fn set_mode(file: &File, target: &Path, mode: FileMode) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let bits = match mode {
        FileMode::Private => 0o600,
        FileMode::Default => fs::metadata(target)
            .map(|m| m.permissions().mode() & 0o7777)
            .unwrap_or(0o644),
    };
    file.set_permissions(fs::Permissions::from_mode(bits))
}

#[cfg(not(unix))]
fn set_mode(_file: &File, _target: &Path, _mode: FileMode) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_file_and_leaves_no_temp_behind() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("nested/tokens.json");
        write_atomic(&target, b"one", FileMode::Private).unwrap();
        write_atomic(&target, b"two", FileMode::Private).unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(target.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["tokens.json"]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&target).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
