//! The scoped token store (contract §3.4): tokens issued by `POST /tokens`, kept on disk as
//! SHA-256 digests only, in the reference's `tokens.json` format.
//!
//! SECURITY (D7, D14): the file is read once at startup; if it exists but cannot be read or
//! parsed, startup fails and the file is never overwritten. Writes are atomic with mode 0600.

use serde::Serialize;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::{PoisonError, RwLock};
use subtle::ConstantTimeEq;

use crate::auth::{Scope, token_digest};
use crate::config::ConfigError;
use crate::fs::atomic::{FileMode, write_atomic};
use crate::state::now_ms;

/// A stored token: everything but the token itself.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TokenRecord {
    /// UUID used to revoke it.
    pub id: String,
    /// SHA-256 hex of the token.
    pub hash: String,
    /// What the token may do.
    pub scope: Scope,
    /// Creation time, epoch milliseconds.
    pub created_at: u64,
    /// Optional label.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

/// A freshly issued token: the only time the plaintext exists outside the client.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IssuedToken {
    /// Record id.
    pub id: String,
    /// The token: `owt_` + 32 hex digits.
    pub token: String,
    /// Its scope.
    pub scope: Scope,
    /// Creation time.
    pub created_at: u64,
    /// Label, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

/// The on-disk document.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StoreFile<'a> {
    schema_version: u32,
    updated_at: u64,
    tokens: &'a [TokenRecord],
}

/// The token store: an in-memory list, newest first, mirrored to its file on every change.
#[derive(Debug)]
pub struct TokenStore {
    path: PathBuf,
    /// Records with their decoded digests for constant-time comparison.
    records: RwLock<Vec<(TokenRecord, [u8; 32])>>,
    /// Serialises changes so the file is always written in the order changes happen.
    write: tokio::sync::Mutex<()>,
}

