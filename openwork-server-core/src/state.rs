//! The shared state handed to every handler: a cheap-to-clone handle of the services.

use std::ops::Deref;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};
use tokio_util::sync::CancellationToken;

use crate::approvals::Approvals;
use crate::audit::AuditLog;
use crate::auth::limiter::AuthLimiter;
use crate::auth::token_digest;
use crate::config::{EnvSource, ServerConfig};
use crate::error::ApiError;
use crate::events::ReloadEvents;
use crate::fs::cache::StatCache;
use crate::fs::jsonc::JsoncError;
use crate::fs::locks::FileLocks;
use crate::fs::paths::is_within;
use crate::tokens::TokenStore;
use crate::workspace::Workspace;

/// Milliseconds since the Unix epoch, the unit of every timestamp on the wire.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Handle to the server's services.
#[derive(Clone)]
pub(crate) struct AppState(Arc<Services>);

/// The services themselves.
pub(crate) struct Services {
    /// The resolved configuration.
    pub(crate) config: ServerConfig,
    /// Workspaces and authorized roots, replaceable as a whole by workspace management.
    pub(crate) workspaces: RwLock<Arc<WorkspaceList>>,
    /// Scoped tokens.
    pub(crate) tokens: TokenStore,
    /// The approval gate.
    pub(crate) approvals: Approvals,
    /// Failed-authentication counts per client address.
    pub(crate) limiter: AuthLimiter,
    /// Environment for switches the reference reads per request.
    pub(crate) env: EnvSource,
    /// When the server was configured; `/health` reports the time since.
    pub(crate) started: Instant,
    /// Digest of the client token, compared in constant time.
    pub(crate) client_token_digest: [u8; 32],
    /// Digest of the host token, compared in constant time.
    pub(crate) host_token_digest: [u8; 32],
    /// Cancelled when shutdown starts; long-lived streams end on it.
    pub(crate) shutdown: CancellationToken,
    /// The audit log.
    pub(crate) audit: Arc<AuditLog>,
    /// Reload events for polling and streaming.
    pub(crate) events: ReloadEvents,
    /// File events per workspace (catalog events of file sessions).
    pub(crate) file_events: Arc<crate::files::events::FileEvents>,
    /// Open file sessions (contract §8.4).
    pub(crate) file_sessions: crate::files::sessions::FileSessions,
    /// Live file catalogs per workspace, for file-session snapshots (D11).
    pub(crate) catalogs: crate::files::catalog::Catalogs,
    /// One lock per file for read-modify-write cycles.
    pub(crate) file_locks: FileLocks,
    /// Parsed JSONC config files (`opencode.jsonc`, global configs) as objects,
    /// revalidated by `stat`.
    pub(crate) jsonc_files: StatCache<Result<ConfigDoc, JsoncError>>,
    /// Parsed strict JSON files (`.opencode/openwork.json`) as objects; `None` when invalid.
    pub(crate) json_files: StatCache<Option<ConfigDoc>>,
    /// Bumped whenever the workspace list changes, so the file watcher can follow.
    pub(crate) workspaces_changed: tokio::sync::watch::Sender<u64>,
    /// The pooled HTTP client of the OpenCode and router proxies, one per server.
    pub(crate) proxy_client: crate::proxy::ProxyClient,
}

/// A config document read from disk: its top-level object, and that object already
/// serialised, so read routes answer without re-serialising it on every request.
#[derive(Clone, Debug)]
pub(crate) struct ConfigDoc {
    /// The object (`{}` when the file holds something else).
    pub(crate) value: Arc<serde_json::Value>,
    /// `value` as compact JSON.
    pub(crate) json: Arc<str>,
}

impl ConfigDoc {
    /// The document for a parsed value; non-objects read as `{}`.
    fn new(value: serde_json::Value) -> Self {
        let value = match value {
            serde_json::Value::Object(map) => serde_json::Value::Object(map),
            _ => serde_json::Value::Object(serde_json::Map::new()),
        };
        let json = serde_json::to_string(&value).unwrap_or_else(|_| "{}".to_owned());
        Self {
            value: Arc::new(value),
            json: json.into(),
        }
    }

