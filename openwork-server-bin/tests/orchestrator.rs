//! The real OpenWork host orchestrator (`openwork` 0.18.1, npm package
//! `openwork-orchestrator-linux-x64`) running this binary as its sidecar, with the OpenCode
//! release it pins (1.17.11): `openwork serve --check --check-events`, its client commands
//! (`status`, `approvals list|reply`, `files …`) against a server it started, and a runtime
//! upgrade asked through our relay, after which it restarts us on the same port.
//!
//! `scripts/install-orchestrator` installs both into `.cache/`; without them these tests
//! fail (they never skip). Every process gets a temporary HOME and workspace and listens
//! on 127.0.0.1 only; every wait is bounded.

use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

use openwork_server_tests::opencode::{free_port, isolate_opencode};

const BIN: &str = env!("CARGO_BIN_EXE_openwork-server");
const ORCHESTRATOR_VERSION: &str = "0.18.1";
const OPENCODE_VERSION: &str = "1.17.11";
const HOST_HEADER: &str = "X-OpenWork-Host-Token";
/// Starts tried before giving up, when OpenCode (not our server) is what failed.
const ATTEMPTS: usize = 5;
/// Longest silence of a starting orchestrator before the start counts as stuck (OpenCode
/// can accept a connection at boot and never answer it).
const STALL: Duration = Duration::from_secs(60);
/// Longest run of one client command, and of a whole `--check` run.
const CLI_TIMEOUT: Duration = Duration::from_secs(60);
const CHECK_TIMEOUT: Duration = Duration::from_secs(180);
/// What the orchestrator prints once it has spawned our server: failures before it are
/// OpenCode's (retried), failures after it are ours.
const SERVER_SPAWNED: &str = "[openwork-server] Process spawned";

// ---------------------------------------------------------------------------------------
// What is installed
// ---------------------------------------------------------------------------------------

/// An installed program: `$var` if set, else `rel` under the repository root. Panics
/// with the install command when it is missing.
fn installed(var: &str, rel: &str) -> PathBuf {
    let path = std::env::var_os(var).map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(rel),
        PathBuf::from,
    );
    assert!(
        path.exists(),
        "{} is not installed: run ./scripts/install-orchestrator (./scripts/test-all does)",
        path.display()
    );
    path
}

fn orchestrator_bin() -> PathBuf {
    installed(
        "OPENWORK_ORCHESTRATOR_BIN",
        ".cache/orchestrator/bin/openwork",
    )
}

fn opencode_bin() -> PathBuf {
    installed(
        "ORCHESTRATOR_OPENCODE_BIN",
        &format!(".cache/opencode-{OPENCODE_VERSION}/bin/opencode"),
    )
}

/// A port the system says is free right now (the orchestrator wants a number).
fn port_is_free(port: u16) -> bool {
    std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
}

// ---------------------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------------------

/// A temporary HOME and workspace for one orchestrator run and its client commands.
struct Sandbox {
    home: TempDir,
    workspace: TempDir,
}

impl Sandbox {
    fn new() -> Self {
        Self {
            home: tempfile::Builder::new()
                .prefix("orch-home")
                .tempdir()
                .unwrap(),
            workspace: tempfile::Builder::new()
                .prefix("orch-ws")
                .tempdir()
                .unwrap(),
        }
    }

    fn ws(&self) -> String {
        self.workspace
            .path()
            .to_str()
            .expect("UTF-8 path")
            .to_owned()
    }

