//! Plugins (contract §4.8): the listing (config entries, project and global plugin files,
//! `loadOrder`), adding with de-duplication by normalised name, removing scoped names sent
//! as `%2F`, JSONC-preserving edits, approvals, audit lines, reload events, read-only and
//! scope checks.

use openwork_server_tests::reqwest::Method;
use openwork_server_tests::{
    TestServer, Value, error_body, json, keys, manual_approval, read_only, read_text, send,
};
use std::path::{Path, PathBuf};

/// A hand-written project config: comments, a trailing comma, `plugin` as a string.
const COMMENTED: &str = "{\n  // Plugins are pinned on purpose.\n  \"$schema\": \"https://opencode.ai/config.json\",\n  \"plugin\": \"opencode-wakatime@1.2.3\", // keep pinned\n  /* the model */\n  \"model\": \"anthropic/claude\",\n}\n";

fn config_path(server: &TestServer) -> PathBuf {
    server.workspace_path().join("opencode.jsonc")
}

fn plugins_path(server: &TestServer) -> String {
    format!("/workspace/{}/plugins", server.workspace_id())
}

async fn add(server: &TestServer, spec: Value) -> (u16, Value) {
    send(
        server
            .client(Method::POST, &plugins_path(server))
            .json(&json!({ "spec": spec })),
    )
    .await
}

async fn remove(server: &TestServer, encoded_name: &str) -> (u16, Value) {
    send(server.client(
        Method::DELETE,
        &format!("{}/{encoded_name}", plugins_path(server)),
    ))
    .await
}

/// The plugin reload events written by the API (the file watcher's carry a path).
async fn api_plugin_events(server: &TestServer) -> Vec<Value> {
    let id = server.workspace_id();
    let (_, body) = send(server.client(Method::GET, &format!("/workspace/{id}/events"))).await;
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["reason"] == "plugins" && e["trigger"].get("path").is_none())
        .cloned()
        .collect()
}

fn write_file(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[tokio::test]
async fn an_empty_workspace_lists_nothing_with_the_load_order() {
    let server = TestServer::start().await;
    let (status, body) = send(server.client(Method::GET, &plugins_path(&server))).await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"items": [], "loadOrder": ["config.global", "config.project", "dir.global", "dir.project"]})
    );
    assert_eq!(keys(&body), ["items", "loadOrder"]);
}

#[tokio::test]
async fn the_listing_reports_config_entries_then_project_files_then_global_files() {
    let server = TestServer::start().await;
    let ws = server.workspace_path();
    write_file(
        &ws.join("opencode.json"),
        r#"{"plugin": ["opencode-wakatime@1.2.3", 7, null, "@acme/tools"]}"#,
    );
    let project_dir = ws.join(".opencode/plugins");
    write_file(&project_dir.join("custom.js"), "export default {}");
    write_file(&project_dir.join("notes.md"), "not a plugin");
    write_file(
        &project_dir.join("nested/deep.ts"),
        "not listed: no recursion",
    );
    std::fs::create_dir_all(project_dir.join("folder.js")).unwrap();
    std::os::unix::fs::symlink(project_dir.join("custom.js"), project_dir.join("link.ts")).unwrap();
    let global_dir = server.home.path().join(".config/opencode/plugins");
    write_file(&global_dir.join("g.ts"), "export default {}");
    // The global config's plugins are never listed.
    write_file(
        &server.home.path().join(".config/opencode/opencode.json"),
        r#"{"plugin": ["global-only"]}"#,
    );

    let project_file = format!("file://{}", project_dir.join("custom.js").display());
    let global_file = global_dir.join("g.ts");
    let (status, body) = send(server.client(Method::GET, &plugins_path(&server))).await;
    assert_eq!(status, 200);
    assert_eq!(
        body["items"],
        json!([
            {"spec": "opencode-wakatime@1.2.3", "source": "config", "scope": "project"},
            {"spec": "@acme/tools", "source": "config", "scope": "project"},
            {"spec": project_file, "source": "dir.project", "scope": "project", "path": ".opencode/plugins/custom.js"},
        ])
    );
    assert_eq!(keys(&body["items"][2]), ["spec", "source", "scope", "path"]);

    let with_global = format!("{}?includeGlobal=true", plugins_path(&server));
    let (_, body) = send(server.client(Method::GET, &with_global)).await;
    assert_eq!(body["items"].as_array().unwrap().len(), 4);
    assert_eq!(
        body["items"][3],
        json!({
            "spec": format!("file://{}", global_file.display()),
            "source": "dir.global",
            "scope": "global",
            "path": global_file.to_str().unwrap(),
        })
    );
    for not_exactly_true in [
        "includeGlobal=1",
        "includeGlobal=TRUE",
        "includeglobal=true",
    ] {
        let path = format!("{}?{not_exactly_true}", plugins_path(&server));
        let (_, body) = send(server.client(Method::GET, &path)).await;
        assert_eq!(
            body["items"].as_array().unwrap().len(),
            3,
            "{not_exactly_true}"
        );
    }

    // A string value is one entry; any scope may read.
    write_file(&ws.join("opencode.json"), r#"{"plugin": "solo"}"#);
    let viewer = server.issue_token("viewer").await;
    let (status, body) =
        send(server.with_bearer(Method::GET, &plugins_path(&server), &viewer)).await;
    assert_eq!(status, 200);
    assert_eq!(
        body["items"][0],
        json!({"spec": "solo", "source": "config", "scope": "project"})
    );
}

#[tokio::test]
async fn adding_rewrites_only_the_plugin_value_of_a_commented_config() {
    let server = TestServer::start().await;
    let file = config_path(&server);
    write_file(&file, COMMENTED);

    let (status, body) = add(&server, json!(" opencode-foo@2.0.0 ")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        read_text(&file),
        "{\n  // Plugins are pinned on purpose.\n  \"$schema\": \"https://opencode.ai/config.json\",\n  \"plugin\": [\"opencode-wakatime@1.2.3\", \" opencode-foo@2.0.0 \"], // keep pinned\n  /* the model */\n  \"model\": \"anthropic/claude\",\n}\n"
    );
    // The response is the listing without global items; the spec is stored as sent.
    assert_eq!(
        body,
        json!({
            "items": [
                {"spec": "opencode-wakatime@1.2.3", "source": "config", "scope": "project"},
                {"spec": " opencode-foo@2.0.0 ", "source": "config", "scope": "project"},
            ],
            "loadOrder": ["config.global", "config.project", "dir.global", "dir.project"],
        })
    );

    let entries = server.audit().await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["action"], "plugins.add");
    assert_eq!(entries[0]["target"], "opencode.json");
    assert_eq!(entries[0]["summary"], "Added  opencode-foo@2.0.0 ");
    assert_eq!(entries[0]["actor"]["scope"], "collaborator");

    let events = api_plugin_events(&server).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(
        events[0]["trigger"],
        json!({"type": "plugin", "name": "opencode-foo", "action": "added"})
    );
    assert_eq!(events[0]["workspaceId"], server.workspace_id().as_str());
}

