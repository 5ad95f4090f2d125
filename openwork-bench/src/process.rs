//! Server child processes: how they are started on `127.0.0.1:0`, how their real address
//! is learned from stdout, how much memory they hold, and how they are stopped.

use std::ffi::OsString;
use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};

use crate::Error;

/// How long a server may take to print its listening line.
const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a server may take to exit after SIGTERM before it is killed. The
/// orchestrator allows 2.5 s; a server slower than 2 s is reported as forced.
const STOP_GRACE: Duration = Duration::from_secs(2);
/// Only the end of stderr is kept, to explain a failed start without unbounded memory.
const STDERR_TAIL_BYTES: usize = 4096;

/// Everything needed to start one server process.
#[derive(Debug, Clone)]
pub struct Launch {
    /// Executable to run.
    pub program: PathBuf,
    /// Arguments, in order.
    pub args: Vec<OsString>,
    /// The complete environment: the parent's is never inherited, so stray
    /// `OPENWORK_*` variables cannot change what is measured.
    pub env: Vec<(OsString, OsString)>,
    /// Working directory.
    pub cwd: PathBuf,
    /// Start of the stdout line announcing the address, followed by `host:port`.
    pub ready_prefix: &'static str,
}

/// The two temporary directories an `openwork-server` run needs: a HOME, so the
/// default config and token store land in a throw-away place, and a workspace.
pub struct Fixture {
    /// Stands in for `$HOME`.
    pub home: tempfile::TempDir,
    /// The single workspace served.
    pub workspace: tempfile::TempDir,
}

impl Fixture {
    /// Creates fresh, empty directories.
    pub fn new() -> Result<Self, Error> {
        Ok(Self {
            home: tempfile::Builder::new().prefix("owbench-home").tempdir()?,
            workspace: tempfile::Builder::new().prefix("owbench-ws").tempdir()?,
        })
    }

    /// Fills the workspace like a real project: a `.git` marker (so skill discovery stops
    /// here), `skills` skills, and a commented `opencode.jsonc` with several MCP servers.
    pub fn populate(&self, skills: usize) -> Result<(), Error> {
        let root = self.workspace.path();
        std::fs::create_dir_all(root.join(".git"))?;
        for n in 0..skills {
            let name = format!("bench-skill-{n:02}");
            let dir = root.join(".opencode/skills").join(&name);
            std::fs::create_dir_all(&dir)?;
            std::fs::write(
                dir.join("SKILL.md"),
                format!(
                    "---\nname: {name}\ndescription: Benchmark skill number {n} with a realistic one-line description.\n---\n# {name}\n\n## When to use\n- when the benchmark asks for skill {n}\n\nSteps and notes for the agent.\n"
                ),
            )?;
        }
        let mut mcp = String::new();
        for n in 0..6 {
            mcp.push_str(&format!(
                "    // server {n}\n    \"server-{n}\": {{ \"type\": \"local\", \"command\": [\"npx\", \"-y\", \"mcp-server-{n}\"], \"enabled\": true }},\n"
            ));
        }
        std::fs::write(
            root.join("opencode.jsonc"),
            format!(
                "{{\n  // Project configuration for the benchmark.\n  \"$schema\": \"https://opencode.ai/config.json\",\n  \"model\": \"anthropic/claude-sonnet\", // default model\n  /* MCP servers */\n  \"mcp\": {{\n{mcp}  }},\n  \"plugin\": [\"opencode-wakatime@1.2.3\"],\n}}\n"
            ),
        )?;
        Ok(())
    }

    /// The id the server derives for the workspace: `ws_` + 12 hex of SHA-256 of its path.
    pub fn workspace_id(&self) -> String {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(self.workspace.path().to_string_lossy().as_bytes());
        format!("ws_{}", &hex::encode(digest)[..12])
    }
}

/// Credentials handed to the server under test; never printed.
#[derive(Clone)]
pub struct Tokens {
    /// Client token, sent as `Authorization: Bearer`.
    pub client: String,
    /// Host token, only passed so the server does not generate and print one.
    pub host: String,
}

impl Tokens {
    /// Random tokens from the kernel's generator.
    pub fn random() -> Result<Self, Error> {
        Ok(Self {
            client: random_hex(16)?,
            host: random_hex(16)?,
        })
    }
}

fn random_hex(bytes: usize) -> Result<String, Error> {
    let mut buf = vec![0u8; bytes];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut buf)?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

/// The launch of `openwork-server` used throughout the bench: loopback only, one
/// workspace, fixed tokens, auto approval and no per-request log lines (printing a
/// line per request would measure the terminal, not the server).
pub fn openwork_launch(server_bin: &Path, fixture: &Fixture, tokens: &Tokens) -> Launch {
    let args = ["--host", "127.0.0.1", "--port", "0", "--workspace"]
        .into_iter()
        .map(OsString::from)
        .chain([fixture.workspace.path().as_os_str().to_owned()])
        .chain(
            [
                "--token",
                &tokens.client,
                "--host-token",
                &tokens.host,
                "--no-log-requests",
                "--approval",
                "auto",
            ]
            .into_iter()
            .map(OsString::from),
        )
        .collect();
    Launch {
        program: server_bin.to_owned(),
        args,
        env: minimal_env(fixture.home.path()),
        cwd: fixture.workspace.path().to_owned(),
        ready_prefix: "OpenWork server listening on http://",
    }
}

/// The bench binary itself in its hidden bare-hyper mode.
pub fn bare_launch(home: &Path) -> Result<Launch, Error> {
    Ok(Launch {
        program: std::env::current_exe()?,
        args: vec![OsString::from("--bare-hyper-server")],
        env: minimal_env(home),
        cwd: home.to_owned(),
        ready_prefix: crate::bare::READY_PREFIX,
    })
}

