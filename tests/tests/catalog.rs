//! The live catalog of file sessions (contract §8.4 snapshot and events, D11, Addendum 2):
//! byte-order pagination, `total` semantics, and changes made outside the API showing up
//! as file events and in the next snapshot.

use openwork_server_tests::reqwest::Method;
use openwork_server_tests::{TestServer, Value, error_body, json, keys, send};
use std::time::Duration;

async fn session(server: &TestServer) -> String {
    let path = format!("/workspace/{}/files/sessions", server.workspace_id());
    let (status, body) = send(server.client(Method::POST, &path).json(&json!({}))).await;
    assert_eq!(status, 200);
    body["session"]["id"].as_str().unwrap().to_owned()
}

fn touch(server: &TestServer, rel: &str, text: &str) {
    let path = server.workspace_path().join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

async fn snapshot(server: &TestServer, id: &str, query: &str) -> Value {
    let (status, body) = send(server.client(
        Method::GET,
        &format!("/files/sessions/{id}/catalog/snapshot{query}"),
    ))
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

fn paths(page: &Value) -> Vec<&str> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["path"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn snapshot_pages_in_byte_order_with_after_and_next_after() {
    let server = TestServer::start().await;
    for rel in [
        "b.txt",
        "B.txt",
        "a.txt",
        "Zed/x.md",
        "zed.md",
        ".git/HEAD",
        "node_modules/m/i.js",
    ] {
        touch(&server, rel, "x");
    }
    let id = session(&server).await;
    let first = snapshot(&server, &id, "?limit=4").await;
    assert_eq!(
        keys(&first),
        [
            "sessionId",
            "workspaceId",
            "generatedAt",
            "cursor",
            "total",
            "truncated",
            "nextAfter",
            "items"
        ]
    );
    assert_eq!(first["total"], 11);
    assert_eq!(first["truncated"], true);
    assert_eq!(paths(&first), [".git", ".git/HEAD", "B.txt", "Zed"]);
    assert_eq!(first["nextAfter"], "Zed");
    let item = &first["items"][1];
    assert_eq!(keys(item), ["path", "kind", "size", "mtimeMs", "revision"]);
    assert_eq!(
        (item["kind"].as_str(), item["size"].as_u64()),
        (Some("file"), Some(1))
    );
    let rev = format!("{}:1", item["mtimeMs"].as_f64().unwrap().floor() as u64);
    assert_eq!(item["revision"], rev);
    assert_eq!(first["items"][0]["kind"], "dir");
    assert_eq!(first["items"][0]["size"], 0);

    // Following nextAfter visits every entry exactly once, in byte order.
    let mut seen: Vec<String> = paths(&first).iter().map(|p| (*p).to_owned()).collect();
    let mut after = first["nextAfter"].as_str().unwrap().to_owned();
    loop {
        let page = snapshot(&server, &id, &format!("?limit=4&after={after}")).await;
        seen.extend(paths(&page).iter().map(|p| (*p).to_owned()));
        if page["truncated"] == false {
            assert!(page.get("nextAfter").is_none());
            break;
        }
        after = page["nextAfter"].as_str().unwrap().to_owned();
    }
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted);
    assert_eq!(seen.len(), 11);
    assert_eq!(seen.last().map(String::as_str), Some("zed.md"));

    let files = snapshot(&server, &id, "?includeDirs=false&limit=0").await;
    assert_eq!(files["total"], 7);
    // `limit=0` is not positive, so the default page size applies.
    assert_eq!(paths(&files).len(), 7);
}

#[tokio::test]
async fn total_counts_after_every_filter_before_the_limit() {
    let server = TestServer::start().await;
    for rel in ["cat/a.txt", "cat/b.txt", "cat/c/d.txt", "cat.txt", "cats/x"] {
        touch(&server, rel, "x");
    }
    let id = session(&server).await;
    let page = snapshot(&server, &id, "?prefix=cat").await;
    assert_eq!(
        paths(&page),
        ["cat", "cat/a.txt", "cat/b.txt", "cat/c", "cat/c/d.txt"]
    );
    assert_eq!(
        (page["total"].as_u64(), page["truncated"].as_bool()),
        (Some(5), Some(false))
    );
    assert_eq!(
        snapshot(&server, &id, "?prefix=cat&after=cat").await["total"],
        4
    );
    let tail = snapshot(
        &server,
        &id,
        "?prefix=workspace/cat&after=cat/b.txt&limit=1",
    )
    .await;
    assert_eq!(tail["total"], 2);
    assert_eq!(paths(&tail), ["cat/c"]);
    assert_eq!(tail["nextAfter"], "cat/c");
    let files = snapshot(&server, &id, "?prefix=cat&includeDirs=false").await;
    assert_eq!(files["total"], 3);
    let (status, body) = send(server.client(
        Method::GET,
        &format!("/files/sessions/{id}/catalog/snapshot?prefix=../x"),
    ))
    .await;
    assert_eq!(
        (status, body),
        (
            400,
            error_body("invalid_path", "Path traversal is not allowed")
        )
    );
}

#[tokio::test]
async fn an_after_past_everything_under_the_prefix_is_an_empty_page() {
    // Found by the schema-driven fuzz run: this answered 500 (a reversed index range).
    let server = TestServer::start().await;
    touch(&server, "cat/a.txt", "x");
    let id = session(&server).await;
    for query in [
        "?prefix=cat&after=d",
        "?prefix=cat&after=cat0",
        "?prefix=__main__&after=%C3%AE&limit=0&includeDirs=",
    ] {
        let page = snapshot(&server, &id, query).await;
        assert_eq!(page["total"], 0, "{query}: {page}");
        assert_eq!(page["items"], json!([]), "{query}");
        assert_eq!(page["truncated"], false, "{query}");
    }
}

/// Polls the events after `since` until `done` holds (bounded).
async fn wait_for_events(
    server: &TestServer,
    id: &str,
    since: u64,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let mut items = Vec::new();
    for _ in 0..200 {
        let (_, body) = send(server.client(
            Method::GET,
            &format!("/files/sessions/{id}/catalog/events?since={since}"),
        ))
        .await;
        items = body["items"].as_array().unwrap().clone();
        if done(&items) {
            return items;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("events never arrived: {items:?}");
}

#[tokio::test]
async fn external_changes_become_events_and_reach_the_next_snapshot() {
    let server = TestServer::start().await;
    touch(&server, "old.txt", "old");
    let id = session(&server).await;
    let (_, body) =
        send(server.client(Method::GET, &format!("/files/sessions/{id}/catalog/events"))).await;
    assert_eq!(body, json!({"items": [], "cursor": 0}));
    snapshot(&server, &id, "").await;

    // An editor or the agent writes and removes files behind the API's back.
    touch(&server, "docs/new.md", "fresh text");
    std::fs::remove_file(server.workspace_path().join("old.txt")).unwrap();
    let events = wait_for_events(&server, &id, 0, |items| {
        items
            .iter()
            .any(|e| e["path"] == "docs/new.md" && e["type"] == "write")
            && items
                .iter()
                .any(|e| e["path"] == "old.txt" && e["type"] == "delete")
    })
    .await;
    let write = events.iter().find(|e| e["path"] == "docs/new.md").unwrap();
    let metadata = std::fs::metadata(server.workspace_path().join("docs/new.md")).unwrap();
    let mtime = metadata
        .modified()
        .unwrap()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    assert_eq!(write["revision"], format!("{mtime}:10"));
    assert!(
        events
            .iter()
            .any(|e| e["path"] == "docs" && e["type"] == "mkdir")
    );

    let page = snapshot(&server, &id, "").await;
    assert_eq!(paths(&page), ["docs", "docs/new.md"]);
    assert_eq!(page["items"][1]["revision"], write["revision"]);
    assert_eq!(
        page["cursor"].as_u64(),
        events.last().unwrap()["seq"].as_u64()
    );

    // A rename seen by the watcher is reported as one `rename`.
    let cursor = page["cursor"].as_u64().unwrap();
    std::fs::rename(
        server.workspace_path().join("docs"),
        server.workspace_path().join("papers"),
    )
    .unwrap();
    let events = wait_for_events(&server, &id, cursor, |items| !items.is_empty()).await;
    let renamed = events
        .iter()
        .any(|e| e["type"] == "rename" && e["path"] == "docs" && e["toPath"] == "papers");
    // inotify names both ends of a rename; other backends may report delete + mkdir.
    let fallback = events
        .iter()
        .any(|e| e["path"] == "papers" && e["type"] == "mkdir");
    if cfg!(target_os = "linux") {
        assert!(renamed && events.len() == 1, "{events:?}");
    } else {
        assert!(renamed || fallback, "{events:?}");
    }
    let page = snapshot(&server, &id, "").await;
    assert_eq!(paths(&page), ["papers", "papers/new.md"]);
}

#[tokio::test]
async fn api_writes_are_reported_once_and_indexed_at_once() {
    let server = TestServer::start().await;
    let id = session(&server).await;
    snapshot(&server, &id, "").await;
    let (_, body) = send(
        server
            .client(Method::POST, &format!("/files/sessions/{id}/write-batch"))
            .json(&json!({"writes": [{"path": "a/b.txt", "contentBase64": "aGk="}]})),
    )
    .await;
    let revision = body["items"][0]["revision"].clone();
    let page = snapshot(&server, &id, "?includeDirs=false").await;
    assert_eq!(paths(&page), ["a/b.txt"]);
    assert_eq!(page["items"][0]["revision"], revision);
    // An external write after it is a barrier: once the watcher reported that one, it has
    // looked at the API write too, and must not have added a second event for it.
    touch(&server, "later.txt", "x");
    wait_for_events(&server, &id, 0, |items| {
        items.iter().any(|e| e["path"] == "later.txt")
    })
    .await;
    let (_, body) = send(server.client(
        Method::GET,
        &format!("/files/sessions/{id}/catalog/events?since=0"),
    ))
    .await;
    let writes: Vec<&Value> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["path"] == "a/b.txt")
        .collect();
    assert_eq!(writes.len(), 1, "{body}");
    // `since` that is missing, negative or not a number reads as 0.
    for since in ["-3", "abc", ""] {
        let route = format!("/files/sessions/{id}/catalog/events?since={since}");
        let (_, again) = send(server.client(Method::GET, &route)).await;
        assert_eq!(again["items"], body["items"]);
    }
}
