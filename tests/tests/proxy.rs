//! The OpenCode proxy (contract §9.1, D3, D10): scopes per method, permission replies kept
//! for owners, sessions and events through to a real OpenCode, header hygiene both ways,
//! streaming without buffering, cancellation, and the failure answers. Failures a real
//! engine cannot produce on demand use small mocks on loopback.

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use futures_util::StreamExt;
use openwork_server_core::CliOverrides;
use openwork_server_tests::opencode::OpenCode;
use openwork_server_tests::reqwest::{Method, StatusCode};
use openwork_server_tests::{Options, TestServer, error_body, json, send, send_full};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// One request as a mock upstream saw it.
#[derive(Clone, Debug)]
struct Seen {
    method: String,
    uri: String,
    headers: http::HeaderMap,
}

type Answer = Arc<dyn Fn() -> Response + Send + Sync>;

/// An axum upstream that records every request and answers with `answer`.
async fn recording_mock(answer: Answer) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    let app = axum::Router::new().fallback(move |request: Request| {
        let record = record.clone();
        let answer = answer.clone();
        async move {
            record.lock().unwrap().push(Seen {
                method: request.method().to_string(),
                uri: request.uri().to_string(),
                headers: request.headers().clone(),
            });
            answer()
        }
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

fn ok_answer() -> Answer {
    Arc::new(|| Response::new(Body::from("ok")))
}

/// A server whose OpenCode is at `base_url`.
async fn server_for(base_url: &str, extra: CliOverrides) -> TestServer {
    TestServer::start_with(Options {
        cli: CliOverrides {
            opencode_base_url: Some(base_url.to_owned()),
            ..extra
        },
        ..Options::default()
    })
    .await
}

#[tokio::test]
async fn sessions_scopes_and_permission_replies_against_a_real_engine() {
    let engine = OpenCode::start_with(&[
        ("OPENCODE_SERVER_USERNAME", "oc-user"),
        ("OPENCODE_SERVER_PASSWORD", "oc-pass"),
    ])
    .await;
    let server = server_for(
        &engine.base_url,
        CliOverrides {
            opencode_username: Some("oc-user".into()),
            opencode_password: Some("oc-pass".into()),
            cors_origins: Some(vec!["*".into()]),
            ..CliOverrides::default()
        },
    )
    .await;
    let http = reqwest_client();
    // The engine refuses requests without its Basic auth: every success below got it from us.
    let direct = http
        .get(format!("{}/session", engine.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(direct.status(), StatusCode::UNAUTHORIZED);

    let viewer = server.issue_token("viewer").await;
    let owner = server.issue_token("owner").await;
    let collaborator = server.client_token.clone();

    // Create and list sessions, unmounted and mounted.
    let (status, created) = send(
        server
            .client(Method::POST, "/opencode/session")
            .json(&json!({"title": "through the proxy"})),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    let session_id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["title"], "through the proxy");
    assert_eq!(
        created["directory"],
        server.workspace_path().to_string_lossy().as_ref(),
        "the proxy names the workspace directory"
    );
    let mounted = format!("/w/{}/opencode/session", server.workspace_id());
    for path in ["/opencode/session", mounted.as_str()] {
        let reply = send_full(server.with_bearer(Method::GET, path, &viewer)).await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.text);
        assert_eq!(reply.header("access-control-allow-origin"), Some("*"));
        let listed = reply.json();
        assert!(
            listed
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s["id"] == session_id.as_str()),
            "{path}: {listed}"
        );
    }

    // Scope matrix: who gets through for which method.
    let session_path = format!("/opencode/session/{session_id}");
    for method in [Method::GET, Method::POST, Method::DELETE, Method::PATCH] {
        let (status, body) = send(server.request(method.clone(), &session_path)).await;
        assert_eq!(status, 401, "{method} without a token: {body}");
        for (who, token) in [
            ("viewer", &viewer),
            ("collaborator", &collaborator),
            ("owner", &owner),
        ] {
            // A request the engine rejects for its body still proves it was forwarded;
            // DELETE targets an unknown session so the listed one survives.
            let path = if method == Method::DELETE {
                "/opencode/session/ses_missing".to_owned()
            } else {
                session_path.clone()
            };
            let (status, body) = send(
                server
                    .with_bearer(method.clone(), &path, token)
                    .json(&json!({"title": "renamed"})),
            )
            .await;
            if who == "viewer" && method != Method::GET {
                assert_eq!(status, 403, "{who} {method}");
                assert_eq!(body, error_body("forbidden", "Viewer tokens are read-only"));
            } else {
                assert!(
                    status != 401 && status != 403 && body.get("code") != Some(&json!("forbidden")),
                    "{who} {method} reached the engine: {status} {body}"
                );
            }
        }
    }

    // Every permission-reply path of OpenCode's API is for owners only.
    let ws = server.workspace_id();
    let reply_paths = [
        "/opencode/permission/per_x/reply".to_owned(),
        "/opencode/permission/per_x/reply/".to_owned(),
        "/opencode/permission/per_x/%72eply".to_owned(),
        format!("/opencode/session/{session_id}/permissions/per_x"),
        format!("/w/{ws}/opencode/permission/per_x/reply"),
        format!("/w/{ws}/opencode/session/{session_id}/permissions/per_x"),
    ];
    let answer = json!({"response": "once", "reply": "once"});
    for path in &reply_paths {
        let (status, body) = send(
            server
                .with_bearer(Method::POST, path, &collaborator)
                .json(&answer),
        )
        .await;
        assert_eq!(status, 403, "{path}");
        assert_eq!(
            body,
            error_body(
                "forbidden",
                "Only owner tokens can reply to permission requests"
            ),
            "{path}"
        );
        let (status, body) =
            send(server.with_bearer(Method::POST, path, &owner).json(&answer)).await;
        assert!(
            body.get("code") != Some(&json!("forbidden")) && status != 401,
            "owner reaches the engine on {path}: {status} {body}"
        );
    }

    // Deleting through the proxy, then the list no longer has it.
    let (status, _) = send(server.client(Method::DELETE, &session_path)).await;
    assert_eq!(status, 200);
    let (_, listed) = send(server.client(Method::GET, "/opencode/session")).await;
    assert!(
        !listed
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["id"] == session_id.as_str())
    );
    engine.stop().await;
}

fn reqwest_client() -> openwork_server_tests::reqwest::Client {
    openwork_server_tests::reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
}

/// Reads the stream until `needle` shows up (bounded), returning what was read.
async fn read_until<B: AsRef<[u8]>, E: std::fmt::Debug>(
    stream: &mut (impl futures_util::Stream<Item = Result<B, E>> + Unpin),
    seen: &mut String,
    needle: &str,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !seen.contains(needle) {
        let chunk = tokio::time::timeout_at(deadline, stream.next())
            .await
            .unwrap_or_else(|_| panic!("no {needle:?} in {seen:?}"))
            .expect("stream open")
            .expect("chunk");
        seen.push_str(&String::from_utf8_lossy(chunk.as_ref()));
    }
}

#[tokio::test]
async fn engine_events_stream_through_the_proxy_as_they_happen() {
    let engine = OpenCode::start().await;
    let server = server_for(&engine.base_url, CliOverrides::default()).await;
    let response = server
        .client(Method::GET, "/opencode/event")
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
    let mut events = response.bytes_stream();
    let mut seen = String::new();
    read_until(&mut events, &mut seen, "server.connected").await;

    // A session created while listening shows up on the open stream.
    let (status, created) = send(
        server
            .client(Method::POST, "/opencode/session")
            .json(&json!({"title": "live"})),
    )
    .await;
    assert_eq!(status, 200);
    let id = created["id"].as_str().unwrap().to_owned();
    read_until(&mut events, &mut seen, &id).await;
    assert!(seen.contains("session.created"), "{seen}");

    // The global stream, mounted form.
    let global = server
        .client(
            Method::GET,
            &format!("/w/{}/opencode/global/event", server.workspace_id()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(global.status(), 200);
    let mut global = global.bytes_stream();
    let mut seen = String::new();
    read_until(&mut global, &mut seen, "server.connected").await;
    assert!(seen.contains("\"payload\""), "{seen}");

    // Shutdown ends the open streams.
    drop(server);
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(Ok(_)) = events.next().await {}
    })
    .await;
    assert!(ended.is_ok(), "the event stream outlived the server");
    engine.stop().await;
}

#[tokio::test]
async fn the_upstream_sees_no_client_credentials_but_directory_and_basic_auth() {
    let (url, seen) = recording_mock(ok_answer()).await;
    // A path in the base URL is dropped (QUIRK kept); the query passes verbatim.
    let server = server_for(
        &format!("{url}/ignored"),
        CliOverrides {
            opencode_username: Some("u".into()),
            opencode_password: Some("p".into()),
            ..CliOverrides::default()
        },
    )
    .await;
    let reply = send_full(
        server
            .client(Method::POST, "/opencode/session/abc?x=%2F&y=1&y=2")
            .header("x-openwork-host-token", &server.host_token)
            .header("x-openwork-client-id", "client-7")
            .header("origin", "http://evil.example")
            .header("connection", "x-private-hop")
            .header("x-private-hop", "secret")
            .header("te", "trailers")
            .header("proxy-authorization", "Basic Zm9v")
            .header("x-custom", "kept")
            .body("payload"),
    )
    .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.text, "ok");
    for (path, upstream) in [
        ("/opencode", "/"),
        ("/opencode/", "/"),
        ("/opencode/global/health?q=1", "/global/health?q=1"),
    ] {
        assert_eq!(send(server.client(Method::GET, path)).await.0, 200);
        assert_eq!(seen.lock().unwrap().last().unwrap().uri, upstream);
    }
    let seen = seen.lock().unwrap()[0].clone();
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.uri, "/session/abc?x=%2F&y=1&y=2");
    let header = |name: &str| seen.headers.get(name).map(|v| v.to_str().unwrap());
    assert_eq!(header("authorization"), Some("Basic dTpw"));
    assert_eq!(
        header("x-opencode-directory"),
        Some(server.workspace_path().to_string_lossy().as_ref())
    );
    assert_eq!(header("x-custom"), Some("kept"));
    for dropped in [
        "x-openwork-host-token",
        "x-openwork-client-id",
        "origin",
        "x-private-hop",
        "te",
        "proxy-authorization",
    ] {
        assert_eq!(header(dropped), None, "{dropped} reached the upstream");
    }
    // The host header names the upstream, not us.
    assert_eq!(header("host"), Some(&url["http://".len()..]));
    assert!(
        !format!("{:?}", seen.headers).contains(&server.client_token),
        "the bearer reached the upstream"
    );
}

