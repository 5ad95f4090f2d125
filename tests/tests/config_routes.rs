//! `GET/PATCH /workspace/:id/config`, `GET|POST /workspace/:id/opencode-config`, the audit
//! log and reload events (poll and SSE), and the approval flows of a write.

use openwork_server_tests::reqwest::Method;
use openwork_server_tests::{TestServer, Value, json, manual_approval, read_only, read_text, send};
use std::time::Duration;

const COMMENTED: &str = "{\n  // The schema keeps editors honest.\n  \"$schema\": \"https://opencode.ai/config.json\",\n  \"model\": \"anthropic/claude\", // chosen by hand\n  /* MCP servers */\n  \"mcp\": {\n    \"docs\": { \"type\": \"remote\", \"url\": \"https://example.test/mcp\" },\n  },\n}\n";

#[tokio::test]
async fn an_empty_workspace_reads_as_empty_configs() {
    let server = TestServer::start().await;
    let id = server.workspace_id();
    let (status, body) = send(server.client(Method::GET, &format!("/workspace/{id}/config"))).await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"opencode": {}, "openwork": {}, "updatedAt": null})
    );
}

#[tokio::test]
async fn patch_keeps_comments_and_every_byte_outside_the_edited_values() {
    let server = TestServer::start().await;
    let id = server.workspace_id();
    let file = server.workspace_path().join("opencode.jsonc");
    std::fs::write(&file, COMMENTED).unwrap();

    let (status, body) = send(
        server
            .client(Method::PATCH, &format!("/workspace/{id}/config"))
            .json(&json!({"opencode": {"model": "openai/gpt", "share": "disabled"}})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["updatedAt"].as_u64().unwrap() > 0);
    assert_eq!(
        read_text(&file),
        "{\n  // The schema keeps editors honest.\n  \"$schema\": \"https://opencode.ai/config.json\",\n  \"model\": \"openai/gpt\", // chosen by hand\n  /* MCP servers */\n  \"mcp\": {\n    \"docs\": { \"type\": \"remote\", \"url\": \"https://example.test/mcp\" },\n  },\n  \"share\": \"disabled\",\n}\n"
    );

    let (_, config) = send(server.client(Method::GET, &format!("/workspace/{id}/config"))).await;
    assert_eq!(config["opencode"]["model"], "openai/gpt");
    assert_eq!(config["opencode"]["mcp"]["docs"]["type"], "remote");
    assert!(config["updatedAt"].as_u64().is_some());

    let (_, audit) = send(server.client(Method::GET, &format!("/workspace/{id}/audit"))).await;
    let entry = &audit["items"][0];
    assert_eq!(entry["action"], "config.patch");
    assert_eq!(entry["target"], "opencode.json");
    assert_eq!(entry["summary"], "Patched workspace config");
    assert_eq!(entry["actor"]["scope"], "collaborator");
    assert_eq!(config["updatedAt"], entry["timestamp"]);

    let (_, events) = send(server.client(Method::GET, &format!("/workspace/{id}/events"))).await;
    let config_event = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["reason"] == "config")
        .expect("a config event")
        .clone();
    assert_eq!(
        config_event["trigger"],
        json!({"type": "config", "name": "opencode.jsonc", "action": "updated", "path": file.to_str().unwrap()})
    );
    assert_eq!(events["workspaceId"], id.as_str());
    assert_eq!(events["disabled"], false);
}

#[tokio::test]
async fn a_missing_config_is_created_as_jsonc_with_just_the_updates() {
    let server = TestServer::start().await;
    let id = server.workspace_id();
    let (status, _) = send(
        server
            .client(Method::PATCH, &format!("/workspace/{id}/config"))
            .json(&json!({"opencode": {"mcp": {}, "permission": {"edit": "ask", "external_directory": "allow"}}})),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        read_text(&server.workspace_path().join("opencode.jsonc")),
        "{\n  \"mcp\": {},\n  \"permission\": {\n    \"external_directory\": \"allow\"\n  }\n}\n"
    );
    assert!(!server.workspace_path().join("opencode.json").exists());
}

