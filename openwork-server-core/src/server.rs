//! Building, binding, serving and stopping a server.
//!
//! `Server::builder()` → configure → `build()` (configuration and token store are read
//! here, so errors surface before any socket exists) → `bind()` (the real address is known,
//! port 0 allowed) → `serve()` until the shutdown token is cancelled. Nothing is global:
//! two servers in one process share nothing.

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpSocket};
use tokio_util::sync::CancellationToken;
use tower::Service;

use crate::approvals::{ApprovalPrompter, Approvals};
use crate::auth::Scope;
use crate::config::{self, CliOverrides, ConfigError, EnvSource, ServerConfig};
use crate::error::ApiError;
use crate::pipeline::{self, Pipeline};
use crate::state::AppState;
use crate::tokens::{IssuedToken, TokenStore};
use crate::workspace::Workspace;

/// Keep-alive connections idle this long are closed (the reference's `idleTimeout`).
const IDLE_TIMEOUT: Duration = Duration::from_secs(120);

/// How long in-flight requests may run on after shutdown starts before they are dropped.
const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_millis(1500);

/// Configures a [`Server`].
#[must_use]
#[derive(Default)]
pub struct ServerBuilder {
    config_file: Option<PathBuf>,
    env: EnvSource,
    cli: CliOverrides,
    current_dir: Option<PathBuf>,
    prompter: Option<Arc<dyn ApprovalPrompter>>,
    shutdown: Option<CancellationToken>,
    shutdown_grace: Option<Duration>,
}

impl ServerBuilder {
    /// The JSON config file (`--config`). Without it, `OPENWORK_SERVER_CONFIG` or
    /// `~/.config/openwork/server.json` is used; a missing file is an empty one.
    pub fn config_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.config_file = Some(path.into());
        self
    }

    /// The environment for the `OPENWORK_*` layer and per-request switches
    /// (default: the process environment).
    pub fn env(mut self, env: EnvSource) -> Self {
        self.env = env;
        self
    }

    /// Explicit overrides, the highest layer.
    pub fn cli(mut self, cli: CliOverrides) -> Self {
        self.cli = cli;
        self
    }

    /// What relative command-line and environment paths resolve against
    /// (default: the process's current directory).
    pub fn current_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.current_dir = Some(dir.into());
        self
    }

    /// Shows approval requests to a person on the host.
    pub fn prompter(mut self, prompter: Arc<dyn ApprovalPrompter>) -> Self {
        self.prompter = Some(prompter);
        self
    }

    /// A token whose cancellation starts a graceful shutdown (default: a fresh one, see
    /// [`Server::shutdown_token`]).
    pub fn shutdown_token(mut self, token: CancellationToken) -> Self {
        self.shutdown = Some(token);
        self
    }

    /// How long in-flight requests may finish after shutdown starts (default 1.5 s).
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = Some(grace);
        self
    }

    /// Reads the configuration and the token store.
    pub fn build(self) -> Result<Server, ConfigError> {
        let current_dir = self
            .current_dir
            .or_else(|| std::env::current_dir().ok())
            .unwrap_or_else(|| PathBuf::from("/"));
        let config = config::load(&config::Context {
            config_file: self.config_file.as_deref(),
            env: &self.env,
            cli: &self.cli,
            current_dir: &current_dir,
        })?;
        let tokens = TokenStore::load(&config.token_store_path)?;
        let shutdown = self.shutdown.unwrap_or_default();
        let approvals = Approvals::with_shutdown(
            config.approval.mode,
            Duration::from_millis(config.approval.timeout_ms),
            self.prompter,
            shutdown.clone(),
        );
        let state = AppState::new(config, tokens, approvals, self.env, shutdown);
        Ok(Server {
            state,
            grace: self.shutdown_grace.unwrap_or(DEFAULT_SHUTDOWN_GRACE),
        })
    }
}

/// A configured server, not yet listening.
pub struct Server {
    state: AppState,
    grace: Duration,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("config", &self.state.config)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Starts configuring a server.
    pub fn builder() -> ServerBuilder {
        ServerBuilder::default()
    }

