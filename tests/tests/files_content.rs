//! `GET|POST /workspace/:id/files/content` (contract Appendix A): markdown files read and
//! written whole, with optimistic concurrency on `updatedAt`, against a real server.

use openwork_server_tests::reqwest::Method;
use openwork_server_tests::{
    TestServer, Value, error_body, json, keys, manual_approval, read_only, send,
};

fn url(server: &TestServer, query: &str) -> String {
    format!("/workspace/{}/files/content{query}", server.workspace_id())
}

async fn read(server: &TestServer, path: &str) -> (u16, Value) {
    send(
        server
            .client(Method::GET, &url(server, ""))
            .query(&[("path", path)]),
    )
    .await
}

async fn write(server: &TestServer, body: Value) -> (u16, Value) {
    send(server.client(Method::POST, &url(server, "")).json(&body)).await
}

#[tokio::test]
async fn reads_markdown_with_its_size_and_time() {
    let server = TestServer::start().await;
    std::fs::create_dir_all(server.workspace_path().join("docs")).unwrap();
    std::fs::write(server.workspace_path().join("docs/a.md"), "# Hi\n").unwrap();
    let (status, body) = read(&server, "workspace/docs/a.md").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(keys(&body), ["path", "content", "bytes", "updatedAt"]);
    assert_eq!(body["path"], "docs/a.md");
    assert_eq!(body["content"], "# Hi\n");
    assert_eq!(body["bytes"], 5);
    assert!(body["updatedAt"].as_f64().unwrap() > 1.0e12);
}

#[tokio::test]
async fn read_errors() {
    let server = TestServer::start().await;
    std::fs::create_dir_all(server.workspace_path().join("dir.md")).unwrap();
    std::fs::write(server.workspace_path().join("a.txt"), "x").unwrap();
    assert_eq!(
        read(&server, "a.txt").await,
        (
            400,
            error_body("invalid_path", "Only markdown files are supported")
        )
    );
    assert_eq!(
        read(&server, "").await,
        (400, error_body("invalid_path", "Path is required"))
    );
    assert_eq!(
        read(&server, "../x.md").await,
        (
            400,
            error_body("invalid_path", "Path traversal is not allowed")
        )
    );
    let missing = (404, error_body("file_not_found", "File not found"));
    assert_eq!(read(&server, "nope.md").await, missing);
    assert_eq!(read(&server, "dir.md").await, missing);

    std::fs::write(
        server.workspace_path().join("big.md"),
        vec![b'x'; 5_000_001],
    )
    .unwrap();
    let (status, body) = read(&server, "big.md").await;
    assert_eq!(status, 413);
    assert_eq!(body["code"], "file_too_large");
    assert_eq!(body["message"], "File exceeds size limit");
    assert_eq!(
        body["details"],
        json!({ "maxBytes": 5_000_000, "size": 5_000_001 })
    );
}

#[tokio::test]
async fn writes_atomically_with_event_and_audit() {
    let server = TestServer::start().await;
    let (status, body) = write(
        &server,
        json!({ "path": "notes/new.md", "content": "héllo" }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        keys(&body),
        ["ok", "path", "bytes", "updatedAt", "revision"]
    );
    assert_eq!(body["path"], "notes/new.md");
    assert_eq!(body["bytes"], 6);
    let file = server.workspace_path().join("notes/new.md");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "héllo");
    let updated_at = body["updatedAt"].as_f64().unwrap();
    assert_eq!(
        body["revision"],
        format!("{}:6", updated_at.floor() as u64).as_str()
    );
    // Reading back gives the same time, usable as `baseUpdatedAt`.
    let (_, read_back) = read(&server, "notes/new.md").await;
    assert_eq!(read_back["updatedAt"], body["updatedAt"]);

    let (_, audit) = send(server.client(
        Method::GET,
        &format!("/workspace/{}/audit", server.workspace_id()),
    ))
    .await;
    let line = &audit["items"][0];
    assert_eq!(line["action"], "workspace.file.write");
    assert_eq!(line["target"], file.to_string_lossy().as_ref());
    assert_eq!(line["summary"], "Wrote notes/new.md");
    // No temp file is left beside it.
    let names: Vec<_> = std::fs::read_dir(file.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, ["new.md"]);
}

#[tokio::test]
async fn stale_writes_conflict_unless_forced() {
    let server = TestServer::start().await;
    let file = server.workspace_path().join("a.md");
    std::fs::write(&file, "one").unwrap();
    let (_, loaded) = read(&server, "a.md").await;
    let base = loaded["updatedAt"].clone();

    let (status, first) = write(
        &server,
        json!({ "path": "a.md", "content": "two", "baseUpdatedAt": base }),
    )
    .await;
    assert_eq!(status, 200, "{first}");
    // The same base is now stale.
    let (status, body) = write(
        &server,
        json!({ "path": "a.md", "content": "three", "baseUpdatedAt": base }),
    )
    .await;
    assert_eq!(status, 409);
    assert_eq!(body["code"], "conflict");
    assert_eq!(body["message"], "File changed since it was loaded");
    assert_eq!(body["details"]["baseUpdatedAt"], base);
    assert!(body["details"]["currentUpdatedAt"].is_number());
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "two");
    let (status, _) = write(
        &server,
        json!({ "path": "a.md", "content": "three", "baseUpdatedAt": base, "force": true }),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "three");
}