#[tokio::test]
async fn only_external_directory_of_permission_is_written_and_siblings_stay() {
    let server = TestServer::start().await;
    let id = server.workspace_id();
    let file = server.workspace_path().join("opencode.json");
    std::fs::write(&file, "{\"permission\": {\"edit\": \"ask\"}}\n").unwrap();
    let (status, _) = send(
        server
            .client(Method::PATCH, &format!("/workspace/{id}/config"))
            .json(&json!({"opencode": {"permission": {"edit": "allow", "external_directory": "deny"}}})),
    )
    .await;
    assert_eq!(status, 200);
    let written: Value = serde_json::from_str(&read_text(&file)).unwrap();
    assert_eq!(
        written,
        json!({"permission": {"edit": "ask", "external_directory": "deny"}})
    );
}

#[tokio::test]
async fn openwork_updates_merge_shallowly_into_openwork_json() {
    let server = TestServer::start().await;
    let id = server.workspace_id();
    let file = server.workspace_path().join(".opencode/openwork.json");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, "{\"version\": 1, \"reload\": {\"auto\": true}}").unwrap();
    let (status, _) = send(
        server
            .client(Method::PATCH, &format!("/workspace/{id}/config"))
            .json(&json!({"openwork": {"reload": null, "foo": "bar"}})),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        read_text(&file),
        "{\n  \"version\": 1,\n  \"reload\": null,\n  \"foo\": \"bar\"\n}\n"
    );
    // No opencode section: no config reload event.
    let (_, events) = send(server.client(Method::GET, &format!("/workspace/{id}/events"))).await;
    assert!(
        events["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["trigger"]["path"] != file.to_str().unwrap())
    );
}

#[tokio::test]
async fn bad_payloads_and_broken_files_are_refused_before_anyone_is_asked() {
    let server = TestServer::start_with(manual_approval(30_000)).await;
    let id = server.workspace_id();
    let path = format!("/workspace/{id}/config");
    for body in [json!({}), json!({"opencode": null, "openwork": 0})] {
        let (status, answer) = send(server.client(Method::PATCH, &path).json(&body)).await;
        assert_eq!(status, 400);
        assert_eq!(
            answer,
            json!({"code": "invalid_payload", "message": "opencode or openwork updates required"})
        );
    }

    let file = server.workspace_path().join("opencode.jsonc");
    let broken = "{\n  \"$schema\": \"x\",\n  \"mcp\": \n}";
    std::fs::write(&file, broken).unwrap();
    let (status, answer) = send(
        server
            .client(Method::PATCH, &path)
            .json(&json!({"opencode": {"a": 1}})),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(answer["code"], "invalid_jsonc");
    assert_eq!(answer["message"], "Failed to parse JSONC");
    assert_eq!(
        answer["details"],
        json!([{"code": "ValueExpected", "offset": 30, "length": 1}])
    );
    let (status, answer) = send(server.client(Method::GET, &path)).await;
    assert_eq!(
        (status, answer["code"].clone()),
        (422, json!("invalid_jsonc"))
    );
    assert_eq!(read_text(&file), broken);
    assert!(server.approvals.pending().is_empty(), "nobody was asked");

    std::fs::remove_file(&file).unwrap();
    let openwork = server.workspace_path().join(".opencode/openwork.json");
    std::fs::create_dir_all(openwork.parent().unwrap()).unwrap();
    std::fs::write(&openwork, "{not json").unwrap();
    let (status, answer) = send(server.client(Method::GET, &path)).await;
    assert_eq!(status, 422);
    assert_eq!(
        answer,
        json!({"code": "invalid_json", "message": "Failed to parse openwork.json"})
    );
}

#[tokio::test]
async fn a_write_waits_for_the_host_and_a_deny_leaves_the_file_alone() {
    let server = TestServer::start_with(manual_approval(30_000)).await;
    let id = server.workspace_id();
    let file = server.workspace_path().join("opencode.jsonc");
    std::fs::write(&file, COMMENTED).unwrap();
    let request = tokio::spawn(
        server
            .client(Method::PATCH, &format!("/workspace/{id}/config"))
            .header("X-OpenWork-Client-Id", "laptop")
            .json(&json!({"opencode": {"model": "x"}}))
            .send(),
    );
    let pending = server.wait_for_pending().await;
    let (_, listed) = send(server.host(Method::GET, "/approvals")).await;
    let item = &listed["items"][0];
    assert_eq!(item["action"], "config.patch");
    assert_eq!(item["summary"], "Patch workspace config");
    assert_eq!(item["paths"], json!([file.to_str().unwrap()]));
    assert_eq!(item["workspaceId"], id.as_str());
    assert_eq!(item["actor"]["clientId"], "laptop");

    let (status, reply) = send(
        server
            .host(Method::POST, &format!("/approvals/{}", pending.id))
            .json(&json!({"reply": "no thanks"})),
    )
    .await;
    assert_eq!(
        (status, reply),
        (200, json!({"ok": true, "allowed": false}))
    );
    let response = request.await.unwrap().unwrap();
    assert_eq!(response.status(), 403);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"code": "write_denied", "message": "Write request denied", "details": {"requestId": pending.id, "reason": "denied"}})
    );
    assert_eq!(read_text(&file), COMMENTED);
    let (_, audit) = send(server.client(Method::GET, &format!("/workspace/{id}/audit"))).await;
    assert_eq!(audit["items"], json!([]));
}

