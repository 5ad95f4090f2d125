//! Black-box tests of the `openwork-server` binary: what a user or a wrapper sees from the
//! outside. CLI output, boot lines, log records, signals, start-up failures, and the host
//! orchestrator's start → check → restart flow (`shared/notes/orchestrator.md`).
//!
//! Every server runs with a temporary HOME and workspace, a cleared environment and
//! `127.0.0.1` only; every wait is bounded.

use std::io::Read as _;
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

const BIN: &str = env!("CARGO_BIN_EXE_openwork-server");
const VERSION: &str = env!("CARGO_PKG_VERSION");
/// Longest wait for one stdout line, a start-up failure or an HTTP answer.
const STEP_TIMEOUT: Duration = Duration::from_secs(10);
/// SIGTERM/SIGINT to exit. The orchestrator kills after 2.5 s; we want margin.
const EXIT_GRACE: Duration = Duration::from_secs(2);
const LISTENING: &str = "OpenWork server listening on http://";
const NO_WORKSPACES: &str = "No workspaces configured. Add --workspace or update server.json.";
const HOST_HEADER: &str = "X-OpenWork-Host-Token";

// ---------------------------------------------------------------------------------------
// Spawn helper
// ---------------------------------------------------------------------------------------

/// A temporary HOME and workspace for one test.
struct Sandbox {
    home: TempDir,
    workspace: TempDir,
}

impl Sandbox {
    fn new() -> Self {
        Self {
            home: tempfile::Builder::new()
                .prefix("ow-home")
                .tempdir()
                .expect("temp HOME"),
            workspace: tempfile::Builder::new()
                .prefix("ow-ws")
                .tempdir()
                .expect("temp workspace"),
        }
    }

    /// The workspace path as passed on the command line (and reported back verbatim).
    fn ws(&self) -> String {
        path_str(self.workspace.path())
    }

    /// `configDir` when no `--config` is given: `$HOME/.config/openwork`.
    fn config_dir(&self) -> PathBuf {
        self.home.path().join(".config").join("openwork")
    }

    fn launch(&self) -> Launch {
        Launch {
            args: Vec::new(),
            env: Vec::new(),
            home: self.home.path().to_owned(),
            cwd: self.workspace.path().to_owned(),
        }
    }
}

/// How to start the binary: argv plus the only environment it gets besides PATH and HOME.
#[derive(Clone)]
struct Launch {
    args: Vec<String>,
    env: Vec<(String, String)>,
    home: PathBuf,
    cwd: PathBuf,
}

impl Launch {
    fn args<S: AsRef<str>>(mut self, args: &[S]) -> Self {
        self.args.extend(args.iter().map(|a| a.as_ref().to_owned()));
        self
    }

    fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    fn command(&self) -> Command {
        let mut command = Command::new(BIN);
        // The parent's OPENWORK_* variables must not leak into the server under test.
        command
            .args(&self.args)
            .env_clear()
            .env("HOME", &self.home)
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .current_dir(&self.cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        command
    }

    /// Starts the server; stdout lines arrive on a channel, stderr is collected whole.
    fn spawn(&self) -> Running {
        let mut child = self.command().spawn().expect("spawn openwork-server");
        let pid = child.id().expect("pid");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut stderr = child.stderr.take().expect("piped stderr");
        let stderr = tokio::spawn(async move {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text).await;
            text
        });
        let json = self
            .args
            .windows(2)
            .any(|w| w[0] == "--log-format" && w[1] == "json");
        Running {
            child,
            pid,
            stdout: rx,
            stderr: Some(stderr),
            json,
            seen: Vec::new(),
        }
    }

