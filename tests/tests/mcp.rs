//! MCP servers (contract §4.10): the merged global + project listing in key order,
//! `disabledByTools` from `tools.deny` globs, adding (validated before approval, D4) and
//! removing project entries with JSONC-preserving edits, approvals, audit lines, reload
//! events, read-only and scope checks.

use openwork_server_tests::reqwest::Method;
use openwork_server_tests::{
    TestServer, Value, error_body, json, keys, manual_approval, read_only, read_text, send,
};
use std::path::{Path, PathBuf};

/// A hand-written project config with comments and trailing commas.
const COMMENTED: &str = "{\n  // Servers for this repo.\n  \"$schema\": \"https://opencode.ai/config.json\",\n  \"mcp\": {\n    \"docs\": { \"type\": \"remote\", \"url\": \"https://docs.test/mcp\", \"oauth\": false },\n  },\n  \"model\": \"anthropic/claude\", // chosen by hand\n}\n";

fn write_file(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn config_path(server: &TestServer) -> PathBuf {
    server.workspace_path().join("opencode.jsonc")
}

fn global_config(server: &TestServer, name: &str) -> PathBuf {
    server.home.path().join(".config/opencode").join(name)
}

fn mcp_path(server: &TestServer) -> String {
    format!("/workspace/{}/mcp", server.workspace_id())
}

async fn list(server: &TestServer) -> Value {
    let (status, body) = send(server.client(Method::GET, &mcp_path(server))).await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn add(server: &TestServer, body: Value) -> (u16, Value) {
    send(server.client(Method::POST, &mcp_path(server)).json(&body)).await
}

async fn remove(server: &TestServer, name: &str) -> (u16, Value) {
    send(server.client(Method::DELETE, &format!("{}/{name}", mcp_path(server)))).await
}

async fn mcp_events(server: &TestServer) -> Vec<Value> {
    let id = server.workspace_id();
    let (_, body) = send(server.client(Method::GET, &format!("/workspace/{id}/events"))).await;
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["reason"] == "mcp")
        .cloned()
        .collect()
}

#[tokio::test]
async fn global_entries_come_first_then_project_entries_in_key_order() {
    let server = TestServer::start().await;
    write_file(
        &global_config(&server, "opencode.json"),
        r#"{"mcp": {
            "zeta-global": {"type": "local", "command": ["zeta"], "enabled": false},
            "shared": {"type": "remote", "url": "https://global.test"},
            "alpha-global": {"type": "remote", "url": "https://alpha.test", "oauth": false}
        }}"#,
    );
    write_file(
        &config_path(&server),
        "{\n  // project servers\n  \"mcp\": {\n    \"shared\": {\"type\": \"remote\", \"url\": \"https://project.test\"},\n    \"beta\": {\"type\": \"local\", \"command\": [\"npx\", \"beta\"], \"environment\": {\"A\": \"1\"}},\n  },\n}\n",
    );
    let body = list(&server).await;
    assert_eq!(
        body,
        json!({"items": [
            {"name": "zeta-global", "config": {"type": "local", "command": ["zeta"], "enabled": false}, "source": "config.global"},
            {"name": "alpha-global", "config": {"type": "remote", "url": "https://alpha.test", "oauth": false}, "source": "config.global"},
            {"name": "shared", "config": {"type": "remote", "url": "https://project.test"}, "source": "config.project"},
            {"name": "beta", "config": {"type": "local", "command": ["npx", "beta"], "environment": {"A": "1"}}, "source": "config.project"},
        ]})
    );
    assert_eq!(keys(&body["items"][0]), ["name", "config", "source"]);
    assert_eq!(keys(&body["items"][1]["config"]), ["type", "url", "oauth"]);

    // `opencode.jsonc` wins over `opencode.json` in the global folder too.
    write_file(
        &global_config(&server, "opencode.jsonc"),
        "{ \"mcp\": { \"from-jsonc\": { \"type\": \"remote\", \"url\": \"u\" }, }, }",
    );
    let body = list(&server).await;
    assert_eq!(body["items"][0]["name"], "from-jsonc");
    assert_eq!(body["items"].as_array().unwrap().len(), 3);

    // Viewers may read.
    let viewer = server.issue_token("viewer").await;
    let (status, _) = send(server.with_bearer(Method::GET, &mcp_path(&server), &viewer)).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn tools_deny_globs_mark_servers_disabled() {
    let server = TestServer::start().await;
    write_file(
        &global_config(&server, "opencode.json"),
        r#"{"mcp": {"g-denied": {"type": "remote", "url": "g"}, "g-by-project": {"type": "remote", "url": "g"}, "g-open": {"type": "remote", "url": "g"}},
            "tools": {"deny": ["mcp.g-denied"]}}"#,
    );
    write_file(
        &config_path(&server),
        r#"{
            "mcp": {
                "dot": {"type": "local", "command": ["x"]},
                "colon": {"type": "local", "command": ["x"]},
                "glob": {"type": "local", "command": ["x"]},
                "open": {"type": "local", "command": ["x"]}
            },
            "tools": {"deny": ["mcp.dot", "mcp:colon:*", "mcp.gl?b.*", "mcp.g-by-*", "bash", 7]}
        }"#,
    );
    let body = list(&server).await;
    let flags: Vec<(&str, Option<bool>)> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["name"].as_str().unwrap(),
                i.get("disabledByTools").map(|v| v.as_bool().unwrap()),
            )
        })
        .collect();
    assert_eq!(
        flags,
        [
            ("g-denied", Some(true)),
            ("g-by-project", Some(true)),
            ("g-open", None),
            ("dot", Some(true)),
            ("colon", Some(true)),
            ("glob", Some(true)),
            ("open", None),
        ]
    );
    assert_eq!(
        keys(&body["items"][0]),
        ["name", "config", "source", "disabledByTools"]
    );

    // `mcp.*` switches every server off; the global deny list does not reach project servers.
    write_file(
        &config_path(&server),
        r#"{"mcp": {"p": {"type": "remote", "url": "u"}}, "tools": {"deny": ["mcp:*"]}}"#,
    );
    let body = list(&server).await;
    assert!(
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["disabledByTools"] == true)
    );
    write_file(
        &config_path(&server),
        r#"{"mcp": {"g-denied": {"type": "remote", "url": "p"}}}"#,
    );
    let body = list(&server).await;
    let project = body["items"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(project["source"], "config.project");
    assert!(project.get("disabledByTools").is_none());
}

