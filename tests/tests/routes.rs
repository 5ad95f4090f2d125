//! The read routes of this slice (contract §4.1–§4.5, D2): exact documents of `/health`,
//! `/status`, `/capabilities`, `/workspaces` and their `/w/:id/` forms, the per-request
//! capability switches, and what viewer tokens may not see.

use openwork_server_core::{ApprovalMode, CliOverrides};
use openwork_server_tests::reqwest::Method;
use openwork_server_tests::{Options, TestServer, Value, json, keys, read_only, send};

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

async fn start_env(pairs: &[(&str, &str)]) -> TestServer {
    TestServer::start_with(Options {
        env: env(pairs),
        ..Options::default()
    })
    .await
}

/// GET with the client token; asserts 200 and returns the body.
async fn get_ok(server: &TestServer, path: &str) -> Value {
    let (status, body) = send(server.client(Method::GET, path)).await;
    assert_eq!(status, 200, "GET {path}: {body}");
    body
}

/// Checks `uptimeMs` is a non-negative integer and replaces it with 0 for comparison.
fn zero_uptime(mut body: Value) -> Value {
    assert!(body["uptimeMs"].is_u64(), "uptimeMs: {body}");
    body["uptimeMs"] = json!(0);
    body
}

fn workspace_json(server: &TestServer) -> Value {
    let path = server.workspace_path().to_str().unwrap();
    json!({
        "id": server.workspace_id(),
        "name": server.workspace_path().file_name().unwrap().to_str().unwrap(),
        "path": path,
        "preset": "starter",
        "workspaceType": "local",
        "opencode": { "directory": path },
    })
}

fn capabilities_document() -> Value {
    json!({
        "schemaVersion": 1,
        "serverVersion": "0.11.207",
        "skills": { "read": true, "write": true, "source": "openwork" },
        "hub": { "skills": { "read": true, "install": true,
                 "repo": { "owner": "different-ai", "name": "openwork-hub", "ref": "main" } } },
        "plugins": { "read": true, "write": true },
        "mcp": { "read": true, "write": true },
        "commands": { "read": true, "write": true },
        "config": { "read": true, "write": true },
        "approvals": { "mode": "auto", "timeoutMs": 30000 },
        "sandbox": { "enabled": false, "backend": "none" },
        "ui": { "toy": true },
        "tokens": { "scoped": true, "scopes": ["owner", "collaborator", "viewer"] },
        "proxy": { "opencode": false, "opencodeRouter": false },
        "toolProviders": {
            "browser": { "enabled": false, "placement": "external", "mode": "none" },
            "files": { "injection": true, "outbox": true,
                       "inboxPath": ".opencode/openwork/inbox/",
                       "outboxPath": ".opencode/openwork/outbox/", "maxBytes": 50000000 },
        },
    })
}

// ---------------------------------------------------------------------------------------
// /health
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn health_is_open_and_exact() {
    let server = TestServer::start().await;
    for path in ["/health", "/w/anything/health", "/w/ws_unknown/health"] {
        let (status, body) = send(server.request(Method::GET, path)).await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(keys(&body), ["ok", "version", "uptimeMs"], "{path}");
        assert_eq!(
            zero_uptime(body),
            json!({ "ok": true, "version": "0.11.207", "uptimeMs": 0 }),
            "{path}"
        );
    }
    assert_eq!(openwork_server_core::VERSION, "0.11.207");
}

#[tokio::test]
async fn health_uptime_grows() {
    let server = TestServer::start().await;
    let (_, first) = send(server.request(Method::GET, "/health")).await;
    let first = first["uptimeMs"].as_u64().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let (_, body) = send(server.request(Method::GET, "/health")).await;
        if body["uptimeMs"].as_u64().unwrap() > first {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "uptime never grew");
        tokio::task::yield_now().await;
    }
}