    /// Runs to completion (bounded) and returns exit status, stdout and stderr.
    async fn output(&self) -> (ExitStatus, String, String) {
        let output = tokio::time::timeout(STEP_TIMEOUT, self.command().output())
            .await
            .expect("process exits in time")
            .expect("run openwork-server");
        (
            output.status,
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }
}

/// A running server; killed when dropped.
struct Running {
    child: Child,
    pid: u32,
    stdout: mpsc::UnboundedReceiver<String>,
    stderr: Option<JoinHandle<String>>,
    /// Started with `--log-format json`: messages are the `body` of each record.
    json: bool,
    /// Every stdout line read so far, raw.
    seen: Vec<String>,
}

/// What the boot lines said.
#[derive(Debug)]
struct Boot {
    addr: SocketAddr,
    client_token: Option<String>,
    host_token: Option<String>,
    /// The `Workspaces: <n>` or "No workspaces configured" line.
    workspaces: String,
}

impl Boot {
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Running {
    /// The next stdout line; panics on timeout or end of output.
    async fn next_line(&mut self) -> String {
        match tokio::time::timeout(STEP_TIMEOUT, self.stdout.recv()).await {
            Ok(Some(line)) => {
                self.seen.push(line.clone());
                line
            }
            Ok(None) => {
                let stderr = self.stderr_now().await;
                panic!(
                    "stdout ended; lines so far: {:?}; stderr: {stderr}",
                    self.seen
                )
            }
            Err(_) => panic!(
                "no stdout line within {STEP_TIMEOUT:?}; so far {:?}",
                self.seen
            ),
        }
    }

    /// The next log message: the line itself, or the `body` of a JSON record.
    async fn next_message(&mut self) -> String {
        let line = self.next_line().await;
        if !self.json {
            return line;
        }
        let record: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {line}"));
        record["body"]
            .as_str()
            .unwrap_or_else(|| panic!("record without a string body: {line}"))
            .to_owned()
    }

    /// Reads the boot lines of §2.6 (items 1–5) in their order.
    async fn boot(&mut self) -> Boot {
        let mut message = self.next_message().await;
        // Item 1 of §2.6, printed while the server starts when it has workspaces.
        if message.starts_with("Reload watcher enabled (") {
            message = self.next_message().await;
        }
        let addr = message
            .strip_prefix(LISTENING)
            .unwrap_or_else(|| panic!("expected the listening line first, got {message:?}"))
            .parse::<SocketAddr>()
            .unwrap_or_else(|e| panic!("listening line without host:port ({e}): {message:?}"));
        message = self.next_message().await;
        let client_token = message.strip_prefix("Client token: ").map(str::to_owned);
        if client_token.is_some() {
            message = self.next_message().await;
        }
        let host_token = message.strip_prefix("Host token: ").map(str::to_owned);
        if host_token.is_some() {
            message = self.next_message().await;
        }
        assert!(
            message == NO_WORKSPACES || message.starts_with("Workspaces: "),
            "expected the workspaces line, got {message:?}"
        );
        Boot {
            addr,
            client_token,
            host_token,
            workspaces: message,
        }
    }

    /// Sends a signal with kill(1): unsafe code (libc) is denied in this workspace.
    fn signal(&self, name: &str) {
        let status = std::process::Command::new("kill")
            .args([format!("-{name}"), self.pid.to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name} failed");
    }

    async fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        match tokio::time::timeout(within, self.child.wait()).await {
            Ok(status) => status.expect("wait for the server"),
            Err(_) => panic!("server did not exit within {within:?}"),
        }
    }

    /// SIGTERM, then the exit status, which must come within [`EXIT_GRACE`].
    async fn terminate(&mut self) -> ExitStatus {
        self.signal("TERM");
        self.wait_exit(EXIT_GRACE).await
    }

    /// SIGTERM, and the exit code must be 0 (§2.6: graceful shutdown).
    async fn stop_cleanly(&mut self) {
        let status = self.terminate().await;
        if !status.success() {
            let stderr = self.stderr().await;
            panic!(
                "SIGTERM should end the server with exit code 0, got {status}; stderr: {stderr}"
            );
        }
    }

    /// After exit: every stdout line the server printed, raw, from the first one.
    async fn all_stdout(&mut self) -> Vec<String> {
        while let Ok(Some(line)) = tokio::time::timeout(STEP_TIMEOUT, self.stdout.recv()).await {
            self.seen.push(line);
        }
        self.seen.clone()
    }

    /// After exit: everything written to stderr.
    async fn stderr(&mut self) -> String {
        let handle = self.stderr.take().expect("stderr read once");
        tokio::time::timeout(STEP_TIMEOUT, handle)
            .await
            .expect("stderr closes after exit")
            .expect("stderr reader")
    }

    /// For panic messages while the process may still run.
    async fn stderr_now(&mut self) -> String {
        let _ = tokio::time::timeout(Duration::from_millis(500), self.child.wait()).await;
        match self.stderr.take() {
            Some(handle) => match tokio::time::timeout(Duration::from_millis(500), handle).await {
                Ok(Ok(text)) => text,
                _ => "<still open>".to_owned(),
            },
            None => "<already read>".to_owned(),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(STEP_TIMEOUT)
        .build()
        .expect("HTTP client")
}

fn path_str(path: &Path) -> String {
    path.to_str().expect("UTF-8 temp path").to_owned()
}

/// Random lowercase hex from the kernel, for tokens and credentials.
fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .expect("read /dev/urandom");
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// An ephemeral loopback port the OS just handed out and we released again. Only the
/// orchestrator test needs this: it must pass a fixed `--port` from the first start.
fn released_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr").port()
}

fn is_uuid_v4(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    let lengths: Vec<usize> = groups.iter().map(|g| g.len()).collect();
    lengths == [8, 4, 4, 4, 12]
        && groups.iter().all(|g| {
            g.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        })
        && groups[2].starts_with('4')
        && matches!(groups[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b')
}

/// `<METHOD> <path> <status> <n>ms`, the request log message of §10.2.
fn is_request_line(line: &str, method: &str, path: &str, status: u16) -> bool {
    line.strip_prefix(&format!("{method} {path} {status} "))
        .and_then(|rest| rest.strip_suffix("ms"))
        .is_some_and(|ms| !ms.is_empty() && ms.bytes().all(|b| b.is_ascii_digit()))
}

async fn get_json(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.expect("HTTP request");
    let status = response.status().as_u16();
    let body = response.json::<Value>().await.expect("JSON body");
    (status, body)
}

// ---------------------------------------------------------------------------------------
// CLI
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn version_prints_the_crate_version() {
    let sandbox = Sandbox::new();
    let (status, stdout, _) = sandbox.launch().args(&["--version"]).output().await;
    assert!(status.success(), "--version exits 0, got {status}");
    assert_eq!(stdout, format!("{VERSION}\n"));
    assert_eq!(
        VERSION, "0.11.207",
        "the version follows the reference release"
    );
}

#[tokio::test]
async fn help_lists_exactly_the_documented_flags() {
    const FLAGS: [&str; 21] = [
        "--help",
        "-h",
        "--version",
        "--verbose",
        "--config",
        "--host",
        "--port",
        "--token",
        "--host-token",
        "--approval",
        "--approval-timeout",
        "--opencode-base-url",
        "--opencode-directory",
        "--opencode-username",
        "--opencode-password",
        "--workspace",
        "--cors",
        "--read-only",
        "--log-format",
        "--log-requests",
        "--no-log-requests",
    ];
    let sandbox = Sandbox::new();
    let (status, help, _) = sandbox.launch().args(&["--help"]).output().await;
    assert!(status.success(), "--help exits 0, got {status}");
    let lines: Vec<&str> = help.lines().collect();
    assert!(lines.len() > 3, "help too short: {help}");
    assert_eq!(lines[..3], ["openwork-server", "", "Options:"]);

    let mut listed: Vec<String> = Vec::new();
    for line in &lines[3..] {
        if line.trim().is_empty() {
            continue;
        }
        assert!(
            line.starts_with("  "),
            "option line without two-space indent: {line:?}"
        );
        // Word by word, so `--host` is not found inside `--host-token`.
        listed.extend(
            line.split(|c: char| c.is_whitespace() || c == ',' || c == '/' || c == '|')
                .filter(|word| word.starts_with('-'))
                .map(str::to_owned),
        );
    }
    for flag in FLAGS {
        assert!(
            listed.iter().any(|l| l == flag),
            "help does not list {flag}:\n{help}"
        );
    }
    for flag in &listed {
        assert!(
            FLAGS.contains(&flag.as_str()),
            "help lists unknown flag {flag}"
        );
    }

    // `-h` is the same, and help wins over --version (checked first).
    let (status, short, _) = sandbox.launch().args(&["-h"]).output().await;
    assert!(status.success());
    assert_eq!(short, help);
    let (_, both, _) = sandbox
        .launch()
        .args(&["--version", "--help"])
        .output()
        .await;
    assert_eq!(both, help);
}

// ---------------------------------------------------------------------------------------
// Boot output
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn boot_lines_report_the_real_port_and_hide_given_tokens() {
    let sandbox = Sandbox::new();
    let (client, host) = (random_hex(16), random_hex(16));
    let ws = sandbox.ws();
    let mut server = sandbox
        .launch()
        .args(&["--port", "0", "--workspace", &ws, "--token", &client])
        .env("OPENWORK_HOST_TOKEN", &host)
        .spawn();
    let boot = server.boot().await;
    assert_eq!(boot.addr.ip().to_string(), "127.0.0.1");
    assert_ne!(
        boot.addr.port(),
        0,
        "the listening line shows the real port"
    );
    assert_eq!(
        boot.client_token, None,
        "a token from --token is not printed"
    );
    assert_eq!(boot.host_token, None, "a token from the env is not printed");
    assert_eq!(boot.workspaces, "Workspaces: 1");

    let (status, body) = get_json(http().get(boot.url("/health"))).await;
    assert_eq!(status, 200);
    assert_eq!(body["ok"], true);
    assert_eq!(body["version"], VERSION);
    assert!(
        body["uptimeMs"].is_u64(),
        "uptimeMs is a whole number: {body}"
    );

    server.stop_cleanly().await;
    for line in server.all_stdout().await {
        assert!(
            !line.contains(&client) && !line.contains(&host),
            "a secret was printed"
        );
        assert!(!line.starts_with("Client token:") && !line.starts_with("Host token:"));
    }
}

#[tokio::test]
async fn generated_tokens_are_printed_once_and_work() {
    let sandbox = Sandbox::new();
    let mut server = sandbox.launch().args(&["--port", "0", "--verbose"]).spawn();
    let boot = server.boot().await;
    assert_eq!(boot.workspaces, NO_WORKSPACES);
    let client = boot.client_token.clone().expect("Client token line");
    let host = boot.host_token.clone().expect("Host token line");
    assert!(is_uuid_v4(&client), "client token is a UUIDv4: {client}");
    assert!(is_uuid_v4(&host), "host token is a UUIDv4: {host}");
    assert_ne!(client, host);
    let verbose: Vec<String> = {
        let mut lines = Vec::new();
        for _ in 0..7 {
            lines.push(server.next_message().await);
        }
        lines
    };
    assert_eq!(verbose[5], "Token source: generated");
    assert_eq!(verbose[6], "Host token source: generated");

    let http = http();
    let (status, body) = get_json(http.get(boot.url("/workspaces")).bearer_auth(&client)).await;
    assert_eq!(status, 200);
    assert_eq!(body["items"], json!([]));
    assert_eq!(body["activeId"], Value::Null);

    let (status, body) =
        get_json(http.get(boot.url("/approvals")).header(HOST_HEADER, &host)).await;
    assert_eq!(status, 200);
    assert_eq!(body["items"], json!([]));

    // Each token only opens its own door (§3.1).
    let response = http
        .get(boot.url("/workspaces"))
        .bearer_auth(&host)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 401, "host token is no bearer");
    let response = http
        .get(boot.url("/approvals"))
        .bearer_auth(&client)
        .send()
        .await
        .expect("request");
    assert_eq!(
        response.status().as_u16(),
        401,
        "client token is no host token"
    );

    server.stop_cleanly().await;
    // Nothing is written to disk at boot (§2.6): generated tokens are not persisted.
    assert!(!sandbox.config_dir().join("tokens.json").exists());
}

#[tokio::test]
async fn verbose_prints_the_resolved_config() {
    let sandbox = Sandbox::new();
    let ws = sandbox.ws();
    let mut server = sandbox
        .launch()
        .args(&[
            "--verbose",
            "--port",
            "0",
            "--workspace",
            &ws,
            "--token",
            "client-secret",
            "--approval",
            "auto",
            "--approval-timeout",
            "1234",
            "--cors",
            "http://a.example;http://b.example",
        ])
        .env("OPENWORK_HOST_TOKEN", "host-secret")
        .spawn();
    let boot = server.boot().await;
    assert_eq!(boot.workspaces, "Workspaces: 1");
    let mut verbose = Vec::new();
    for _ in 0..7 {
        verbose.push(server.next_message().await);
    }
    let config_path = path_str(&sandbox.config_dir().join("server.json"));
    assert_eq!(
        verbose,
        [
            format!("Config path: {config_path}"),
            "Read-only: false".to_owned(),
            "Approval: auto (1234ms)".to_owned(),
            "CORS origins: http://a.example, http://b.example".to_owned(),
            format!("Authorized roots: {ws}"),
            "Token source: cli".to_owned(),
            "Host token source: env".to_owned(),
        ]
    );
    server.stop_cleanly().await;
}

#[tokio::test]
async fn json_log_format_prints_otel_records() {
    let sandbox = Sandbox::new();
    let ws = sandbox.ws();
    let run_id = format!("binary-test-{}", random_hex(4));
    let started_ns = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_nanos();
    let mut server = sandbox
        .launch()
        .args(&["--log-format", "json", "--port", "0", "--workspace", &ws])
        .args(&["--token", "client-secret", "--host-token", "host-secret"])
        .env("OPENWORK_RUN_ID", &run_id)
        .spawn();
    let boot = server.boot().await;
    let http = http();
    let ok = http.get(boot.url("/health")).send().await.expect("health");
    assert_eq!(ok.status().as_u16(), 200);
    let denied = http
        .get(boot.url("/workspaces"))
        .send()
        .await
        .expect("workspaces");
    assert_eq!(denied.status().as_u16(), 401);
    server.stop_cleanly().await;
    let lines = server.all_stdout().await;
    let ended_ns = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_nanos();

    let mut records = Vec::new();
    for line in &lines {
        let record: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        let time = record["timeUnixNano"]
            .as_str()
            .unwrap_or_else(|| panic!("timeUnixNano is a string: {line}"));
        let time: u128 = time.parse().expect("timeUnixNano is decimal");
        assert!(
            time + 60_000_000_000 >= started_ns && time <= ended_ns + 60_000_000_000,
            "timeUnixNano is now in nanoseconds: {line}"
        );
        let severity = record["severityText"].as_str().expect("severityText");
        let number = match severity {
            "INFO" => 9,
            "WARN" => 13,
            "ERROR" => 17,
            other => panic!("unexpected severity {other}"),
        };
        assert_eq!(record["severityNumber"], number, "{line}");
        assert!(record["body"].is_string(), "{line}");
        assert_eq!(record["attributes"]["run.id"], run_id.as_str(), "{line}");
        assert_eq!(record["attributes"]["process.pid"], server.pid, "{line}");
        let resource = &record["resource"];
        assert_eq!(resource["service.name"], "openwork-server", "{line}");
        assert_eq!(resource["service.version"], VERSION, "{line}");
        assert_eq!(resource["service.instance.id"], run_id.as_str(), "{line}");
        assert!(resource["host.name"].is_string(), "{line}");
        records.push(record);
    }

    let body_of = |r: &Value| r["body"].as_str().unwrap_or_default().to_owned();
    assert!(
        records
            .iter()
            .any(|r| body_of(r) == format!("{LISTENING}{}", boot.addr)),
        "a listening record"
    );
    let health = records
        .iter()
        .find(|r| is_request_line(&body_of(r), "GET", "/health", 200))
        .expect("a request record for GET /health");
    assert_eq!(health["severityText"], "INFO");
    let attributes = &health["attributes"];
    assert_eq!(attributes["method"], "GET");
    assert_eq!(attributes["path"], "/health");
    assert_eq!(attributes["status"], 200);
    assert!(attributes["durationMs"].is_number());
    assert_eq!(attributes["auth"], "none");

    let unauthorized = records
        .iter()
        .find(|r| is_request_line(&body_of(r), "GET", "/workspaces", 401))
        .expect("a request record for the 401");
    assert_eq!(unauthorized["severityText"], "WARN");
    assert_eq!(unauthorized["severityNumber"], 13);
    assert_eq!(unauthorized["attributes"]["auth"], "client");
    assert_eq!(unauthorized["attributes"]["error"], "Invalid bearer token");

    assert!(
        lines
            .iter()
            .all(|l| !l.contains("client-secret") && !l.contains("host-secret"))
    );
}

#[tokio::test]
async fn request_lines_are_logged_unless_disabled() {
    for (flags, expect_logged) in [(&[][..], true), (&["--no-log-requests"][..], false)] {
        let sandbox = Sandbox::new();
        let mut server = sandbox
            .launch()
            .args(&["--port", "0", "--token", "t0", "--host-token", "h0"])
            .args(flags)
            .spawn();
        let boot = server.boot().await;
        let response = http()
            .get(boot.url("/health"))
            .send()
            .await
            .expect("health");
        assert_eq!(response.status().as_u16(), 200);
        server.stop_cleanly().await;
        // Reading to the end of output after exit: no timing guess about when the
        // line would have been written.
        let lines = server.all_stdout().await;
        let logged = lines
            .iter()
            .any(|l| is_request_line(l, "GET", "/health", 200));
        assert_eq!(logged, expect_logged, "flags {flags:?}, stdout {lines:?}");
        if !expect_logged {
            assert!(!lines.iter().any(|l| l.starts_with("GET ")), "{lines:?}");
        }
    }
}

// ---------------------------------------------------------------------------------------
// Signals and start-up failures
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn sigterm_exits_promptly_and_the_port_is_free_again() {
    let sandbox = Sandbox::new();
    let ws = sandbox.ws();
    let fixed = [
        "--workspace",
        ws.as_str(),
        "--token",
        "t1",
        "--host-token",
        "h1",
    ];
    let mut first = sandbox.launch().args(&["--port", "0"]).args(&fixed).spawn();
    let boot = first.boot().await;
    // A keep-alive connection stays open in the client's pool: shutdown must not
    // wait for it to go idle on its own.
    let client = http();
    let response = client
        .get(boot.url("/health"))
        .send()
        .await
        .expect("health");
    assert_eq!(response.status().as_u16(), 200);
    first.stop_cleanly().await;

    // Restart at once on the very same port, as the orchestrator's upgrade does.
    let port = boot.addr.port().to_string();
    let mut second = sandbox
        .launch()
        .args(&["--port", &port])
        .args(&fixed)
        .spawn();
    let again = second.boot().await;
    assert_eq!(again.addr, boot.addr);
    let response = http()
        .get(again.url("/health"))
        .send()
        .await
        .expect("health");
    assert_eq!(response.status().as_u16(), 200);

    second.signal("INT");
    let status = second.wait_exit(EXIT_GRACE).await;
    assert!(status.success(), "SIGINT exits 0, got {status}");
}

#[tokio::test]
async fn sigterm_right_after_the_listening_line_is_graceful() {
    // A wrapper may stop the server the moment it has announced itself, so the signal
    // handlers must be installed before that line is printed. A late handler loses a
    // race, hence several quick rounds.
    let sandbox = Sandbox::new();
    for _ in 0..10 {
        let mut server = sandbox
            .launch()
            .args(&["--port", "0", "--token", "t", "--host-token", "h"])
            .spawn();
        let first = server.next_message().await;
        assert!(
            first.starts_with(LISTENING),
            "listening line first: {first:?}"
        );
        server.stop_cleanly().await;
    }
}

#[tokio::test]
async fn invalid_config_file_fails_and_names_the_file() {
    let sandbox = Sandbox::new();
    let config = sandbox.home.path().join("broken-server.json");
    std::fs::write(&config, "{\"port\": 8787,\n  \"host\": }\n").expect("write config");
    let config = path_str(&config);
    let mut server = sandbox
        .launch()
        .args(&["--config", &config, "--port", "0"])
        .spawn();
    let status = server.wait_exit(STEP_TIMEOUT).await;
    assert!(!status.success(), "invalid config must stop start-up");
    let stderr = server.stderr().await;
    assert!(stderr.contains(&config), "stderr names {config}: {stderr}");
}

#[tokio::test]
async fn invalid_token_store_fails_and_is_left_untouched() {
    const BROKEN: &str = "{\"schemaVersion\": 1, \"tokens\": [\n";
    // Default location, then the OPENWORK_TOKEN_STORE override.
    let sandbox = Sandbox::new();
    let default_store = sandbox.config_dir().join("tokens.json");
    let custom_store = sandbox.home.path().join("elsewhere").join("store.json");
    for (store, via_env) in [(&default_store, false), (&custom_store, true)] {
        std::fs::create_dir_all(store.parent().expect("parent")).expect("mkdir");
        std::fs::write(store, BROKEN).expect("write store");
        let mut launch =
            sandbox
                .launch()
                .args(&["--port", "0", "--token", "t2", "--host-token", "h2"]);
        if via_env {
            launch = launch.env("OPENWORK_TOKEN_STORE", &path_str(store));
        }
        let mut server = launch.spawn();
        let status = server.wait_exit(STEP_TIMEOUT).await;
        assert!(
            !status.success(),
            "invalid {} must stop start-up",
            store.display()
        );
        let stderr = server.stderr().await;
        assert!(
            stderr.contains(&path_str(store)),
            "stderr names {}: {stderr}",
            store.display()
        );
        assert_eq!(std::fs::read_to_string(store).expect("store"), BROKEN);
    }
}

#[tokio::test]
async fn busy_port_fails_with_a_message() {
    let sandbox = Sandbox::new();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port().to_string();
    let mut server = sandbox
        .launch()
        .args(&[
            "--host",
            "127.0.0.1",
            "--port",
            &port,
            "--token",
            "t",
            "--host-token",
            "h",
        ])
        .spawn();
    let status = server.wait_exit(STEP_TIMEOUT).await;
    assert!(!status.success(), "a busy port must stop start-up");
    let stderr = server.stderr().await;
    assert!(
        stderr.contains(&port),
        "stderr names the port {port}: {stderr}"
    );
    drop(taken);
}

// ---------------------------------------------------------------------------------------
// Clients
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn json_content_type_with_empty_body_is_not_parsed() {
    let sandbox = Sandbox::new();
    let ws = sandbox.ws();
    let mut server = sandbox
        .launch()
        .args(&[
            "--port",
            "0",
            "--workspace",
            &ws,
            "--token",
            "t3",
            "--host-token",
            "h3",
        ])
        .spawn();
    let boot = server.boot().await;
    let http = http();
    // `openwork files …` sends this header on every request, body or not.
    let (status, body) = get_json(
        http.get(boot.url("/workspaces"))
            .bearer_auth("t3")
            .header("Content-Type", "application/json"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["items"][0]["path"], ws.as_str());

    let (status, body) = get_json(
        http.delete(boot.url("/tokens/no-such-token"))
            .header(HOST_HEADER, "h3")
            .header("Content-Type", "application/json"),
    )
    .await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["code"], "token_not_found");
    server.stop_cleanly().await;
}

/// What the orchestrator passes and then expects to read back, byte for byte.
struct OrchestratorSetup {
    workspace: String,
    opencode_url: String,
    client_token: String,
    host_token: String,
    username: String,
    password: String,
}

impl OrchestratorSetup {
    fn secrets(&self) -> [&str; 4] {
        [
            &self.client_token,
            &self.host_token,
            &self.username,
            &self.password,
        ]
    }
}

/// Checks 1–4 of the orchestrator, in its order.
async fn orchestrator_checks(http: &reqwest::Client, boot: &Boot, setup: &OrchestratorSetup) {
    // 1. Readiness: every 250 ms for up to 10 s, any 2xx; 2. once more.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match http.get(boot.url("/health")).send().await {
            Ok(r) if r.status().is_success() => break,
            _ if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(250)).await,
            _ => panic!("/health never answered 2xx"),
        }
    }
    let again = http.get(boot.url("/health")).send().await.expect("health");
    assert!(again.status().is_success());