impl TokenStore {
    /// Loads the store at `path`; a missing file is an empty store.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let fail = |message: String| ConfigError::TokenStore {
            path: path.to_owned(),
            message,
        };
        let records = match std::fs::read_to_string(path) {
            Ok(text) => parse_store(&text).map_err(fail)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(fail(e.to_string())),
        };
        Ok(Self {
            path: path.to_owned(),
            records: RwLock::new(records),
            write: tokio::sync::Mutex::new(()),
        })
    }

    /// Where the store lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The records, newest first.
    pub fn list(&self) -> Vec<TokenRecord> {
        self.read().iter().map(|(r, _)| r.clone()).collect()
    }

    /// The scope of a scoped token, comparing digests in constant time.
    pub fn scope_of(&self, token: &str) -> Option<Scope> {
        let digest = token_digest(token);
        let mut found = None;
        // SECURITY: every record is compared, so timing says nothing about which one matched.
        for (record, stored) in self.read().iter() {
            if bool::from(stored.ct_eq(&digest)) {
                found = Some(record.scope);
            }
        }
        found
    }

    /// Issues a new token and persists the store.
    pub async fn create(
        &self,
        scope: Scope,
        label: Option<String>,
    ) -> std::io::Result<IssuedToken> {
        let _guard = self.write.lock().await;
        let token = format!("owt_{}", uuid::Uuid::new_v4().simple());
        let digest = token_digest(&token);
        let record = TokenRecord {
            id: uuid::Uuid::new_v4().to_string(),
            hash: hex::encode(digest),
            scope,
            created_at: now_ms(),
            label: label.map(|l| l.trim().to_owned()).filter(|l| !l.is_empty()),
        };
        let mut next = self.read().clone();
        next.insert(0, (record.clone(), digest));
        self.persist(next).await?;
        Ok(IssuedToken {
            id: record.id,
            token,
            scope: record.scope,
            created_at: record.created_at,
            label: record.label,
        })
    }

    /// Revokes a token by id; `false` when there is none. Effective immediately.
    pub async fn revoke(&self, id: &str) -> std::io::Result<bool> {
        let _guard = self.write.lock().await;
        let mut next = self.read().clone();
        let before = next.len();
        next.retain(|(r, _)| r.id != id);
        if next.len() == before {
            return Ok(false);
        }
        self.persist(next).await?;
        Ok(true)
    }

    /// Writes `next` to disk, then makes it current: memory never runs ahead of the file.
    async fn persist(&self, next: Vec<(TokenRecord, [u8; 32])>) -> std::io::Result<()> {
        let tokens: Vec<TokenRecord> = next.iter().map(|(r, _)| r.clone()).collect();
        let file = StoreFile {
            schema_version: 1,
            updated_at: now_ms(),
            tokens: &tokens,
        };
        let mut bytes = serde_json::to_vec_pretty(&file)?;
        bytes.push(b'\n');
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || write_atomic(&path, &bytes, FileMode::Private))
            .await
            .map_err(std::io::Error::other)??;
        *self.records.write().unwrap_or_else(PoisonError::into_inner) = next;
        Ok(())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Vec<(TokenRecord, [u8; 32])>> {
        self.records.read().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Parses the store document. Malformed records are dropped as the reference drops them;
/// a malformed document is an error.
fn parse_store(text: &str) -> Result<Vec<(TokenRecord, [u8; 32])>, String> {
    let doc: Value = serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?;
    let Value::Object(doc) = doc else {
        return Err("expected a JSON object".into());
    };
    let items = match doc.get("tokens") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => return Err("\"tokens\" is not an array".into()),
    };
    let loaded_at = now_ms();
    Ok(items
        .iter()
        .filter_map(|item| {
            let id = item.get("id")?.as_str()?.to_owned();
            let hash = item.get("hash")?.as_str()?.to_ascii_lowercase();
            let scope = Scope::from_name(item.get("scope")?.as_str()?)?;
            let digest: [u8; 32] = hex::decode(&hash).ok()?.try_into().ok()?;
            let created_at = item
                .get("createdAt")
                .and_then(Value::as_f64)
                .map_or(loaded_at, |n| n as u64);
            let label = item.get("label").and_then(Value::as_str).map(str::to_owned);
            Some((
                TokenRecord {
                    id,
                    hash,
                    scope,
                    created_at,
                    label,
                },
                digest,
            ))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn issues_lists_finds_and_revokes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.json");
        let store = TokenStore::load(&path).unwrap();
        assert!(store.list().is_empty());

        let viewer = store
            .create(Scope::Viewer, Some(" v ".into()))
            .await
            .unwrap();
        assert!(viewer.token.starts_with("owt_"));
        assert_eq!(viewer.token.len(), 36);
        assert_eq!(viewer.label.as_deref(), Some("v"));
        let owner = store.create(Scope::Owner, Some("  ".into())).await.unwrap();
        assert_eq!(owner.label, None);

        assert_eq!(store.scope_of(&viewer.token), Some(Scope::Viewer));
        assert_eq!(store.scope_of(&owner.token), Some(Scope::Owner));
        assert_eq!(store.scope_of("owt_nope"), None);
        let ids: Vec<_> = store.list().into_iter().map(|r| r.id).collect();
        assert_eq!(ids, [owner.id.clone(), viewer.id.clone()]);

        // A second load sees the same tokens: the file holds digests, never plaintext.
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains(&viewer.token));
        assert!(text.ends_with("}\n"));
        let reloaded = TokenStore::load(&path).unwrap();
        assert_eq!(reloaded.scope_of(&viewer.token), Some(Scope::Viewer));

        assert!(store.revoke(&viewer.id).await.unwrap());
        assert!(!store.revoke(&viewer.id).await.unwrap());
        assert_eq!(store.scope_of(&viewer.token), None);
    }

    #[test]
    fn drops_malformed_records_and_defaults_created_at() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.json");
        let good = "a".repeat(64);
        std::fs::write(
            &path,
            format!(
                r#"{{"schemaVersion":1,"tokens":[
                {{"id":"1","hash":"{good}","scope":"viewer"}},
                {{"id":"2","hash":"{good}","scope":"root"}},
                {{"hash":"{good}","scope":"owner"}},
                {{"id":"4","hash":"xyz","scope":"owner"}}]}}"#
            ),
        )
        .unwrap();
        let store = TokenStore::load(&path).unwrap();
        let records = store.list();
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].id, "1");
        assert!(records[0].created_at > 0);
    }

    #[test]
    fn an_unparseable_store_is_an_error_naming_file_and_position() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.json");
        std::fs::write(&path, "{\n  \"tokens\": [,]\n}").unwrap();
        let error = TokenStore::load(&path).unwrap_err().to_string();
        assert!(error.contains(&path.display().to_string()), "{error}");
        assert!(error.contains("line 2"), "{error}");
    }
}