#[tokio::test]
async fn a_new_config_is_created_as_jsonc_and_an_existing_json_file_is_edited() {
    let server = TestServer::start().await;
    let (status, _) = add(&server, json!("opencode-foo")).await;
    assert_eq!(status, 200);
    assert_eq!(
        read_text(&config_path(&server)),
        "{\n  \"plugin\": [\n    \"opencode-foo\"\n  ]\n}\n"
    );

    let server = TestServer::start().await;
    let json_file = server.workspace_path().join("opencode.json");
    write_file(&json_file, "{\n  \"model\": \"x\"\n}\n");
    let (status, _) = add(&server, json!("opencode-foo")).await;
    assert_eq!(status, 200);
    assert!(
        !config_path(&server).exists(),
        "the existing opencode.json is edited"
    );
    let text = read_text(&json_file);
    assert!(
        text.starts_with("{\n  \"model\": \"x\",\n  \"plugin\": ["),
        "{text}"
    );
    let parsed: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(parsed, json!({"model": "x", "plugin": ["opencode-foo"]}));
}

#[tokio::test]
async fn the_same_plugin_under_another_version_is_not_added_twice() {
    let server = TestServer::start().await;
    let file = config_path(&server);
    let original =
        "{\n  \"plugin\": [\"opencode-foo@1.0.0\", \"@acme/tools@1\", 42], // pinned\n}\n";
    write_file(&file, original);

    for (spec, summary) in [
        ("opencode-foo@2.0.0", "Added opencode-foo@2.0.0"),
        ("  opencode-foo  ", "Added   opencode-foo  "),
        ("@acme/tools", "Added @acme/tools"),
        ("@acme/tools@3.1.0", "Added @acme/tools@3.1.0"),
    ] {
        let (status, body) = add(&server, json!(spec)).await;
        assert_eq!(status, 200, "{spec}: {body}");
        assert_eq!(read_text(&file), original, "{spec} left the file alone");
        // The audit line is written even when nothing changed.
        assert_eq!(server.audit().await[0]["summary"], summary);
    }
    assert!(
        api_plugin_events(&server).await.is_empty(),
        "no change, no event"
    );

    // Specs that name a location are kept whole: an `@` in them is not a version.
    let (status, _) = add(&server, json!("file:///opt/p@1/plugin.js")).await;
    assert_eq!(status, 200);
    let (status, body) = add(&server, json!("file:///opt/p@2/plugin.js")).await;
    assert_eq!(status, 200);
    let specs: Vec<&str> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["spec"].as_str().unwrap())
        .collect();
    // Non-string entries are dropped when the list is written back, as in the reference.
    assert_eq!(
        specs,
        [
            "opencode-foo@1.0.0",
            "@acme/tools@1",
            "file:///opt/p@1/plugin.js",
            "file:///opt/p@2/plugin.js"
        ]
    );
}