#[tokio::test]
async fn responses_pass_through_without_hop_by_hop_headers_or_decoding() {
    let gzip_bytes: &'static [u8] = &[0x1f, 0x8b, 0x08, 0x00, 0xde, 0xad, 0xbe, 0xef];
    let answer: Answer = Arc::new(move || {
        Response::builder()
            .status(418)
            .header("connection", "x-hop")
            .header("x-hop", "1")
            .header("keep-alive", "timeout=5")
            .header("proxy-authenticate", "Basic")
            .header("content-encoding", "gzip")
            .header("x-upstream", "yes")
            .body(Body::from(gzip_bytes))
            .unwrap()
    });
    let (url, _) = recording_mock(answer).await;
    let server = server_for(&url, CliOverrides::default()).await;
    let response = server
        .client(Method::GET, "/opencode/anything")
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status().as_u16(),
        418,
        "upstream errors pass unchanged"
    );
    let headers = response.headers().clone();
    assert_eq!(headers["x-upstream"], "yes");
    assert_eq!(headers["content-encoding"], "gzip");
    for hop in ["x-hop", "keep-alive", "proxy-authenticate"] {
        assert!(!headers.contains_key(hop), "{hop} reached the client");
    }
    assert_eq!(response.bytes().await.unwrap().as_ref(), gzip_bytes);
}

