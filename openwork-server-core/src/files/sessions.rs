//! The file-session store (contract §8.4): short-lived handles a client opens on one
//! workspace to sync files. Sessions live in memory only, are bound to the hash of the
//! token that created them, expire after a clamped TTL (pruned lazily on every access) and
//! number at most 256 — creating one more evicts the session that would expire soonest.
//!
//! Expiry runs on `tokio::time::Instant` so tests can move time with a paused clock; the
//! wall-clock `createdAt`/`expiresAt` reported to clients are kept beside it.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;

use crate::state::now_ms;

/// TTL when the client names none: 15 minutes.
pub(crate) const DEFAULT_TTL_MS: u64 = 15 * 60 * 1000;
/// Shortest TTL: 30 seconds.
pub(crate) const MIN_TTL_MS: u64 = 30 * 1000;
/// Longest TTL: 24 hours.
pub(crate) const MAX_TTL_MS: u64 = 24 * 60 * 60 * 1000;
/// Most sessions kept at once.
pub(crate) const MAX_SESSIONS: usize = 256;

/// The TTL in ms for a request's `ttlSeconds`: only a finite JSON number counts (strings
/// and other types fall back to the default); `floor(s * 1000)` clamped to [30 s, 24 h].
pub(crate) fn ttl_ms(ttl_seconds: Option<&Value>) -> u64 {
    match ttl_seconds.and_then(Value::as_f64) {
        Some(seconds) if seconds.is_finite() => {
            let ms = (seconds * 1000.0).floor();
            // `as` saturates, so negative and huge values land on the bounds.
            (ms.max(0.0) as u64).clamp(MIN_TTL_MS, MAX_TTL_MS)
        }
        _ => DEFAULT_TTL_MS,
    }
}

/// One open session.
#[derive(Clone, Debug)]
pub(crate) struct FileSession {
    /// Random id (UUID v4).
    pub(crate) id: String,
    /// The workspace it was opened on.
    pub(crate) workspace_id: String,
    /// SHA-256 hex of the creating token; only that token may use the session.
    pub(crate) token_hash: String,
    /// Whether writes and ops are allowed (decided at creation).
    pub(crate) can_write: bool,
    /// Wall-clock creation time (epoch ms).
    pub(crate) created_at: u64,
    /// Wall-clock expiry reported to clients (epoch ms).
    pub(crate) expires_at: u64,
    /// When the session really expires, on the tokio clock.
    deadline: Instant,
}

impl FileSession {
    /// The `{"session":{…}}` body; `ttlMs` is the time remaining now (Addendum 1).
    pub(crate) fn to_json(&self) -> Value {
        let remaining = self
            .deadline
            .saturating_duration_since(Instant::now())
            .as_millis() as u64;
        json!({"session": {
            "id": self.id,
            "workspaceId": self.workspace_id,
            "createdAt": self.created_at,
            "expiresAt": self.expires_at,
            "ttlMs": remaining,
            "canWrite": self.can_write,
        }})
    }
}

/// Why a session could not be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SessionError {
    /// Unknown, closed or expired.
    NotFound,
    /// Opened by another token.
    OtherToken,
}

/// All open sessions.
#[derive(Debug, Default)]
pub(crate) struct FileSessions {
    sessions: Mutex<HashMap<String, FileSession>>,
}

impl FileSessions {
    /// Opens a session, evicting the soonest-expiring one when the store is full.
    pub(crate) fn create(
        &self,
        workspace_id: &str,
        token_hash: &str,
        can_write: bool,
        ttl_ms: u64,
    ) -> FileSession {
        let now = now_ms();
        let session = FileSession {
            id: uuid::Uuid::new_v4().to_string(),
            workspace_id: workspace_id.to_owned(),
            token_hash: token_hash.to_owned(),
            can_write,
            created_at: now,
            expires_at: now + ttl_ms,
            deadline: Instant::now() + Duration::from_millis(ttl_ms),
        };
        let mut sessions = self.lock();
        prune(&mut sessions);
        while sessions.len() >= MAX_SESSIONS {
            let soonest = sessions
                .values()
                .min_by_key(|s| s.deadline)
                .map(|s| s.id.clone());
            match soonest {
                Some(id) => sessions.remove(&id),
                None => break,
            };
        }
        sessions.insert(session.id.clone(), session.clone());
        session
    }

    /// The session `id` if it is alive and belongs to `token_hash`.
    pub(crate) fn get(&self, id: &str, token_hash: &str) -> Result<FileSession, SessionError> {
        let mut sessions = self.lock();
        prune(&mut sessions);
        owned(&sessions, id, token_hash).cloned()
    }

