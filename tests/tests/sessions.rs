//! The sessions read model and MCP sign-out over OpenCode (contract Appendix A rows
//! `/workspace/:id/sessions*` and `DELETE /workspace/:id/mcp/:name/auth`, Appendix B
//! `session-read-model.e2e`): list, detail, messages and snapshot shapes against a real
//! OpenCode, the directory header and Basic auth it receives, query validation and
//! forwarding, deletes, scopes and read-only mode, and how upstream failures are answered.
//! A small recording mock stands in for OpenCode where a real one cannot fail on demand.

use openwork_server_core::{ApprovalMode, CliOverrides};
use openwork_server_tests::opencode::OpenCode;
use openwork_server_tests::reqwest::Method;
use openwork_server_tests::{Options, TestServer, Value, error_body, json, keys, send};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// One request as the mock OpenCode saw it (header names lower-cased).
#[derive(Clone, Debug)]
struct Seen {
    method: String,
    target: String,
    headers: HashMap<String, String>,
}

/// How the mock answers a `(method, target)`: a status and a JSON text.
type Answer = Arc<dyn Fn(&str, &str) -> (u16, String) + Send + Sync>;

/// A mock OpenCode that records every request and answers through `answer`.
struct MockOpencode {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl MockOpencode {
    async fn start(answer: impl Fn(&str, &str) -> (u16, String) + Send + Sync + 'static) -> Self {
        let answer: Answer = Arc::new(answer);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (record, answer) = (record.clone(), answer.clone());
                tokio::spawn(async move {
                    let mut reader = BufReader::new(stream);
                    let mut line = String::new();
                    reader.read_line(&mut line).await.unwrap();
                    let mut parts = line.split_whitespace();
                    let method = parts.next().unwrap_or_default().to_owned();
                    let target = parts.next().unwrap_or_default().to_owned();
                    let mut headers = HashMap::new();
                    loop {
                        let mut header = String::new();
                        reader.read_line(&mut header).await.unwrap();
                        let header = header.trim_end();
                        if header.is_empty() {
                            break;
                        }
                        if let Some((name, value)) = header.split_once(':') {
                            headers.insert(name.to_ascii_lowercase(), value.trim().to_owned());
                        }
                    }
                    let (status, body) = answer(&method, &target);
                    record.lock().unwrap().push(Seen {
                        method,
                        target,
                        headers,
                    });
                    let response = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
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

    fn requests(&self) -> Vec<(String, String)> {
        self.seen()
            .into_iter()
            .map(|s| (s.method, s.target))
            .collect()
    }
}

/// A server whose workspace talks to the OpenCode at `base_url`.
async fn server_for(base_url: &str, configure: impl FnOnce(&mut Options)) -> TestServer {
    let mut options = Options {
        cli: CliOverrides {
            opencode_base_url: Some(base_url.to_owned()),
            ..CliOverrides::default()
        },
        ..Options::default()
    };
    configure(&mut options);
    TestServer::start_with(options).await
}

fn ws_path(server: &TestServer, rest: &str) -> String {
    format!("/workspace/{}{rest}", server.workspace_id())
}

/// Makes `dir` a git repository with one commit, so OpenCode files its sessions under a
/// project of their own instead of the shared global one.
fn git_init(dir: &Path) {
    for args in [
        &["init", "-q"][..],
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            "init",
        ],
    ] {
        let status = std::process::Command::new("git")
            .args(args)
            .current_dir(dir)
            .status()
            .expect("git runs");
        assert!(status.success(), "git {args:?}");
    }
}

/// Creates a session straight in the engine, in `directory` when given.
async fn create_session(engine: &OpenCode, directory: Option<&Path>, title: &str) -> Value {
    let mut request = reqwest_client()
        .post(format!("{}/session", engine.base_url))
        .json(&json!({ "title": title }));
    if let Some(directory) = directory {
        request = request.header("x-opencode-directory", directory.to_str().unwrap());
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

fn reqwest_client() -> openwork_server_tests::reqwest::Client {
    openwork_server_tests::reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
}

fn titles(body: &Value) -> Vec<&str> {
    let mut titles: Vec<&str> = body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|s| s["title"].as_str().unwrap())
        .collect();
    titles.sort_unstable();
    titles
}

#[tokio::test]
async fn the_read_model_serves_a_real_engine_in_the_workspace_directory() {
    let engine = OpenCode::start().await;
    let server = server_for(&engine.base_url, |_| {}).await;
    let workspace = server.workspace_path().to_owned();
    git_init(&workspace);
    let alpha = create_session(&engine, Some(&workspace), "alpha").await;
    let beta = create_session(&engine, Some(&workspace), "beta").await;
    // Not in the workspace: the directory header must keep it out of our list.
    create_session(&engine, None, "elsewhere").await;
    let alpha_id = alpha["id"].as_str().unwrap();
    let beta_id = beta["id"].as_str().unwrap();

    // List: only the workspace's sessions, as OpenCode describes them.
    let (status, body) = send(server.client(Method::GET, &ws_path(&server, "/sessions"))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(keys(&body), ["items"]);
    assert_eq!(titles(&body), ["alpha", "beta"]);
    for item in body["items"].as_array().unwrap() {
        assert_eq!(item["directory"], workspace.to_str().unwrap());
    }

    // Query forwarding: OpenCode applies search, limit, roots and start.
    let list = |query: &str| {
        server.client(
            Method::GET,
            &ws_path(&server, &format!("/sessions?{query}")),
        )
    };
    let (status, body) = send(list("search=alph")).await;
    assert_eq!((status, titles(&body)), (200, vec!["alpha"]));
    let (status, body) = send(list("limit=1")).await;
    assert_eq!((status, body["items"].as_array().unwrap().len()), (200, 1));
    let (status, body) = send(list("roots=true&limit=")).await;
    assert_eq!((status, titles(&body)), (200, vec!["alpha", "beta"]));
    let future = alpha["time"]["updated"].as_u64().unwrap() + 86_400_000;
    let (status, body) = send(list(&format!("start={future}"))).await;
    assert_eq!((status, body), (200, json!({ "items": [] })));
    for bad in [
        "roots=maybe",
        "start=-1",
        "start=soon",
        "limit=0",
        "limit=x",
    ] {
        let (status, body) = send(list(bad)).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("invalid_query")),
            "{bad}"
        );
    }

    // Detail, messages, snapshot.
    let session_path = |id: &str, rest: &str| ws_path(&server, &format!("/sessions/{id}{rest}"));
    let (status, body) = send(server.client(Method::GET, &session_path(alpha_id, ""))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(keys(&body), ["item"]);
    assert_eq!(body["item"]["id"], alpha_id);
    assert_eq!(body["item"]["title"], "alpha");
    let (status, body) =
        send(server.client(Method::GET, &session_path(alpha_id, "/messages?limit=5"))).await;
    assert_eq!((status, body), (200, json!({ "items": [] })));
    let (status, body) =
        send(server.client(Method::GET, &session_path(alpha_id, "/messages?limit=-1"))).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_query"))
    );
    let (status, body) =
        send(server.client(Method::GET, &session_path(alpha_id, "/snapshot?limit=10"))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(keys(&body), ["item"]);
    assert_eq!(
        keys(&body["item"]),
        ["session", "messages", "todos", "status"]
    );
    assert_eq!(body["item"]["session"]["id"], alpha_id);
    assert_eq!(body["item"]["messages"], json!([]));
    assert_eq!(body["item"]["todos"], json!([]));
    assert_eq!(body["item"]["status"], json!({ "type": "idle" }));

    // Unknown sessions.
    let not_found = error_body("session_not_found", "Session not found");
    for rest in ["", "/messages", "/snapshot"] {
        let (status, body) =
            send(server.client(Method::GET, &session_path("ses_missing", rest))).await;
        assert_eq!((status, body), (404, not_found.clone()), "{rest}");
    }

    // Delete: viewers may read but not delete; collaborators delete in OpenCode.
    let viewer = server.issue_token("viewer").await;
    let (status, _) =
        send(server.with_bearer(Method::GET, &session_path(beta_id, ""), &viewer)).await;
    assert_eq!(status, 200);
    let (status, body) =
        send(server.with_bearer(Method::DELETE, &session_path(beta_id, ""), &viewer)).await;
    assert_eq!(status, 403);
    assert_eq!(
        body,
        json!({"code": "forbidden", "message": "Insufficient token scope",
               "details": {"required": "collaborator", "scope": "viewer"}})
    );
    let (status, body) = send(server.client(Method::DELETE, &session_path(beta_id, ""))).await;
    assert_eq!((status, body), (200, json!({ "ok": true })));
    let (status, body) = send(server.client(Method::GET, &session_path(beta_id, ""))).await;
    assert_eq!((status, body), (404, not_found));
    let direct = reqwest_client()
        .get(format!("{}/session/{beta_id}", engine.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(direct.status(), 404, "the engine no longer has it");

    // MCP sign-out of a server OpenCode has no credentials for succeeds, and is audited.
    let (status, body) =
        send(server.client(Method::DELETE, &ws_path(&server, "/mcp/nothing/auth"))).await;
    assert_eq!((status, body), (200, json!({ "ok": true })));
    let (status, body) =
        send(server.client(Method::DELETE, &ws_path(&server, "/mcp/-bad/auth"))).await;
    assert_eq!(
        (status, body),
        (
            400,
            error_body(
                "invalid_mcp_name",
                "MCP name must be alphanumeric and not start with -"
            )
        )
    );
    let (_, audit) = send(server.client(Method::GET, &ws_path(&server, "/audit"))).await;
    let entries = audit["items"].as_array().unwrap();
    let removal: Vec<&Value> = entries
        .iter()
        .filter(|e| e["action"] == "mcp.auth.remove")
        .collect();
    assert_eq!(removal.len(), 1, "{audit}");
    assert_eq!(removal[0]["summary"], "Removed MCP auth nothing");
}

#[tokio::test]
async fn basic_auth_reaches_an_engine_that_requires_it() {
    let engine = OpenCode::start_with(&[
        ("OPENCODE_SERVER_USERNAME", "u"),
        ("OPENCODE_SERVER_PASSWORD", "p"),
    ])
    .await;
    let with_auth = server_for(&engine.base_url, |options| {
        options.cli.opencode_username = Some("u".into());
        options.cli.opencode_password = Some("p".into());
    })
    .await;
    let (status, body) =
        send(with_auth.client(Method::GET, &ws_path(&with_auth, "/sessions"))).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["items"].is_array());

    // Without credentials the engine refuses, and we say so with its status and our path.
    let without = server_for(&engine.base_url, |_| {}).await;
    let (status, body) = send(without.client(Method::GET, &ws_path(&without, "/sessions"))).await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["code"], "opencode_request_failed");
    assert_eq!(body["details"]["status"], 401);
    assert_eq!(body["details"]["path"], "/session");
}

#[tokio::test]
async fn opencode_receives_the_directory_header_credentials_and_the_checked_query() {
    let mock = MockOpencode::start(|_, _| (200, "[]".to_owned())).await;
    let server = server_for(&mock.url, |options| {
        options.cli.opencode_username = Some("user".into());
        options.cli.opencode_password = Some("pass".into());
    })
    .await;
    let (status, body) = send(server.client(
        Method::GET,
        &ws_path(
            &server,
            "/sessions?limit=3&search=a%20b&other=1&start=5&roots=false",
        ),
    ))
    .await;
    assert_eq!((status, body), (200, json!({ "items": [] })));
    let seen = mock.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "GET");
    assert_eq!(
        seen[0].target,
        "/session?roots=false&start=5&search=a+b&limit=3"
    );
    assert_eq!(
        seen[0]
            .headers
            .get("x-opencode-directory")
            .map(String::as_str),
        server.workspace_path().to_str()
    );
    // "user:pass"
    assert_eq!(
        seen[0].headers.get("authorization").map(String::as_str),
        Some("Basic dXNlcjpwYXNz")
    );

    // An invalid query never reaches OpenCode.
    let (status, _) =
        send(server.client(Method::GET, &ws_path(&server, "/sessions?limit=0"))).await;
    assert_eq!(status, 400);
    assert_eq!(mock.seen().len(), 1);
}

#[tokio::test]
async fn upstream_failures_are_answered_with_the_contract_errors() {
    let mock = MockOpencode::start(|_, target| match target {
        "/session" => (200, r#"{"sessions":[]}"#.to_owned()),
        "/session/bad_item" => (200, r#"{"title":"no id"}"#.to_owned()),
        "/session/broken" => (500, r#"{"name":"UnknownError"}"#.to_owned()),
        "/session/rejected" => (400, r#"{"success":false}"#.to_owned()),
        _ => (404, "{}".to_owned()),
    })
    .await;
    let server = server_for(&mock.url, |_| {}).await;
    let get = |rest: &str| server.client(Method::GET, &ws_path(&server, rest));

    let (status, body) = send(get("/sessions")).await;
    assert_eq!(
        (status, body),
        (
            502,
            error_body(
                "opencode_invalid_response",
                "OpenCode returned invalid session list"
            )
        )
    );
    let (status, body) = send(get("/sessions/bad_item")).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (502, Some("opencode_invalid_response"))
    );
    let (status, body) = send(get("/sessions/broken")).await;
    assert_eq!(status, 502);
    assert_eq!(body["code"], "opencode_request_failed");
    assert_eq!(
        body["details"],
        json!({ "status": 500, "body": {"name": "UnknownError"}, "path": "/session/broken" })
    );
    let (status, body) = send(get("/sessions/rejected")).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_query"))
    );
    // A session id is one path segment upstream, whatever it contains.
    let (status, _) = send(get("/sessions/a%2F..%2Fconfig")).await;
    assert_eq!(status, 404);
    assert_eq!(
        mock.requests().last().unwrap().1,
        "/session/a%2F..%2Fconfig"
    );

    // No base URL at all, and an OpenCode that is not there.
    let unconfigured = TestServer::start().await;
    let (status, body) =
        send(unconfigured.client(Method::GET, &ws_path(&unconfigured, "/sessions"))).await;
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
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let gone = server_for(&closed_url, |_| {}).await;
    let (status, body) =
        send(gone.client(Method::GET, &ws_path(&gone, "/sessions/x/snapshot"))).await;
    assert_eq!(status, 502);
    assert_eq!(body["code"], "opencode_unreachable");
    assert_eq!(body["message"], "OpenCode is not reachable");
}

#[tokio::test]
async fn read_only_servers_serve_reads_and_refuse_deletes_without_calling_opencode() {
    let mock = MockOpencode::start(|_, _| (200, "[]".to_owned())).await;
    let server = server_for(&mock.url, |options| options.cli.read_only = Some(true)).await;
    let (status, _) = send(server.client(Method::GET, &ws_path(&server, "/sessions"))).await;
    assert_eq!(status, 200);
    let read_only = error_body("read_only", "Server is in read-only mode");
    for path in ["/sessions/ses_1", "/mcp/github/auth"] {
        let (status, body) = send(server.client(Method::DELETE, &ws_path(&server, path))).await;
        assert_eq!((status, body), (403, read_only.clone()), "{path}");
    }
    assert_eq!(mock.requests(), [("GET".to_owned(), "/session".to_owned())]);
}

#[tokio::test]
async fn mcp_sign_out_disconnects_then_deletes_and_a_denial_sends_nothing() {
    let mock = MockOpencode::start(|method, target| match (method, target) {
        ("POST", "/mcp/github/disconnect") => (500, "{}".to_owned()),
        ("DELETE", "/mcp/github/auth") => (404, r#"{"name":"NotFoundError"}"#.to_owned()),
        ("DELETE", "/mcp/broken/auth") => (500, r#"{"error":"boom"}"#.to_owned()),
        _ => (200, "true".to_owned()),
    })
    .await;
    let server = server_for(&mock.url, |options| {
        options.cli.approval_mode = Some(ApprovalMode::Manual);
        options.cli.approval_timeout_ms = Some(5_000);
    })
    .await;
    let path = ws_path(&server, "/mcp/github/auth");

    // Denied: 403 and OpenCode hears nothing.
    let request = tokio::spawn(send(server.client(Method::DELETE, &path)));
    let pending = server.wait_for_pending().await;
    assert_eq!(pending.action, "mcp.auth.remove");
    assert_eq!(pending.summary, "Remove MCP auth github");
    let auth_file = server.home.path().join(".config/opencode/mcp-auth.json");
    assert_eq!(pending.paths, [auth_file.to_str().unwrap()]);
    server.approvals.respond(&pending.id, false);
    let (status, body) = request.await.unwrap();
    assert_eq!(status, 403);
    assert_eq!(body["code"], "write_denied");
    assert_eq!(body["details"]["reason"], "denied");
    assert!(mock.requests().is_empty());

    // Allowed: a failed disconnect is ignored; "no credentials" (404) is success.
    let request = tokio::spawn(send(server.client(Method::DELETE, &path)));
    let pending = server.wait_for_pending().await;
    server.approvals.respond(&pending.id, true);
    assert_eq!(request.await.unwrap(), (200, json!({ "ok": true })));
    assert_eq!(
        mock.requests(),
        [
            ("POST".to_owned(), "/mcp/github/disconnect".to_owned()),
            ("DELETE".to_owned(), "/mcp/github/auth".to_owned()),
        ]
    );
    for seen in mock.seen() {
        assert_eq!(
            seen.headers.get("x-opencode-directory").map(String::as_str),
            server.workspace_path().to_str()
        );
    }

    // Any other failure of the delete is reported.
    let request = tokio::spawn(send(
        server.client(Method::DELETE, &ws_path(&server, "/mcp/broken/auth")),
    ));
    let pending = server.wait_for_pending().await;
    server.approvals.respond(&pending.id, true);
    let (status, body) = request.await.unwrap();
    assert_eq!(status, 502);
    assert_eq!(body["code"], "opencode_request_failed");
    assert_eq!(body["details"]["path"], "/mcp/broken/auth");

    // An invalid name is refused before anyone is asked.
    let (status, body) =
        send(server.client(Method::DELETE, &ws_path(&server, "/mcp/a.b/auth"))).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_mcp_name"))
    );
    assert!(server.approvals.pending().is_empty());
}