#[tokio::test]
async fn a_large_body_streams_to_the_upstream_while_the_client_is_still_sending() {
    const TOTAL: usize = 10 * 1024 * 1024;
    const CHUNK: usize = 256 * 1024;
    let (received_tx, mut received_rx) = tokio::sync::watch::channel(0usize);
    let received_tx = Arc::new(received_tx);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = axum::Router::new().fallback(move |request: Request| {
        let received = received_tx.clone();
        async move {
            let mut body = request.into_body().into_data_stream();
            let mut count = 0usize;
            while let Some(Ok(chunk)) = body.next().await {
                count += chunk.len();
                received.send_replace(count);
            }
            Response::new(Body::from(count.to_string()))
        }
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    let server = server_for(&url, CliOverrides::default()).await;

    let (chunks_tx, chunks_rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(1);
    let body = openwork_server_tests::reqwest::Body::wrap_stream(tokio_stream_from(chunks_rx));
    let request = server.client(Method::POST, "/opencode/upload").body(body);
    let pending = tokio::spawn(async move { send_full(request).await });
    // Half the body goes out; the upstream must see it before the rest is even produced.
    for _ in 0..(TOTAL / CHUNK / 2) {
        chunks_tx.send(Ok(vec![7u8; CHUNK])).await.unwrap();
    }
    tokio::time::timeout(
        Duration::from_secs(20),
        received_rx.wait_for(|&n| n >= TOTAL / 4),
    )
    .await
    .expect("the upstream got the first half while the client was still sending")
    .unwrap();
    for _ in 0..(TOTAL / CHUNK / 2) {
        chunks_tx.send(Ok(vec![7u8; CHUNK])).await.unwrap();
    }
    drop(chunks_tx);
    let reply = pending.await.unwrap();
    assert_eq!(reply.status, 200);
    assert_eq!(reply.text, TOTAL.to_string());
}

/// An mpsc receiver as a stream.
fn tokio_stream_from<T: Send + 'static>(
    rx: tokio::sync::mpsc::Receiver<T>,
) -> impl futures_util::Stream<Item = T> + Send + 'static {
    futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    })
}