#[tokio::test]
async fn adding_creates_a_jsonc_config_and_reports_the_listing() {
    let server = TestServer::start().await;
    let (status, body) = add(
        &server,
        json!({"name": "docs", "config": {"type": "remote", "url": "https://docs.test/mcp", "oauth": false}}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"items": [{"name": "docs", "config": {"type": "remote", "url": "https://docs.test/mcp", "oauth": false}, "source": "config.project"}]})
    );
    assert_eq!(
        read_text(&config_path(&server)),
        "{\n  \"mcp\": {\n    \"docs\": {\n      \"type\": \"remote\",\n      \"url\": \"https://docs.test/mcp\",\n      \"oauth\": false\n    }\n  }\n}\n"
    );
    let entries = server.audit().await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["action"], "mcp.add");
    assert_eq!(entries[0]["target"], "opencode.json");
    assert_eq!(entries[0]["summary"], "Added MCP docs");
    let events = mcp_events(&server).await;
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0]["trigger"],
        json!({"type": "mcp", "name": "docs", "action": "added"})
    );
}

#[tokio::test]
async fn replacing_an_entry_keeps_the_comments_outside_the_mcp_value() {
    let server = TestServer::start().await;
    let file = config_path(&server);
    write_file(&file, COMMENTED);
    let (status, body) = add(
        &server,
        json!({"name": "docs", "config": {"type": "local", "command": ["npx", "docs-mcp"]}}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // Only the `mcp` value is rewritten; it keeps the file's trailing-comma style.
    assert_eq!(
        read_text(&file),
        "{\n  // Servers for this repo.\n  \"$schema\": \"https://opencode.ai/config.json\",\n  \"mcp\": {\n    \"docs\": {\n      \"type\": \"local\",\n      \"command\": [\"npx\", \"docs-mcp\"],\n    },\n  },\n  \"model\": \"anthropic/claude\", // chosen by hand\n}\n"
    );
    let (_, config) = send(server.client(
        Method::GET,
        &format!("/workspace/{}/config", server.workspace_id()),
    ))
    .await;
    assert_eq!(
        config["opencode"]["mcp"],
        json!({"docs": {"type": "local", "command": ["npx", "docs-mcp"]}})
    );
    let events = mcp_events(&server).await;
    assert_eq!(
        events[0]["trigger"],
        json!({"type": "mcp", "name": "docs", "action": "updated"})
    );
}

#[tokio::test]
async fn invalid_requests_are_refused_before_anyone_is_asked() {
    let server = TestServer::start_with(manual_approval(30_000)).await;
    let file = config_path(&server);
    write_file(&file, COMMENTED);
    let remote = json!({"type": "remote", "url": "https://x.test"});
    let cases = [
        (
            json!({"name": "x"}),
            "invalid_payload",
            "MCP config is required",
        ),
        (
            json!({"name": "x", "config": null}),
            "invalid_payload",
            "MCP config is required",
        ),
        (
            json!({"name": "x", "config": false}),
            "invalid_payload",
            "MCP config is required",
        ),
        (
            json!({"name": "x", "config": 0}),
            "invalid_payload",
            "MCP config is required",
        ),
        (
            json!({"name": "x", "config": ""}),
            "invalid_payload",
            "MCP config is required",
        ),
        (
            json!({"config": remote}),
            "invalid_mcp_name",
            "MCP name must be alphanumeric and not start with -",
        ),
        (
            json!({"name": "-x", "config": remote}),
            "invalid_mcp_name",
            "MCP name must be alphanumeric and not start with -",
        ),
        (
            json!({"name": "a.b", "config": remote}),
            "invalid_mcp_name",
            "MCP name must be alphanumeric and not start with -",
        ),
        (
            json!({"name": "../x", "config": remote}),
            "invalid_mcp_name",
            "MCP name must be alphanumeric and not start with -",
        ),
        (
            json!({"name": "x", "config": "remote"}),
            "invalid_mcp_config",
            "MCP config type must be local or remote",
        ),
        (
            json!({"name": "x", "config": {"type": "stdio"}}),
            "invalid_mcp_config",
            "MCP config type must be local or remote",
        ),
        (
            json!({"name": "x", "config": {"type": "local"}}),
            "invalid_mcp_config",
            "Local MCP requires command array",
        ),
        (
            json!({"name": "x", "config": {"type": "local", "command": []}}),
            "invalid_mcp_config",
            "Local MCP requires command array",
        ),
        (
            json!({"name": "x", "config": {"type": "local", "command": "npx x"}}),
            "invalid_mcp_config",
            "Local MCP requires command array",
        ),
        (
            json!({"name": "x", "config": {"type": "remote"}}),
            "invalid_mcp_config",
            "Remote MCP requires url",
        ),
        (
            json!({"name": "x", "config": {"type": "remote", "url": ""}}),
            "invalid_mcp_config",
            "Remote MCP requires url",
        ),
    ];
    for (body, code, message) in cases {
        let (status, answer) = add(&server, body.clone()).await;
        assert_eq!((status, answer), (400, error_body(code, message)), "{body}");
    }
    let (status, answer) = send(server.client(Method::POST, &mcp_path(&server)).body("[]")).await;
    assert_eq!(
        (status, answer),
        (400, error_body("invalid_json", "Invalid JSON body"))
    );
    assert!(server.approvals.pending().is_empty(), "nobody was asked");
    assert_eq!(read_text(&file), COMMENTED);
    assert!(server.audit().await.is_empty());

    // A project config that does not parse: 422 on every route, before any approval.
    let broken = "{ \"mcp\": { \"a\": } }";
    write_file(&file, broken);
    let (status, answer) = add(&server, json!({"name": "x", "config": remote})).await;
    assert_eq!(
        (status, answer["code"].clone()),
        (422, json!("invalid_jsonc"))
    );
    let (status, answer) = remove(&server, "a").await;
    assert_eq!(
        (status, answer["code"].clone()),
        (422, json!("invalid_jsonc"))
    );
    let (status, answer) = send(server.client(Method::GET, &mcp_path(&server))).await;
    assert_eq!(
        (status, answer["code"].clone()),
        (422, json!("invalid_jsonc"))
    );
    assert!(server.approvals.pending().is_empty());
    assert_eq!(read_text(&file), broken);
}

#[tokio::test]
async fn a_broken_global_config_is_skipped_in_the_listing() {
    let server = TestServer::start().await;
    write_file(&global_config(&server, "opencode.jsonc"), "{ \"mcp\": ");
    write_file(
        &config_path(&server),
        r#"{"mcp": {"p": {"type": "remote", "url": "u"}}}"#,
    );
    let body = list(&server).await;
    assert_eq!(
        body,
        json!({"items": [{"name": "p", "config": {"type": "remote", "url": "u"}, "source": "config.project"}]})
    );
}

#[tokio::test]
async fn removing_takes_out_one_project_entry_and_unknown_names_are_fine() {
    let server = TestServer::start().await;
    let file = config_path(&server);
    write_file(
        &file,
        "{\n  // keep\n  \"mcp\": {\"a\": {\"type\": \"remote\", \"url\": \"a\"}, \"b\": {\"type\": \"remote\", \"url\": \"b\"}},\n  \"model\": \"m\", // tail\n}\n",
    );
    write_file(
        &global_config(&server, "opencode.json"),
        r#"{"mcp": {"g": {"type": "remote", "url": "g"}}}"#,
    );
    let (status, body) = remove(&server, "a").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"items": [
            {"name": "g", "config": {"type": "remote", "url": "g"}, "source": "config.global"},
            {"name": "b", "config": {"type": "remote", "url": "b"}, "source": "config.project"},
        ]})
    );
    assert_eq!(
        read_text(&file),
        "{\n  // keep\n  \"mcp\": {\n    \"b\": {\n      \"type\": \"remote\",\n      \"url\": \"b\"\n    }\n  },\n  \"model\": \"m\", // tail\n}\n"
    );
    let entries = server.audit().await;
    assert_eq!(
        (
            entries[0]["action"].clone(),
            entries[0]["target"].clone(),
            entries[0]["summary"].clone()
        ),
        (
            json!("mcp.remove"),
            json!("opencode.json"),
            json!("Removed MCP a")
        )
    );
    let events = mcp_events(&server).await;
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0]["trigger"],
        json!({"type": "mcp", "name": "a", "action": "removed"})
    );

    // Unknown (even invalid) names: 200, nothing written, a line in the audit log anyway;
    // global entries are never removed.
    let before = read_text(&file);
    for name in ["missing", "a.b", "g"] {
        let (status, _) = remove(&server, name).await;
        assert_eq!(status, 200, "{name}");
        assert_eq!(read_text(&file), before, "{name}");
    }
    assert_eq!(server.audit().await[0]["summary"], "Removed MCP g");
    assert_eq!(mcp_events(&server).await.len(), 1);
}