#[tokio::test]
async fn an_allowed_write_proceeds_and_an_owner_bearer_can_answer() {
    let server = TestServer::start_with(manual_approval(30_000)).await;
    let id = server.workspace_id();
    let owner = server.issue_token("owner").await;
    let request = tokio::spawn(
        server
            .client(Method::PATCH, &format!("/workspace/{id}/config"))
            .json(&json!({"opencode": {"model": "x"}}))
            .send(),
    );
    let pending = server.wait_for_pending().await;
    let (status, _) = send(
        server
            .with_bearer(Method::POST, &format!("/approvals/{}", pending.id), &owner)
            .json(&json!({"reply": "allow"})),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(request.await.unwrap().unwrap().status(), 200);
    assert!(
        read_text(&server.workspace_path().join("opencode.jsonc")).contains("\"model\": \"x\"")
    );
}

#[tokio::test]
async fn silence_denies_with_timeout_and_an_abandoned_request_is_withdrawn() {
    let server = TestServer::start_with(manual_approval(300)).await;
    let id = server.workspace_id();
    let (status, body) = send(
        server
            .client(Method::PATCH, &format!("/workspace/{id}/config"))
            .json(&json!({"opencode": {"model": "x"}})),
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(body["details"]["reason"], "timeout");
    assert!(!server.workspace_path().join("opencode.jsonc").exists());
    assert!(server.approvals.pending().is_empty());

    let server = TestServer::start_with(manual_approval(30_000)).await;
    let id = server.workspace_id();
    let request = tokio::spawn(
        server
            .client(Method::PATCH, &format!("/workspace/{id}/config"))
            .json(&json!({"opencode": {"model": "x"}}))
            .send(),
    );
    server.wait_for_pending().await;
    request.abort();
    for _ in 0..500 {
        if server.approvals.pending().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        server.approvals.pending().is_empty(),
        "the abandoned request is withdrawn"
    );
    assert!(!server.workspace_path().join("opencode.jsonc").exists());
}

#[tokio::test]
async fn concurrent_patches_from_several_clients_lose_no_update() {
    let server = TestServer::start().await;
    let id = server.workspace_id();
    std::fs::write(server.workspace_path().join("opencode.jsonc"), COMMENTED).unwrap();
    let mut requests = Vec::new();
    for n in 0..12 {
        requests.push(send(
            server
                .client(Method::PATCH, &format!("/workspace/{id}/config"))
                .json(&json!({"opencode": {format!("key{n}"): n}})),
        ));
    }
    for (status, body) in futures_util::future::join_all(requests).await {
        assert_eq!(status, 200, "{body}");
    }
    let (_, config) = send(server.client(Method::GET, &format!("/workspace/{id}/config"))).await;
    for n in 0..12 {
        assert_eq!(config["opencode"][format!("key{n}")], n, "key{n}");
    }
    assert!(
        read_text(&server.workspace_path().join("opencode.jsonc")).contains("// chosen by hand")
    );
}

#[tokio::test]
async fn writes_need_a_collaborator_and_a_writable_server() {
    let server = TestServer::start().await;
    let id = server.workspace_id();
    let viewer = server.issue_token("viewer").await;
    let (status, body) = send(
        server
            .with_bearer(Method::PATCH, &format!("/workspace/{id}/config"), &viewer)
            .json(&json!({"opencode": {"a": 1}})),
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(
        body["details"],
        json!({"required": "collaborator", "scope": "viewer"})
    );
    let (status, _) =
        send(server.with_bearer(Method::GET, &format!("/workspace/{id}/config"), &viewer)).await;
    assert_eq!(status, 200);

    let read_only = TestServer::start_with(read_only()).await;
    let id = read_only.workspace_id();
    for (method, path) in [
        (Method::PATCH, format!("/workspace/{id}/config")),
        (Method::POST, format!("/workspace/{id}/opencode-config")),
    ] {
        let (status, body) = send(
            read_only
                .client(method, &path)
                .json(&json!({"opencode": {"a": 1}, "content": "{}"})),
        )
        .await;
        assert_eq!(
            (status, body["code"].clone()),
            (403, json!("read_only")),
            "{path}"
        );
    }
    let (status, _) = send(server.client(Method::GET, "/workspace/ws_nope/config")).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn opencode_config_reads_and_writes_raw_text_for_project_and_global() {
    let server = TestServer::start().await;
    let id = server.workspace_id();
    let path = format!("/workspace/{id}/opencode-config");
    let project = server.workspace_path().join("opencode.jsonc");
    let (status, body) = send(server.client(Method::GET, &path)).await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"path": project.to_str().unwrap(), "exists": false, "content": null})
    );

    let (status, body) = send(
        server
            .client(Method::POST, &path)
            .json(&json!({"content": "{ // hi\n}"})),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"ok": true, "status": 0, "stdout": format!("Wrote {}", project.display()), "stderr": ""})
    );
    assert_eq!(read_text(&project), "{ // hi\n}\n");
    let (_, body) = send(server.client(Method::GET, &path)).await;
    assert_eq!(body["content"], "{ // hi\n}\n");

    let global = server.home.path().join(".config/opencode/opencode.jsonc");
    let (status, _) = send(
        server
            .client(Method::POST, &path)
            .json(&json!({"scope": "global", "content": "{}\n"})),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(read_text(&global), "{}\n");
    let (_, body) = send(server.client(Method::GET, &format!("{path}?scope=global"))).await;
    assert_eq!(
        body,
        json!({"path": global.to_str().unwrap(), "exists": true, "content": "{}\n"})
    );

    let (status, body) = send(
        server
            .client(Method::POST, &path)
            .json(&json!({"content": 5})),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"code": "invalid_payload", "message": "content must be a string"})
    );

    let (_, audit) =
        send(server.client(Method::GET, &format!("/workspace/{id}/audit?limit=1"))).await;
    assert_eq!(audit["items"].as_array().unwrap().len(), 1);
    assert_eq!(audit["items"][0]["action"], "config.global.write");
}