#[tokio::test]
async fn a_client_that_goes_away_closes_the_upstream_request() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (closed_tx, closed_rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut buffer = vec![0u8; 4096];
        let _ = socket.read(&mut buffer).await.unwrap();
        socket
            .write_all(
                b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n6\r\nhello\n\r\n",
            )
            .await
            .unwrap();
        // The stream never ends by itself; only the proxy closing the connection ends it.
        let outcome = tokio::time::timeout(Duration::from_secs(10), socket.read(&mut buffer)).await;
        let _ = closed_tx.send(matches!(outcome, Ok(Ok(0)) | Ok(Err(_))));
    });
    let server = server_for(&url, CliOverrides::default()).await;
    let response = server
        .client(Method::GET, "/opencode/event")
        .send()
        .await
        .unwrap();
    let mut stream = response.bytes_stream();
    let first = stream.next().await.unwrap().unwrap();
    assert_eq!(first.as_ref(), b"hello\n");
    drop(stream);
    assert!(
        closed_rx.await.unwrap(),
        "the upstream connection stayed open after the client left"
    );
}

#[tokio::test]
async fn a_dead_upstream_is_a_502_and_a_missing_one_a_400() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let base_url = format!("http://127.0.0.1:{port}");
    let server = server_for(&base_url, CliOverrides::default()).await;
    let (status, body) = send(server.client(Method::GET, "/opencode/global/health?x=1")).await;
    assert_eq!(status, 502);
    assert_eq!(body["code"], "opencode_unreachable");
    assert_eq!(body["message"], "OpenCode is not reachable");
    assert_eq!(body["details"]["baseUrl"], base_url.as_str());
    assert_eq!(
        body["details"]["targetUrl"],
        format!("{base_url}/global/health?x=1")
    );

    let unconfigured = TestServer::start().await;
    let (status, body) = send(unconfigured.client(Method::GET, "/opencode/session")).await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        error_body(
            "opencode_unconfigured",
            "OpenCode base URL is missing for this workspace"
        )
    );
    // Auth and workspace checks come first.
    assert_eq!(
        send(unconfigured.request(Method::GET, "/opencode/session"))
            .await
            .0,
        401
    );
    let (status, body) =
        send(unconfigured.client(Method::GET, "/w/ws_nope/opencode/session")).await;
    assert_eq!(status, 404);
    assert_eq!(body["code"], "workspace_not_found");
}