#[tokio::test]
async fn approvals_gate_adds_and_removes_and_a_deny_changes_nothing() {
    let server = TestServer::start_with(manual_approval(30_000)).await;
    let file = config_path(&server);
    write_file(&file, COMMENTED);

    let request = tokio::spawn(
        server
            .client(Method::POST, &mcp_path(&server))
            .json(&json!({"name": "web", "config": {"type": "remote", "url": "https://web.test"}}))
            .send(),
    );
    let pending = server.wait_for_pending().await;
    assert_eq!(pending.action, "mcp.add");
    assert_eq!(pending.summary, "Add MCP web");
    assert_eq!(pending.paths, [file.to_str().unwrap()]);
    assert_eq!(pending.workspace_id, server.workspace_id());
    assert!(server.approvals.respond(&pending.id, false));
    let response = request.await.unwrap().unwrap();
    assert_eq!(response.status(), 403);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"code": "write_denied", "message": "Write request denied", "details": {"requestId": pending.id, "reason": "denied"}})
    );
    assert_eq!(read_text(&file), COMMENTED);

    let request = tokio::spawn(
        server
            .client(Method::DELETE, &format!("{}/docs", mcp_path(&server)))
            .send(),
    );
    let pending = server.wait_for_pending().await;
    assert_eq!(pending.action, "mcp.remove");
    assert_eq!(pending.summary, "Remove MCP docs");
    assert!(server.approvals.respond(&pending.id, false));
    assert_eq!(request.await.unwrap().unwrap().status(), 403);
    assert_eq!(read_text(&file), COMMENTED);
    assert!(server.audit().await.is_empty());
    assert!(mcp_events(&server).await.is_empty());

    let request = tokio::spawn(
        server
            .client(Method::DELETE, &format!("{}/docs", mcp_path(&server)))
            .send(),
    );
    let pending = server.wait_for_pending().await;
    assert!(server.approvals.respond(&pending.id, true));
    let response = request.await.unwrap().unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({"items": []}));

    let server = TestServer::start_with(manual_approval(200)).await;
    let file = config_path(&server);
    write_file(&file, COMMENTED);
    let (status, body) = remove(&server, "docs").await;
    assert_eq!(
        (status, body["details"]["reason"].clone()),
        (403, json!("timeout"))
    );
    assert_eq!(read_text(&file), COMMENTED);
}