#[tokio::test]
async fn a_file_where_a_folder_must_go_is_an_invalid_path() {
    // Found with the fuzz run's inbox case: the write failed with ENOTDIR and answered 500.
    let server = TestServer::start().await;
    std::fs::write(server.workspace_path().join("notes.md"), "x").unwrap();
    assert_eq!(
        write(&server, json!({"path": "notes.md/a.md", "content": "# A"})).await,
        (400, error_body("invalid_path", "Path goes through a file"))
    );
    assert_eq!(
        std::fs::read_to_string(server.workspace_path().join("notes.md")).unwrap(),
        "x"
    );
}

#[tokio::test]
async fn invalid_writes_change_nothing() {
    let server = TestServer::start().await;
    std::fs::create_dir_all(server.workspace_path().join("dir.md")).unwrap();
    assert_eq!(
        write(&server, json!({ "path": "a.txt", "content": "x" })).await,
        (
            400,
            error_body("invalid_path", "Only markdown files are supported")
        )
    );
    assert_eq!(
        write(&server, json!({ "path": "a.md", "content": 5 })).await,
        (
            400,
            error_body("invalid_payload", "content must be a string")
        )
    );
    assert_eq!(
        write(&server, json!({ "content": "x" })).await,
        (400, error_body("invalid_path", "Path is required"))
    );
    assert_eq!(
        write(&server, json!({ "path": "dir.md", "content": "x" })).await,
        (400, error_body("invalid_path", "Path must point to a file"))
    );
    let (status, body) = write(
        &server,
        json!({ "path": "big.md", "content": "x".repeat(5_000_001) }),
    )
    .await;
    assert_eq!(
        (status, body["details"].clone()),
        (413, json!({ "maxBytes": 5_000_000, "size": 5_000_001 }))
    );
    let (status, body) = send(server.client(Method::POST, &url(&server, "")).body("null")).await;
    assert_eq!(
        (status, body),
        (400, error_body("invalid_json", "Invalid JSON body"))
    );
    let names: Vec<_> = std::fs::read_dir(server.workspace_path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, ["dir.md"]);
}

#[tokio::test]
async fn scope_and_read_only_are_enforced() {
    let server = TestServer::start().await;
    let viewer = server.issue_token("viewer").await;
    std::fs::write(server.workspace_path().join("a.md"), "x").unwrap();
    let (status, _) =
        send(server.with_bearer(Method::GET, &url(&server, "?path=a.md"), &viewer)).await;
    assert_eq!(status, 200, "viewers may read");
    let (status, body) = send(
        server
            .with_bearer(Method::POST, &url(&server, ""), &viewer)
            .json(&json!({ "path": "a.md", "content": "y" })),
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(
        body["details"],
        json!({ "required": "collaborator", "scope": "viewer" })
    );

    let read_only = TestServer::start_with(read_only()).await;
    let (status, body) = write(&read_only, json!({ "path": "a.md", "content": "y" })).await;
    assert_eq!((status, body["code"].clone()), (403, json!("read_only")));
}

#[tokio::test]
async fn a_denied_write_changes_nothing() {
    let server = TestServer::start_with(manual_approval(5_000)).await;
    let file = server.workspace_path().join("a.md");
    std::fs::write(&file, "original").unwrap();
    let (result, ()) = tokio::join!(
        write(&server, json!({ "path": "a.md", "content": "changed" })),
        async {
            let request = server.wait_for_pending().await;
            assert_eq!(request.action, "workspace.file.write");
            assert_eq!(request.summary, "Write a.md");
            assert_eq!(request.paths, [file.to_string_lossy().into_owned()]);
            server.approvals.respond(&request.id, false);
        }
    );
    assert_eq!(result.0, 403);
    assert_eq!(result.1["code"], "write_denied");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "original");
}

#[tokio::test]
async fn a_change_during_approval_is_a_conflict() {
    let server = TestServer::start_with(manual_approval(5_000)).await;
    let file = server.workspace_path().join("a.md");
    std::fs::write(&file, "original").unwrap();
    let (_, loaded) = read(&server, "a.md").await;
    let (result, ()) = tokio::join!(
        write(
            &server,
            json!({ "path": "a.md", "content": "mine", "baseUpdatedAt": loaded["updatedAt"] })
        ),
        async {
            let request = server.wait_for_pending().await;
            // Someone else edits the file while the operator decides.
            let edited = std::fs::File::options().write(true).open(&file).unwrap();
            edited
                .set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(5))
                .unwrap();
            server.approvals.respond(&request.id, true);
        }
    );
    assert_eq!(result.0, 409, "{}", result.1);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "original");
}

#[cfg(unix)]
#[tokio::test]
async fn symlinks_cannot_lead_outside_the_workspace() {
    let server = TestServer::start().await;
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.md"), "secret").unwrap();
    std::os::unix::fs::symlink(outside.path(), server.workspace_path().join("out")).unwrap();
    let escapes = (
        400,
        error_body("invalid_path", "Path escapes the workspace"),
    );
    assert_eq!(read(&server, "out/secret.md").await, escapes);
    assert_eq!(
        write(
            &server,
            json!({ "path": "out/secret.md", "content": "pwned" })
        )
        .await,
        escapes
    );
    assert_eq!(
        std::fs::read_to_string(outside.path().join("secret.md")).unwrap(),
        "secret"
    );
}
