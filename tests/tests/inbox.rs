//! Inbox uploads, listings and downloads, and artifact (outbox) downloads (contract
//! §8.2–§8.3), against a real server.

use openwork_server_tests::reqwest::Method;
use openwork_server_tests::{
    Options, TestServer, Value, error_body, json, keys, manual_approval, read_only, send, send_full,
};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const BOUNDARY: &str = "owtestboundary7MA4YWxkTrZu0gW";

/// One part of a multipart body.
enum Part<'a> {
    File(&'a str, &'a str, &'a [u8]),
    Text(&'a str, &'a str),
}

fn form(parts: &[Part<'_>]) -> Vec<u8> {
    let mut body = Vec::new();
    for part in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        match part {
            Part::File(name, file_name, bytes) => {
                body.extend_from_slice(
                    format!(
                        "Content-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                    )
                    .as_bytes(),
                );
                body.extend_from_slice(bytes);
            }
            Part::Text(name, value) => {
                body.extend_from_slice(
                    format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}")
                        .as_bytes(),
                );
            }
        }
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

fn content_type() -> String {
    format!("multipart/form-data; boundary={BOUNDARY}")
}

async fn upload(server: &TestServer, query: &str, parts: &[Part<'_>]) -> (u16, Value) {
    upload_as(server, &server.client_token.clone(), query, parts).await
}

async fn upload_as(
    server: &TestServer,
    token: &str,
    query: &str,
    parts: &[Part<'_>],
) -> (u16, Value) {
    let path = format!("/workspace/{}/inbox{query}", server.workspace_id());
    send(
        server
            .with_bearer(Method::POST, &path, token)
            .header("Content-Type", content_type())
            .body(form(parts)),
    )
    .await
}

fn inbox(server: &TestServer) -> PathBuf {
    server.workspace_path().join(".opencode/openwork/inbox")
}

fn outbox(server: &TestServer) -> PathBuf {
    server.workspace_path().join(".opencode/openwork/outbox")
}

fn with_env(pairs: &[(&str, &str)]) -> Options {
    Options {
        env: pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        ..Options::default()
    }
}

/// Every file and folder under `dir`, relative, sorted (empty when it does not exist).
fn tree(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(next) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&next) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            found.push(
                path.strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
            );
            if entry.file_type().unwrap().is_dir() {
                pending.push(path);
            }
        }
    }
    found.sort();
    found
}

#[tokio::test]
async fn upload_list_and_download_round_trip() {
    let server = TestServer::start().await;
    let ws = server.workspace_id();
    let (status, body) = upload(
        &server,
        "?path=docs/a.txt",
        &[Part::File("file", "ignored.bin", b"hello\n")],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({ "ok": true, "path": "docs/a.txt", "bytes": 6 })
    );
    assert_eq!(
        std::fs::read(inbox(&server).join("docs/a.txt")).unwrap(),
        b"hello\n"
    );
    // Only the uploaded file is left: no staging file anywhere.
    assert_eq!(
        tree(&server.workspace_path().join(".opencode")),
        [
            "openwork",
            "openwork/inbox",
            "openwork/inbox/docs",
            "openwork/inbox/docs/a.txt"
        ]
    );

    let (status, list) = send(server.client(Method::GET, &format!("/workspace/{ws}/inbox"))).await;
    assert_eq!(status, 200);
    let item = &list["items"][0];
    assert_eq!(keys(item), ["id", "path", "size", "updatedAt", "name"]);
    assert_eq!(item["id"], "ZG9jcy9hLnR4dA");
    assert_eq!(item["path"], "docs/a.txt");
    assert_eq!(item["size"], 6);
    assert_eq!(item["name"], "a.txt");
    assert!(item["updatedAt"].as_f64().unwrap() > 1.0e12);

    let reply = send_full(server.client(
        Method::GET,
        &format!("/workspace/{ws}/inbox/ZG9jcy9hLnR4dA"),
    ))
    .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.text, "hello\n");
    assert_eq!(
        reply.header("content-type"),
        Some("application/octet-stream")
    );
    assert_eq!(reply.header("content-length"), Some("6"));
    assert_eq!(
        reply.header("content-disposition"),
        Some("attachment; filename=\"a.txt\"")
    );

    let (_, audit) = send(server.client(Method::GET, &format!("/workspace/{ws}/audit"))).await;
    let line = &audit["items"][0];
    assert_eq!(line["action"], "workspace.inbox.upload");
    assert_eq!(
        line["target"],
        inbox(&server).join("docs/a.txt").to_string_lossy().as_ref()
    );
    assert_eq!(line["summary"], "Uploaded docs/a.txt to inbox");
}