    /// The empty object, for a file that does not exist.
    pub(crate) fn empty() -> Self {
        Self::new(serde_json::Value::Object(serde_json::Map::new()))
    }
}

/// The workspaces and the folders they must lie in.
#[derive(Debug, Clone)]
pub(crate) struct WorkspaceList {
    /// In order; the first is the active one.
    pub(crate) items: Vec<Workspace>,
    /// Authorized roots (resolved paths).
    pub(crate) authorized_roots: Vec<String>,
}

impl Deref for AppState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.0
    }
}

impl AppState {
    /// Assembles the services.
    pub(crate) fn new(
        config: ServerConfig,
        tokens: TokenStore,
        approvals: Approvals,
        env: EnvSource,
        shutdown: CancellationToken,
    ) -> Self {
        let workspaces = WorkspaceList {
            items: config.workspaces.clone(),
            authorized_roots: config.authorized_roots.clone(),
        };
        Self(Arc::new(Services {
            audit: Arc::new(AuditLog::new(env.clone())),
            events: ReloadEvents::default(),
            file_events: Arc::default(),
            file_sessions: crate::files::sessions::FileSessions::default(),
            catalogs: crate::files::catalog::Catalogs::default(),
            file_locks: FileLocks::default(),
            jsonc_files: StatCache::default(),
            json_files: StatCache::default(),
            workspaces_changed: tokio::sync::watch::channel(0).0,
            proxy_client: crate::proxy::ProxyClient::new(),
            client_token_digest: token_digest(config.token.expose()),
            host_token_digest: token_digest(config.host_token.expose()),
            config,
            workspaces: RwLock::new(Arc::new(workspaces)),
            tokens,
            approvals,
            limiter: AuthLimiter::default(),
            env,
            started: Instant::now(),
            shutdown,
        }))
    }

    /// The current workspace list.
    pub(crate) fn workspaces(&self) -> Arc<WorkspaceList> {
        self.0
            .workspaces
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The user's home folder (`HOME` of the server's environment).
    pub(crate) fn home(&self) -> std::path::PathBuf {
        self.env
            .get_non_empty("HOME")
            .map(std::path::PathBuf::from)
            .or_else(std::env::home_dir)
            .unwrap_or_else(|| std::path::PathBuf::from("/"))
    }

    /// The global OpenCode config folder, `~/.config/opencode`.
    pub(crate) fn global_opencode_dir(&self) -> std::path::PathBuf {
        self.home().join(".config").join("opencode")
    }

    /// The global OpenCode config: `opencode.jsonc`, else `opencode.json`, else the former.
    pub(crate) fn global_config_path(&self) -> std::path::PathBuf {
        let dir = self.global_opencode_dir();
        let jsonc = dir.join("opencode.jsonc");
        if jsonc.exists() {
            return jsonc;
        }
        let json = dir.join("opencode.json");
        if json.exists() { json } else { jsonc }
    }

    /// A JSONC config file as a shared document: missing or non-object is `{}`, a parse
    /// error is `422 invalid_jsonc`. Parsed once per change of the file. `Ok(None)` when
    /// the file does not exist.
    fn jsonc_doc(&self, path: &std::path::Path) -> Result<Option<ConfigDoc>, ApiError> {
        let parsed = self
            .jsonc_files
            .get_or_load(path, |bytes| {
                crate::fs::jsonc::parse(&String::from_utf8_lossy(bytes)).map(ConfigDoc::new)
            })
            .map_err(ApiError::internal)?;
        match parsed.as_deref() {
            None => Ok(None),
            Some(Ok(doc)) => Ok(Some(doc.clone())),
            Some(Err(error)) => Err(error.clone().into_api_error()),
        }
    }

