//! Server lifecycle through the library API: binding port 0, two servers in one process,
//! graceful and bounded shutdown, the router driven without a socket.

use openwork_server_core::{CliOverrides, EnvSource, Server};
use openwork_server_tests::{Options, TestServer, json, send};
use reqwest::Method;
use std::time::{Duration, Instant};

#[tokio::test]
async fn two_servers_in_one_process_share_nothing() {
    let a = TestServer::start().await;
    let b = TestServer::start_with(Options {
        cli: CliOverrides {
            token: Some("other-client".into()),
            host_token: Some("other-host".into()),
            ..CliOverrides::default()
        },
        ..Options::default()
    })
    .await;
    assert_ne!(a.addr, b.addr);

    // A token issued by one server is unknown to the other.
    let owner = a.issue_token("owner").await;
    let (status, _) = send(a.with_bearer(Method::GET, "/tokens", &owner)).await;
    assert_eq!(status, 200);
    let (status, body) = send(b.with_bearer(Method::GET, "/tokens", &owner)).await;
    assert_eq!(status, 401, "{body}");

    // Each has its own client token and workspace.
    let (status, _) = send(b.with_bearer(Method::GET, "/status", "client-tok")).await;
    assert_eq!(status, 401);
    let (_, wa) = send(a.client(Method::GET, "/workspaces")).await;
    let (_, wb) = send(b.client(Method::GET, "/workspaces")).await;
    assert_ne!(wa["activeId"], wb["activeId"]);

    // Stopping one leaves the other serving.
    a.stop().await;
    let (status, _) = send(b.request(Method::GET, "/health")).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn shutdown_lets_an_in_flight_request_finish_and_frees_the_port() {
    let server = TestServer::start().await;
    let addr = server.addr;
    // A request whose body is still arriving when shutdown starts.
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(1);
    let body = reqwest::Body::wrap_stream(tokio_stream_from(rx));
    let request = server
        .host(Method::POST, "/tokens")
        .header("content-type", "application/json")
        .body(body)
        .send();
    let in_flight = tokio::spawn(request);
    tx.send(Ok(br#"{"scope":"#.to_vec())).await.unwrap();
    // Let the request reach the handler before shutdown starts.
    tokio::time::sleep(Duration::from_millis(100)).await;

    let started = Instant::now();
    let stopping = tokio::spawn(server.stop());
    tokio::time::sleep(Duration::from_millis(50)).await;
    tx.send(Ok(br#""viewer"}"#.to_vec())).await.unwrap();
    drop(tx);
    let response = in_flight
        .await
        .unwrap()
        .expect("in-flight request answered");
    assert_eq!(response.status(), 201);
    stopping.await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(2));

    // The port is free again at once: a new server binds the same address.
    let home = tempfile::tempdir().unwrap();
    let again = Server::builder()
        .env(EnvSource::fixed([("HOME", home.path().to_str().unwrap())]))
        .cli(CliOverrides {
            host: Some(addr.ip().to_string()),
            port: Some(addr.port()),
            ..CliOverrides::default()
        })
        .build()
        .unwrap()
        .bind()
        .await
        .expect("same port binds again");
    assert_eq!(again.local_addr(), addr);
}

#[tokio::test]
async fn shutdown_is_bounded_even_when_a_client_never_finishes() {
    let home = tempfile::tempdir().unwrap();
    let server = Server::builder()
        .env(EnvSource::fixed([("HOME", home.path().to_str().unwrap())]))
        .cli(CliOverrides {
            port: Some(0),
            host_token: Some("host-tok".into()),
            ..CliOverrides::default()
        })
        .shutdown_grace(Duration::from_millis(300))
        .build()
        .unwrap();
    let shutdown = server.shutdown_token();
    let bound = server.bind().await.unwrap();
    let url = format!("http://{}/tokens", bound.local_addr());
    let serving = tokio::spawn(bound.serve());

    // A body that never completes keeps the request in flight for ever.
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(1);
    tx.send(Ok(b"{".to_vec())).await.unwrap();
    let stalled = tokio::spawn(
        reqwest::Client::new()
            .post(url)
            .header("X-OpenWork-Host-Token", "host-tok")
            .body(reqwest::Body::wrap_stream(tokio_stream_from(rx)))
            .send(),
    );
    tokio::time::sleep(Duration::from_millis(100)).await;

    let started = Instant::now();
    shutdown.cancel();
    serving.await.unwrap().unwrap();
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(300), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
    drop(tx);
    stalled.abort();
}

#[tokio::test]
async fn the_router_answers_without_a_socket() {
    use tower::ServiceExt;

    let home = tempfile::tempdir().unwrap();
    let server = Server::builder()
        .env(EnvSource::fixed([("HOME", home.path().to_str().unwrap())]))
        .cli(CliOverrides {
            token: Some("client-tok".into()),
            ..CliOverrides::default()
        })
        .build()
        .unwrap();
    let request = http::Request::get("/whoami")
        .header("authorization", "Bearer client-tok")
        .body(axum::body::Body::empty())
        .unwrap();
    let response = server.router().oneshot(request).await.unwrap();
    assert_eq!(response.status(), 200);
    let bytes = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(body["actor"]["scope"], "collaborator");
    assert_eq!(body, json!({"ok": true, "actor": body["actor"].clone()}));
}

/// A stream of body chunks fed from a channel.
fn tokio_stream_from(
    mut rx: tokio::sync::mpsc::Receiver<Result<Vec<u8>, std::io::Error>>,
) -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}