fn minimal_env(home: &Path) -> Vec<(OsString, OsString)> {
    let mut env = vec![(OsString::from("HOME"), home.as_os_str().to_owned())];
    if let Some(path) = std::env::var_os("PATH") {
        env.push((OsString::from("PATH"), path));
    }
    env
}

/// A running server child.
pub struct ServerProcess {
    child: Child,
    pid: u32,
    addr: SocketAddr,
    spawned_at: Instant,
    ready_at: Instant,
    stderr_tail: Arc<Mutex<String>>,
}

/// How a [`ServerProcess::stop`] went.
#[derive(Debug, Clone, Copy)]
pub struct StopOutcome {
    /// SIGTERM to exit (or to the kill, when the grace period ran out).
    pub elapsed: Duration,
    /// The process exited by itself within the grace period.
    pub graceful: bool,
    /// Exit status, when it could be collected.
    pub status: Option<ExitStatus>,
}

impl ServerProcess {
    /// Spawns the process and waits for its listening line.
    pub async fn start(launch: &Launch) -> Result<Self, Error> {
        let mut command = Command::new(&launch.program);
        command
            .args(&launch.args)
            .env_clear()
            .envs(launch.env.iter().map(|(k, v)| (k, v)))
            .current_dir(&launch.cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // A bench that panics or is interrupted must not leave servers behind.
            .kill_on_drop(true);
        let spawned_at = Instant::now();
        let mut child = command
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", launch.program.display()))?;
        let pid = child.id().ok_or("child exited before its pid was read")?;
        let stderr_tail = Arc::new(Mutex::new(String::new()));
        if let Some(stderr) = child.stderr.take() {
            tokio::spawn(keep_tail(stderr, Arc::clone(&stderr_tail)));
        }
        let stdout = child.stdout.take().ok_or("stdout was not piped")?;
        let mut lines = BufReader::new(stdout).lines();

        let found = tokio::time::timeout(READY_TIMEOUT, async {
            while let Some(line) = lines.next_line().await? {
                if let Some(rest) = line.trim().strip_prefix(launch.ready_prefix) {
                    return Ok::<_, std::io::Error>(Some(rest.to_owned()));
                }
            }
            Ok(None)
        })
        .await;
        let ready_at = Instant::now();
        let addr_text = match found {
            Ok(Ok(Some(text))) => text,
            Ok(Ok(None)) | Ok(Err(_)) => {
                let status = child.wait().await.ok();
                let tail = stderr_tail.lock().map(|t| t.clone()).unwrap_or_default();
                return Err(format!(
                    "{} ended its output without a listening line (exit {status:?}); stderr:\n{tail}",
                    launch.program.display()
                )
                .into());
            }
            Err(_) => {
                return Err(format!(
                    "{} printed no listening line within {READY_TIMEOUT:?}",
                    launch.program.display()
                )
                .into());
            }
        };
        let addr: SocketAddr = addr_text
            .trim_end_matches('/')
            .parse()
            .map_err(|e| format!("listening line has no address {addr_text:?}: {e}"))?;
        if !addr.ip().is_loopback() {
            return Err(format!("server listens on {addr}, expected loopback only").into());
        }
        // Keep reading stdout so the pipe never fills and blocks the server.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });

        Ok(Self {
            child,
            pid,
            addr,
            spawned_at,
            ready_at,
            stderr_tail,
        })
    }

    /// The address from the listening line.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// When the process was spawned.
    pub fn spawned_at(&self) -> Instant {
        self.spawned_at
    }

    /// Time from spawn to the listening line.
    pub fn time_to_ready(&self) -> Duration {
        self.ready_at - self.spawned_at
    }

    /// Resident set size in KiB (`VmRSS` of `/proc/<pid>/status`), if readable.
    pub fn rss_kib(&self) -> Option<u64> {
        rss_kib_of(self.pid)
    }

    /// The process id, for sampling its memory from another thread.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Sends SIGTERM, waits up to [`STOP_GRACE`], then kills.
    pub async fn stop(mut self) -> StopOutcome {
        let asked_at = Instant::now();
        // `kill(1)` rather than libc: unsafe code is denied in this workspace.
        let signalled = std::process::Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if signalled {
            if let Ok(Ok(status)) = tokio::time::timeout(STOP_GRACE, self.child.wait()).await {
                return StopOutcome {
                    elapsed: asked_at.elapsed(),
                    graceful: true,
                    status: Some(status),
                };
            }
        }
        let _ = self.child.start_kill();
        let status = tokio::time::timeout(STOP_GRACE, self.child.wait())
            .await
            .ok()
            .and_then(Result::ok);
        StopOutcome {
            elapsed: asked_at.elapsed(),
            graceful: false,
            status,
        }
    }

    /// The last few KiB the process wrote to stderr.
    pub fn stderr_tail(&self) -> String {
        self.stderr_tail
            .lock()
            .map(|t| t.clone())
            .unwrap_or_default()
    }
}

/// Resident set size in KiB of process `pid` (`VmRSS` of `/proc/<pid>/status`).
pub fn rss_kib_of(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

async fn keep_tail(stream: impl AsyncRead + Unpin, tail: Arc<Mutex<String>>) {
    let mut lines = BufReader::new(stream).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let Ok(mut tail) = tail.lock() else { return };
        tail.push_str(&line);
        tail.push('\n');
        if tail.len() > STDERR_TAIL_BYTES {
            let mut cut = tail.len() - STDERR_TAIL_BYTES;
            while !tail.is_char_boundary(cut) {
                cut += 1;
            }
            tail.drain(..cut);
        }
    }
}
