//! The shared state handed to every handler: a cheap-to-clone handle of the services.

use std::ops::Deref;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};
use tokio_util::sync::CancellationToken;

use crate::approvals::Approvals;
use crate::auth::limiter::AuthLimiter;
use crate::auth::token_digest;
use crate::config::{EnvSource, ServerConfig};
use crate::error::ApiError;
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