    /// `openwork <args>` with a cleared environment: only PATH, the temporary HOME and XDG
    /// folders, and OpenCode's network features off (as the proxy tests run OpenCode).
    fn command(&self, args: &[&str]) -> Command {
        let h = self.home.path();
        let mut command = Command::new(orchestrator_bin());
        isolate_opencode(&mut command, h);
        command
            .args(args)
            .current_dir(self.workspace.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        command
    }

    /// `openwork serve` for our binary and the pinned OpenCode, on `port`.
    fn serve(&self, port: u16, extra: &[&str]) -> Orchestrator {
        let ws = self.ws();
        let opencode = opencode_bin();
        let port = port.to_string();
        let mut args = vec![
            "serve",
            "--workspace",
            &ws,
            "--allow-external",
            "--openwork-server-bin",
            BIN,
            "--opencode-bin",
            opencode.to_str().unwrap(),
            "--openwork-port",
            &port,
            "--no-tui",
        ];
        args.extend_from_slice(extra);
        let mut command = self.command(&args);
        // A group of its own: whatever goes wrong, OpenCode and our server can be stopped
        // with it.
        command.process_group(0);
        let mut child = command.spawn().expect("spawn openwork serve");
        let pid = child.id().expect("pid") as i32;
        let (tx, lines) = mpsc::unbounded_channel();
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        for stream in [
            Box::new(stdout) as Box<dyn tokio::io::AsyncRead + Unpin + Send>,
            Box::new(stderr),
        ] {
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut reader = BufReader::new(stream).lines();
                while let Ok(Some(line)) = reader.next_line().await {
                    let _ = tx.send(line);
                }
            });
        }
        Orchestrator {
            child,
            pid,
            lines,
            log: Vec::new(),
        }
    }

    /// One client command, run to completion: exit code, stdout, stderr.
    async fn cli(&self, args: &[&str]) -> (i32, String, String) {
        let output = tokio::time::timeout(CLI_TIMEOUT, self.command(args).output())
            .await
            .unwrap_or_else(|_| panic!("openwork {args:?} did not finish"))
            .expect("run openwork");
        (
            output.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }

    /// A client command that must succeed and print JSON.
    async fn cli_json(&self, args: &[&str]) -> Value {
        let (code, stdout, stderr) = self.cli(args).await;
        assert_eq!(
            code, 0,
            "openwork {args:?}\nstdout: {stdout}\nstderr: {stderr}"
        );
        serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("openwork {args:?} printed no JSON ({e}): {stdout}"))
    }
}

/// A running `openwork serve` and everything it printed so far.
struct Orchestrator {
    child: Child,
    pid: i32,
    lines: mpsc::UnboundedReceiver<String>,
    log: Vec<String>,
}

/// How reading an orchestrator's output ended.
enum Progress {
    /// The awaited line arrived.
    Reached,
    /// Nothing new for [`STALL`], or the overall deadline passed.
    Stalled,
    /// The output ended (the orchestrator exited).
    Ended,
}

impl Orchestrator {
    /// Reads lines until `done` accepts one, the output ends, or it stalls.
    async fn read_until(&mut self, deadline: Instant, done: impl Fn(&str) -> bool) -> Progress {
        loop {
            let wait = STALL.min(deadline.saturating_duration_since(Instant::now()));
            match tokio::time::timeout(wait, self.lines.recv()).await {
                Ok(Some(line)) => {
                    let hit = done(&line);
                    self.log.push(line);
                    if hit {
                        return Progress::Reached;
                    }
                }
                Ok(None) => return Progress::Ended,
                Err(_) => return Progress::Stalled,
            }
        }
    }