    /// [`AppState::jsonc_doc`] with a missing file read as `{}`.
    pub(crate) fn jsonc_object_shared(
        &self,
        path: &std::path::Path,
    ) -> Result<ConfigDoc, ApiError> {
        Ok(self.jsonc_doc(path)?.unwrap_or_else(ConfigDoc::empty))
    }

    /// The project OpenCode config of a workspace as a document: `opencode.jsonc`, else
    /// `opencode.json`, else `{}` — one `stat` per candidate, through the cache.
    pub(crate) fn project_config_doc(&self, workspace: &Workspace) -> Result<ConfigDoc, ApiError> {
        let root = workspace.root();
        if let Some(doc) = self.jsonc_doc(&root.join("opencode.jsonc"))? {
            return Ok(doc);
        }
        Ok(self
            .jsonc_doc(&root.join("opencode.json"))?
            .unwrap_or_else(ConfigDoc::empty))
    }

    /// A JSONC config file as an object: missing or non-object is `{}`, a parse error is
    /// `422 invalid_jsonc`.
    pub(crate) fn read_jsonc_object(
        &self,
        path: &std::path::Path,
    ) -> Result<serde_json::Map<String, serde_json::Value>, ApiError> {
        Ok(match &*self.jsonc_object_shared(path)?.value {
            serde_json::Value::Object(map) => map.clone(),
            _ => serde_json::Map::new(),
        })
    }

    /// `.opencode/openwork.json` as a shared document: missing is `{}`, invalid is
    /// `422 invalid_json` ("Failed to parse openwork.json").
    pub(crate) fn openwork_config_shared(
        &self,
        workspace: &Workspace,
    ) -> Result<ConfigDoc, ApiError> {
        let parsed = self
            .json_files
            .get_or_load(&workspace.openwork_config_path(), |bytes| {
                serde_json::from_slice::<serde_json::Value>(bytes)
                    .ok()
                    .map(ConfigDoc::new)
            })
            .map_err(ApiError::internal)?;
        match parsed.as_deref() {
            None => Ok(ConfigDoc::empty()),
            Some(Some(doc)) => Ok(doc.clone()),
            Some(None) => Err(ApiError::new(
                http::StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_json",
                "Failed to parse openwork.json",
            )),
        }
    }

    /// `.opencode/openwork.json` as an object (see [`AppState::openwork_config_shared`]).
    pub(crate) fn read_openwork_config(
        &self,
        workspace: &Workspace,
    ) -> Result<serde_json::Map<String, serde_json::Value>, ApiError> {
        Ok(match &*self.openwork_config_shared(workspace)?.value {
            serde_json::Value::Object(map) => map.clone(),
            _ => serde_json::Map::new(),
        })
    }

    /// Replaces the workspace list and tells the watcher.
    pub(crate) fn set_workspaces(&self, list: WorkspaceList) {
        *self
            .0
            .workspaces
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(list);
        self.workspaces_changed
            .send_modify(|generation| *generation += 1);
    }

    /// A receiver that changes whenever the workspace list does.
    pub(crate) fn subscribe_workspaces(&self) -> tokio::sync::watch::Receiver<u64> {
        self.workspaces_changed.subscribe()
    }

    /// Milliseconds since startup.
    pub(crate) fn uptime_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// Finds a workspace by id and checks it lies in an authorized root.
    pub(crate) fn resolve_workspace(&self, id: &str) -> Result<Workspace, ApiError> {
        let list = self.workspaces();
        let Some(workspace) = list.items.iter().find(|ws| ws.id == id) else {
            return Err(ApiError::new(
                http::StatusCode::NOT_FOUND,
                "workspace_not_found",
                "Workspace not found",
            ));
        };
        if !list
            .authorized_roots
            .iter()
            .any(|root| is_within(&workspace.path, root))
        {
            return Err(ApiError::new(
                http::StatusCode::FORBIDDEN,
                "workspace_unauthorized",
                "Workspace is not authorized",
            ));
        }
        Ok(workspace.clone())
    }
}