// ---------------------------------------------------------------------------------------
// /status
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn status_document_with_one_workspace() {
    let server = TestServer::start().await;
    let body = get_ok(&server, "/status").await;
    assert_eq!(
        keys(&body),
        [
            "ok",
            "version",
            "uptimeMs",
            "readOnly",
            "approval",
            "corsOrigins",
            "workspaceCount",
            "activeWorkspaceId",
            "workspace",
            "authorizedRoots",
            "server",
            "tokenSource",
        ]
    );
    let config_path = server.home.path().join(".config/openwork/server.json");
    assert_eq!(
        zero_uptime(body),
        json!({
            "ok": true,
            "version": "0.11.207",
            "uptimeMs": 0,
            "readOnly": false,
            "approval": { "mode": "auto", "timeoutMs": 30000 },
            "corsOrigins": ["*"],
            "workspaceCount": 1,
            "activeWorkspaceId": server.workspace_id(),
            "workspace": workspace_json(&server),
            "authorizedRoots": [server.workspace_path().to_str().unwrap()],
            "server": { "host": "127.0.0.1", "port": 0, "configPath": config_path.to_str().unwrap() },
            "tokenSource": { "client": "cli", "host": "cli" },
        })
    );
}

#[tokio::test]
async fn status_without_workspaces() {
    let server = TestServer::start_with(Options {
        no_workspace: true,
        ..Options::default()
    })
    .await;
    let body = zero_uptime(get_ok(&server, "/status").await);
    assert_eq!(body["workspaceCount"], 0);
    assert_eq!(body["activeWorkspaceId"], Value::Null);
    assert_eq!(body["workspace"], Value::Null);
    assert!(body.as_object().unwrap().contains_key("workspace"));
    assert!(body.as_object().unwrap().contains_key("activeWorkspaceId"));
    assert_eq!(body["authorizedRoots"], json!([]));
    assert_eq!(body["server"]["port"], 0);
}

#[tokio::test]
async fn status_reflects_settings() {
    let server = TestServer::start_with(Options {
        cli: CliOverrides {
            read_only: Some(true),
            approval_mode: Some(ApprovalMode::Manual),
            approval_timeout_ms: Some(1234),
            cors_origins: Some(vec!["https://a.example".into(), "https://b.example".into()]),
            ..CliOverrides::default()
        },
        ..Options::default()
    })
    .await;
    let body = get_ok(&server, "/status").await;
    assert_eq!(body["readOnly"], true);
    assert_eq!(
        body["approval"],
        json!({ "mode": "manual", "timeoutMs": 1234 })
    );
    assert_eq!(
        body["corsOrigins"],
        json!(["https://a.example", "https://b.example"])
    );
}

#[tokio::test]
async fn mounted_status_describes_that_workspace() {
    let first = tempfile::tempdir().unwrap();
    let second = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(Options {
        cli: CliOverrides {
            workspaces: vec![
                first.path().to_string_lossy().into_owned(),
                second.path().to_string_lossy().into_owned(),
            ],
            ..CliOverrides::default()
        },
        ..Options::default()
    })
    .await;
    let second_id = server.config.workspaces[1].id.clone();
    let top = zero_uptime(get_ok(&server, "/status").await);
    assert_eq!(top["workspaceCount"], 2);
    assert_eq!(top["activeWorkspaceId"], server.workspace_id().as_str());

    let mounted = zero_uptime(get_ok(&server, &format!("/w/{second_id}/status")).await);
    assert_eq!(mounted["workspaceCount"], 1);
    assert_eq!(mounted["activeWorkspaceId"], second_id.as_str());
    assert_eq!(
        mounted["workspace"]["path"],
        second.path().to_str().unwrap()
    );
    // Everything else is the same document.
    let strip = |mut v: Value| {
        for key in ["workspaceCount", "activeWorkspaceId", "workspace"] {
            v.as_object_mut().unwrap().remove(key);
        }
        v
    };
    assert_eq!(strip(mounted), strip(top));
}

#[tokio::test]
async fn mounted_routes_with_an_unknown_id_are_404() {
    let server = TestServer::start().await;
    for path in ["/w/ws_000000000000/status", "/w/nope/workspaces"] {
        let (status, body) = send(server.client(Method::GET, path)).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(
            body,
            json!({ "code": "workspace_not_found", "message": "Workspace not found" }),
            "{path}"
        );
    }
}