#[tokio::test]
async fn removing_a_scoped_plugin_sent_with_an_encoded_slash() {
    let server = TestServer::start().await;
    let file = config_path(&server);
    write_file(
        &file,
        "{\n  // team plugins\n  \"plugin\": [\"@acme/tools@1\", \"keep-me\", \"@acme/tools@2\"],\n  \"model\": \"m\", // trailing\n}\n",
    );

    let (status, body) = remove(&server, "%40acme%2Ftools").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        read_text(&file),
        "{\n  // team plugins\n  \"plugin\": [\"keep-me\"],\n  \"model\": \"m\", // trailing\n}\n"
    );
    assert_eq!(
        body["items"],
        json!([{"spec": "keep-me", "source": "config", "scope": "project"}])
    );
    assert_eq!(body["loadOrder"].as_array().unwrap().len(), 4);

    let entries = server.audit().await;
    assert_eq!(entries[0]["action"], "plugins.remove");
    assert_eq!(entries[0]["target"], "opencode.json");
    assert_eq!(entries[0]["summary"], "Removed @acme/tools");
    let events = api_plugin_events(&server).await;
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0]["trigger"],
        json!({"type": "plugin", "name": "@acme/tools", "action": "removed"})
    );

    // A versioned name removes by its normalised name; removing the last entry leaves [].
    let (status, body) = remove(&server, "keep-me@9.9.9").await;
    assert_eq!(status, 200);
    assert_eq!(body["items"], json!([]));
    assert!(
        read_text(&file).contains("\"plugin\": [],"),
        "{}",
        read_text(&file)
    );
}

#[tokio::test]
async fn removing_an_unknown_plugin_is_not_an_error_and_writes_nothing() {
    let server = TestServer::start().await;
    let file = config_path(&server);
    write_file(&file, COMMENTED);
    let (status, body) = remove(&server, "not-there").await;
    assert_eq!(status, 200);
    assert_eq!(body["items"][0]["spec"], "opencode-wakatime@1.2.3");
    assert_eq!(read_text(&file), COMMENTED);
    let entries = server.audit().await;
    assert_eq!(entries.len(), 1, "the audit line is written anyway");
    assert_eq!(entries[0]["summary"], "Removed not-there");
    assert!(api_plugin_events(&server).await.is_empty());

    // Without any config the file is not created.
    let server = TestServer::start().await;
    let (status, _) = remove(&server, "x").await;
    assert_eq!(status, 200);
    assert!(!config_path(&server).exists());
}

#[tokio::test]
async fn invalid_input_is_refused_before_anyone_is_asked() {
    let server = TestServer::start_with(manual_approval(30_000)).await;
    let file = config_path(&server);
    write_file(&file, COMMENTED);
    let path = plugins_path(&server);

    for spec in [json!(""), json!("   "), json!(null)] {
        let (status, body) = add(&server, spec.clone()).await;
        assert_eq!(status, 400, "{spec}");
        assert_eq!(
            body,
            error_body("invalid_plugin_spec", "Plugin spec is required")
        );
    }
    let (status, body) = send(server.client(Method::POST, &path).json(&json!({}))).await;
    assert_eq!(
        (status, body["code"].clone()),
        (400, json!("invalid_plugin_spec"))
    );
    let (status, body) = send(server.client(Method::POST, &path).body("not json")).await;
    assert_eq!(status, 400);
    assert_eq!(body, error_body("invalid_json", "Invalid JSON body"));

    let broken = "{\n  \"plugin\": [\"a\",\n";
    write_file(&file, broken);
    let (status, body) = add(&server, json!("opencode-foo")).await;
    assert_eq!(status, 422);
    assert_eq!(body["code"], "invalid_jsonc");
    assert_eq!(body["message"], "Failed to parse JSONC");
    let (status, body) = remove(&server, "a").await;
    assert_eq!(
        (status, body["code"].clone()),
        (422, json!("invalid_jsonc"))
    );
    let (status, body) = send(server.client(Method::GET, &path)).await;
    assert_eq!(
        (status, body["code"].clone()),
        (422, json!("invalid_jsonc"))
    );

    assert!(server.approvals.pending().is_empty(), "nobody was asked");
    assert_eq!(read_text(&file), broken);
    assert!(server.audit().await.is_empty());
}

