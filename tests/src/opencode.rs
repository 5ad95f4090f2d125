//! A real OpenCode engine for the proxy tests: `opencode serve` on a free loopback port,
//! with its own HOME and XDG folders, and everything that would reach the network
//! (model list, auto-update, LSP downloads, default plugins) switched off.
//!
//! The engine is installed by `scripts/install-opencode` (run by `scripts/test-all`) into
//! `.cache/opencode`; `OPENCODE_BIN` overrides the location.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// How long a start may take before it is retried (the first start migrates a database).
const BOOT_TIMEOUT: Duration = Duration::from_secs(30);

/// A running OpenCode; killed when dropped.
#[derive(Debug)]
pub struct OpenCode {
    /// `http://127.0.0.1:<port>`.
    pub base_url: String,
    /// The folder it was started in (its default project directory).
    pub directory: TempDir,
    /// Its isolated HOME.
    pub home: TempDir,
    child: Child,
}

/// The engine binary: `$OPENCODE_BIN`, else `.cache/opencode/bin/opencode` at the repo root.
pub fn engine_path() -> PathBuf {
    if let Some(path) = std::env::var_os("OPENCODE_BIN") {
        return PathBuf::from(path);
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(".cache/opencode/bin/opencode")
}

/// A port the system says is free right now.
/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// Makes `command` (OpenCode, or a program that starts it) run with nothing of the
/// caller's environment but `PATH`, a private HOME and XDG tree under `home`, and every
/// OpenCode feature that would reach beyond loopback switched off.
pub fn isolate_opencode(command: &mut Command, home: &Path) {
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_DATA_HOME", home.join(".local/share"))
        .env("XDG_CACHE_HOME", home.join(".cache"))
        .env("XDG_STATE_HOME", home.join(".local/state"))
        .env("OPENCODE_DISABLE_MODELS_FETCH", "1")
        .env("OPENCODE_DISABLE_AUTOUPDATE", "1")
        .env("OPENCODE_DISABLE_LSP_DOWNLOAD", "1")
        .env("OPENCODE_DISABLE_SHARE", "1")
        .env("OPENCODE_DISABLE_DEFAULT_PLUGINS", "1")
        .env("OPENCODE_DISABLE_CLAUDE_CODE", "1");
}

impl OpenCode {
    /// Starts an engine, retrying once if a start shows no progress.
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// Starts an engine with extra environment variables (e.g. Basic auth credentials).
    pub async fn start_with(env: &[(&str, &str)]) -> Self {
        let engine = engine_path();
        assert!(
            engine.exists(),
            "OpenCode is not installed at {}: run ./scripts/install-opencode (./scripts/test-all does)",
            engine.display()
        );
        let mut last_error = String::new();
        for _ in 0..3 {
            match Self::try_start(&engine, env).await {
                Ok(engine) => return engine,
                Err(error) => last_error = error,
            }
        }
        panic!("OpenCode did not start: {last_error}");
    }

    async fn try_start(engine: &Path, env: &[(&str, &str)]) -> Result<Self, String> {
        let home = tempfile::tempdir().map_err(|e| e.to_string())?;
        let directory = tempfile::tempdir().map_err(|e| e.to_string())?;
        let port = free_port();
        let h = home.path();
        let mut command = Command::new(engine);
        // No traffic beyond loopback: every feature that would fetch something is off.
        isolate_opencode(&mut command, h);
        command
            .args([
                "serve",
                "--hostname",
                "127.0.0.1",
                "--port",
                &port.to_string(),
            ])
            .current_dir(directory.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn().map_err(|e| e.to_string())?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let base_url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + BOOT_TIMEOUT;
        // Wait for the listening line, then for a health answer with a short per-request
        // timeout: an early connection can be accepted and never answered while booting.
        let mut lines = BufReader::new(stdout).lines();
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(remaining, lines.next_line()).await {
                Ok(Ok(Some(line))) if line.contains("listening on") => break,
                Ok(Ok(Some(_))) => continue,
                _ => return Err("no listening line".into()),
            }
        }
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(2))
            .build()
            .map_err(|e| e.to_string())?;
        while Instant::now() < deadline {
            let health = client.get(format!("{base_url}/global/health")).send().await;
            // With Basic auth on, a 401 is an answer too: the engine is up.
            if health.is_ok_and(|r| {
                r.status().is_success() || r.status() == reqwest::StatusCode::UNAUTHORIZED
            }) {
                return Ok(Self {
                    base_url,
                    directory,
                    home,
                    child,
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let _ = child.kill().await;
        Err("no health answer".into())
    }

    /// Stops the engine.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}