#[tokio::test]
async fn mounted_paths_without_a_route_are_404() {
    let server = TestServer::start().await;
    let id = server.workspace_id();
    for path in [
        format!("/w/{id}/approvals"),
        format!("/w/{id}/tokens"),
        format!("/w/{id}/whoami"),
        format!("/w/{id}"),
        "/w/".to_owned(),
    ] {
        let (status, body) = send(server.host(Method::GET, &path).bearer_auth("client-tok")).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(
            body,
            json!({ "code": "not_found", "message": "Not found" }),
            "{path}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// /capabilities
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn capabilities_full_document() {
    let server = TestServer::start().await;
    let body = get_ok(&server, "/capabilities").await;
    assert_eq!(body, capabilities_document());
    assert_eq!(
        keys(&body),
        keys(&capabilities_document()),
        "key order of the capability document"
    );
    // The mounted form does not check the id.
    assert_eq!(
        get_ok(&server, "/w/not-a-workspace/capabilities").await,
        body
    );
}

#[tokio::test]
async fn capabilities_in_read_only_mode_report_no_writes() {
    let server = TestServer::start_with(read_only()).await;
    let body = get_ok(&server, "/capabilities").await;
    let mut expected = capabilities_document();
    for section in ["skills", "plugins", "mcp", "commands", "config"] {
        expected[section]["write"] = json!(false);
    }
    expected["hub"]["skills"]["install"] = json!(false);
    expected["toolProviders"]["files"]["injection"] = json!(false);
    assert_eq!(body, expected);
}

#[tokio::test]
async fn capabilities_report_the_approval_settings() {
    let server = TestServer::start_with(Options {
        cli: CliOverrides {
            approval_mode: Some(ApprovalMode::Manual),
            approval_timeout_ms: Some(4500),
            ..CliOverrides::default()
        },
        ..Options::default()
    })
    .await;
    let body = get_ok(&server, "/capabilities").await;
    assert_eq!(
        body["approvals"],
        json!({ "mode": "manual", "timeoutMs": 4500 })
    );
}

#[tokio::test]
async fn capabilities_inbox_outbox_and_toy_switches() {
    let server = start_env(&[
        ("OPENWORK_INBOX_ENABLED", "banana"),
        ("OPENWORK_OUTBOX_ENABLED", "0"),
        ("OPENWORK_TOY_UI", "no"),
    ])
    .await;
    let body = get_ok(&server, "/capabilities").await;
    assert_eq!(body["toolProviders"]["files"]["injection"], false);
    assert_eq!(body["toolProviders"]["files"]["outbox"], false);
    assert_eq!(body["ui"]["toy"], false);

    let server = start_env(&[
        ("OPENWORK_INBOX_ENABLED", " YES "),
        ("OPENWORK_OUTBOX_ENABLED", "on"),
        ("OPENWORK_TOY_UI", ""),
    ])
    .await;
    let body = get_ok(&server, "/capabilities").await;
    assert_eq!(body["toolProviders"]["files"]["injection"], true);
    assert_eq!(body["toolProviders"]["files"]["outbox"], true);
    assert_eq!(body["ui"]["toy"], true);
}

#[tokio::test]
async fn capabilities_inbox_max_bytes() {
    for (raw, expected) in [
        ("1234.9", 1234u64),
        ("999999999999", 250_000_000),
        ("250000000", 250_000_000),
        ("-5", 50_000_000),
        ("0", 50_000_000),
        ("abc", 50_000_000),
    ] {
        let server = start_env(&[("OPENWORK_INBOX_MAX_BYTES", raw)]).await;
        let body = get_ok(&server, "/capabilities").await;
        assert_eq!(
            body["toolProviders"]["files"]["maxBytes"], expected,
            "OPENWORK_INBOX_MAX_BYTES={raw}"
        );
    }
}

#[tokio::test]
async fn capabilities_sandbox() {
    for (vars, expected) in [
        (
            vec![("OPENWORK_SANDBOX_BACKEND", "docker")],
            json!({ "enabled": true, "backend": "docker" }),
        ),
        (
            vec![("OPENWORK_SANDBOX_BACKEND", "container")],
            json!({ "enabled": true, "backend": "container" }),
        ),
        (
            vec![("OPENWORK_SANDBOX_BACKEND", "podman")],
            json!({ "enabled": false, "backend": "none" }),
        ),
        (
            vec![
                ("OPENWORK_SANDBOX_BACKEND", "docker"),
                ("OPENWORK_SANDBOX_ENABLED", "off"),
            ],
            json!({ "enabled": false, "backend": "docker" }),
        ),
        (
            vec![("OPENWORK_SANDBOX_ENABLED", "1")],
            json!({ "enabled": true, "backend": "none" }),
        ),
        (
            vec![
                ("OPENWORK_SANDBOX_ENABLED", "maybe"),
                ("OPENWORK_SANDBOX_BACKEND", "docker"),
            ],
            json!({ "enabled": true, "backend": "docker" }),
        ),
    ] {
        let server = start_env(&vars).await;
        let body = get_ok(&server, "/capabilities").await;
        assert_eq!(body["sandbox"], expected, "{vars:?}");
    }
}

#[tokio::test]
async fn capabilities_browser_provider() {
    for (raw, expected) in [
        (
            "sandbox-headless",
            json!({ "enabled": true, "placement": "in-sandbox", "mode": "headless" }),
        ),
        (
            "host-interactive",
            json!({ "enabled": true, "placement": "host-machine", "mode": "interactive" }),
        ),
        (
            "client-interactive",
            json!({ "enabled": true, "placement": "client-machine", "mode": "interactive" }),
        ),
        (
            "chrome",
            json!({ "enabled": false, "placement": "external", "mode": "none" }),
        ),
    ] {
        let server = start_env(&[("OPENWORK_BROWSER_PROVIDER", raw)]).await;
        let body = get_ok(&server, "/capabilities").await;
        assert_eq!(
            body["toolProviders"]["browser"], expected,
            "OPENWORK_BROWSER_PROVIDER={raw}"
        );
    }
}

#[tokio::test]
async fn capabilities_proxy_flags() {
    let server = start_env(&[
        ("OPENWORK_OPENCODE_BASE_URL", "http://127.0.0.1:4096"),
        ("OPENCODE_ROUTER_HEALTH_PORT", "3005"),
    ])
    .await;
    let body = get_ok(&server, "/capabilities").await;
    assert_eq!(
        body["proxy"],
        json!({ "opencode": true, "opencodeRouter": true })
    );

    for port in ["0", "abc"] {
        let server = start_env(&[("OPENCODE_ROUTER_HEALTH_PORT", port)]).await;
        let body = get_ok(&server, "/capabilities").await;
        assert_eq!(
            body["proxy"],
            json!({ "opencode": false, "opencodeRouter": false }),
            "OPENCODE_ROUTER_HEALTH_PORT={port}"
        );
    }
}

#[tokio::test]
async fn capabilities_proxy_opencode_follows_a_workspace_base_url() {
    let server = TestServer::start_with(Options {
        config_file: Some(json!({
            "workspaces": [ { "path": "/tmp/ws" }, { "path": "/tmp/b", "baseUrl": "http://127.0.0.1:4096" } ],
        })),
        ..Options::default()
    })
    .await;
    let body = get_ok(&server, "/capabilities").await;
    assert_eq!(body["proxy"]["opencode"], true);
}

// ---------------------------------------------------------------------------------------
// /workspaces
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn workspaces_lists_items_twice_with_the_active_id() {
    let server = TestServer::start().await;
    let body = get_ok(&server, "/workspaces").await;
    assert_eq!(keys(&body), ["items", "workspaces", "activeId"]);
    assert_eq!(
        body,
        json!({
            "items": [workspace_json(&server)],
            "workspaces": [workspace_json(&server)],
            "activeId": server.workspace_id(),
        })
    );
}

#[tokio::test]
async fn workspaces_without_any() {
    let server = TestServer::start_with(Options {
        no_workspace: true,
        ..Options::default()
    })
    .await;
    let body = get_ok(&server, "/workspaces").await;
    assert_eq!(
        body,
        json!({ "items": [], "workspaces": [], "activeId": null })
    );
}

#[tokio::test]
async fn mounted_workspaces_lists_that_one_without_the_workspaces_key() {
    let server = TestServer::start().await;
    let id = server.workspace_id();
    let body = get_ok(&server, &format!("/w/{id}/workspaces")).await;
    assert_eq!(
        body,
        json!({ "items": [workspace_json(&server)], "activeId": id })
    );
    assert_eq!(keys(&body), ["items", "activeId"]);
}

/// A server whose one workspace carries every secret D2 is about.
async fn server_with_secrets() -> TestServer {
    TestServer::start_with(Options {
        config_file: Some(json!({
            "workspaces": [ {
                "path": "/tmp/ws",
                "openworkToken": "remote-secret",
                "openworkHostUrl": "http://host:8787",
            } ],
            "opencodeBaseUrl": "http://127.0.0.1:4096",
            "opencodeUsername": "opencode",
            "opencodePassword": "pw",
        })),
        ..Options::default()
    })
    .await
}

fn assert_secrets(workspace: &Value, visible: bool, what: &str) {
    let shown = |v: &Value| !v.is_null();
    assert_eq!(
        shown(&workspace["opencode"]["username"]),
        visible,
        "{what}: {workspace}"
    );
    assert_eq!(
        shown(&workspace["opencode"]["password"]),
        visible,
        "{what}: {workspace}"
    );
    assert_eq!(
        shown(&workspace["openworkToken"]),
        visible,
        "{what}: {workspace}"
    );
    if visible {
        assert_eq!(workspace["opencode"]["password"], "pw");
        assert_eq!(workspace["opencode"]["username"], "opencode");
        assert_eq!(workspace["openworkToken"], "remote-secret");
    }
    // Never the raw config keys.
    assert!(workspace.get("opencodeUsername").is_none(), "{what}");
    assert!(workspace.get("opencodePassword").is_none(), "{what}");
    // What is not secret stays.
    assert_eq!(
        workspace["opencode"]["baseUrl"], "http://127.0.0.1:4096",
        "{what}"
    );
    assert_eq!(workspace["opencode"]["directory"], "/tmp/ws", "{what}");
    assert_eq!(workspace["openworkHostUrl"], "http://host:8787", "{what}");
}

async fn check_secrets_for(server: &TestServer, token: &str, visible: bool, what: &str) {
    let id = server.workspace_id();
    let get = |path: String| async move {
        let (status, body) = send(server.with_bearer(Method::GET, &path, token)).await;
        assert_eq!(status, 200, "{what} {path}: {body}");
        body
    };
    let body = get("/workspaces".into()).await;
    assert_secrets(
        &body["items"][0],
        visible,
        &format!("{what} /workspaces items"),
    );
    assert_secrets(
        &body["workspaces"][0],
        visible,
        &format!("{what} /workspaces workspaces"),
    );
    let body = get(format!("/w/{id}/workspaces")).await;
    assert_secrets(
        &body["items"][0],
        visible,
        &format!("{what} /w/:id/workspaces"),
    );
    let body = get("/status".into()).await;
    assert_secrets(&body["workspace"], visible, &format!("{what} /status"));
    let body = get(format!("/w/{id}/status")).await;
    assert_secrets(
        &body["workspace"],
        visible,
        &format!("{what} /w/:id/status"),
    );
}

#[tokio::test]
async fn viewers_do_not_see_opencode_credentials_or_openwork_token() {
    let server = server_with_secrets().await;
    // /tmp/ws must be authorized for /w/:id/workspaces: it is its own default root.
    let viewer = server.issue_token("viewer").await;
    check_secrets_for(&server, &viewer, false, "viewer").await;
}

#[tokio::test]
async fn collaborators_and_owners_see_opencode_credentials() {
    let server = server_with_secrets().await;
    let collaborator = server.issue_token("collaborator").await;
    let owner = server.issue_token("owner").await;
    check_secrets_for(&server, "client-tok", true, "client token").await;
    check_secrets_for(&server, &collaborator, true, "collaborator").await;
    check_secrets_for(&server, &owner, true, "owner").await;
}

#[tokio::test]
async fn orchestrator_checks_pass_with_the_client_token() {
    // notes/orchestrator.md: the client token must see path, baseUrl, directory and
    // credentials exactly as passed.
    let workspace = tempfile::tempdir().unwrap();
    let path = workspace.path().to_str().unwrap().to_owned();
    let password = "a".repeat(512);
    let server = TestServer::start_with(Options {
        cli: CliOverrides {
            workspaces: vec![path.clone()],
            opencode_base_url: Some("http://127.0.0.1:4096".into()),
            opencode_directory: Some(path.clone()),
            ..CliOverrides::default()
        },
        env: env(&[
            ("OPENWORK_OPENCODE_USERNAME", &"b".repeat(512)),
            ("OPENWORK_OPENCODE_PASSWORD", &password),
        ]),
        ..Options::default()
    })
    .await;
    let body = get_ok(&server, "/workspaces").await;
    let item = &body["items"][0];
    assert_eq!(item["path"], path.as_str());
    assert_eq!(item["opencode"]["baseUrl"], "http://127.0.0.1:4096");
    assert_eq!(item["opencode"]["directory"], path.as_str());
    assert_eq!(item["opencode"]["username"], "b".repeat(512));
    assert_eq!(item["opencode"]["password"], password);
    let (status, _) = send(server.host(Method::GET, "/approvals")).await;
    assert_eq!(status, 200);
}