    /// The resolved configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.state.config
    }

    /// The approval gate, for hosts that answer requests in-process.
    pub fn approvals(&self) -> &Approvals {
        &self.state.approvals
    }

    /// The token whose cancellation shuts the server down.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.state.shutdown.clone()
    }

    /// The whole HTTP application, for driving without a socket (`tower::ServiceExt::oneshot`).
    pub fn router(&self) -> Router {
        pipeline::app(self.state.clone())
    }

    /// A cheap-to-clone handle to the server's services, which stays valid while the server
    /// runs: hosts answer approvals, issue tokens and read the workspace list through it.
    pub fn handle(&self) -> ServerHandle {
        ServerHandle {
            state: self.state.clone(),
        }
    }

    /// Binds the configured host and port. The address is reused at once after a previous
    /// process on the same port exits.
    pub async fn bind(self) -> std::io::Result<BoundServer> {
        let (host, port) = (self.state.config.host.clone(), self.state.config.port);
        let addr = tokio::net::lookup_host((host.as_str(), port))
            .await?
            .next()
            .ok_or_else(|| std::io::Error::other(format!("cannot resolve host {host}")))?;
        let listener = bind_listener(addr)
            .map_err(|e| std::io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}")))?;
        self.bound(listener)
    }

    /// Takes a socket the host has already bound (for hosts that must know the address
    /// synchronously, such as a desktop app's setup hook). The configured host and port are
    /// not used. Must be called inside a Tokio runtime context (`Handle::enter`): the
    /// listener and the file watchers register with it.
    pub fn bind_std(self, listener: std::net::TcpListener) -> std::io::Result<BoundServer> {
        listener.set_nonblocking(true)?;
        self.bound(TcpListener::from_std(listener)?)
    }

    fn bound(self, listener: TcpListener) -> std::io::Result<BoundServer> {
        let local_addr = listener.local_addr()?;
        // File watchers start with the server, so reload events cover the whole run.
        let watched = crate::watch::start(&self.state);
        if watched > 0 {
            tracing::info!(target: "openwork_server::boot", "Reload watcher enabled ({watched})");
        }
        Ok(BoundServer {
            server: self,
            listener,
            local_addr,
        })
    }
}

/// A handle to a built server's services (see [`Server::handle`]), for hosts that run the
/// server in-process and act on it directly instead of over HTTP.
#[derive(Clone)]
pub struct ServerHandle {
    state: AppState,
}

impl std::fmt::Debug for ServerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerHandle").finish_non_exhaustive()
    }
}

impl ServerHandle {
    /// The resolved configuration (including the client and host tokens).
    pub fn config(&self) -> &ServerConfig {
        &self.state.config
    }

    /// The approval gate: list pending requests and answer them as `POST /approvals/:id`
    /// does.
    pub fn approvals(&self) -> &Approvals {
        &self.state.approvals
    }

    /// The current workspaces in order (the first is the active one); workspace management
    /// routes may have changed the configured list since startup.
    pub fn workspaces(&self) -> Vec<Workspace> {
        self.state.workspaces().items.clone()
    }

    /// Issues a scoped token as `POST /tokens` does, persisted in the token store; refused
    /// in read-only mode like the route.
    pub async fn create_token(
        &self,
        scope: Scope,
        label: Option<String>,
    ) -> Result<IssuedToken, ApiError> {
        if self.state.config.read_only {
            return Err(ApiError::read_only());
        }
        self.state
            .tokens
            .create(scope, label)
            .await
            .map_err(ApiError::internal)
    }

    /// The token whose cancellation shuts the server down.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.state.shutdown.clone()
    }
}

fn bind_listener(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    // A restarted server must get its port back while old connections sit in TIME_WAIT.
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

/// A server with its listening socket.
pub struct BoundServer {
    server: Server,
    listener: TcpListener,
    local_addr: SocketAddr,
}

impl std::fmt::Debug for BoundServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BoundServer")
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

impl BoundServer {
    /// The address actually bound (the real port when 0 was configured).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The server this socket belongs to.
    pub fn server(&self) -> &Server {
        &self.server
    }

    /// Serves until the shutdown token is cancelled. Then the socket closes at once, idle
    /// connections close, in-flight requests get the grace period to finish, and
    /// long-lived streams end.
    pub async fn serve(self) -> std::io::Result<()> {
        let BoundServer {
            server, listener, ..
        } = self;
        let shutdown = server.state.shutdown.clone();
        let pipeline = Pipeline::new(server.state.clone());
        let connections = GracefulShutdown::new();
        let mut http = http1::Builder::new();
        // Keep-alive connections idle this long are closed, as the reference does; it also
        // bounds how long a slow client can hold a connection before sending its headers.
        http.timer(TokioTimer::new())
            .header_read_timeout(IDLE_TIMEOUT)
            .keep_alive(true);
        loop {
            let (stream, peer) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        // Running out of descriptors must neither spin nor end the server.
                        tracing::warn!(target: "openwork_server::server", "accept failed: {error}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                () = shutdown.cancelled() => break,
            };
            // Small JSON answers must not wait for Nagle's algorithm.
            let _ = stream.set_nodelay(true);
            let pipeline = pipeline.clone();
            let service = service_fn(move |request: http::Request<Incoming>| {
                let mut request = request.map(Body::new);
                request.extensions_mut().insert(ConnectInfo(peer));
                pipeline.clone().call(request)
            });
            let connection =
                connections.watch(http.serve_connection(TokioIo::new(stream), service));
            tokio::spawn(async move {
                // Errors here are the client's (reset, malformed request); hyper has already
                // answered what could be answered.
                let _ = connection.await;
            });
        }
        // The port is free again from here on.
        drop(listener);
        tokio::select! {
            () = connections.shutdown() => {}
            () = tokio::time::sleep(server.grace) => {
                tracing::warn!(target: "openwork_server::server", "Shutdown grace period over; dropping open connections");
            }
        }
        Ok(())
    }
}
