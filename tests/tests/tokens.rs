//! Scoped tokens (contract §3.4, §4.16, D7, D14): issuing, listing and revoking through the
//! host routes, the exact response shapes, and the `tokens.json` file other programs read.

use openwork_server_tests::reqwest::Method;
use openwork_server_tests::{Options, TestServer, Value, json, keys, read_only, send, sha256_hex};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// `POST /tokens` with the host token; returns status and body.
async fn create(server: &TestServer, body: Value) -> (u16, Value) {
    send(server.host(Method::POST, "/tokens").json(&body)).await
}

/// `GET /tokens` items.
async fn list(server: &TestServer) -> Vec<Value> {
    let (status, body) = send(server.host(Method::GET, "/tokens")).await;
    assert_eq!(status, 200, "{body}");
    body["items"].as_array().unwrap().clone()
}

fn is_uuid(text: &str) -> bool {
    let lengths: Vec<usize> = text.split('-').map(str::len).collect();
    lengths == [8, 4, 4, 4, 12] && text.chars().all(|c| c == '-' || c.is_ascii_hexdigit())
}

fn is_scoped_token(text: &str) -> bool {
    text.strip_prefix("owt_").is_some_and(|hex| {
        hex.len() == 32
            && hex
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    })
}

fn default_store(server: &TestServer) -> PathBuf {
    server.home.path().join(".config/openwork/tokens.json")
}

fn read_store(path: &Path) -> (String, Value) {
    let text = std::fs::read_to_string(path).expect("token store exists");
    let value = serde_json::from_str(&text).expect("token store is JSON");
    (text, value)
}

// ---------------------------------------------------------------------------------------
// Create
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn create_answers_201_with_the_token_once() {
    let server = TestServer::start().await;
    let before = now_ms();
    let (status, body) = create(&server, json!({ "scope": "viewer", "label": "  v  " })).await;
    let after = now_ms();
    assert_eq!(status, 201, "{body}");
    assert_eq!(keys(&body), ["id", "token", "scope", "createdAt", "label"]);
    assert!(is_uuid(body["id"].as_str().unwrap()), "{body}");
    assert!(is_scoped_token(body["token"].as_str().unwrap()), "{body}");
    assert_eq!(body["scope"], "viewer");
    assert_eq!(body["label"], "v");
    let created = body["createdAt"].as_u64().unwrap();
    assert!((before..=after).contains(&created), "{created}");
}

#[tokio::test]
async fn an_empty_or_missing_label_is_omitted() {
    let server = TestServer::start().await;
    for body in [
        json!({ "scope": "owner", "label": "   " }),
        json!({ "scope": "owner", "label": "" }),
        json!({ "scope": "owner" }),
    ] {
        let (status, created) = create(&server, body.clone()).await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(
            keys(&created),
            ["id", "token", "scope", "createdAt"],
            "{body}"
        );
    }
    for item in list(&server).await {
        assert!(item.get("label").is_none(), "{item}");
    }
}

#[tokio::test]
async fn each_token_is_different() {
    let server = TestServer::start().await;
    let a = server.issue_token("collaborator").await;
    let b = server.issue_token("collaborator").await;
    assert_ne!(a, b);
}

#[tokio::test]
async fn a_bad_scope_is_refused() {
    let server = TestServer::start().await;
    for body in [
        json!({ "scope": "admin" }),
        json!({ "scope": "Owner" }),
        json!({ "scope": "" }),
        json!({ "scope": 3 }),
        json!({ "label": "no scope" }),
        json!({}),
    ] {
        let (status, error) = create(&server, body.clone()).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(
            error,
            json!({
                "code": "invalid_scope",
                "message": "Token scope must be owner, collaborator, or viewer",
            }),
            "{body}"
        );
    }
    assert!(list(&server).await.is_empty());
    assert!(!default_store(&server).exists(), "nothing written");
}

// ---------------------------------------------------------------------------------------
// List
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn list_starts_empty_without_the_built_in_tokens() {
    let server = TestServer::start().await;
    assert!(list(&server).await.is_empty());
}