#[tokio::test]
async fn events_poll_with_since_and_cursor() {
    let server = TestServer::start().await;
    let id = server.workspace_id();
    for key in ["a", "b"] {
        send(
            server
                .client(Method::PATCH, &format!("/workspace/{id}/config"))
                .json(&json!({"opencode": {key: 1}})),
        )
        .await;
        // Past the 750 ms debounce so both API events are kept.
        tokio::time::sleep(Duration::from_millis(800)).await;
    }
    let (_, all) = send(server.client(Method::GET, &format!("/workspace/{id}/events"))).await;
    let api: Vec<&Value> = all["items"].as_array().unwrap().iter().collect();
    assert!(api.len() >= 2, "{all}");
    let cursor = all["cursor"].as_u64().unwrap();
    assert_eq!(cursor, api.last().unwrap()["seq"].as_u64().unwrap());
    let first_seq = api[0]["seq"].as_u64().unwrap();
    let (_, later) = send(server.client(
        Method::GET,
        &format!("/workspace/{id}/events?since={first_seq}"),
    ))
    .await;
    assert!(
        later["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["seq"].as_u64().unwrap() > first_seq)
    );
    let (_, none) = send(server.client(
        Method::GET,
        &format!("/workspace/{id}/events?since={cursor}"),
    ))
    .await;
    assert_eq!(none["items"], json!([]));
    assert_eq!(none["cursor"], cursor);
}

/// Reads SSE frames from a streaming response until `count` events with ids arrived.
async fn read_sse(
    response: openwork_server_tests::reqwest::Response,
    count: usize,
) -> Vec<(u64, Value)> {
    use futures_util::StreamExt;
    let mut stream = response.bytes_stream();
    let mut buffer = String::new();
    let mut events = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while events.len() < count {
        let chunk = tokio::time::timeout_at(deadline, stream.next())
            .await
            .expect("SSE event in time")
            .expect("stream open")
            .unwrap();
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let frame: String = buffer.drain(..end + 2).collect();
            let id = frame
                .lines()
                .find_map(|l| l.strip_prefix("id: "))
                .and_then(|v| v.parse().ok());
            let data = frame.lines().find_map(|l| l.strip_prefix("data: "));
            if let (Some(id), Some(data)) = (id, data) {
                events.push((id, serde_json::from_str(data).unwrap()));
            }
        }
    }
    events
}