#[tokio::test]
async fn a_client_chosen_directory_must_lie_inside_an_authorized_root() {
    let (url, seen) = recording_mock(ok_answer()).await;
    let server = server_for(&url, CliOverrides::default()).await;
    let root = server.workspace_path().to_path_buf();
    let outside = tempfile::tempdir().unwrap();
    std::fs::create_dir(root.join("sub")).unwrap();
    std::os::unix::fs::symlink(outside.path(), root.join("escape")).unwrap();

    let inside = root.join("sub").to_string_lossy().into_owned();
    let not_yet = root.join("sub/new").to_string_lossy().into_owned();
    for allowed in [inside.as_str(), not_yet.as_str()] {
        let (status, _) = send(
            server
                .client(Method::GET, "/opencode/session")
                .header("x-opencode-directory", allowed),
        )
        .await;
        assert_eq!(status, 200, "{allowed}");
        let last = seen.lock().unwrap().last().unwrap().clone();
        assert_eq!(last.headers["x-opencode-directory"], allowed);
    }
    let count = seen.lock().unwrap().len();
    let escape = root.join("escape").to_string_lossy().into_owned();
    let dotdot = format!("{}/../..", root.display());
    for refused in [
        "/etc",
        outside.path().to_str().unwrap(),
        escape.as_str(),
        &format!("{escape}/deeper"),
        dotdot.as_str(),
        "relative/dir",
    ] {
        let (status, body) = send(
            server
                .client(Method::GET, "/opencode/session")
                .header("x-opencode-directory", refused),
        )
        .await;
        assert_eq!(status, 403, "{refused}");
        assert_eq!(
            body,
            error_body("forbidden", "Directory is not authorized"),
            "{refused}"
        );
    }
    // The `directory` query parameter retargets OpenCode too and is held to the same rule.
    let (status, _) = send(server.client(Method::GET, "/opencode/session?directory=%2Fetc")).await;
    assert_eq!(status, 403);
    assert_eq!(
        seen.lock().unwrap().len(),
        count,
        "refused requests were forwarded"
    );
    let query = format!("/opencode/session?directory={inside}");
    assert_eq!(send(server.client(Method::GET, &query)).await.0, 200);
}

#[tokio::test]
async fn without_workspaces_the_server_level_opencode_is_used() {
    let (url, seen) = recording_mock(ok_answer()).await;
    let server = TestServer::start_with(Options {
        cli: CliOverrides {
            opencode_base_url: Some(url),
            ..CliOverrides::default()
        },
        no_workspace: true,
        ..Options::default()
    })
    .await;
    let reply = send_full(server.client(Method::HEAD, "/opencode/global/health")).await;
    assert_eq!(reply.status, 200);
    let seen = seen.lock().unwrap()[0].clone();
    assert_eq!(
        (seen.method.as_str(), seen.uri.as_str()),
        ("HEAD", "/global/health")
    );
    assert!(!seen.headers.contains_key("x-opencode-directory"));
}