#[tokio::test]
async fn list_shows_newest_first_without_hashes_or_tokens() {
    let server = TestServer::start().await;
    let (_, first) = create(&server, json!({ "scope": "viewer", "label": "first" })).await;
    let (_, second) = create(&server, json!({ "scope": "collaborator" })).await;
    let (_, third) = create(&server, json!({ "scope": "owner", "label": "third" })).await;
    let items = list(&server).await;
    assert_eq!(
        items,
        [
            json!({ "id": third["id"], "scope": "owner", "createdAt": third["createdAt"], "label": "third" }),
            json!({ "id": second["id"], "scope": "collaborator", "createdAt": second["createdAt"] }),
            json!({ "id": first["id"], "scope": "viewer", "createdAt": first["createdAt"], "label": "first" }),
        ]
    );
    assert_eq!(keys(&items[0]), ["id", "scope", "createdAt", "label"]);
}

// ---------------------------------------------------------------------------------------
// Revoke
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn revoke_is_immediate_and_only_once() {
    let server = TestServer::start().await;
    let (_, issued) = create(&server, json!({ "scope": "collaborator" })).await;
    let token = issued["token"].as_str().unwrap();
    let id = issued["id"].as_str().unwrap();
    let (status, _) = send(server.with_bearer(Method::GET, "/whoami", token)).await;
    assert_eq!(status, 200);

    let (status, body) = send(server.host(Method::DELETE, &format!("/tokens/{id}"))).await;
    assert_eq!((status, body), (200, json!({ "ok": true })));

    let (status, body) = send(server.with_bearer(Method::GET, "/whoami", token)).await;
    assert_eq!(status, 401, "revoked token still works: {body}");
    assert!(list(&server).await.is_empty());

    let (status, body) = send(server.host(Method::DELETE, &format!("/tokens/{id}"))).await;
    assert_eq!(status, 404);
    assert_eq!(
        body,
        json!({ "code": "token_not_found", "message": "Token not found" })
    );
}

#[tokio::test]
async fn revoking_one_token_keeps_the_others() {
    let server = TestServer::start().await;
    let (_, keep) = create(&server, json!({ "scope": "viewer", "label": "keep" })).await;
    let (_, drop) = create(&server, json!({ "scope": "viewer", "label": "drop" })).await;
    let (status, _) = send(server.host(
        Method::DELETE,
        &format!("/tokens/{}", drop["id"].as_str().unwrap()),
    ))
    .await;
    assert_eq!(status, 200);
    let ids: Vec<Value> = list(&server)
        .await
        .iter()
        .map(|i| i["id"].clone())
        .collect();
    assert_eq!(ids, [keep["id"].clone()]);
    let (status, _) =
        send(server.with_bearer(Method::GET, "/status", keep["token"].as_str().unwrap())).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn revoking_an_unknown_id_is_404() {
    let server = TestServer::start().await;
    for id in ["nope", "00000000-0000-0000-0000-000000000000", "a%20b"] {
        let (status, body) = send(server.host(Method::DELETE, &format!("/tokens/{id}"))).await;
        assert_eq!(status, 404, "{id}");
        assert_eq!(body["code"], "token_not_found", "{id}");
    }
}

// ---------------------------------------------------------------------------------------
// The file on disk
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn the_store_file_has_the_reference_format() {
    let server = TestServer::start().await;
    let (_, viewer) = create(&server, json!({ "scope": "viewer", "label": " v " })).await;
    let (_, owner) = create(&server, json!({ "scope": "owner" })).await;
    let path = default_store(&server);
    let (text, doc) = read_store(&path);

    // Pretty JSON with 2-space indentation and a trailing newline.
    assert_eq!(
        text,
        format!("{}\n", serde_json::to_string_pretty(&doc).unwrap())
    );
    assert!(
        text.starts_with("{\n  \"schemaVersion\": 1,\n  \"updatedAt\": "),
        "{text}"
    );

    assert_eq!(keys(&doc), ["schemaVersion", "updatedAt", "tokens"]);
    assert_eq!(doc["schemaVersion"], 1);
    let updated = doc["updatedAt"].as_u64().unwrap();
    assert!(updated >= owner["createdAt"].as_u64().unwrap());

    assert_eq!(
        doc["tokens"],
        json!([
            {
                "id": owner["id"],
                "hash": sha256_hex(owner["token"].as_str().unwrap()),
                "scope": "owner",
                "createdAt": owner["createdAt"],
            },
            {
                "id": viewer["id"],
                "hash": sha256_hex(viewer["token"].as_str().unwrap()),
                "scope": "viewer",
                "createdAt": viewer["createdAt"],
                "label": "v",
            },
        ])
    );
    assert_eq!(
        keys(&doc["tokens"][1]),
        ["id", "hash", "scope", "createdAt", "label"]
    );

    // No plaintext token anywhere.
    for issued in [&viewer, &owner] {
        let token = issued["token"].as_str().unwrap();
        assert!(!text.contains(token));
        assert!(!text.contains(token.trim_start_matches("owt_")));
    }
}

#[cfg(unix)]
#[tokio::test]
async fn the_store_file_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let server = TestServer::start().await;
    server.issue_token("viewer").await;
    let mode = std::fs::metadata(default_store(&server))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "mode {:o}", mode & 0o777);
}

