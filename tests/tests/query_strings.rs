//! Query strings are read as the reference's `URLSearchParams.get` reads them: a repeated
//! parameter takes its first value and is never a plain-text framework rejection (found by
//! the schema-driven fuzz run, `scripts/test-openapi`).

use openwork_server_tests::reqwest::Method;
use openwork_server_tests::{TestServer, json, send, send_full};

/// Writes two commands so the audit log has two entries.
async fn two_audit_entries(server: &TestServer, id: &str) {
    for name in ["one", "two"] {
        let (status, body) = send(
            server
                .client(Method::POST, &format!("/workspace/{id}/commands"))
                .json(&json!({ "name": name, "template": "do it" })),
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }
}

#[tokio::test]
async fn repeated_parameters_take_the_first_value_and_answer_json() {
    let server = TestServer::start().await;
    let id = server.workspace_id();
    two_audit_entries(&server, &id).await;

    let reply = send_full(server.client(
        Method::GET,
        &format!("/workspace/{id}/audit?limit=1&limit=2"),
    ))
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json()["items"].as_array().unwrap().len(), 1);

    // A repeat that is not a number is ignored like the reference ignores it.
    let reply = send_full(server.client(
        Method::GET,
        &format!("/workspace/{id}/audit?limit=null&limit=null"),
    ))
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json()["items"].as_array().unwrap().len(), 2);

    let reply = send_full(server.client(
        Method::GET,
        &format!("/workspace/{id}/events?since=null&since=null"),
    ))
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json()["workspaceId"], id.as_str());

    let reply = send_full(server.client(
        Method::GET,
        &format!("/workspace/{id}/opencode-config?scope=global&scope=project"),
    ))
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let path = reply.json()["path"].as_str().unwrap().to_owned();
    assert!(
        path.contains(".config/opencode/"),
        "first value wins: {path}"
    );
}

#[tokio::test]
async fn catalog_pages_take_the_first_of_repeated_parameters() {
    let server = TestServer::start().await;
    let id = server.workspace_id();
    std::fs::write(server.workspace_path().join("a.txt"), "a").unwrap();
    std::fs::write(server.workspace_path().join("b.txt"), "b").unwrap();
    let (status, body) = send(
        server
            .client(Method::POST, &format!("/workspace/{id}/files/sessions"))
            .json(&json!({})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let session = body["session"]["id"].as_str().unwrap().to_owned();

    let (status, body) = send(server.client(
        Method::GET,
        &format!("/files/sessions/{session}/catalog/snapshot?limit=1&limit=5"),
    ))
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["items"].as_array().unwrap().len(), 1, "{body}");
    assert_eq!(body["truncated"], true);
}
