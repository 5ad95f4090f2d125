//! The running server as managed state: started synchronously in the plugin's setup, served
//! on Tauri's async runtime, restarted on request and stopped when the app exits.

use openwork_server_core::ServerHandle;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener};
use std::sync::{Arc, Mutex, PoisonError};
use tauri::async_runtime::JoinHandle;

use crate::models::ServerInfo;
use crate::options::ServerOptions;
use crate::{ApprovalPrompter, Error, Result};

/// Access to the in-process OpenWork server (`app.openwork()`).
pub struct Openwork {
    options: ServerOptions,
    prompter: Arc<dyn ApprovalPrompter>,
    /// The current server; `None` only after a failed restart or after exit.
    running: Mutex<Option<Running>>,
    /// Serialises restarts so two never interleave their stop and bind.
    restarting: tokio::sync::Mutex<()>,
}

struct Running {
    handle: ServerHandle,
    addr: SocketAddr,
    task: JoinHandle<std::io::Result<()>>,
}

impl std::fmt::Debug for Openwork {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Openwork")
            .field("addr", &self.local_addr())
            .finish_non_exhaustive()
    }
}

impl Openwork {
    /// Builds and binds the server synchronously, then serves it on Tauri's runtime, so the
    /// address and tokens are known when this returns.
    pub(crate) fn start(
        options: ServerOptions,
        prompter: Arc<dyn ApprovalPrompter>,
    ) -> Result<Self> {
        let running = launch(&options, &prompter)?;
        Ok(Self {
            options,
            prompter,
            running: Mutex::new(Some(running)),
            restarting: tokio::sync::Mutex::new(()),
        })
    }

    /// The address the server listens on, `None` when it is not running.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.lock().as_ref().map(|r| r.addr)
    }

    /// The running server's services (approvals, tokens, workspaces).
    pub fn handle(&self) -> Result<ServerHandle> {
        self.lock()
            .as_ref()
            .map(|r| r.handle.clone())
            .ok_or(Error::NotRunning)
    }

    /// Where the server listens and its tokens; the host token only when `with_host_token`.
    pub fn info(&self, with_host_token: bool) -> Result<ServerInfo> {
        let guard = self.lock();
        let running = guard.as_ref().ok_or(Error::NotRunning)?;
        let config = running.handle.config();
        Ok(ServerInfo {
            base_url: base_url(running.addr),
            workspace_ids: running
                .handle
                .workspaces()
                .into_iter()
                .map(|ws| ws.id)
                .collect(),
            token: config.token.expose().to_owned(),
            host_token: with_host_token.then(|| config.host_token.expose().to_owned()),
        })
    }

    /// Stops the server gracefully and starts it again from the same configuration layers
    /// (so a changed config file takes effect). The configuration is read before the old
    /// server stops: a bad file leaves the old server running.
    pub async fn restart(&self) -> Result<ServerInfo> {
        let _one_at_a_time = self.restarting.lock().await;
        // Validate first, without touching the running server.
        self.options.server_builder(self.prompter.clone()).build()?;
        self.stop().await;
        let running = launch(&self.options, &self.prompter)?;
        *self.lock() = Some(running);
        self.info(true)
    }

    /// Starts a graceful shutdown and waits for it: the socket closes, streams end,
    /// in-flight requests get the grace period, pending approvals are denied.
    pub async fn stop(&self) {
        let running = self.lock().take();
        if let Some(running) = running {
            running.handle.shutdown_token().cancel();
            if let Err(error) = running.task.await {
                tracing::warn!(target: "openwork_server::desktop", "server task failed: {error}");
            }
        }
    }

    /// [`Openwork::stop`] for synchronous contexts outside the async runtime (app exit).
    pub(crate) fn stop_blocking(&self) {
        tauri::async_runtime::block_on(self.stop());
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Running>> {
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Builds, binds and spawns one server.
fn launch(options: &ServerOptions, prompter: &Arc<dyn ApprovalPrompter>) -> Result<Running> {
    // The listener, the file watchers and the server's background tasks register with
    // Tauri's runtime; plugin setup runs outside it.
    let runtime = tauri::async_runtime::handle();
    let _context = runtime.inner().enter();
    let server = options.server_builder(prompter.clone()).build()?;
    let (host, port) = (server.config().host.clone(), server.config().port);
    // A std socket binds without an async context, so the real port is known right here
    // (Tauri runs plugin setup outside its runtime). std sets SO_REUSEADDR on Unix, so a
    // restart gets its port back while old connections sit in TIME_WAIT.
    let listener = TcpListener::bind((host.as_str(), port)).map_err(|source| Error::Bind {
        addr: format!("{host}:{port}"),
        source,
    })?;
    let addr = listener.local_addr()?;
    let handle = server.handle();
    let bound = server.bind_std(listener)?;
    let task = tauri::async_runtime::spawn(bound.serve());
    tracing::info!(target: "openwork_server::desktop", "OpenWork server listening on {}", base_url(addr));
    Ok(Running { handle, addr, task })
}

/// The URL the app's frontend uses: a wildcard bind address is reached over loopback.
fn base_url(addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}", SocketAddr::new(ip, addr.port()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_addresses_are_reached_over_loopback() {
        assert_eq!(
            base_url("0.0.0.0:8787".parse().unwrap()),
            "http://127.0.0.1:8787"
        );
        assert_eq!(base_url("[::]:80".parse().unwrap()), "http://[::1]:80");
        assert_eq!(
            base_url("192.168.1.2:9000".parse().unwrap()),
            "http://192.168.1.2:9000"
        );
    }
}