    // 3. The workspace as passed, with its OpenCode connection, exact strings.
    let (status, body) = get_json(
        http.get(boot.url("/workspaces"))
            .bearer_auth(&setup.client_token),
    )
    .await;
    assert_eq!(status, 200);
    let item = body["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|w| w["path"] == setup.workspace.as_str())
        .expect("an item whose path is the workspace as given");
    let opencode = &item["opencode"];
    assert_eq!(opencode["baseUrl"], setup.opencode_url.as_str());
    assert_eq!(opencode["directory"], setup.workspace.as_str());
    // Not assert_eq!: a failure must not print the credentials.
    assert!(
        opencode["username"] == setup.username.as_str(),
        "opencode.username differs"
    );
    assert!(
        opencode["password"] == setup.password.as_str(),
        "opencode.password differs"
    );

    // 4. Approvals with the host token.
    let response = http
        .get(boot.url("/approvals"))
        .header(HOST_HEADER, &setup.host_token)
        .send()
        .await
        .expect("approvals");
    assert!(
        response.status().is_success(),
        "GET /approvals: {}",
        response.status()
    );
}

/// The host orchestrator's start-up, checks, upgrade restart and owner token, with its
/// exact argv and environment (shared/notes/orchestrator.md).
#[tokio::test]
async fn orchestrator_startup_flow_survives_a_restart() {
    let sandbox = Sandbox::new();
    std::fs::write(
        sandbox.workspace.path().join("opencode.jsonc"),
        "{\"$schema\": \"https://opencode.ai/config.json\"}\n",
    )
    .expect("write opencode.jsonc");
    let setup = OrchestratorSetup {
        workspace: sandbox.ws(),
        // Nothing listens there: none of the checks reaches OpenCode.
        opencode_url: format!("http://127.0.0.1:{}", released_port()),
        client_token: random_hex(16),
        host_token: random_hex(16),
        username: random_hex(256),
        password: random_hex(256),
    };
    assert_eq!(setup.password.len(), 512);
    let port = released_port();
    let ws = setup.workspace.as_str();
    let launch = sandbox
        .launch()
        .args(&[
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--workspace",
            ws,
            "--approval",
            "manual",
            "--approval-timeout",
            "30000",
            "--cors",
            "*",
            "--opencode-base-url",
            &setup.opencode_url,
            "--opencode-directory",
            ws,
            "--log-format",
            "pretty",
        ])
        .env("OPENWORK_TOKEN", &setup.client_token)
        .env("OPENWORK_HOST_TOKEN", &setup.host_token)
        .env("OPENWORK_OPENCODE_BASE_URL", &setup.opencode_url)
        .env("OPENWORK_OPENCODE_DIRECTORY", ws)
        .env("OPENWORK_OPENCODE_USERNAME", &setup.username)
        .env("OPENWORK_OPENCODE_PASSWORD", &setup.password)
        .env(
            "OPENWORK_CONTROL_BASE_URL",
            &format!("http://127.0.0.1:{}", released_port()),
        )
        .env("OPENWORK_CONTROL_TOKEN", &random_hex(16))
        .env("OPENWORK_RUN_ID", "orchestrator-test-run")
        .env("OPENWORK_LOG_FORMAT", "pretty");
    let http = http();

    let mut first = launch.spawn();
    let boot = first.boot().await;
    assert_eq!(boot.addr.port(), port);
    assert_eq!(
        (boot.client_token.as_deref(), boot.host_token.as_deref()),
        (None, None)
    );
    orchestrator_checks(&http, &boot, &setup).await;

    // 5. The owner token, minted once.
    let (status, created) = get_json(
        http.post(boot.url("/tokens"))
            .header(HOST_HEADER, &setup.host_token)
            .json(&json!({"scope": "owner", "label": "OpenWork owner token"})),
    )
    .await;
    assert_eq!(status, 201);
    let owner_token = created["token"].as_str().expect("token").to_owned();
    let token_id = created["id"].as_str().expect("id").to_owned();
    assert!(owner_token.starts_with("owt_") && owner_token.len() == 36);
    assert_eq!(created["scope"], "owner");
    assert_eq!(created["label"], "OpenWork owner token");

    // Upgrade: SIGTERM, then the same argv and env on the same port.
    first.stop_cleanly().await;
    let mut printed = first.all_stdout().await;

    let store = sandbox.config_dir().join("tokens.json");
    let mode = std::fs::metadata(&store)
        .expect("tokens.json")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "tokens.json is private (D14)");
    let stored = std::fs::read_to_string(&store).expect("read tokens.json");
    assert!(
        !stored.contains(&owner_token),
        "tokens.json holds no plaintext token"
    );
    assert!(setup.secrets().iter().all(|s| !stored.contains(s)));
    let stored: Value = serde_json::from_str(&stored).expect("tokens.json is JSON");
    assert_eq!(stored["schemaVersion"], 1);
    let record = &stored["tokens"][0];
    assert_eq!(record["id"], token_id.as_str());
    assert_eq!(record["scope"], "owner");
    assert_eq!(record["hash"].as_str().map(str::len), Some(64));