    /// Whether our server had been started when things went wrong (in either log
    /// format).
    fn server_spawned(&self) -> bool {
        self.log.iter().any(|l| {
            l.contains(SERVER_SPAWNED)
                || (l.contains(r#""body":"Process spawned""#)
                    && l.contains(r#""service.component":"openwork-server""#))
        })
    }

    fn transcript(&self) -> String {
        self.log.join("\n")
    }

    fn kill(&self, signal: &str, target: String) {
        let _ = std::process::Command::new("kill")
            .args([format!("-{signal}"), "--".to_owned(), target])
            .stderr(Stdio::null())
            .status();
    }

    /// Takes in the lines printed so far.
    fn drain(&mut self) {
        while let Ok(line) = self.lines.try_recv() {
            self.log.push(line);
        }
    }

    /// SIGTERM to the orchestrator (it stops OpenCode and our server); its exit status,
    /// or `None` if it had to be killed.
    async fn stop(&mut self) -> Option<ExitStatus> {
        self.kill("TERM", self.pid.to_string());
        let status = tokio::time::timeout(Duration::from_secs(15), self.child.wait())
            .await
            .ok()
            .and_then(Result::ok);
        // Whatever is left of the group goes too.
        self.kill("KILL", format!("-{}", self.pid));
        // Let the readers pass on the last lines.
        tokio::time::sleep(Duration::from_millis(100)).await;
        self.drain();
        status
    }

    /// Waits for the orchestrator to exit by itself (bounded by `within`).
    async fn wait_exit(&mut self, within: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + within;
        match self.read_until(deadline, |_| false).await {
            Progress::Ended => {}
            Progress::Stalled | Progress::Reached => return None,
        }
        tokio::time::timeout(Duration::from_secs(10), self.child.wait())
            .await
            .ok()
            .and_then(Result::ok)
    }
}

impl Drop for Orchestrator {
    fn drop(&mut self) {
        self.kill("KILL", format!("-{}", self.pid));
    }
}

// ---------------------------------------------------------------------------------------
// The test
// ---------------------------------------------------------------------------------------

/// One test, two runs in turn rather than two tests side by side: the orchestrator allows
/// OpenCode's `--version` probe 4 s, and the probe takes over a second of CPU, so two
/// orchestrators starting at once on a busy machine make each other fail.
#[tokio::test(flavor = "multi_thread")]
async fn the_orchestrator_runs_our_server_and_its_commands_work_against_it() {
    serve_check_with_events_accepts_our_server().await;
    client_commands_approvals_files_and_a_runtime_upgrade_work_against_our_server().await;
}

/// Reports a start that failed before our server was spawned, with how long OpenCode's
/// version probe takes right now (the usual cause), and waits a little longer each time
/// so a burst of load can pass.
async fn before_retry(attempt: usize, transcript: &str) {
    let started = Instant::now();
    let probe = Command::new(opencode_bin())
        .arg("--version")
        .env("OPENCODE_DISABLE_AUTOUPDATE", "1")
        .env("OPENCODE_DISABLE_MODELS_FETCH", "1")
        .stdin(Stdio::null())
        .output()
        .await;
    eprintln!(
        "attempt {attempt}: the orchestrator stopped before starting our server; \
         `opencode --version` takes {:.1} s here (it allows 4 s); retrying:\n{transcript}",
        started.elapsed().as_secs_f64(),
    );
    drop(probe);
    tokio::time::sleep(Duration::from_secs(3 * attempt as u64)).await;
}

// ---------------------------------------------------------------------------------------
// `openwork serve --check --check-events`
// ---------------------------------------------------------------------------------------

/// `--check --check-events`: it checks our server as it always does, then OpenCode's
/// sessions and events, and stops everything.
async fn serve_check_with_events_accepts_our_server() {
    let mut failures = Vec::new();
    for attempt in 1..=ATTEMPTS {
        let sandbox = Sandbox::new();
        let port = free_port();
        let mut run = sandbox.serve(port, &["--check", "--check-events", "--log-format", "json"]);
        let status = run.wait_exit(CHECK_TIMEOUT).await;
        if status.is_none() {
            run.stop().await;
        }
        let transcript = run.transcript();
        if status.is_some_and(|s| s.success()) {
            check_records(&run.log, port);
            return;
        }
        assert!(
            !run.server_spawned(),
            "openwork serve --check failed with our server running (attempt {attempt}, exit {status:?}):\n{transcript}"
        );
        before_retry(attempt, &transcript).await;
        failures.push(transcript);
    }
    panic!(
        "openwork serve --check never got to our server in {ATTEMPTS} attempts:\n{}",
        failures.join("\n----\n")
    );
}

/// What a successful `--check --log-format json` run printed: every line a JSON log
/// record; our own records passed through as we wrote them (our resource, not wrapped in
/// the orchestrator's); each check it makes of us answered; the checks passed.
fn check_records(log: &[String], port: u16) {
    let transcript = log.join("\n");
    let records: Vec<Value> = log
        .iter()
        .map(|line| {
            serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not a JSON record ({e}): {line}\n{transcript}"))
        })
        .collect();
    let ours: Vec<&Value> = records
        .iter()
        .filter(|r| r["resource"]["service.name"] == "openwork-server")
        .collect();
    for record in &ours {
        assert!(
            record["timeUnixNano"].is_string() && record["severityText"].is_string(),
            "{record}"
        );
        assert_eq!(
            record["resource"]["service.version"],
            env!("CARGO_PKG_VERSION")
        );
    }
    let said = |body: &str| ours.iter().any(|r| r["body"] == body);
    assert!(
        said(&format!(
            "OpenWork server listening on http://127.0.0.1:{port}"
        )),
        "{transcript}"
    );
    for (method, path, status) in [
        ("GET", "/health", 200),
        ("GET", "/workspaces", 200),
        ("GET", "/approvals", 200),
        ("POST", "/tokens", 201),
    ] {
        let answered = ours.iter().any(|r| {
            let a = &r["attributes"];
            a["method"] == method && a["path"] == path && a["status"] == status
        });
        assert!(
            answered,
            "no {method} {path} {status} from us:\n{transcript}"
        );
    }
    let config_read = ours.iter().any(|r| {
        let path = r["attributes"]["path"].as_str().unwrap_or_default();
        path.starts_with("/workspace/ws_")
            && path.ends_with("/config")
            && r["attributes"]["status"] == 200
    });
    assert!(config_read, "no workspace config read:\n{transcript}");
    let checks_ok = records.iter().any(|r| {
        r["body"] == "Checks ok" && r["attributes"]["service.component"] == "openwork-orchestrator"
    });
    assert!(checks_ok, "{transcript}");
    // It stopped our server on its way out: the port is free again.
    assert!(port_is_free(port), "port {port} still taken");
}

// ---------------------------------------------------------------------------------------
// A served run: client commands, approvals, runtime relay and upgrade
// ---------------------------------------------------------------------------------------

/// A running `openwork serve --json` and what it printed about itself.
struct Served {
    sandbox: Sandbox,
    run: Orchestrator,
    /// `http://127.0.0.1:<port>` of our server.
    url: String,
    port: u16,
    /// The `--json` summary: tokens, versions, binaries.
    summary: Value,
    http: reqwest::Client,
}

impl Served {
    /// Starts `openwork serve --json --approval manual`, retrying starts where OpenCode,
    /// not our server, failed to come up.
    async fn start() -> Self {
        let mut failures = Vec::new();
        for attempt in 1..=ATTEMPTS {
            let sandbox = Sandbox::new();
            let port = free_port();
            let mut run = sandbox.serve(port, &["--json", "--approval", "manual"]);
            let deadline = Instant::now() + CHECK_TIMEOUT;
            // The summary is pretty-printed JSON between a `{` line and a `}` line.
            let opened = run.read_until(deadline, |l| l == "{").await;
            let closed = match opened {
                Progress::Reached => run.read_until(deadline, |l| l == "}").await,
                other => other,
            };
            if let Progress::Reached = closed {
                let start = run.log.iter().rposition(|l| l == "{").unwrap();
                let summary: Value = serde_json::from_str(&run.log[start..].join("\n"))
                    .unwrap_or_else(|e| panic!("bad summary ({e}):\n{}", run.transcript()));
                return Self {
                    sandbox,
                    run,
                    url: format!("http://127.0.0.1:{port}"),
                    port,
                    summary,
                    http: reqwest::Client::builder()
                        .no_proxy()
                        .timeout(CLI_TIMEOUT)
                        .build()
                        .unwrap(),
                };
            }
            run.stop().await;
            let transcript = run.transcript();
            assert!(
                !run.server_spawned(),
                "openwork serve failed with our server running (attempt {attempt}):\n{transcript}"
            );
            before_retry(attempt, &transcript).await;
            failures.push(transcript);
        }
        panic!(
            "openwork serve never got to our server in {ATTEMPTS} attempts:\n{}",
            failures.join("\n----\n")
        );
    }

    fn token(&self, key: &str) -> String {
        self.summary["openwork"][key]
            .as_str()
            .unwrap_or_else(|| panic!("no openwork.{key} in {}", self.summary))
            .to_owned()
    }

    /// Arguments every `files` command takes.
    fn files_args<'a>(&'a self, token: &'a str, rest: &[&'a str]) -> Vec<&'a str> {
        let mut args = vec!["files"];
        args.extend_from_slice(rest);
        args.extend_from_slice(&[
            "--openwork-url",
            &self.url,
            "--openwork-token",
            token,
            "--json",
        ]);
        args
    }

