//! Shared by the headless and the real-dialog tests: a mock Tauri app with the plugin, a
//! temp HOME and workspace, IPC calls and HTTP helpers.

#![allow(dead_code, missing_docs)]

use openwork_server_core::{ApprovalMode, EnvSource};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{
    INVOKE_KEY, MockRuntime, get_ipc_response, mock_builder, mock_context, noop_assets,
};
use tauri::utils::acl::ExecutionContext;
use tauri::webview::InvokeRequest;
use tauri::{App, WebviewWindow, WebviewWindowBuilder};
use tauri_plugin_openwork::{Builder, OpenworkExt, ServerInfo};
use tempfile::TempDir;

/// Every command the plugin registers.
pub const COMMANDS: [&str; 5] = [
    "server_info",
    "list_approvals",
    "respond_approval",
    "create_token",
    "restart",
];

/// The client token of test apps.
pub const CLIENT_TOKEN: &str = "client-tok";
/// The host token of test apps.
pub const HOST_TOKEN: &str = "host-tok";

/// A temp HOME (config file, token store) and one workspace folder.
pub struct Folders {
    pub home: TempDir,
    pub workspace: TempDir,
}

impl Folders {
    pub fn new() -> Self {
        Self {
            home: tempfile::tempdir().unwrap(),
            workspace: tempfile::tempdir().unwrap(),
        }
    }

    /// `~/.config/openwork/server.json` of the temp HOME.
    pub fn config_path(&self) -> PathBuf {
        self.home.path().join(".config/openwork/server.json")
    }

    /// A plugin builder on these folders: port 0, fixed tokens, manual approvals, the
    /// process environment never read.
    pub fn plugin(&self, timeout: Duration) -> Builder {
        Builder::new()
            .env(EnvSource::fixed([(
                "HOME",
                self.home.path().to_string_lossy().into_owned(),
            )]))
            .current_dir(self.home.path())
            .host("127.0.0.1")
            .port(0)
            .token(CLIENT_TOKEN)
            .host_token(HOST_TOKEN)
            .approval_mode(ApprovalMode::Manual)
            .approval_timeout(timeout)
            .workspace(self.workspace.path().to_string_lossy().into_owned())
    }
}

/// A mock app whose context allows the given plugin commands from local pages.
pub fn app_allowing(
    plugins: Vec<tauri::plugin::TauriPlugin<MockRuntime>>,
    commands: &[&str],
    context: ExecutionContext,
) -> tauri::Result<App<MockRuntime>> {
    let mut ctx = mock_context(noop_assets());
    for command in commands {
        ctx.runtime_authority_mut()
            .__allow_command(format!("plugin:openwork|{command}"), context.clone());
    }
    let mut builder = mock_builder();
    for plugin in plugins {
        builder = builder.plugin(plugin);
    }
    builder.build(ctx)
}

/// A mock app with the plugin and every command allowed for local pages.
pub fn app_with(plugin: Builder) -> App<MockRuntime> {
    app_allowing(vec![plugin.build()], &COMMANDS, ExecutionContext::Local).expect("app builds")
}

/// The app's main window (a mock webview).
pub fn window(app: &App<MockRuntime>) -> WebviewWindow<MockRuntime> {
    WebviewWindowBuilder::new(app, "main", Default::default())
        .build()
        .unwrap()
}

/// The URL of the app's own pages in a mock app.
pub const LOCAL_URL: &str = "tauri://localhost";

/// Invokes `plugin:openwork|<command>` from a page at `url`, as the frontend's `invoke` does.
pub fn invoke_from(
    window: &WebviewWindow<MockRuntime>,
    url: &str,
    command: &str,
    args: Value,
) -> Result<Value, Value> {
    let request = InvokeRequest {
        cmd: format!("plugin:openwork|{command}"),
        callback: CallbackFn(0),
        error: CallbackFn(1),
        url: url.parse().unwrap(),
        body: InvokeBody::Json(args),
        headers: Default::default(),
        invoke_key: INVOKE_KEY.to_owned(),
    };
    // The IPC answer is awaited synchronously; async commands run on Tauri's runtime.
    tokio::task::block_in_place(|| get_ipc_response(window, request))
        .map(|body| body.deserialize::<Value>().unwrap())
}

/// Invokes a command from the app's own pages.
pub fn invoke(
    window: &WebviewWindow<MockRuntime>,
    command: &str,
    args: Value,
) -> Result<Value, Value> {
    invoke_from(window, LOCAL_URL, command, args)
}

/// The server info as Rust sees it (with the host token).
pub fn info(app: &App<MockRuntime>) -> ServerInfo {
    app.openwork().info(true).unwrap()
}

/// An HTTP client that never uses a proxy.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// `POST /workspace/:id/skills` as the collaborator: a write that asks for approval.
pub async fn write_skill(info: &ServerInfo, name: &str) -> reqwest::Response {
    http()
        .post(format!(
            "{}/workspace/{}/skills",
            info.base_url, info.workspace_ids[0]
        ))
        .bearer_auth(&info.token)
        .json(&json!({"name": name, "content": "Body", "description": "Demo"}))
        .send()
        .await
        .unwrap()
}

/// Where [`write_skill`] writes.
pub fn skill_file(workspace: &Path, name: &str) -> PathBuf {
    workspace
        .join(".opencode/skills")
        .join(name)
        .join("SKILL.md")
}

/// `GET /approvals` with the host token.
pub async fn pending(info: &ServerInfo) -> Vec<Value> {
    let body: Value = http()
        .get(format!("{}/approvals", info.base_url))
        .header("X-OpenWork-Host-Token", HOST_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["items"].as_array().unwrap().clone()
}

/// Polls `GET /approvals` until `count` requests are pending (at most 10 s).
pub async fn wait_pending(info: &ServerInfo, count: usize) -> Vec<Value> {
    for _ in 0..200 {
        let items = pending(info).await;
        if items.len() == count {
            return items;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("expected {count} pending approvals");
}

/// Asserts a write was denied with `reason` (`denied` or `timeout`).
pub async fn assert_denied(response: reqwest::Response, reason: &str) {
    assert_eq!(response.status(), 403);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "write_denied", "{body}");
    assert_eq!(body["details"]["reason"], reason, "{body}");
}
