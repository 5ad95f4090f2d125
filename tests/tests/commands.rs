//! Commands (contract §4.11): listing `.opencode/commands` (and, for the host, the user's
//! global folder), the exact bytes of an upserted command file, name sanitising, deletion,
//! the `model: null` repair, malformed files skipped without breaking any route (D9),
//! validation before any approval prompt (D4), approvals, audit lines and reload events.

use openwork_server_tests::reqwest::Method;
use openwork_server_tests::{TestServer, Value, json, manual_approval, read_only, read_text, send};
use std::path::{Path, PathBuf};

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

const VERIFIED: &str = "---\nname: daily-report\ndescription: Daily report\nagent: default\nsubtask: false\n---\n\nsummarize yesterday\n";

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn commands_path(server: &TestServer) -> String {
    format!("/workspace/{}/commands", server.workspace_id())
}

fn command_file(server: &TestServer, name: &str) -> PathBuf {
    server
        .workspace_path()
        .join(".opencode/commands")
        .join(format!("{name}.md"))
}

async fn list(server: &TestServer) -> Vec<Value> {
    let (status, body) = send(server.client(Method::GET, &commands_path(server))).await;
    assert_eq!(status, 200, "{body}");
    body["items"].as_array().unwrap().clone()
}

fn sorted_names(items: &[Value]) -> Vec<String> {
    let mut names: Vec<String> = items
        .iter()
        .map(|i| i["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

async fn upsert(server: &TestServer, body: Value) -> (u16, Value) {
    send(
        server
            .client(Method::POST, &commands_path(server))
            .json(&body),
    )
    .await
}

async fn events(server: &TestServer) -> Vec<Value> {
    let (_, body) = send(server.client(
        Method::GET,
        &format!("/workspace/{}/events", server.workspace_id()),
    ))
    .await;
    body["items"].as_array().unwrap().clone()
}

async fn pending_count(server: &TestServer) -> usize {
    let (_, body) = send(server.host(Method::GET, "/approvals")).await;
    body["items"].as_array().unwrap().len()
}

// ---------------------------------------------------------------------------------------
// Upsert
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn upsert_writes_the_verified_bytes_and_answers_the_listing() {
    let server = TestServer::start().await;
    let (status, body) = upsert(
        &server,
        json!({
            "name": "/daily-report",
            "template": "  summarize yesterday\n\n",
            "description": "Daily report",
            "agent": "default",
            "model": "",
        }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let file = command_file(&server, "daily-report");
    assert_eq!(read_text(&file), VERIFIED);
    assert_eq!(
        body,
        json!({"items": [{
            "name": "daily-report",
            "description": "Daily report",
            "template": "summarize yesterday",
            "agent": "default",
            "model": null,
            "subtask": false,
            "scope": "workspace",
        }]})
    );

    let entries = server.audit().await;
    assert_eq!(entries[0]["action"], "commands.upsert");
    assert_eq!(entries[0]["target"], file.to_str().unwrap());
    assert_eq!(entries[0]["summary"], "Upserted command /daily-report");
    let reload = events(&server).await;
    assert!(
        reload.iter().any(|e| e["reason"] == "commands"
            && e["trigger"]
                == json!({"type": "command", "name": "daily-report", "action": "updated", "path": file.to_str().unwrap()})),
        "{reload:?}"
    );
}

#[tokio::test]
async fn optional_fields_are_written_in_order_and_overwrites_replace_the_file() {
    let server = TestServer::start().await;
    let (status, _) = upsert(
        &server,
        json!({"name": "review", "template": "Review {{file}}", "model": "openai/gpt-5", "subtask": true, "agent": null}),
    )
    .await;
    assert_eq!(status, 200);
    let file = command_file(&server, "review");
    assert_eq!(
        read_text(&file),
        "---\nname: review\nmodel: openai/gpt-5\nsubtask: true\n---\n\nReview {{file}}\n"
    );
    let (status, body) = upsert(&server, json!({"name": "review", "template": "Again"})).await;
    assert_eq!(status, 200);
    assert_eq!(
        read_text(&file),
        "---\nname: review\nsubtask: false\n---\n\nAgain\n"
    );
    assert_eq!(body["items"][0]["model"], Value::Null);
    assert_eq!(body["items"][0]["template"], "Again");
}

#[tokio::test]
async fn invalid_upserts_are_refused_before_anyone_is_asked() {
    let server = TestServer::start_with(manual_approval(30_000)).await;
    let cases = [
        (
            json!({"name": "ok", "template": "  \n"}),
            json!({"code": "invalid_command_template", "message": "Command template is required"}),
        ),
        (
            json!({"name": "bad name"}),
            json!({"code": "invalid_command_template", "message": "Command template is required"}),
        ),
        (
            json!({"name": "bad name", "template": "t"}),
            json!({"code": "invalid_command_name", "message": "Command name must be alphanumeric with _ or -"}),
        ),
        (
            json!({"name": "../escape", "template": "t"}),
            json!({"code": "invalid_command_name", "message": "Command name must be alphanumeric with _ or -"}),
        ),
        (
            json!({"name": "///", "template": "t"}),
            json!({"code": "invalid_command_name", "message": "Command name must be alphanumeric with _ or -"}),
        ),
        (
            json!({"template": "t"}),
            json!({"code": "invalid_command_name", "message": "Command name must be alphanumeric with _ or -"}),
        ),
    ];
    for (payload, expected) in cases {
        let (status, body) = upsert(&server, payload.clone()).await;
        assert_eq!((status, &body), (400, &expected), "{payload}");
    }
    let (status, body) =
        send(server.client(Method::DELETE, &format!("{}/a.b", commands_path(&server)))).await;
    assert_eq!(
        (status, body["code"].clone()),
        (400, json!("invalid_command_name"))
    );
    assert_eq!(pending_count(&server).await, 0, "nobody was asked");
    assert!(!server.workspace_path().join(".opencode").exists());
}

#[tokio::test]
async fn approvals_name_the_command_file_and_denial_or_timeout_change_nothing() {
    let server = TestServer::start_with(manual_approval(30_000)).await;
    let file = command_file(&server, "daily-report");
    write(&file, VERIFIED);
    let request = tokio::spawn(
        server
            .client(Method::POST, &commands_path(&server))
            .json(&json!({"name": " /daily-report", "template": "other"}))
            .send(),
    );
    let pending = server.wait_for_pending().await;
    let (_, listed) = send(server.host(Method::GET, "/approvals")).await;
    let item = &listed["items"][0];
    assert_eq!(item["action"], "commands.upsert");
    assert_eq!(item["summary"], "Upsert command  /daily-report");
    assert_eq!(item["paths"], json!([file.to_str().unwrap()]));
    assert!(server.approvals.respond(&pending.id, false));
    let response = request.await.unwrap().unwrap();
    assert_eq!(response.status(), 403);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["details"],
        json!({"requestId": pending.id, "reason": "denied"})
    );
    assert_eq!(read_text(&file), VERIFIED);

    let request = tokio::spawn(
        server
            .client(
                Method::DELETE,
                &format!("{}/daily-report", commands_path(&server)),
            )
            .send(),
    );
    let pending = server.wait_for_pending().await;
    assert_eq!(pending.action, "commands.delete");
    assert_eq!(pending.summary, "Delete command daily-report");
    assert!(server.approvals.respond(&pending.id, false));
    assert_eq!(request.await.unwrap().unwrap().status(), 403);
    assert_eq!(read_text(&file), VERIFIED);
    assert!(server.audit().await.is_empty());

    let server = TestServer::start_with(manual_approval(200)).await;
    let file = command_file(&server, "daily-report");
    write(&file, VERIFIED);
    let (status, body) = upsert(&server, json!({"name": "daily-report", "template": "x"})).await;
    assert_eq!(
        (status, body["details"]["reason"].clone()),
        (403, json!("timeout"))
    );
    let (status, body) = send(server.client(
        Method::DELETE,
        &format!("{}/daily-report", commands_path(&server)),
    ))
    .await;
    assert_eq!(
        (status, body["details"]["reason"].clone()),
        (403, json!("timeout"))
    );
    assert_eq!(read_text(&file), VERIFIED);
}

// ---------------------------------------------------------------------------------------
// Delete
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn delete_removes_the_file_and_a_missing_one_is_not_an_error() {
    let server = TestServer::start().await;
    let file = command_file(&server, "daily-report");
    write(&file, VERIFIED);
    let dir = file.parent().unwrap().to_str().unwrap().to_owned();
    let path = format!("{}/%2Fdaily-report", commands_path(&server));
    let (status, body) = send(server.client(Method::DELETE, &path)).await;
    assert_eq!((status, body), (200, json!({"ok": true})));
    assert!(!file.exists());
    let entries = server.audit().await;
    assert_eq!(entries[0]["action"], "commands.delete");
    assert_eq!(entries[0]["target"], dir.as_str());
    assert_eq!(entries[0]["summary"], "Deleted command /daily-report");
    assert!(events(&server).await.iter().any(|e| e["trigger"]
        == json!({"type": "command", "name": "daily-report", "action": "removed", "path": file.to_str().unwrap()})));

    let (status, body) = send(server.client(Method::DELETE, &path)).await;
    assert_eq!((status, body), (200, json!({"ok": true})));
    assert_eq!(server.audit().await.len(), 2);
}

// ---------------------------------------------------------------------------------------
// Listing
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn listing_reads_md_files_with_frontmatter_names_and_types() {
    let server = TestServer::start().await;
    let dir = server.workspace_path().join(".opencode/commands");
    write(&dir.join("plain.md"), "Just a template\n");
    write(
        &dir.join("file-name.md"),
        "---\nname: Renamed_1\ndescription: 42\nagent: build\nmodel: 7\nsubtask: yes\n---\n  body  \n",
    );
    write(&dir.join("bad name.md"), "skipped: invalid file name");
    write(
        &dir.join("bad-front.md"),
        "---\nname: has space\n---\nskipped\n",
    );
    write(&dir.join("notes.txt"), "not a command");
    std::fs::create_dir_all(dir.join("folder.md")).unwrap();

    let items = list(&server).await;
    assert_eq!(sorted_names(&items), ["Renamed_1", "plain"]);
    let plain = items.iter().find(|i| i["name"] == "plain").unwrap();
    assert_eq!(
        *plain,
        json!({"name": "plain", "template": "Just a template", "model": null, "scope": "workspace"})
    );
    let renamed = items.iter().find(|i| i["name"] == "Renamed_1").unwrap();
    assert_eq!(
        *renamed,
        json!({"name": "Renamed_1", "template": "body", "agent": "build", "model": null, "scope": "workspace"})
    );
    let empty = TestServer::start().await;
    assert!(list(&empty).await.is_empty());
}

#[tokio::test]
async fn listing_repairs_legacy_null_models_unless_read_only() {
    let legacy = "---\nname: legacy\ndescription: Old\nmodel: null\nsubtask: false\n---\n\nDo it\n";
    let server = TestServer::start().await;
    let file = command_file(&server, "legacy");
    write(&file, legacy);
    let items = list(&server).await;
    assert_eq!(items[0]["model"], Value::Null);
    assert_eq!(items[0]["template"], "Do it");
    assert_eq!(
        read_text(&file),
        "---\nname: legacy\ndescription: Old\nsubtask: false\n---\n\nDo it\n"
    );
    // A repaired file lists the same.
    assert_eq!(list(&server).await, items);

    let server = TestServer::start_with(read_only()).await;
    let file = command_file(&server, "legacy");
    write(&file, legacy);
    assert_eq!(list(&server).await.len(), 1);
    assert_eq!(read_text(&file), legacy);
}

#[tokio::test]
async fn a_malformed_command_file_is_skipped_and_breaks_no_other_route() {
    let server = TestServer::start().await;
    let id = server.workspace_id();
    let broken = "---\nname: [unclosed\nmodel: null\n---\nbody\n";
    write(&command_file(&server, "broken"), broken);
    write(
        &command_file(&server, "fine"),
        "---\ndescription: ok\n---\nfine\n",
    );

    assert_eq!(sorted_names(&list(&server).await), ["fine"]);
    for path in [
        format!("/workspace/{id}/config"),
        format!("/workspace/{id}/skills"),
        format!("/workspace/{id}/events"),
        format!("/workspace/{id}/audit"),
    ] {
        let (status, body) = send(server.client(Method::GET, &path)).await;
        assert_eq!(status, 200, "{path}: {body}");
    }
    let (status, body) = upsert(&server, json!({"name": "new", "template": "t"})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        sorted_names(body["items"].as_array().unwrap()),
        ["fine", "new"]
    );
    assert_eq!(read_text(&command_file(&server, "broken")), broken);
}

#[tokio::test]
async fn the_global_scope_needs_the_host_and_lists_the_users_folder() {
    let server = TestServer::start().await;
    let global = server
        .home
        .path()
        .join(".config/opencode/commands/standup.md");
    write(
        &global,
        "---\ndescription: Standup\nmodel: null\n---\nWhat did we do?\n",
    );
    write(&command_file(&server, "local"), "local\n");
    let path = format!("{}?scope=global", commands_path(&server));

    let (status, body) = send(server.client(Method::GET, &path)).await;
    assert_eq!(
        (status, body),
        (
            401,
            json!({"code": "unauthorized", "message": "Invalid host token"})
        )
    );
    let (status, body) = send(server.host(Method::GET, &path)).await;
    assert_eq!(
        (status, body),
        (
            401,
            json!({"code": "unauthorized", "message": "Invalid bearer token"})
        ),
        "the host header alone is not a client credential"
    );
    let expected = json!({"items": [{
        "name": "standup", "description": "Standup", "template": "What did we do?",
        "model": null, "scope": "global",
    }]});
    let (status, body) = send(
        server
            .client(Method::GET, &path)
            .header("X-OpenWork-Host-Token", &server.host_token),
    )
    .await;
    assert_eq!((status, &body), (200, &expected));
    let owner = server.issue_token("owner").await;
    let (status, body) = send(server.with_bearer(Method::GET, &path, &owner)).await;
    assert_eq!((status, &body), (200, &expected));
    // The host check comes before the workspace lookup.
    let (status, _) =
        send(server.client(Method::GET, "/workspace/ws_nope/commands?scope=global")).await;
    assert_eq!(status, 401);
    // Any other scope value lists the workspace.
    let (_, body) = send(server.client(
        Method::GET,
        &format!("{}?scope=Global", commands_path(&server)),
    ))
    .await;
    assert_eq!(body["items"][0]["name"], "local");
}

// ---------------------------------------------------------------------------------------
// Access
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn viewers_read_but_cannot_write_and_read_only_servers_refuse_writes() {
    let server = TestServer::start().await;
    let viewer = server.issue_token("viewer").await;
    let base = commands_path(&server);
    let (status, _) = send(server.with_bearer(Method::GET, &base, &viewer)).await;
    assert_eq!(status, 200);
    for (method, path) in [
        (Method::POST, base.clone()),
        (Method::DELETE, format!("{base}/x")),
    ] {
        let (status, body) = send(
            server
                .with_bearer(method, &path, &viewer)
                .json(&json!({"name": "x", "template": "t"})),
        )
        .await;
        assert_eq!(
            (status, body),
            (
                403,
                json!({"code": "forbidden", "message": "Insufficient token scope", "details": {"required": "collaborator", "scope": "viewer"}})
            )
        );
    }

    let read_only = TestServer::start_with(read_only()).await;
    let base = commands_path(&read_only);
    for (method, path) in [
        (Method::POST, base.clone()),
        (Method::DELETE, format!("{base}/x")),
    ] {
        let (status, body) = send(
            read_only
                .client(method, &path)
                .json(&json!({"name": "x", "template": "t"})),
        )
        .await;
        assert_eq!(
            (status, body),
            (
                403,
                json!({"code": "read_only", "message": "Server is in read-only mode"})
            ),
            "{path}"
        );
    }
    let (status, _) = send(read_only.client(Method::GET, &base)).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn concurrent_upserts_all_land_whole() {
    let server = TestServer::start().await;
    let requests = (0..12).map(|n| {
        upsert(
            &server,
            json!({"name": format!("cmd-{n}"), "template": format!("template {n}")}),
        )
    });
    for (status, body) in futures_util::future::join_all(requests).await {
        assert_eq!(status, 200, "{body}");
    }
    let items = list(&server).await;
    assert_eq!(items.len(), 12);
    for n in 0..12 {
        assert_eq!(
            read_text(&command_file(&server, &format!("cmd-{n}"))),
            format!("---\nname: cmd-{n}\nsubtask: false\n---\n\ntemplate {n}\n")
        );
    }
}

#[cfg(unix)]
#[tokio::test]
async fn a_commands_folder_linked_out_of_the_workspace_is_neither_read_nor_written() {
    let server = TestServer::start().await;
    let outside = tempfile::tempdir().unwrap();
    write(
        &outside.path().join("secret.md"),
        "---\nmodel: null\n---\nsecret\n",
    );
    std::fs::create_dir_all(server.workspace_path().join(".opencode")).unwrap();
    std::os::unix::fs::symlink(
        outside.path(),
        server.workspace_path().join(".opencode/commands"),
    )
    .unwrap();
    assert!(list(&server).await.is_empty());
    let (status, body) = upsert(&server, json!({"name": "evil", "template": "t"})).await;
    assert_eq!(
        (status, body),
        (
            400,
            json!({"code": "invalid_path", "message": "Path escapes the workspace"})
        )
    );
    assert!(!outside.path().join("evil.md").exists());
    assert_eq!(
        read_text(&outside.path().join("secret.md")),
        "---\nmodel: null\n---\nsecret\n"
    );
}
