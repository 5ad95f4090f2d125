//! `POST /workspace/:id/engine/reload` (contract §4.14, §2.5): the request OpenCode receives
//! (method, path, `directory` query, Basic auth), workspace settings over server settings,
//! the answers for a missing or invalid base URL, an upstream error and an unreachable
//! OpenCode, the audit line, and the route's auth order (workspace before scope, not
//! refused in read-only mode, never approval-gated). OpenCode is a tiny recording HTTP
//! server on loopback.

use openwork_server_core::{ApprovalMode, CliOverrides};
use openwork_server_tests::reqwest::Method;
use openwork_server_tests::{Options, TestServer, Value, error_body, json, keys, send};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// One request as the fake OpenCode saw it.
#[derive(Clone, Debug, PartialEq)]
struct Seen {
    method: String,
    target: String,
    authorization: Option<String>,
}

/// A fake OpenCode that records every request and answers each with one fixed response.
struct FakeOpencode {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl FakeOpencode {
    async fn start(status: u16, body: &'static str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let record = record.clone();
                tokio::spawn(async move {
                    let mut reader = BufReader::new(stream);
                    let mut line = String::new();
                    reader.read_line(&mut line).await.unwrap();
                    let mut parts = line.split_whitespace();
                    let method = parts.next().unwrap_or_default().to_owned();
                    let target = parts.next().unwrap_or_default().to_owned();
                    let mut authorization = None;
                    loop {
                        let mut header = String::new();
                        reader.read_line(&mut header).await.unwrap();
                        let header = header.trim_end();
                        if header.is_empty() {
                            break;
                        }
                        if let Some((name, value)) = header.split_once(':') {
                            if name.eq_ignore_ascii_case("authorization") {
                                authorization = Some(value.trim().to_owned());
                            }
                        }
                    }
                    record.lock().unwrap().push(Seen {
                        method,
                        target,
                        authorization,
                    });
                    let response = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let mut stream = reader.into_inner();
                    stream.write_all(response.as_bytes()).await.unwrap();
                    stream.shutdown().await.ok();
                });
            }
        });
        Self { url, seen }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// `URLSearchParams` encoding of a path, as OpenCode receives the `directory` query.
fn form_encoded(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                (b as char).to_string()
            }
            b' ' => "+".to_owned(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn with_opencode(base_url: &str, username: Option<&str>, password: Option<&str>) -> Options {
    Options {
        cli: CliOverrides {
            opencode_base_url: Some(base_url.to_owned()),
            opencode_username: username.map(str::to_owned),
            opencode_password: password.map(str::to_owned),
            ..CliOverrides::default()
        },
        ..Options::default()
    }
}

fn reload_path(server: &TestServer) -> String {
    format!("/workspace/{}/engine/reload", server.workspace_id())
}

async fn reload(server: &TestServer) -> (u16, Value) {
    send(server.client(Method::POST, &reload_path(server))).await
}

#[tokio::test]
async fn a_reload_disposes_the_workspace_instance_with_basic_auth() {
    let opencode = FakeOpencode::start(200, "true").await;
    // The base URL's own path and query are replaced.
    let base_url = format!("{}/ignored/path?x=1", opencode.url);
    let server =
        TestServer::start_with(with_opencode(&base_url, Some("opencode"), Some("s3cret"))).await;

    let (status, body) = reload(&server).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["ok"], true);
    assert!(body["reloadedAt"].as_u64().unwrap() > 0);
    assert_eq!(keys(&body), ["ok", "reloadedAt"]);

    let directory = server.workspace_path().to_str().unwrap().to_owned();
    assert_eq!(
        opencode.seen(),
        [Seen {
            method: "POST".into(),
            target: format!("/instance/dispose?directory={}", form_encoded(&directory)),
            // base64("opencode:s3cret")
            authorization: Some("Basic b3BlbmNvZGU6czNjcmV0".into()),
        }]
    );

    let entries = server.audit().await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["action"], "engine.reload");
    assert_eq!(entries[0]["target"], base_url.as_str());
    assert_eq!(entries[0]["summary"], "Reloaded workspace engine");
    assert_eq!(entries[0]["actor"]["scope"], "collaborator");
}

#[tokio::test]
async fn workspace_settings_win_over_the_server_settings() {
    let own = FakeOpencode::start(204, "").await;
    let server_level = FakeOpencode::start(200, "").await;
    let workspace = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(Options {
        config_file: Some(json!({
            "workspaces": [{
                "path": workspace.path().to_str().unwrap(),
                "baseUrl": own.url,
                "directory": "/srv/my app",
                "opencodeUsername": "own-user",
                "opencodePassword": "own-pass",
            }],
            "opencodeBaseUrl": server_level.url,
            "opencodeUsername": "server-user",
            "opencodePassword": "server-pass",
        })),
        ..Options::default()
    })
    .await;
    let (status, body) = reload(&server).await;
    assert_eq!(status, 200, "{body}");
    assert!(server_level.seen().is_empty());
    assert_eq!(
        own.seen(),
        [Seen {
            method: "POST".into(),
            target: "/instance/dispose?directory=%2Fsrv%2Fmy+app".into(),
            // base64("own-user:own-pass")
            authorization: Some("Basic b3duLXVzZXI6b3duLXBhc3M=".into()),
        }]
    );
    assert_eq!(server.audit().await[0]["target"], own.url.as_str());
}

