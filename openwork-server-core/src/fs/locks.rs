//! One async lock per file path, so read-modify-write cycles on the same file (two clients
//! patching `opencode.jsonc` at once) run one after the other and no update is lost.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

/// Locks by path; entries disappear when nobody holds or waits for them.
#[derive(Debug, Default)]
pub(crate) struct FileLocks {
    locks: Mutex<HashMap<PathBuf, Weak<AsyncMutex<()>>>>,
}

impl FileLocks {
    /// Waits for exclusive use of `path`.
    pub(crate) async fn lock(&self, path: &Path) -> OwnedMutexGuard<()> {
        let lock = {
            let mut locks = self.locks.lock().unwrap_or_else(PoisonError::into_inner);
            match locks.get(path).and_then(Weak::upgrade) {
                Some(lock) => lock,
                None => {
                    locks.retain(|_, weak| weak.strong_count() > 0);
                    let lock = Arc::new(AsyncMutex::new(()));
                    locks.insert(path.to_owned(), Arc::downgrade(&lock));
                    lock
                }
            }
        };
        lock.lock_owned().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn the_same_path_is_serialised_and_others_are_not() {
        let locks = Arc::new(FileLocks::default());
        let held = locks.lock(Path::new("/a")).await;
        let other =
            tokio::time::timeout(Duration::from_millis(50), locks.lock(Path::new("/b"))).await;
        assert!(other.is_ok());
        let same =
            tokio::time::timeout(Duration::from_millis(50), locks.lock(Path::new("/a"))).await;
        assert!(same.is_err());
        drop(held);
        assert!(
            tokio::time::timeout(Duration::from_millis(50), locks.lock(Path::new("/a")))
                .await
                .is_ok()
        );
    }
}