#[tokio::test]
async fn events_stream_as_sse_and_resume_from_last_event_id() {
    let server = TestServer::start().await;
    let id = server.workspace_id();
    let events_path = format!("/workspace/{id}/events");
    let patch = |key: &str| {
        server
            .client(Method::PATCH, &format!("/workspace/{id}/config"))
            .json(&json!({"opencode": {key: true}}))
    };
    send(patch("first")).await;

    let response = server
        .client(Method::GET, &events_path)
        .header("Accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    // The backlog first, then a live event.
    tokio::time::sleep(Duration::from_millis(800)).await;
    send(patch("second")).await;
    let got = read_sse(response, 2).await;
    assert_eq!(got[0].1["reason"], "config");
    assert_eq!(got[1].0, got[1].1["seq"].as_u64().unwrap());
    assert!(got[1].0 > got[0].0);

    // Resume after the first: only the second comes back.
    let response = server
        .client(Method::GET, &events_path)
        .header("Accept", "text/event-stream")
        .header("Last-Event-ID", got[0].0.to_string())
        .send()
        .await
        .unwrap();
    let resumed = read_sse(response, 1).await;
    assert_eq!(resumed[0].0, got[1].0);

    // The stream ends when the server shuts down.
    let response = server
        .client(Method::GET, &events_path)
        .header("Accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    let stopped = tokio::time::timeout(Duration::from_secs(3), server.stop()).await;
    assert!(stopped.is_ok(), "shutdown does not wait for the stream");
    let rest = tokio::time::timeout(Duration::from_secs(3), response.bytes()).await;
    assert!(rest.is_ok(), "the stream ended");
}

async fn wait_for_event(server: &TestServer, matches: impl Fn(&Value) -> bool) -> Value {
    let id = server.workspace_id();
    for _ in 0..300 {
        let (_, events) =
            send(server.client(Method::GET, &format!("/workspace/{id}/events"))).await;
        if let Some(event) = events["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| matches(e))
        {
            return event.clone();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (_, events) = send(server.client(Method::GET, &format!("/workspace/{id}/events"))).await;
    panic!("no matching event in {events}");
}

#[tokio::test]
async fn the_watcher_reports_external_edits_including_trees_created_after_start() {
    let server = TestServer::start().await;
    let root = server.workspace_path().to_path_buf();

    // An editor saves the project config.
    std::fs::write(root.join("opencode.json"), "{}").unwrap();
    let event = wait_for_event(&server, |e| e["reason"] == "config").await;
    assert_eq!(event["trigger"]["name"], "opencode.json");

    // A skill tree that did not exist at startup.
    let skill = root.join(".opencode/skills/release-notes/SKILL.md");
    std::fs::create_dir_all(skill.parent().unwrap()).unwrap();
    std::fs::write(
        &skill,
        "---\nname: release-notes\ndescription: Notes\n---\nbody\n",
    )
    .unwrap();
    wait_for_event(&server, |e| e["reason"] == "skills").await;

    // Later edits inside that new tree are seen too, with the skill's name.
    tokio::time::sleep(Duration::from_millis(800)).await;
    std::fs::write(
        &skill,
        "---\nname: release-notes\ndescription: Better notes\n---\nbody\n",
    )
    .unwrap();
    wait_for_event(&server, |e| {
        e["reason"] == "skills" && e["trigger"]["name"] == "release-notes"
    })
    .await;

    // AGENTS.md at the root.
    std::fs::write(root.join("AGENTS.md"), "# Agents\n").unwrap();
    let event = wait_for_event(&server, |e| e["reason"] == "agents").await;
    assert_eq!(event["trigger"]["type"], "agent");
}