#[tokio::test]
async fn without_both_credentials_no_authorization_is_sent() {
    let opencode = FakeOpencode::start(200, "").await;
    let server = TestServer::start_with(with_opencode(&opencode.url, Some("opencode"), None)).await;
    let (status, _) = reload(&server).await;
    assert_eq!(status, 200);
    assert_eq!(opencode.seen()[0].authorization, None);
}

#[tokio::test]
async fn an_upstream_error_is_a_502_with_its_status_and_body() {
    for (upstream_body, expected) in [
        (
            "{\"error\":\"dispose failed\"}",
            json!({"error": "dispose failed"}),
        ),
        ("  engine exploded \n", json!("engine exploded")),
        ("", Value::Null),
    ] {
        let opencode = FakeOpencode::start(500, upstream_body).await;
        let server = TestServer::start_with(with_opencode(&opencode.url, None, None)).await;
        let (status, body) = reload(&server).await;
        assert_eq!(status, 502);
        assert_eq!(
            body,
            json!({
                "code": "opencode_reload_failed",
                "message": "OpenCode reload failed",
                "details": {"status": 500, "body": expected},
            })
        );
        assert!(
            server.audit().await.is_empty(),
            "no audit line for a failed reload"
        );
    }
}

#[tokio::test]
async fn a_missing_or_invalid_base_url_is_a_400() {
    let server = TestServer::start().await;
    let (status, body) = reload(&server).await;
    assert_eq!(
        (status, body),
        (
            400,
            error_body(
                "opencode_unconfigured",
                "OpenCode base URL is missing for this workspace"
            )
        )
    );

    let server = TestServer::start_with(with_opencode("not a url", None, None)).await;
    let (status, body) = reload(&server).await;
    assert_eq!(
        (status, body),
        (
            400,
            error_body("opencode_url_invalid", "OpenCode base URL is invalid")
        )
    );
    assert!(server.audit().await.is_empty());
}

#[tokio::test]
async fn an_unreachable_opencode_is_an_internal_error() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let server = TestServer::start_with(with_opencode(&url, None, None)).await;
    let (status, body) = reload(&server).await;
    assert_eq!(
        (status, body),
        (500, error_body("internal_error", "Unexpected server error"))
    );
    assert!(server.audit().await.is_empty());
}

#[tokio::test]
async fn the_workspace_is_looked_up_before_the_scope_is_checked() {
    let opencode = FakeOpencode::start(200, "").await;
    let server = TestServer::start_with(with_opencode(&opencode.url, None, None)).await;
    let viewer = server.issue_token("viewer").await;

    let (status, body) = send(server.request(Method::POST, &reload_path(&server))).await;
    assert_eq!(
        (status, body),
        (401, error_body("unauthorized", "Invalid bearer token"))
    );
    let (status, body) =
        send(server.with_bearer(Method::POST, "/workspace/ws_unknown/engine/reload", &viewer))
            .await;
    assert_eq!(
        (status, body),
        (
            404,
            error_body("workspace_not_found", "Workspace not found")
        )
    );
    let (status, body) =
        send(server.with_bearer(Method::POST, &reload_path(&server), &viewer)).await;
    assert_eq!(
        (status, body),
        (
            403,
            json!({
                "code": "forbidden",
                "message": "Insufficient token scope",
                "details": {"required": "collaborator", "scope": "viewer"},
            })
        )
    );
    assert!(opencode.seen().is_empty());

    let owner = server.issue_token("owner").await;
    let (status, _) = send(server.with_bearer(Method::POST, &reload_path(&server), &owner)).await;
    assert_eq!(status, 200);
    assert_eq!(server.audit().await[0]["actor"]["scope"], "owner");
}

#[tokio::test]
async fn read_only_mode_and_manual_approval_do_not_stop_a_reload() {
    let opencode = FakeOpencode::start(200, "").await;
    let mut options = with_opencode(&opencode.url, None, None);
    options.cli.read_only = Some(true);
    options.cli.approval_mode = Some(ApprovalMode::Manual);
    options.cli.approval_timeout_ms = Some(30_000);
    let server = TestServer::start_with(options).await;
    let (status, body) = reload(&server).await;
    assert_eq!(status, 200, "{body}");
    assert!(server.approvals.pending().is_empty());
    assert_eq!(opencode.seen().len(), 1);
}
