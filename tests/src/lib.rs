//! Test harness for the black-box tests: boots the real server on `127.0.0.1:0` with a
//! temporary HOME and workspace, and gives tests an HTTP client and the tokens.

use openwork_server_core::{CliOverrides, EnvSource, Server};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use tempfile::TempDir;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub mod opencode;

pub use openwork_server_core as core;
pub use reqwest;
pub use serde_json::{Value, json};

/// The client token every harness server starts with (unless a test overrides it).
pub const CLIENT_TOKEN: &str = "client-tok";
/// The host token every harness server starts with (unless a test overrides it).
pub const HOST_TOKEN: &str = "host-tok";

/// How to start a test server. Defaults: one workspace (a fresh temp folder), tokens
/// [`CLIENT_TOKEN`] and [`HOST_TOKEN`] given as overrides, approval `auto`, no request log.
#[derive(Debug, Default)]
pub struct Options {
    /// Extra environment variables (the process environment is never read).
    pub env: Vec<(String, String)>,
    /// Overrides; fields left `None` take the harness defaults above.
    pub cli: CliOverrides,
    /// Contents of `server.json` in the temp HOME's `.config/openwork/`, if any.
    pub config_file: Option<Value>,
    /// Start without the default workspace.
    pub no_workspace: bool,
    /// Use these tokens from the environment/file instead of the harness defaults.
    pub keep_token_layers: bool,
}