    async fn approvals_list(&self, host_token: &str) -> Vec<Value> {
        let list = self
            .sandbox
            .cli_json(&[
                "approvals",
                "list",
                "--openwork-url",
                &self.url,
                "--host-token",
                host_token,
            ])
            .await;
        list["items"].as_array().cloned().expect("items")
    }

    /// Waits for the one pending approval (through `openwork approvals list`), answers it
    /// with `openwork approvals reply`, and returns it.
    async fn answer_next_approval(&self, host_token: &str, allow: bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        let pending = loop {
            let items = self.approvals_list(host_token).await;
            if let Some(first) = items.first() {
                assert_eq!(items.len(), 1, "one request at a time: {items:?}");
                break first.clone();
            }
            assert!(Instant::now() < deadline, "no approval request appeared");
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        let id = pending["id"].as_str().expect("approval id");
        let reply = self
            .sandbox
            .cli_json(&[
                "approvals",
                "reply",
                id,
                if allow { "--allow" } else { "--deny" },
                "--openwork-url",
                &self.url,
                "--host-token",
                host_token,
            ])
            .await;
        assert_eq!(reply, json!({"ok": true, "allowed": allow}));
        pending
    }

    /// A client command that needs an approval: started, approved through the CLI, then
    /// awaited. Returns the approval request and the command's JSON output.
    async fn files_approved(&self, token: &str, host_token: &str, rest: &[&str]) -> (Value, Value) {
        let args: Vec<String> = self
            .files_args(token, rest)
            .into_iter()
            .map(str::to_owned)
            .collect();
        let mut command = self
            .sandbox
            .command(&args.iter().map(String::as_str).collect::<Vec<_>>());
        let child = command.spawn().expect("spawn openwork files");
        let pending = self.answer_next_approval(host_token, true).await;
        let output = tokio::time::timeout(CLI_TIMEOUT, child.wait_with_output())
            .await
            .expect("openwork files finished")
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "openwork {args:?}: {stdout}");
        (pending, serde_json::from_str(&stdout).expect("JSON output"))
    }
}