#[tokio::test]
async fn the_target_path_is_query_then_field_then_file_name() {
    let server = TestServer::start().await;
    let parts = [
        Part::File("file", "name.txt", b"1"),
        Part::Text("path", "field.txt"),
    ];
    let (_, body) = upload(&server, "?path=query.txt", &parts).await;
    assert_eq!(body["path"], "query.txt");
    // The field counts even when it follows the file part; a blank query is ignored.
    let (_, body) = upload(&server, "?path=%20%20", &parts).await;
    assert_eq!(body["path"], "field.txt");
    let (_, body) = upload(
        &server,
        "",
        &[
            Part::Text("path", "  "),
            Part::File("file", "name.txt", b"1"),
        ],
    )
    .await;
    assert_eq!(body["path"], "name.txt");
    let (_, body) = upload(
        &server,
        "",
        &[
            Part::Text("path", "/workspace/sub/x.txt"),
            Part::File("file", "n", b"1"),
        ],
    )
    .await;
    assert_eq!(body["path"], "sub/x.txt");
    let mut names = tree(&inbox(&server));
    names.sort();
    assert_eq!(
        names,
        ["field.txt", "name.txt", "query.txt", "sub", "sub/x.txt"]
    );
}

#[tokio::test]
async fn only_the_first_file_part_counts() {
    let server = TestServer::start().await;
    let (status, body) = upload(
        &server,
        "",
        &[
            Part::File("file", "first.txt", b"one"),
            Part::Text("note", "ignored"),
            Part::File("file", "second.txt", &[b'y'; 2 * 1024 * 1024]),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({ "ok": true, "path": "first.txt", "bytes": 3 }));
    assert_eq!(tree(&inbox(&server)), ["first.txt"]);
}

#[tokio::test]
async fn an_existing_file_is_replaced() {
    let server = TestServer::start().await;
    std::fs::create_dir_all(inbox(&server)).unwrap();
    std::fs::write(inbox(&server).join("a.txt"), "old contents").unwrap();
    let (status, body) = upload(&server, "", &[Part::File("file", "a.txt", b"new")]).await;
    assert_eq!((status, body["bytes"].clone()), (200, json!(3)));
    assert_eq!(
        std::fs::read_to_string(inbox(&server).join("a.txt")).unwrap(),
        "new"
    );
    assert_eq!(tree(&inbox(&server)), ["a.txt"]);
}

#[tokio::test]
async fn a_file_where_a_folder_must_go_is_an_invalid_path() {
    // Found by the schema-driven fuzz run: this answered 500 (ENOTDIR from the write).
    let server = TestServer::start().await;
    std::fs::create_dir_all(inbox(&server)).unwrap();
    std::fs::write(inbox(&server).join("docs"), "a file").unwrap();
    assert_eq!(
        upload(
            &server,
            "?path=docs/a.txt",
            &[Part::File("file", "a", b"1")]
        )
        .await,
        (400, error_body("invalid_path", "Path goes through a file"))
    );
    // The inbox's own folders in the way of the staging area: the same answer.
    let server = TestServer::start().await;
    std::fs::create_dir_all(server.workspace_path().join(".opencode")).unwrap();
    std::fs::write(server.workspace_path().join(".opencode/openwork"), "a file").unwrap();
    assert_eq!(
        upload(&server, "", &[Part::File("file", "a.txt", b"1")]).await,
        (400, error_body("invalid_path", "Path goes through a file"))
    );
}

#[tokio::test]
async fn invalid_uploads_are_refused_and_leave_nothing() {
    let server = TestServer::start_with(with_env(&[("OPENWORK_INBOX_MAX_BYTES", "10")])).await;
    let ws = server.workspace_id();
    let (status, body) = send(
        server
            .client(Method::POST, &format!("/workspace/{ws}/inbox"))
            .header("Content-Type", "application/json")
            .body("{}"),
    )
    .await;
    assert_eq!(
        (status, body),
        (
            400,
            error_body("invalid_payload", "Expected multipart/form-data")
        )
    );
    let required = (
        400,
        error_body("file_required", "Form field 'file' is required"),
    );
    assert_eq!(
        upload(&server, "", &[Part::Text("path", "a.txt")]).await,
        required
    );
    assert_eq!(
        upload(&server, "", &[Part::Text("file", "not a file")]).await,
        required
    );
    assert_eq!(
        upload(&server, "?path=../x.txt", &[Part::File("file", "a", b"1")]).await,
        (
            400,
            error_body("invalid_path", "Path traversal is not allowed")
        )
    );
    assert_eq!(
        upload(&server, "", &[Part::File("file", "", b"1")]).await,
        (400, error_body("invalid_path", "Path is required"))
    );
    let (status, body) = upload(&server, "", &[Part::File("file", "big.txt", &[b'x'; 11])]).await;
    assert_eq!(status, 413);
    assert_eq!(body["code"], "file_too_large");
    assert_eq!(body["message"], "File exceeds upload limit");
    assert_eq!(body["details"]["maxBytes"], 10);
    assert_eq!(body["details"]["size"], 11);
    // Exactly at the limit is fine.
    let (status, _) = upload(&server, "", &[Part::File("file", "ten.txt", &[b'x'; 10])]).await;
    assert_eq!(status, 200);
    assert_eq!(tree(&inbox(&server)), ["ten.txt"]);
}

#[tokio::test]
async fn refused_uploads_leave_no_folders_behind() {
    let server = TestServer::start_with(with_env(&[("OPENWORK_INBOX_MAX_BYTES", "4")])).await;
    let (status, _) = upload(&server, "", &[Part::File("file", "big.txt", b"12345")]).await;
    assert_eq!(status, 413);
    assert!(tree(server.workspace_path()).is_empty());
}

#[tokio::test]
async fn auth_switches_and_workspace_are_checked_in_order() {
    let server = TestServer::start_with(with_env(&[("OPENWORK_INBOX_ENABLED", "0")])).await;
    let ws = server.workspace_id();
    let parts = [Part::File("file", "a.txt", b"1")];
    assert_eq!(
        upload(&server, "", &parts).await,
        (
            404,
            error_body("inbox_disabled", "Workspace inbox is disabled")
        )
    );
    let (status, list) = send(server.client(Method::GET, &format!("/workspace/{ws}/inbox"))).await;
    assert_eq!((status, list), (200, json!({ "items": [] })));
    let (status, body) =
        send(server.client(Method::GET, &format!("/workspace/{ws}/inbox/YS50eHQ"))).await;
    assert_eq!(
        (status, body["code"].clone()),
        (404, json!("inbox_disabled"))
    );
    let viewer = server.issue_token("viewer").await;
    let (status, body) = upload_as(&server, &viewer, "", &parts).await;
    assert_eq!(status, 403);
    assert_eq!(
        body["details"],
        json!({ "required": "collaborator", "scope": "viewer" })
    );
    let (status, _) = upload_as(&server, "wrong", "", &parts).await;
    assert_eq!(status, 401);

    let server = TestServer::start().await;
    let (status, body) = send(
        server
            .client(Method::POST, "/workspace/ws_000000000000/inbox")
            .header("Content-Type", content_type())
            .body(form(&parts)),
    )
    .await;
    assert_eq!(
        (status, body["code"].clone()),
        (404, json!("workspace_not_found"))
    );

    let read_only = TestServer::start_with(read_only()).await;
    let (status, body) = upload(&read_only, "", &parts).await;
    assert_eq!((status, body["code"].clone()), (403, json!("read_only")));
    assert!(tree(read_only.workspace_path()).is_empty());
}

#[tokio::test]
async fn a_denied_upload_leaves_nothing() {
    let server = TestServer::start_with(manual_approval(5_000)).await;
    let pending = {
        let server_ref = &server;
        let upload = upload(
            server_ref,
            "?path=d/a.txt",
            &[Part::File("file", "a", b"data")],
        );
        let answer = async {
            let request = server_ref.wait_for_pending().await;
            assert_eq!(request.action, "workspace.inbox.upload");
            assert_eq!(request.summary, "Upload d/a.txt to inbox");
            assert_eq!(
                request.paths,
                [inbox(server_ref)
                    .join("d/a.txt")
                    .to_string_lossy()
                    .into_owned()]
            );
            // While the operator decides, the inbox lists nothing.
            let (_, list) = send(server_ref.client(
                Method::GET,
                &format!("/workspace/{}/inbox", server_ref.workspace_id()),
            ))
            .await;
            assert_eq!(list, json!({ "items": [] }));
            server_ref.approvals.respond(&request.id, false);
        };
        tokio::join!(upload, answer).0
    };
    assert_eq!(pending.0, 403);
    assert_eq!(pending.1["code"], "write_denied");
    assert_eq!(pending.1["details"]["reason"], "denied");
    assert!(
        tree(server.workspace_path()).is_empty(),
        "{:?}",
        tree(server.workspace_path())
    );
}

#[cfg(unix)]
#[tokio::test]
async fn symlinks_cannot_lead_uploads_or_downloads_outside() {
    let server = TestServer::start().await;
    let ws = server.workspace_id();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.txt"), "secret").unwrap();
    std::fs::create_dir_all(inbox(&server)).unwrap();
    std::os::unix::fs::symlink(outside.path(), inbox(&server).join("out")).unwrap();
    std::os::unix::fs::symlink(
        outside.path().join("secret.txt"),
        inbox(&server).join("secret-link.txt"),
    )
    .unwrap();
    let escapes = (
        400,
        error_body("invalid_path", "Path escapes the workspace"),
    );

    assert_eq!(
        upload(&server, "?path=out/x.txt", &[Part::File("file", "x", b"1")]).await,
        escapes
    );
    assert_eq!(tree(outside.path()), ["secret.txt"]);
    // The listing skips links; a download through one is refused.
    let (_, list) = send(server.client(Method::GET, &format!("/workspace/{ws}/inbox"))).await;
    assert_eq!(list, json!({ "items": [] }));
    let id = "c2VjcmV0LWxpbmsudHh0"; // secret-link.txt
    let (status, body) =
        send(server.client(Method::GET, &format!("/workspace/{ws}/inbox/{id}"))).await;
    assert_eq!((status, body), escapes);

    // The same for the outbox, and for a box folder that is itself a link.
    std::fs::create_dir_all(outbox(&server).parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(outside.path(), outbox(&server)).unwrap();
    let (_, list) = send(server.client(Method::GET, &format!("/workspace/{ws}/artifacts"))).await;
    assert_eq!(list, json!({ "items": [] }));
    let (status, body) = send(server.client(
        Method::GET,
        &format!("/workspace/{ws}/artifacts/c2VjcmV0LnR4dA"),
    ))
    .await;
    assert_eq!((status, body), escapes);
}

#[tokio::test]
async fn downloads_refuse_bad_and_missing_ids() {
    let server = TestServer::start().await;
    let ws = server.workspace_id();
    std::fs::create_dir_all(inbox(&server).join("dir")).unwrap();
    let get = |id: &str| server.client(Method::GET, &format!("/workspace/{ws}/inbox/{id}"));
    let invalid = (
        400,
        error_body("invalid_inbox_item", "Inbox item id is invalid"),
    );
    assert_eq!(send(get("Li4vc2VjcmV0")).await, invalid); // ../secret
    assert_eq!(send(get("%25%25")).await, invalid);
    let missing = (
        404,
        error_body("inbox_item_not_found", "Inbox item not found"),
    );
    assert_eq!(send(get("bm9wZS50eHQ")).await, missing); // nope.txt
    assert_eq!(send(get("ZGly")).await, missing); // dir
}

#[tokio::test]
async fn artifacts_are_listed_and_downloaded() {
    let server = TestServer::start().await;
    let ws = server.workspace_id();
    std::fs::create_dir_all(outbox(&server).join("sub")).unwrap();
    std::fs::write(outbox(&server).join("sub/r.txt"), "data").unwrap();
    let (status, list) =
        send(server.client(Method::GET, &format!("/workspace/{ws}/artifacts"))).await;
    assert_eq!(status, 200);
    let item = &list["items"][0];
    assert_eq!(keys(item), ["id", "path", "size", "updatedAt"]);
    assert_eq!(
        (item["id"].clone(), item["size"].clone()),
        (json!("c3ViL3IudHh0"), json!(4))
    );

    let get = |id: &str| server.client(Method::GET, &format!("/workspace/{ws}/artifacts/{id}"));
    let reply = send_full(get("c3ViL3IudHh0")).await;
    assert_eq!((reply.status, reply.text.as_str()), (200, "data"));
    assert_eq!(reply.header("content-length"), Some("4"));
    assert_eq!(
        reply.header("content-disposition"),
        Some("attachment; filename=\"r.txt\"")
    );
    assert_eq!(
        reply.header("content-type"),
        Some("application/octet-stream")
    );
    assert_eq!(
        send(get("Li4vc2VjcmV0")).await,
        (
            400,
            error_body("invalid_artifact", "Artifact id is invalid")
        )
    );
    assert_eq!(
        send(get("%20")).await,
        (
            400,
            error_body("invalid_artifact", "Artifact id is required")
        )
    );
    assert_eq!(
        send(get("bm9wZS50eHQ")).await,
        (404, error_body("artifact_not_found", "Artifact not found"))
    );

    let disabled = TestServer::start_with(with_env(&[("OPENWORK_OUTBOX_ENABLED", "false")])).await;
    let ws = disabled.workspace_id();
    let (_, list) = send(disabled.client(Method::GET, &format!("/workspace/{ws}/artifacts"))).await;
    assert_eq!(list, json!({ "items": [] }));
    assert_eq!(
        send(disabled.client(
            Method::GET,
            &format!("/workspace/{ws}/artifacts/c3ViL3IudHh0")
        ))
        .await,
        (
            404,
            error_body("outbox_disabled", "Workspace outbox is disabled")
        )
    );
}

/// Streams a multipart upload of `declared` file bytes over a raw connection and returns
/// the response head and how many body bytes had been written when it arrived. The writer
/// keeps going until the server stops reading, so the count shows whether the server
/// answered before the whole body was sent.
async fn stream_upload(server: &TestServer, declared: usize) -> (String, usize, usize) {
    let head = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.bin\"\r\n\r\n"
    );
    let tail = format!("\r\n--{BOUNDARY}--\r\n");
    let total = head.len() + declared + tail.len();
    let stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let request = format!(
        "POST /workspace/{}/inbox HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nContent-Type: {}\r\nContent-Length: {total}\r\n\r\n{head}",
        server.workspace_id(),
        server.addr,
        server.client_token,
        content_type(),
    );
    writer.write_all(request.as_bytes()).await.unwrap();
    let written = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(head.len()));
    let counter = written.clone();
    let writing = tokio::spawn(async move {
        let chunk = vec![b'x'; 64 * 1024];
        let mut left = declared;
        while left > 0 {
            let n = left.min(chunk.len());
            if writer.write_all(&chunk[..n]).await.is_err() {
                return;
            }
            counter.fetch_add(n, std::sync::atomic::Ordering::SeqCst);
            left -= n;
        }
        let _ = writer.write_all(tail.as_bytes()).await;
        counter.fetch_add(tail.len(), std::sync::atomic::Ordering::SeqCst);
    });
    let mut response = Vec::new();
    let mut buf = [0u8; 4096];
    let read = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    response.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&response);
                    if let Some((_, body)) = text.split_once("\r\n\r\n") {
                        if body.ends_with('}') {
                            break;
                        }
                    }
                }
            }
        }
    })
    .await;
    assert!(read.is_ok(), "no response within 60 s");
    let sent = written.load(std::sync::atomic::Ordering::SeqCst);
    writing.abort();
    (String::from_utf8_lossy(&response).into_owned(), sent, total)
}

#[tokio::test]
async fn oversized_uploads_are_refused_while_streaming() {
    // A small limit: the answer must come long before the 8 MB body is sent.
    let server = TestServer::start_with(with_env(&[("OPENWORK_INBOX_MAX_BYTES", "100000")])).await;
    let (response, sent, total) = stream_upload(&server, 8_000_000).await;
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    assert!(
        response.contains("\"code\":\"file_too_large\""),
        "{response}"
    );
    assert!(response.contains("\"maxBytes\":100000"), "{response}");
    assert!(
        sent < total,
        "the server waited for the whole body ({sent} of {total})"
    );
    assert!(tree(server.workspace_path()).is_empty());
}

#[tokio::test]
async fn a_60_mb_upload_is_refused_at_the_default_limit() {
    // The memory side of this (flat RSS while streaming) is measured by the bench.
    let server = TestServer::start().await;
    let (response, sent, total) = stream_upload(&server, 60_000_000).await;
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    assert!(response.contains("\"maxBytes\":50000000"), "{response}");
    assert!(
        sent < total,
        "the server waited for the whole body ({sent} of {total})"
    );
    assert!(tree(server.workspace_path()).is_empty());
}
