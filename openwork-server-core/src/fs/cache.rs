//! Parsed-file caches validated by one `stat` per read: a file is re-read and re-parsed only
//! when its size, modification time or inode changed, so hot read routes answer from memory
//! and an edit by any program is seen on the next request (never a stale answer).

use std::collections::HashMap;
use std::fs::Metadata;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

/// What identifies a file's contents without reading them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FileStamp {
    len: u64,
    modified: Option<SystemTime>,
    inode: u64,
}

impl FileStamp {
    /// The stamp of a file's metadata.
    pub(crate) fn of(metadata: &Metadata) -> Self {
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(metadata);
        #[cfg(not(unix))]
        let inode = 0;
        Self {
            len: metadata.len(),
            modified: metadata.modified().ok(),
            inode,
        }
    }
}

/// A cache of values derived from files.
#[derive(Debug)]
pub(crate) struct StatCache<T> {
    entries: Mutex<HashMap<PathBuf, (FileStamp, Arc<T>)>>,
}

impl<T> Default for StatCache<T> {
    fn default() -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
        }
    }
}

impl<T> StatCache<T> {
    /// The value for `path`, derived by `load` from the file's bytes when not cached or
    /// changed; `Ok(None)` when the file does not exist (or is not a regular file).
    ///
    /// The `stat` and the small read run inline: they cost less than a hop to the
    /// blocking pool, and these are configuration files, not user data.
    pub(crate) fn get_or_load(
        &self,
        path: &Path,
        load: impl FnOnce(&[u8]) -> T,
    ) -> std::io::Result<Option<Arc<T>>> {
        let metadata = match std::fs::metadata(path) {
            Ok(m) if m.is_file() => m,
            Ok(_) => return Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                self.forget(path);
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        let stamp = FileStamp::of(&metadata);
        if let Some((cached, value)) = self.lock().get(path) {
            if *cached == stamp {
                return Ok(Some(value.clone()));
            }
        }
        let bytes = std::fs::read(path)?;
        // The value is cached only when the file did not change during the read: a write
        // landing between the read and a later stat would otherwise pin the old bytes
        // under the new stamp, and every later request would get stale contents.
        let after = std::fs::metadata(path).map(|m| FileStamp::of(&m)).ok();
        let value = Arc::new(load(&bytes));
        if after == Some(stamp) {
            self.lock().insert(path.to_owned(), (stamp, value.clone()));
        }
        Ok(Some(value))
    }

    /// Drops the entry for `path`.
    pub(crate) fn forget(&self, path: &Path) {
        self.lock().remove(path);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<PathBuf, (FileStamp, Arc<T>)>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn reloads_only_when_the_file_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.json");
        let cache = StatCache::<String>::default();
        let loads = AtomicUsize::new(0);
        let load = |b: &[u8]| {
            loads.fetch_add(1, Ordering::SeqCst);
            String::from_utf8_lossy(b).into_owned()
        };
        assert!(cache.get_or_load(&path, load).unwrap().is_none());
        std::fs::write(&path, "one").unwrap();
        assert_eq!(*cache.get_or_load(&path, load).unwrap().unwrap(), "one");
        assert_eq!(*cache.get_or_load(&path, load).unwrap().unwrap(), "one");
        assert_eq!(loads.load(Ordering::SeqCst), 1);
        std::fs::write(&path, "three").unwrap();
        assert_eq!(*cache.get_or_load(&path, load).unwrap().unwrap(), "three");
        std::fs::remove_file(&path).unwrap();
        assert!(cache.get_or_load(&path, load).unwrap().is_none());
    }
}