#[tokio::test]
async fn read_only_servers_and_viewers_cannot_change_servers() {
    let server = TestServer::start_with(read_only()).await;
    let file = config_path(&server);
    write_file(&file, COMMENTED);
    let read_only = error_body("read_only", "Server is in read-only mode");
    let remote = json!({"name": "x", "config": {"type": "remote", "url": "u"}});
    assert_eq!(add(&server, remote.clone()).await, (403, read_only.clone()));
    assert_eq!(remove(&server, "docs").await, (403, read_only));
    assert_eq!(list(&server).await["items"][0]["name"], "docs");
    assert_eq!(read_text(&file), COMMENTED);

    let server = TestServer::start().await;
    let viewer = server.issue_token("viewer").await;
    let forbidden = json!({
        "code": "forbidden",
        "message": "Insufficient token scope",
        "details": {"required": "collaborator", "scope": "viewer"},
    });
    let path = mcp_path(&server);
    let (status, body) = send(
        server
            .with_bearer(Method::POST, &path, &viewer)
            .json(&remote),
    )
    .await;
    assert_eq!((status, body), (403, forbidden.clone()));
    let (status, body) =
        send(server.with_bearer(Method::DELETE, &format!("{path}/x"), &viewer)).await;
    assert_eq!((status, body), (403, forbidden));
    let (status, body) = send(server.request(Method::DELETE, &format!("{path}/x"))).await;
    assert_eq!(
        (status, body),
        (401, error_body("unauthorized", "Invalid bearer token"))
    );
    assert!(!config_path(&server).exists());
}

#[tokio::test]
async fn concurrent_adds_from_several_clients_lose_no_server() {
    let server = TestServer::start().await;
    let requests: Vec<_> = (0..8)
        .map(|n| {
            tokio::spawn(
                server
                    .client(Method::POST, &mcp_path(&server))
                    .json(&json!({"name": format!("s{n}"), "config": {"type": "local", "command": ["run", n.to_string()]}}))
                    .send(),
            )
        })
        .collect();
    for request in requests {
        assert_eq!(request.await.unwrap().unwrap().status(), 200);
    }
    let items = list(&server).await["items"].as_array().unwrap().clone();
    let mut names: Vec<&str> = items.iter().map(|i| i["name"].as_str().unwrap()).collect();
    names.sort_unstable();
    assert_eq!(names, ["s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7"]);
}