/// A running server plus its temp folders. Dropping it shuts the server down.
#[derive(Debug)]
pub struct TestServer {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// The bound address.
    pub addr: SocketAddr,
    /// The temp HOME.
    pub home: TempDir,
    /// The default workspace folder (exists even with `no_workspace`).
    pub workspace: TempDir,
    /// The client token in effect.
    pub client_token: String,
    /// The host token in effect.
    pub host_token: String,
    /// Approvals of the running server, to drive the gate directly.
    pub approvals: openwork_server_core::Approvals,
    /// The resolved configuration.
    pub config: openwork_server_core::ServerConfig,
    /// HTTP client (no proxy, keep-alive).
    pub http: reqwest::Client,
    shutdown: CancellationToken,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl TestServer {
    /// Starts a server with the default options.
    pub async fn start() -> Self {
        Self::start_with(Options::default()).await
    }

    /// Starts a server with `options`.
    pub async fn start_with(options: Options) -> Self {
        let home = tempfile::tempdir().expect("temp home");
        let workspace = tempfile::tempdir().expect("temp workspace");
        Self::start_in(options, home, workspace).await
    }

    /// Starts a server reusing existing folders (e.g. to restart on the same HOME).
    pub async fn start_in(options: Options, home: TempDir, workspace: TempDir) -> Self {
        let config_path = home.path().join(".config/openwork/server.json");
        if let Some(config) = &options.config_file {
            std::fs::create_dir_all(config_path.parent().unwrap()).unwrap();
            std::fs::write(&config_path, serde_json::to_vec_pretty(config).unwrap()).unwrap();
        }
        let mut env: Vec<(String, String)> =
            vec![("HOME".into(), home.path().to_string_lossy().into_owned())];
        env.extend(options.env.iter().cloned());
        let mut cli = options.cli.clone();
        if !options.keep_token_layers {
            cli.token.get_or_insert_with(|| CLIENT_TOKEN.into());
            cli.host_token.get_or_insert_with(|| HOST_TOKEN.into());
        }
        cli.host.get_or_insert_with(|| "127.0.0.1".into());
        cli.port.get_or_insert(0);
        cli.log_requests.get_or_insert(false);
        cli.approval_mode
            .get_or_insert(openwork_server_core::ApprovalMode::Auto);
        if !options.no_workspace && cli.workspaces.is_empty() && options.config_file.is_none() {
            cli.workspaces
                .push(workspace.path().to_string_lossy().into_owned());
        }
        let server = Server::builder()
            .env(EnvSource::fixed(env))
            .cli(cli)
            .current_dir(home.path())
            .build()
            .expect("server builds");
        let config = server.config().clone();
        let approvals = server.approvals().clone();
        let shutdown = server.shutdown_token();
        let bound = server.bind().await.expect("server binds");
        let addr = bound.local_addr();
        let task = tokio::spawn(bound.serve());
        Self {
            base: format!("http://{addr}"),
            addr,
            client_token: config.token.expose().to_owned(),
            host_token: config.host_token.expose().to_owned(),
            home,
            workspace,
            approvals,
            config,
            http: reqwest::Client::builder().no_proxy().build().unwrap(),
            shutdown,
            task: Some(task),
        }
    }

    /// The default workspace path as the server reports it.
    pub fn workspace_path(&self) -> &Path {
        self.workspace.path()
    }

    /// The id of the first configured workspace.
    pub fn workspace_id(&self) -> String {
        self.config.workspaces[0].id.clone()
    }

    /// `base + path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A request with no credentials.
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, self.url(path))
    }

    /// A request with `Authorization: Bearer <token>`.
    pub fn with_bearer(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
    ) -> reqwest::RequestBuilder {
        self.request(method, path).bearer_auth(token)
    }

    /// A request with the client token.
    pub fn client(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.with_bearer(method, path, &self.client_token)
    }

    /// A request with the host token header.
    pub fn host(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.request(method, path)
            .header("X-OpenWork-Host-Token", &self.host_token)
    }

    /// Issues a scoped token through `POST /tokens` and returns it.
    pub async fn issue_token(&self, scope: &str) -> String {
        let response = self
            .host(reqwest::Method::POST, "/tokens")
            .json(&json!({ "scope": scope }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201, "POST /tokens");
        let body: Value = response.json().await.unwrap();
        body["token"].as_str().unwrap().to_owned()
    }

    /// Shuts the server down and waits for it; returns the folders for a restart.
    pub async fn stop(mut self) -> (TempDir, TempDir) {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            task.await.expect("serve task").expect("serve result");
        }
        let home = std::mem::replace(&mut self.home, tempfile::tempdir().unwrap());
        let workspace = std::mem::replace(&mut self.workspace, tempfile::tempdir().unwrap());
        (home, workspace)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Sends a request and returns its status and JSON body (`Null` when the body is empty or
/// not JSON).
pub async fn send(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.expect("request sent");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Path of a file inside a folder, as a `PathBuf`.
pub fn join(dir: &Path, rel: &str) -> PathBuf {
    dir.join(rel)
}

/// A response taken apart: status, headers and the body as text.
#[derive(Debug)]
pub struct Reply {
    /// HTTP status code.
    pub status: u16,
    /// Response headers.
    pub headers: reqwest::header::HeaderMap,
    /// The body as text (empty when there is none).
    pub text: String,
}

impl Reply {
    /// The body parsed as JSON (`Null` when empty or not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }

    /// A header's value as text, if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Sends a request and keeps status, headers and body text.
pub async fn send_full(request: reqwest::RequestBuilder) -> Reply {
    let response = request.send().await.expect("request sent");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap_or_default();
    Reply {
        status,
        headers,
        text,
    }
}

/// SHA-256 hex of `text`, as token hashes are reported.
pub fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}

/// The error body `{"code","message"}` the contract specifies for an error without details.
pub fn error_body(code: &str, message: &str) -> Value {
    json!({ "code": code, "message": message })
}

/// The keys of a JSON object, in order (to check key order on the wire).
pub fn keys(value: &Value) -> Vec<&str> {
    value
        .as_object()
        .expect("a JSON object")
        .keys()
        .map(String::as_str)
        .collect()
}

/// Options for a server whose writes wait for a host reply (or `timeout_ms`).
pub fn manual_approval(timeout_ms: u64) -> Options {
    Options {
        cli: CliOverrides {
            approval_mode: Some(openwork_server_core::ApprovalMode::Manual),
            approval_timeout_ms: Some(timeout_ms),
            ..CliOverrides::default()
        },
        ..Options::default()
    }
}

/// A file's text; panics when it cannot be read.
pub fn read_text(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

impl TestServer {
    /// The first pending approval request, waiting (bounded) for one to appear.
    pub async fn wait_for_pending(&self) -> openwork_server_core::ApprovalRequest {
        for _ in 0..500 {
            if let Some(request) = self.approvals.pending().into_iter().next() {
                return request;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("no approval request appeared");
    }
}

/// Options for a server in read-only mode.
pub fn read_only() -> Options {
    Options {
        cli: CliOverrides {
            read_only: Some(true),
            ..CliOverrides::default()
        },
        ..Options::default()
    }
}

impl TestServer {
    /// The default workspace's audit entries, newest first (`GET /workspace/:id/audit`).
    pub async fn audit(&self) -> Vec<Value> {
        let path = format!("/workspace/{}/audit", self.workspace_id());
        let (status, body) = send(self.client(reqwest::Method::GET, &path)).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        body["items"].as_array().cloned().unwrap_or_default()
    }
}
