//! Approvals (contract §4.20, §5): pending requests raised through the gate are listed by
//! `GET /approvals` in the reference's shape and answered with `POST /approvals/:id`;
//! timeouts deny; auto mode lists nothing; only the host (or an owner token) may answer.

use openwork_server_core::approvals::{ApprovalAsk, DenyReason};
use openwork_server_core::{Actor, ApprovalMode, ApprovalOutcome, CliOverrides, Scope};
use openwork_server_tests::reqwest::Method;
use openwork_server_tests::{
    CLIENT_TOKEN, HOST_TOKEN, Options, TestServer, Value, json, send, sha256_hex,
};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::task::JoinHandle;

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

async fn start(mode: ApprovalMode, timeout_ms: u64) -> TestServer {
    TestServer::start_with(Options {
        cli: CliOverrides {
            approval_mode: Some(mode),
            approval_timeout_ms: Some(timeout_ms),
            ..CliOverrides::default()
        },
        ..Options::default()
    })
    .await
}

async fn start_manual() -> TestServer {
    start(ApprovalMode::Manual, 30_000).await
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn plugin_ask(server: &TestServer, actor: Actor) -> ApprovalAsk {
    let path = server.workspace_path().join("opencode.jsonc");
    ApprovalAsk {
        workspace_id: server.workspace_id(),
        action: "plugins.add".into(),
        summary: "Add plugin opencode-foo".into(),
        paths: vec![path.to_string_lossy().into_owned()],
        actor,
    }
}

fn collaborator() -> Actor {
    Actor::remote(CLIENT_TOKEN, Scope::Collaborator, None)
}

/// Raises `ask` on the server's gate in a task that waits for the outcome.
fn raise(server: &TestServer, ask: ApprovalAsk) -> JoinHandle<ApprovalOutcome> {
    let approvals = server.approvals.clone();
    tokio::spawn(async move { approvals.ask(ask).await })
}

/// `GET /approvals` items with the host token.
async fn listed(server: &TestServer) -> Vec<Value> {
    let (status, body) = send(server.host(Method::GET, "/approvals")).await;
    assert_eq!(status, 200, "{body}");
    body["items"].as_array().unwrap().clone()
}

/// Polls `GET /approvals` until it lists exactly `count` requests (at most 5 s).
async fn wait_listed(server: &TestServer, count: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let items = listed(server).await;
        if items.len() == count {
            return items;
        }
        assert!(
            Instant::now() < deadline,
            "expected {count} pending approvals, have {items:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Awaits the outcome of a raised request (at most 5 s).
async fn outcome(task: JoinHandle<ApprovalOutcome>) -> ApprovalOutcome {
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("the gate answers")
        .expect("ask task")
}

async fn reply(server: &TestServer, id: &str, body: &Value) -> (u16, Value) {
    send(
        server
            .host(Method::POST, &format!("/approvals/{id}"))
            .json(body),
    )
    .await
}

fn id_of(item: &Value) -> String {
    item["id"].as_str().unwrap().to_owned()
}

// ---------------------------------------------------------------------------------------
// Listing
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn a_pending_request_is_listed_in_the_reference_shape() {
    let server = start_manual().await;
    let before = now_ms();
    let actor = Actor::remote(CLIENT_TOKEN, Scope::Collaborator, Some("laptop-1".into()));
    let task = raise(&server, plugin_ask(&server, actor));
    let items = wait_listed(&server, 1).await;
    let after = now_ms();
    let item = &items[0];

    let keys: Vec<&String> = item.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "workspaceId",
            "action",
            "summary",
            "paths",
            "actor",
            "id",
            "createdAt"
        ]
    );
    let actor_keys: Vec<&String> = item["actor"].as_object().unwrap().keys().collect();
    assert_eq!(actor_keys, ["type", "clientId", "tokenHash", "scope"]);

    let id = id_of(item);
    let created = item["createdAt"].as_u64().expect("createdAt in ms");
    assert!((before..=after).contains(&created), "{created}");
    let path = server.workspace_path().join("opencode.jsonc");
    assert_eq!(
        *item,
        json!({
            "workspaceId": server.workspace_id(),
            "action": "plugins.add",
            "summary": "Add plugin opencode-foo",
            "paths": [path.to_str().unwrap()],
            "actor": {
                "type": "remote",
                "clientId": "laptop-1",
                "tokenHash": sha256_hex(CLIENT_TOKEN),
                "scope": "collaborator",
            },
            "id": id,
            "createdAt": created,
        })
    );
    let lengths: Vec<usize> = id.split('-').map(str::len).collect();
    assert_eq!(lengths, [8, 4, 4, 4, 12], "id is a UUID: {id}");
    task.abort();
}

#[tokio::test]
async fn a_host_actor_is_listed_as_host() {
    let server = start_manual().await;
    let task = raise(&server, plugin_ask(&server, Actor::host(HOST_TOKEN)));
    let items = wait_listed(&server, 1).await;
    assert_eq!(
        items[0]["actor"],
        json!({ "type": "host", "tokenHash": sha256_hex(HOST_TOKEN), "scope": "owner" })
    );
    task.abort();
}

#[tokio::test]
async fn requests_are_listed_in_the_order_they_were_raised() {
    let server = start_manual().await;
    let mut first = plugin_ask(&server, collaborator());
    first.action = "first".into();
    let first_task = raise(&server, first);
    wait_listed(&server, 1).await;
    let mut second = plugin_ask(&server, collaborator());
    second.action = "second".into();
    let second_task = raise(&server, second);
    let items = wait_listed(&server, 2).await;
    let actions: Vec<&Value> = items.iter().map(|i| &i["action"]).collect();
    assert_eq!(actions, ["first", "second"]);

    // Answering the newer one leaves the older one pending.
    let (status, _) = reply(&server, &id_of(&items[1]), &json!({ "reply": "deny" })).await;
    assert_eq!(status, 200);
    assert!(!outcome(second_task).await.allowed());
    let items = wait_listed(&server, 1).await;
    assert_eq!(items[0]["action"], "first");
    first_task.abort();
}

#[tokio::test]
async fn nothing_is_listed_at_start() {
    let server = start_manual().await;
    let (status, body) = send(server.host(Method::GET, "/approvals")).await;
    assert_eq!((status, body), (200, json!({ "items": [] })));
}

// ---------------------------------------------------------------------------------------
// Replies
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn allow_lets_the_write_proceed() {
    let server = start_manual().await;
    let task = raise(&server, plugin_ask(&server, collaborator()));
    let items = wait_listed(&server, 1).await;
    let id = id_of(&items[0]);
    let (status, body) = reply(&server, &id, &json!({ "reply": "allow" })).await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({ "ok": true, "allowed": true }));
    let result = outcome(task).await;
    assert!(result.allowed());
    assert_eq!(result.id, id);
    assert!(listed(&server).await.is_empty());
}