    /// Moves the expiry to now + `ttl_ms`.
    pub(crate) fn renew(
        &self,
        id: &str,
        token_hash: &str,
        ttl_ms: u64,
    ) -> Result<FileSession, SessionError> {
        let mut sessions = self.lock();
        prune(&mut sessions);
        owned(&sessions, id, token_hash)?;
        let session = sessions.get_mut(id).ok_or(SessionError::NotFound)?;
        session.expires_at = now_ms() + ttl_ms;
        session.deadline = Instant::now() + Duration::from_millis(ttl_ms);
        Ok(session.clone())
    }

    /// Closes the session.
    pub(crate) fn close(&self, id: &str, token_hash: &str) -> Result<(), SessionError> {
        let mut sessions = self.lock();
        prune(&mut sessions);
        owned(&sessions, id, token_hash)?;
        sessions.remove(id);
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, FileSession>> {
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Drops expired sessions (at most 256, so a scan per access is cheap).
fn prune(sessions: &mut HashMap<String, FileSession>) {
    let now = Instant::now();
    sessions.retain(|_, s| s.deadline > now);
}

fn owned<'a>(
    sessions: &'a HashMap<String, FileSession>,
    id: &str,
    token_hash: &str,
) -> Result<&'a FileSession, SessionError> {
    let session = sessions.get(id).ok_or(SessionError::NotFound)?;
    // SECURITY: a session id alone is not a credential; it only works with its token.
    if session.token_hash != token_hash {
        return Err(SessionError::OtherToken);
    }
    Ok(session)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_is_clamped_and_only_numbers_count() {
        assert_eq!(ttl_ms(None), DEFAULT_TTL_MS);
        assert_eq!(ttl_ms(Some(&json!("60"))), DEFAULT_TTL_MS);
        assert_eq!(ttl_ms(Some(&json!(null))), DEFAULT_TTL_MS);
        assert_eq!(ttl_ms(Some(&json!(1))), MIN_TTL_MS);
        assert_eq!(ttl_ms(Some(&json!(-5))), MIN_TTL_MS);
        assert_eq!(ttl_ms(Some(&json!(60.0005))), 60_000);
        assert_eq!(ttl_ms(Some(&json!(45.5))), 45_500);
        assert_eq!(ttl_ms(Some(&json!(1e12))), MAX_TTL_MS);
    }

    #[tokio::test(start_paused = true)]
    async fn sessions_expire_after_their_ttl_and_renewal_moves_it() {
        let store = FileSessions::default();
        let session = store.create("ws", "tok", true, MIN_TTL_MS);
        assert_eq!(session.expires_at - session.created_at, MIN_TTL_MS);
        tokio::time::advance(Duration::from_secs(29)).await;
        let renewed = store.renew(&session.id, "tok", MIN_TTL_MS).unwrap();
        assert_eq!(renewed.to_json()["session"]["ttlMs"], 30_000);
        tokio::time::advance(Duration::from_secs(29)).await;
        assert!(store.get(&session.id, "tok").is_ok());
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(
            store.get(&session.id, "tok").unwrap_err(),
            SessionError::NotFound
        );
    }

    #[tokio::test(start_paused = true)]
    async fn sessions_belong_to_their_token_and_close_once() {
        let store = FileSessions::default();
        let session = store.create("ws", "tok", false, DEFAULT_TTL_MS);
        assert_eq!(
            store.get(&session.id, "other").unwrap_err(),
            SessionError::OtherToken
        );
        assert_eq!(
            store.close(&session.id, "other").unwrap_err(),
            SessionError::OtherToken
        );
        assert!(store.close(&session.id, "tok").is_ok());
        assert_eq!(
            store.close(&session.id, "tok").unwrap_err(),
            SessionError::NotFound
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_store_evicts_the_session_expiring_soonest() {
        let store = FileSessions::default();
        let short = store.create("ws", "tok", true, MIN_TTL_MS);
        tokio::time::advance(Duration::from_millis(1)).await;
        let ids: Vec<String> = (1..MAX_SESSIONS)
            .map(|_| store.create("ws", "tok", true, DEFAULT_TTL_MS).id)
            .collect();
        assert!(store.get(&short.id, "tok").is_ok());
        let newest = store.create("ws", "tok", true, DEFAULT_TTL_MS);
        assert_eq!(
            store.get(&short.id, "tok").unwrap_err(),
            SessionError::NotFound
        );
        assert!(store.get(&newest.id, "tok").is_ok());
        assert!(ids.iter().all(|id| store.get(id, "tok").is_ok()));
    }
}
