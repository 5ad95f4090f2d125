use super::*;
use crate::auth::{Actor, Scope};
use std::sync::Mutex as StdMutex;

fn ask(action: &str) -> ApprovalAsk {
    ApprovalAsk {
        workspace_id: "ws_b011ea26cc73".into(),
        action: action.into(),
        summary: format!("Do {action}"),
        paths: vec!["/tmp/ws/opencode.jsonc".into()],
        actor: Actor::remote("client-tok", Scope::Collaborator, None),
    }
}

fn manual(timeout_ms: u64) -> Approvals {
    Approvals::new(
        ApprovalMode::Manual,
        Duration::from_millis(timeout_ms),
        None,
    )
}

#[tokio::test]
async fn auto_mode_allows_at_once_and_lists_nothing() {
    let gate = Approvals::new(ApprovalMode::Auto, Duration::from_secs(30), None);
    let outcome = gate.ask(ask("plugins.add")).await;
    assert!(outcome.allowed());
    assert_eq!(outcome.id, "auto");
    assert!(gate.pending().is_empty());
}

#[tokio::test]
async fn manual_mode_waits_for_the_reply() {
    let gate = manual(30_000);
    let waiter = tokio::spawn({
        let gate = gate.clone();
        async move { gate.ask(ask("plugins.add")).await }
    });
    let pending = loop {
        let pending = gate.pending();
        if !pending.is_empty() {
            break pending;
        }
        tokio::task::yield_now().await;
    };
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].action, "plugins.add");
    assert_eq!(pending[0].paths, ["/tmp/ws/opencode.jsonc"]);
    assert!(gate.respond(&pending[0].id, true));
    let outcome = waiter.await.unwrap();
    assert!(outcome.allowed());
    assert_eq!(outcome.id, pending[0].id);
    assert!(gate.pending().is_empty());
    // A second reply finds nothing.
    assert!(!gate.respond(&pending[0].id, true));
}

#[tokio::test]
async fn a_deny_reply_denies() {
    let gate = manual(30_000);
    let waiter = tokio::spawn({
        let gate = gate.clone();
        async move { gate.ask(ask("mcp.add")).await }
    });
    let id = loop {
        if let Some(request) = gate.pending().pop() {
            break request.id;
        }
        tokio::task::yield_now().await;
    };
    assert!(gate.respond(&id, false));
    assert_eq!(waiter.await.unwrap().denied, Some(DenyReason::Denied));
}

#[tokio::test(start_paused = true)]
async fn silence_until_the_timeout_denies_and_unlists() {
    let gate = manual(30_000);
    let started = tokio::time::Instant::now();
    let outcome = gate.ask(ask("skills.upsert")).await;
    assert_eq!(outcome.denied, Some(DenyReason::Timeout));
    assert_eq!(started.elapsed(), Duration::from_secs(30));
    assert!(gate.pending().is_empty());
    assert!(!gate.respond(&outcome.id, true));
}

#[tokio::test]
async fn a_dropped_waiter_withdraws_its_request() {
    let gate = manual(30_000);
    let waiter = tokio::spawn({
        let gate = gate.clone();
        async move { gate.ask(ask("commands.upsert")).await }
    });
    while gate.pending().is_empty() {
        tokio::task::yield_now().await;
    }
    waiter.abort();
    let _ = waiter.await;
    assert!(gate.pending().is_empty());
}

#[tokio::test]
async fn requests_are_listed_in_the_order_raised() {
    let gate = manual(30_000);
    let mut waiters = Vec::new();
    for action in ["a.one", "b.two", "c.three"] {
        let gate2 = gate.clone();
        waiters.push(tokio::spawn(async move { gate2.ask(ask(action)).await }));
        while gate.pending().len() < waiters.len() {
            tokio::task::yield_now().await;
        }
    }
    let actions: Vec<_> = gate.pending().into_iter().map(|r| r.action).collect();
    assert_eq!(actions, ["a.one", "b.two", "c.three"]);
    for request in gate.pending() {
        gate.respond(&request.id, true);
    }
    for waiter in waiters {
        assert!(waiter.await.unwrap().allowed());
    }
}

/// A prompter that records what it was told and answers from the request itself.
#[derive(Default)]
struct Recorder {
    events: StdMutex<Vec<String>>,
}

impl ApprovalPrompter for Recorder {
    fn request_opened(&self, request: &ApprovalRequest, approvals: &Approvals) {
        self.events
            .lock()
            .unwrap()
            .push(format!("opened {}", request.action));
        // A prompter may answer synchronously; the gate must not deadlock on it.
        approvals.respond(&request.id, request.action == "allow.me");
    }

    fn request_closed(&self, _id: &str) {
        self.events.lock().unwrap().push("closed".into());
    }
}

#[tokio::test]
async fn the_prompter_sees_each_request_and_can_answer() {
    let recorder = Arc::new(Recorder::default());
    let gate = Approvals::new(
        ApprovalMode::Manual,
        Duration::from_secs(30),
        Some(recorder.clone()),
    );
    assert!(gate.ask(ask("allow.me")).await.allowed());
    assert_eq!(
        gate.ask(ask("deny.me")).await.denied,
        Some(DenyReason::Denied)
    );
    assert_eq!(
        *recorder.events.lock().unwrap(),
        ["opened allow.me", "closed", "opened deny.me", "closed"]
    );
}

#[test]
fn requests_serialise_with_the_reference_key_order() {
    let request = ApprovalRequest {
        workspace_id: "ws_a".into(),
        action: "plugins.add".into(),
        summary: "Add plugin x".into(),
        paths: vec!["/p".into()],
        actor: Actor::remote("client-tok", Scope::Collaborator, None),
        id: "id-1".into(),
        created_at: 5,
    };
    let text = serde_json::to_string(&request).unwrap();
    assert_eq!(
        text,
        r#"{"workspaceId":"ws_a","action":"plugins.add","summary":"Add plugin x","paths":["/p"],"actor":{"type":"remote","tokenHash":"17486dc1e1c02c2a3e6f24deb3775461f585a1d8a412a72d36de1286af1a0828","scope":"collaborator"},"id":"id-1","createdAt":5}"#
    );
}

#[tokio::test]
async fn shutdown_denies_waiting_requests_at_once() {
    let shutdown = CancellationToken::new();
    let gate = Approvals::with_shutdown(
        ApprovalMode::Manual,
        Duration::from_secs(3600),
        None,
        shutdown.clone(),
    );
    let waiter = tokio::spawn({
        let gate = gate.clone();
        async move { gate.ask(ask("config.patch")).await }
    });
    while gate.pending().is_empty() {
        tokio::task::yield_now().await;
    }
    shutdown.cancel();
    assert_eq!(waiter.await.unwrap().denied, Some(DenyReason::Denied));
    assert!(gate.pending().is_empty());
}