#[cfg(unix)]
#[tokio::test]
async fn an_existing_readable_store_becomes_private_on_the_next_write() {
    use std::os::unix::fs::PermissionsExt;
    let home = tempfile::tempdir().unwrap();
    let store = home.path().join(".config/openwork/tokens.json");
    std::fs::create_dir_all(store.parent().unwrap()).unwrap();
    std::fs::write(
        &store,
        "{\"schemaVersion\":1,\"updatedAt\":1,\"tokens\":[]}",
    )
    .unwrap();
    std::fs::set_permissions(&store, std::fs::Permissions::from_mode(0o644)).unwrap();
    let server = TestServer::start_in(Options::default(), home, tempfile::tempdir().unwrap()).await;
    server.issue_token("viewer").await;
    let mode = std::fs::metadata(&store).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "mode {:o}", mode & 0o777);
}

#[tokio::test]
async fn the_store_file_follows_revocations() {
    let server = TestServer::start().await;
    let (_, a) = create(&server, json!({ "scope": "viewer" })).await;
    let (_, b) = create(&server, json!({ "scope": "viewer" })).await;
    let (status, _) = send(server.host(
        Method::DELETE,
        &format!("/tokens/{}", a["id"].as_str().unwrap()),
    ))
    .await;
    assert_eq!(status, 200);
    let (_, doc) = read_store(&default_store(&server));
    let ids: Vec<Value> = doc["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].clone())
        .collect();
    assert_eq!(ids, [b["id"].clone()]);
}

#[tokio::test]
async fn concurrent_creates_all_land_in_the_file() {
    let server = TestServer::start().await;
    let creates = (0..12).map(|i| {
        create(
            &server,
            json!({ "scope": "viewer", "label": format!("t{i}") }),
        )
    });
    let results = futures_util::future::join_all(creates).await;
    let mut issued: Vec<String> = results
        .iter()
        .map(|(status, body)| {
            assert_eq!(*status, 201, "{body}");
            body["id"].as_str().unwrap().to_owned()
        })
        .collect();
    issued.sort();

    let mut listed: Vec<String> = list(&server)
        .await
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect();
    listed.sort();
    assert_eq!(listed, issued);

    let (_, doc) = read_store(&default_store(&server));
    let mut stored: Vec<String> = doc["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .collect();
    stored.sort();
    assert_eq!(stored, issued);
}

#[tokio::test]
async fn nothing_is_written_before_the_first_token() {
    let server = TestServer::start().await;
    list(&server).await;
    assert!(!default_store(&server).exists());
}

#[tokio::test]
async fn tokens_survive_a_restart() {
    let server = TestServer::start().await;
    let (_, owner) = create(
        &server,
        json!({ "scope": "owner", "label": "OpenWork owner token" }),
    )
    .await;
    let (_, viewer) = create(&server, json!({ "scope": "viewer" })).await;
    let before = list(&server).await;
    let (home, workspace) = server.stop().await;

    let server = TestServer::start_in(Options::default(), home, workspace).await;
    assert_eq!(list(&server).await, before);
    let (status, body) =
        send(server.with_bearer(Method::GET, "/tokens", owner["token"].as_str().unwrap())).await;
    assert_eq!(status, 200, "owner token after restart: {body}");
    let (status, body) =
        send(server.with_bearer(Method::GET, "/whoami", viewer["token"].as_str().unwrap())).await;
    assert_eq!(status, 200);
    assert_eq!(body["actor"]["scope"], "viewer");
}

#[tokio::test]
async fn a_store_written_by_the_reference_is_loaded() {
    let home = tempfile::tempdir().unwrap();
    let store = home.path().join(".config/openwork/tokens.json");
    std::fs::create_dir_all(store.parent().unwrap()).unwrap();
    let token = "owt_0123456789abcdef0123456789abcdef";
    std::fs::write(
        &store,
        serde_json::to_string_pretty(&json!({
            "schemaVersion": 1,
            "updatedAt": 1795248259054u64,
            "tokens": [
                { "id": "4dfed62a-995d-40b4-b837-13c27074d80a", "hash": sha256_hex(token),
                  "scope": "viewer", "createdAt": 1795248259053u64, "label": "v" },
                { "id": "bad-scope", "hash": sha256_hex("x"), "scope": "root", "createdAt": 1 },
                { "hash": sha256_hex("y"), "scope": "owner", "createdAt": 1 },
            ]
        }))
        .unwrap(),
    )
    .unwrap();
    let server = TestServer::start_in(Options::default(), home, tempfile::tempdir().unwrap()).await;
    assert_eq!(
        list(&server).await,
        [json!({
            "id": "4dfed62a-995d-40b4-b837-13c27074d80a",
            "scope": "viewer",
            "createdAt": 1795248259053u64,
            "label": "v",
        })]
    );
    let (status, body) = send(server.with_bearer(Method::GET, "/whoami", token)).await;
    assert_eq!(status, 200);
    assert_eq!(body["actor"]["scope"], "viewer");
}

#[tokio::test]
async fn the_token_store_location_comes_from_openwork_token_store() {
    let elsewhere = tempfile::tempdir().unwrap();
    let store = elsewhere.path().join("nested/dir/my-tokens.json");
    let server = TestServer::start_with(Options {
        env: vec![(
            "OPENWORK_TOKEN_STORE".into(),
            store.to_string_lossy().into_owned(),
        )],
        ..Options::default()
    })
    .await;
    let token = server.issue_token("viewer").await;
    let (_, doc) = read_store(&store);
    assert_eq!(doc["tokens"][0]["hash"], sha256_hex(&token).as_str());
    assert!(!default_store(&server).exists());
}

#[tokio::test]
async fn a_relative_token_store_resolves_against_the_current_directory() {
    // The harness runs with the temp HOME as current directory.
    let server = TestServer::start_with(Options {
        env: vec![("OPENWORK_TOKEN_STORE".into(), "state/tokens.json".into())],
        ..Options::default()
    })
    .await;
    server.issue_token("viewer").await;
    assert!(server.home.path().join("state/tokens.json").is_file());
}

// ---------------------------------------------------------------------------------------
// Read-only mode
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn read_only_mode_refuses_create_and_revoke_but_lists() {
    let server = TestServer::start_with(read_only()).await;
    let (status, body) = create(&server, json!({ "scope": "viewer" })).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["code"], "read_only");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert_eq!(keys(&body), ["code", "message"]);

    // The read-only check comes before body parsing.
    let (status, body) = send(server.host(Method::POST, "/tokens").body("not json")).await;
    assert_eq!((status, &body["code"]), (403, &json!("read_only")));

    let (status, body) = send(server.host(Method::DELETE, "/tokens/anything")).await;
    assert_eq!((status, &body["code"]), (403, &json!("read_only")));

    let (status, body) = send(server.host(Method::GET, "/tokens")).await;
    assert_eq!((status, body), (200, json!({ "items": [] })));
    assert!(!default_store(&server).exists());
}

#[tokio::test]
async fn read_only_mode_still_asks_for_auth_first() {
    let server = TestServer::start_with(read_only()).await;
    let (status, body) = send(
        server
            .client(Method::POST, "/tokens")
            .json(&json!({ "scope": "viewer" })),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(body["message"], "Invalid host token");
}

#[tokio::test]
async fn a_failed_store_write_is_a_generic_500_and_issues_nothing() {
    // The store's folder turns into a file after startup, so the write cannot happen.
    let scratch = tempfile::tempdir().unwrap();
    let store_dir = scratch.path().join("store");
    let server = TestServer::start_with(Options {
        env: vec![(
            "OPENWORK_TOKEN_STORE".into(),
            store_dir.join("tokens.json").to_string_lossy().into_owned(),
        )],
        ..Options::default()
    })
    .await;
    std::fs::write(&store_dir, "not a folder").unwrap();

    let (status, body) = send(
        server
            .host(Method::POST, "/tokens")
            .json(&json!({ "scope": "owner" })),
    )
    .await;
    assert_eq!(status, 500);
    assert_eq!(
        body,
        json!({ "code": "internal_error", "message": "Unexpected server error" })
    );
    // Memory never runs ahead of the file: nothing was issued.
    let (status, body) = send(server.host(Method::GET, "/tokens")).await;
    assert_eq!(status, 200);
    assert_eq!(body["items"], json!([]));
    assert_eq!(std::fs::read_to_string(&store_dir).unwrap(), "not a folder");
}