#[tokio::test]
async fn a_denied_or_timed_out_write_leaves_the_file_byte_identical() {
    let server = TestServer::start_with(manual_approval(30_000)).await;
    let file = config_path(&server);
    write_file(&file, COMMENTED);

    let request = tokio::spawn(
        server
            .client(Method::POST, &plugins_path(&server))
            .json(&json!({"spec": "opencode-foo"}))
            .send(),
    );
    let pending = server.wait_for_pending().await;
    assert_eq!(pending.action, "plugins.add");
    assert_eq!(pending.summary, "Add plugin opencode-foo");
    assert_eq!(pending.paths, [file.to_str().unwrap()]);
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
            .client(
                Method::DELETE,
                &format!("{}/opencode-wakatime", plugins_path(&server)),
            )
            .send(),
    );
    let pending = server.wait_for_pending().await;
    assert_eq!(pending.action, "plugins.remove");
    assert_eq!(pending.summary, "Remove plugin opencode-wakatime");
    assert!(server.approvals.respond(&pending.id, false));
    assert_eq!(request.await.unwrap().unwrap().status(), 403);
    assert_eq!(read_text(&file), COMMENTED);
    assert!(server.audit().await.is_empty());
    assert!(api_plugin_events(&server).await.is_empty());

    // Allowed, the write goes through.
    let request = tokio::spawn(
        server
            .client(Method::POST, &plugins_path(&server))
            .json(&json!({"spec": "opencode-foo"}))
            .send(),
    );
    let pending = server.wait_for_pending().await;
    assert!(server.approvals.respond(&pending.id, true));
    assert_eq!(request.await.unwrap().unwrap().status(), 200);
    assert!(read_text(&file).contains("\"opencode-foo\""));

    let server = TestServer::start_with(manual_approval(200)).await;
    let file = config_path(&server);
    write_file(&file, COMMENTED);
    let (status, body) = add(&server, json!("opencode-foo")).await;
    assert_eq!(status, 403);
    assert_eq!(body["details"]["reason"], "timeout");
    assert_eq!(read_text(&file), COMMENTED);
}

#[tokio::test]
async fn read_only_servers_and_viewers_cannot_change_plugins() {
    let server = TestServer::start_with(read_only()).await;
    let file = config_path(&server);
    write_file(&file, COMMENTED);
    let read_only = error_body("read_only", "Server is in read-only mode");
    assert_eq!(
        add(&server, json!("opencode-foo")).await,
        (403, read_only.clone())
    );
    assert_eq!(remove(&server, "opencode-wakatime").await, (403, read_only));
    let (status, _) = send(server.client(Method::GET, &plugins_path(&server))).await;
    assert_eq!(status, 200);
    assert_eq!(read_text(&file), COMMENTED);

    let server = TestServer::start().await;
    let viewer = server.issue_token("viewer").await;
    let forbidden = json!({
        "code": "forbidden",
        "message": "Insufficient token scope",
        "details": {"required": "collaborator", "scope": "viewer"},
    });
    let path = plugins_path(&server);
    let (status, body) = send(
        server
            .with_bearer(Method::POST, &path, &viewer)
            .json(&json!({"spec": "x"})),
    )
    .await;
    assert_eq!((status, body), (403, forbidden.clone()));
    let (status, body) =
        send(server.with_bearer(Method::DELETE, &format!("{path}/x"), &viewer)).await;
    assert_eq!((status, body), (403, forbidden));
    let (status, body) = send(server.request(Method::GET, &path)).await;
    assert_eq!(
        (status, body),
        (401, error_body("unauthorized", "Invalid bearer token"))
    );
    let (status, body) = send(server.client(Method::GET, "/workspace/ws_nope/plugins")).await;
    assert_eq!(
        (status, body),
        (
            404,
            error_body("workspace_not_found", "Workspace not found")
        )
    );
    assert!(!config_path(&server).exists());
}

#[tokio::test]
async fn concurrent_adds_from_several_clients_lose_no_plugin() {
    let server = TestServer::start().await;
    let file = config_path(&server);
    write_file(&file, COMMENTED);
    let requests: Vec<_> = (0..8)
        .map(|n| {
            tokio::spawn(
                server
                    .client(Method::POST, &plugins_path(&server))
                    .json(&json!({ "spec": format!("plugin-{n}@1.0.0") }))
                    .send(),
            )
        })
        .collect();
    for request in requests {
        assert_eq!(request.await.unwrap().unwrap().status(), 200);
    }
    let text = read_text(&file);
    for n in 0..8 {
        assert!(
            text.contains(&format!("\"plugin-{n}@1.0.0\"")),
            "plugin-{n} is missing: {text}"
        );
    }
    assert!(
        text.starts_with("{\n  // Plugins are pinned on purpose.\n"),
        "{text}"
    );
    assert_eq!(server.audit().await.len(), 8);
}