#[tokio::test]
async fn any_other_reply_denies() {
    let server = start_manual().await;
    for body in [
        json!({ "reply": "deny" }),
        json!({ "reply": "Allow" }),
        json!({ "reply": "yes" }),
        json!({ "reply": true }),
        json!({ "reply": null }),
        json!({ "allow": "allow" }),
        json!({}),
    ] {
        let task = raise(&server, plugin_ask(&server, collaborator()));
        let items = wait_listed(&server, 1).await;
        let id = id_of(&items[0]);
        let (status, answer) = reply(&server, &id, &body).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(answer, json!({ "ok": true, "allowed": false }), "{body}");
        let result = outcome(task).await;
        assert_eq!(result.denied, Some(DenyReason::Denied), "{body}");
        assert_eq!(result.id, id);
        wait_listed(&server, 0).await;
    }
}

#[tokio::test]
async fn an_unknown_id_is_404() {
    let server = start_manual().await;
    let (status, body) = reply(
        &server,
        "5f595a09-77d3-498d-ae10-7216224f4ccc",
        &json!({ "reply": "allow" }),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(
        body,
        json!({ "code": "approval_not_found", "message": "Approval request not found" })
    );
}

#[tokio::test]
async fn a_second_reply_is_404() {
    let server = start_manual().await;
    let task = raise(&server, plugin_ask(&server, collaborator()));
    let id = id_of(&wait_listed(&server, 1).await[0]);
    let (status, _) = reply(&server, &id, &json!({ "reply": "deny" })).await;
    assert_eq!(status, 200);
    let (status, body) = reply(&server, &id, &json!({ "reply": "allow" })).await;
    assert_eq!(status, 404);
    assert_eq!(body["code"], "approval_not_found");
    // The first answer stands.
    assert_eq!(outcome(task).await.denied, Some(DenyReason::Denied));
}

#[tokio::test]
async fn nobody_answering_denies_with_timeout_and_unlists() {
    let server = start(ApprovalMode::Manual, 200).await;
    let started = Instant::now();
    let task = raise(&server, plugin_ask(&server, collaborator()));
    let items = wait_listed(&server, 1).await;
    let id = id_of(&items[0]);
    let result = outcome(task).await;
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert_eq!(result.denied, Some(DenyReason::Timeout));
    assert_eq!(result.id, id);
    assert!(listed(&server).await.is_empty());
    let (status, body) = reply(&server, &id, &json!({ "reply": "allow" })).await;
    assert_eq!(status, 404);
    assert_eq!(body["code"], "approval_not_found");
}

#[tokio::test]
async fn an_abandoned_request_disappears_at_once() {
    let server = start_manual().await;
    let task = raise(&server, plugin_ask(&server, collaborator()));
    let id = id_of(&wait_listed(&server, 1).await[0]);
    task.abort();
    wait_listed(&server, 0).await;
    let (status, _) = reply(&server, &id, &json!({ "reply": "allow" })).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn auto_mode_allows_at_once_and_lists_nothing() {
    let server = start(ApprovalMode::Auto, 30_000).await;
    let result = outcome(raise(&server, plugin_ask(&server, collaborator()))).await;
    assert!(result.allowed());
    assert_eq!(result.id, "auto");
    assert!(listed(&server).await.is_empty());
}

// ---------------------------------------------------------------------------------------
// Who may answer
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn an_owner_token_may_list_and_answer() {
    let server = start_manual().await;
    let owner = server.issue_token("owner").await;
    let task = raise(&server, plugin_ask(&server, collaborator()));
    wait_listed(&server, 1).await;
    let (status, body) = send(server.with_bearer(Method::GET, "/approvals", &owner)).await;
    assert_eq!(status, 200);
    let id = id_of(&body["items"][0]);
    let (status, body) = send(
        server
            .with_bearer(Method::POST, &format!("/approvals/{id}"), &owner)
            .json(&json!({ "reply": "allow" })),
    )
    .await;
    assert_eq!(
        (status, body),
        (200, json!({ "ok": true, "allowed": true }))
    );
    assert!(outcome(task).await.allowed());
}

#[tokio::test]
async fn collaborators_and_viewers_may_not_answer() {
    let server = start_manual().await;
    let collaborator_token = server.issue_token("collaborator").await;
    let viewer_token = server.issue_token("viewer").await;
    let task = raise(&server, plugin_ask(&server, collaborator()));
    let id = id_of(&wait_listed(&server, 1).await[0]);
    for (who, token) in [
        ("client token", CLIENT_TOKEN),
        ("collaborator", collaborator_token.as_str()),
        ("viewer", viewer_token.as_str()),
    ] {
        let (status, body) = send(server.with_bearer(Method::GET, "/approvals", token)).await;
        assert_eq!(status, 401, "{who} lists");
        assert_eq!(
            body,
            json!({ "code": "unauthorized", "message": "Invalid host token" })
        );
        let (status, body) = send(
            server
                .with_bearer(Method::POST, &format!("/approvals/{id}"), token)
                .json(&json!({ "reply": "allow" })),
        )
        .await;
        assert_eq!(status, 401, "{who} answers");
        assert_eq!(body["message"], "Invalid host token");
    }
    // Still pending, unanswered.
    assert_eq!(wait_listed(&server, 1).await[0]["id"], id.as_str());
    assert!(!task.is_finished());
    task.abort();
}