    let mut second = launch.spawn();
    let again = second.boot().await;
    assert_eq!(again.addr.port(), port, "restarted on the same port");
    orchestrator_checks(&http, &again, &setup).await;

    // The owner token survived the restart and works as a bearer on host routes.
    let (status, listed) = get_json(http.get(again.url("/tokens")).bearer_auth(&owner_token)).await;
    assert_eq!(status, 200);
    assert!(
        listed["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|t| t["id"] == token_id.as_str() && t["scope"] == "owner"),
        "the owner token is still listed: {listed}"
    );
    let response = http
        .get(again.url("/approvals"))
        .bearer_auth(&owner_token)
        .send()
        .await
        .expect("approvals");
    assert!(response.status().is_success());

    second.stop_cleanly().await;
    printed.extend(second.all_stdout().await);
    for line in &printed {
        assert!(!line.contains(&owner_token), "the owner token was printed");
        assert!(
            setup.secrets().iter().all(|s| !line.contains(s)),
            "a secret was printed"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Approvals on the terminal
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn pending_approvals_are_printed_with_the_command_that_answers_them() {
    let sandbox = Sandbox::new();
    let ws = sandbox.ws();
    let mut server = sandbox
        .launch()
        .args(&["--port", "0", "--token", "t0", "--host-token", "h0"])
        .args(&[
            "--workspace",
            ws.as_str(),
            "--approval",
            "manual",
            "--no-log-requests",
        ])
        .spawn();
    let boot = server.boot().await;
    let (_, workspaces) = get_json(http().get(boot.url("/workspaces")).bearer_auth("t0")).await;
    let id = workspaces["activeId"].as_str().unwrap().to_owned();
    let patch = tokio::spawn(
        http()
            .patch(boot.url(&format!("/workspace/{id}/config")))
            .bearer_auth("t0")
            .json(&serde_json::json!({"opencode": {"model": "x"}}))
            .send(),
    );

    let mut allow = None;
    while allow.is_none() {
        let line = server.next_message().await;
        if let Some(command) = line.trim().strip_prefix("allow: ") {
            allow = Some(command.to_owned());
        } else if line.starts_with("Approval needed:") {
            assert!(
                line.contains("Patch workspace config (config.patch)"),
                "{line}"
            );
            assert!(line.contains(&id), "{line}");
        }
    }
    let command = allow.unwrap();
    assert!(command.contains("$OPENWORK_HOST_TOKEN"), "{command}");
    assert!(
        !server.seen.iter().any(|l| l.contains("h0")),
        "the host token is never printed"
    );
    // Answer exactly where the printed command points.
    let url = command.rsplit(' ').next().unwrap().to_owned();
    assert!(url.starts_with(&boot.url("/approvals/")), "{url}");
    let response = http()
        .post(url)
        .header("X-OpenWork-Host-Token", "h0")
        .json(&serde_json::json!({"reply": "allow"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let answered = patch.await.unwrap().unwrap();
    assert_eq!(answered.status().as_u16(), 200);
    server.stop_cleanly().await;
}