fn assert_file(sandbox: &Sandbox, rel: &str, bytes: &[u8]) {
    let path = sandbox.workspace.path().join(rel);
    let on_disk = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(on_disk, bytes, "{rel}");
}

/// `serve --json`: its client commands against our server, approvals answered through
/// it, the runtime relay to its control server, and an upgrade that restarts us.
async fn client_commands_approvals_files_and_a_runtime_upgrade_work_against_our_server() {
    let mut served = Served::start().await;
    let s = &served;
    let (client, owner, host) = (
        s.token("token"),
        s.token("ownerToken"),
        s.token("hostToken"),
    );
    assert_eq!(s.summary["openwork"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(
        s.summary["diagnostics"]["binaries"]["openworkServer"]["path"],
        BIN
    );

    // `openwork status` reads our /health.
    let (code, stdout, _) = s.sandbox.cli(&["status", "--openwork-url", &s.url]).await;
    assert_eq!(code, 0);
    assert!(
        stdout.contains(&format!("OpenWork server: ok ({})", s.url)),
        "{stdout}"
    );

    // Nothing pending yet.
    assert!(s.approvals_list(&host).await.is_empty());
    let workspaces: Value = s
        .http
        .get(format!("{}/workspaces", s.url))
        .bearer_auth(&client)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let workspace_id = workspaces["items"][0]["id"].as_str().unwrap().to_owned();

    // A file session through the CLI.
    let session = s
        .sandbox
        .cli_json(&s.files_args(
            &client,
            &["session", "create", "--workspace-id", &workspace_id],
        ))
        .await;
    let sid = session["session"]["id"]
        .as_str()
        .expect("session id")
        .to_owned();
    assert_eq!(session["session"]["workspaceId"], workspace_id.as_str());
    assert_eq!(session["session"]["canWrite"], true);

    // An HTTP write waits for the host: denied through `approvals reply --deny`, the HTTP
    // caller gets 403 and nothing is written; allowed, it gets 200 and the bytes land.
    let write_batch = |text: &'static str| {
        let request = s
            .http
            .post(format!("{}/files/sessions/{sid}/write-batch", s.url))
            .bearer_auth(&client)
            .json(&json!({"writes": [{"path": "http/note.txt",
                                       "contentBase64": text}]}));
        tokio::spawn(async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap())
        })
    };
    // "denied\n" and "allowed\n".
    let http_write = write_batch("ZGVuaWVkCg==");
    let pending = s.answer_next_approval(&host, false).await;
    assert_eq!(pending["action"], "workspace.files.session.write");
    assert_eq!(pending["workspaceId"], workspace_id.as_str());
    assert_eq!(
        pending["paths"],
        json!([format!("{}/http/note.txt", s.sandbox.ws())])
    );
    let (status, body) = http_write.await.unwrap();
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["code"], "write_denied");
    assert!(!s.sandbox.workspace.path().join("http/note.txt").exists());
    let http_write = write_batch("YWxsb3dlZAo=");
    s.answer_next_approval(&host, true).await;
    let (status, body) = http_write.await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["items"][0]["ok"], true);
    assert_file(&s.sandbox, "http/note.txt", b"allowed\n");

    // `files write` (write-batch), approved through the CLI.
    let (pending, written) = s
        .files_approved(
            &client,
            &host,
            &[
                "write",
                &sid,
                "--path",
                "docs/a.txt",
                "--content",
                "héllo\n",
            ],
        )
        .await;
    assert_eq!(pending["action"], "workspace.files.session.write");
    let item = &written["items"][0];
    assert_eq!(
        (item["ok"].as_bool(), item["bytes"].as_u64()),
        (Some(true), Some(7))
    );
    let revision = item["revision"].as_str().expect("revision").to_owned();
    assert_file(&s.sandbox, "docs/a.txt", "héllo\n".as_bytes());

    // A stale `--if-match` is a per-item conflict: printed, exit 0, nothing written, and
    // no approval asked for.
    let stale = s
        .sandbox
        .cli_json(&s.files_args(
            &client,
            &[
                "write",
                &sid,
                "--path",
                "docs/a.txt",
                "--content",
                "x",
                "--if-match",
                "1:1",
            ],
        ))
        .await;
    assert_eq!(stale["items"][0]["ok"], false, "{stale}");
    assert_eq!(stale["items"][0]["code"], "conflict", "{stale}");
    assert_eq!(
        stale["items"][0]["currentRevision"],
        revision.as_str(),
        "{stale}"
    );
    assert_file(&s.sandbox, "docs/a.txt", "héllo\n".as_bytes());

    // `files read` (read-batch): the bytes as base64, a missing file as a per-item error.
    let read = s
        .sandbox
        .cli_json(&s.files_args(&client, &["read", &sid, "--paths", "docs/a.txt,nope.txt"]))
        .await;
    assert_eq!(read["items"][0]["contentBase64"], "aMOpbGxvCg==");
    assert_eq!(read["items"][0]["revision"], revision.as_str());
    assert_eq!(read["items"][1]["ok"], false);
    assert_eq!(read["items"][1]["code"], "file_not_found");

    // `files catalog` and `files events` see the writes.
    let catalog = s
        .sandbox
        .cli_json(&s.files_args(&client, &["catalog", &sid]))
        .await;
    let paths: Vec<&str> = catalog["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["path"].as_str())
        .collect();
    for path in ["docs", "docs/a.txt", "http/note.txt", "opencode.jsonc"] {
        assert!(paths.contains(&path), "{path} missing from {catalog}");
    }
    let events = s
        .sandbox
        .cli_json(&s.files_args(&client, &["events", &sid]))
        .await;
    assert!(
        events["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["type"] == "write" && e["path"] == "docs/a.txt"),
        "{events}"
    );

    // Ops: mkdir, rename, delete, each approved through the CLI; checked on disk.
    let (pending, done) = s
        .files_approved(&client, &host, &["mkdir", &sid, "--path", "made/deep"])
        .await;
    assert_eq!(pending["action"], "workspace.files.session.ops");
    assert_eq!(done["items"][0]["ok"], true, "{done}");
    assert!(s.sandbox.workspace.path().join("made/deep").is_dir());
    let (_, done) = s
        .files_approved(
            &client,
            &host,
            &["rename", &sid, "--from", "docs/a.txt", "--to", "made/b.txt"],
        )
        .await;
    assert_eq!(done["items"][0]["ok"], true, "{done}");
    assert!(!s.sandbox.workspace.path().join("docs/a.txt").exists());
    assert_file(&s.sandbox, "made/b.txt", "héllo\n".as_bytes());
    let (_, done) = s
        .files_approved(
            &client,
            &host,
            &["delete", &sid, "--path", "made", "--recursive"],
        )
        .await;
    assert_eq!(done["items"][0]["ok"], true, "{done}");
    assert!(!s.sandbox.workspace.path().join("made").exists());

    // Renew, close; a closed session is an HTTP error: exit 1 with our message.
    let renewed = s
        .sandbox
        .cli_json(&s.files_args(&client, &["session", "renew", &sid, "--ttl-seconds", "120"]))
        .await;
    assert_eq!(renewed["session"]["id"], sid.as_str());
    let closed = s
        .sandbox
        .cli_json(&s.files_args(&client, &["session", "close", &sid]))
        .await;
    assert_eq!(closed, json!({"ok": true}));
    let (code, stdout, stderr) = s
        .sandbox
        .cli(&s.files_args(&client, &["catalog", &sid]))
        .await;
    assert_eq!(code, 1);
    assert!(
        format!("{stdout}{stderr}").contains("File session not found"),
        "{stdout}{stderr}"
    );

    // The runtime relay reaches the orchestrator's own control server.
    let versions = get_json(s, "/runtime/versions", &client).await;
    assert_eq!(versions["orchestrator"]["version"], ORCHESTRATOR_VERSION);
    let ours = versions["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|svc| svc["name"] == "openwork-server")
        .cloned()
        .expect("openwork-server in the versions");
    assert_eq!(
        (ours["path"].as_str(), ours["running"].as_bool()),
        (Some(BIN), Some(true))
    );
    let mounted = get_json(s, &format!("/w/{workspace_id}/runtime/versions"), &client).await;
    assert_eq!(mounted["orchestrator"]["version"], ORCHESTRATOR_VERSION);

    // An upgrade of our server through the relay: the orchestrator stops us (SIGTERM) and
    // starts us again on the same port, with its checks; the owner token it issued at
    // first start still works afterwards (token store on disk).
    let asked = Instant::now();
    let started = s
        .http
        .post(format!("{}/runtime/upgrade", s.url))
        .header(HOST_HEADER, &host)
        .json(&json!({"services": ["openwork-server"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(started.status().as_u16(), 202);
    let started: Value = started.json().await.unwrap();
    assert_eq!(
        (started["ok"].as_bool(), started["started"].as_bool()),
        (Some(true), Some(true))
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    let upgrade = loop {
        // While we restart, requests fail or answer from the old process; keep asking.
        if let Ok(response) = s
            .http
            .get(format!("{}/runtime/versions", s.url))
            .bearer_auth(&client)
            .send()
            .await
        {
            if let Ok(body) = response.json::<Value>().await {
                let upgrade = body["upgrade"].clone();
                if upgrade["status"] != "running" && upgrade["finishedAt"].is_number() {
                    break upgrade;
                }
            }
        }
        assert!(Instant::now() < deadline, "the upgrade did not finish");
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(upgrade["status"], "idle", "{upgrade}");
    assert_eq!(upgrade["error"], Value::Null, "{upgrade}");
    // A new process: it has been up for less time than since the upgrade was asked for.
    let uptime = get_json(s, "/health", &client).await["uptimeMs"]
        .as_u64()
        .unwrap();
    assert!(
        u128::from(uptime) <= asked.elapsed().as_millis(),
        "uptime {uptime} ms: the server was not restarted"
    );
    let tokens = s
        .http
        .get(format!("{}/tokens", s.url))
        .bearer_auth(&owner)
        .send()
        .await
        .unwrap();
    assert_eq!(
        tokens.status().as_u16(),
        200,
        "the owner token survives the restart"
    );

    // The orchestrator says so too: our server was spawned a second time.
    served.run.drain();
    let spawns = served
        .run
        .log
        .iter()
        .filter(|l| l.contains(SERVER_SPAWNED))
        .count();
    assert_eq!(spawns, 2, "spawned once, then again for the upgrade");

    // Stopping the orchestrator stops our server: it exits cleanly and frees the port.
    let port = served.port;
    let status = served.run.stop().await;
    assert!(
        status.is_some_and(|s| s.success()),
        "openwork did not stop cleanly: {status:?}\n{}",
        served.run.transcript()
    );
    assert!(port_is_free(port), "port {port} still taken");
}

async fn get_json(s: &Served, path: &str, token: &str) -> Value {
    let response = s
        .http
        .get(format!("{}{path}", s.url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200, "GET {path}");
    response.json().await.unwrap()
}
