//! The OpenCode router proxy (contract §9.2): the per-path auth policy, the target built
//! from `OPENCODE_ROUTER_HEALTH_PORT`, header hygiene, and the 404/503 answers. The router
//! is a small recording mock on loopback.

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use futures_util::StreamExt;
use openwork_server_tests::reqwest::Method;
use openwork_server_tests::{Options, TestServer, error_body, json, send, send_full};
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;

/// One request as the mock router saw it.
#[derive(Clone, Debug)]
struct Seen {
    method: String,
    uri: String,
    headers: http::HeaderMap,
    body_len: usize,
}

/// A mock router that records every request and answers `router:<path>`.
async fn mock_router() -> (u16, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    let app = axum::Router::new().fallback(move |request: Request| {
        let record = record.clone();
        async move {
            let (parts, body) = request.into_parts();
            let mut body = body.into_data_stream();
            let mut body_len = 0;
            while let Some(Ok(chunk)) = body.next().await {
                body_len += chunk.len();
            }
            record.lock().unwrap().push(Seen {
                method: parts.method.to_string(),
                uri: parts.uri.to_string(),
                headers: parts.headers.clone(),
                body_len,
            });
            Response::new(Body::from(format!("router:{}", parts.uri.path())))
        }
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    (port, seen)
}

async fn server_with_port(port: Option<&str>) -> TestServer {
    TestServer::start_with(Options {
        env: port
            .map(|p| ("OPENCODE_ROUTER_HEALTH_PORT".to_owned(), p.to_owned()))
            .into_iter()
            .collect(),
        ..Options::default()
    })
    .await
}

#[tokio::test]
async fn each_path_needs_the_scope_its_policy_names() {
    let (port, seen) = mock_router().await;
    let server = server_with_port(Some(&port.to_string())).await;
    let viewer = server.issue_token("viewer").await;
    let owner = server.issue_token("owner").await;
    let collaborator = server.client_token.clone();
    let host = server.host_token.clone();
    let forwarded = || seen.lock().unwrap().len();

    // Health and the bare path: any bearer, none is a 401.
    for (path, upstream) in [
        ("/opencode-router", "/"),
        ("/opencode-router/", "/"),
        ("/opencode-router/health", "/health"),
        ("/opencode-router/health/", "/health/"),
        ("/opencode-router/health?q=1", "/health?q=1"),
        ("/w/any-id/opencode-router/", "/"),
        ("/w/any-id/opencode-router/health", "/health"),
    ] {
        let before = forwarded();
        let (status, _) = send(server.request(Method::GET, path)).await;
        assert_eq!(status, 401, "{path} without a token");
        assert_eq!(forwarded(), before, "{path} was forwarded without auth");
        let reply = send_full(server.with_bearer(Method::GET, path, &viewer)).await;
        assert_eq!(reply.status, 200, "{path}");
        assert_eq!(seen.lock().unwrap().last().unwrap().uri, upstream, "{path}");
    }

    // Bindings and identities: collaborator or owner.
    for path in [
        "/opencode-router/bindings",
        "/opencode-router/identities/telegram",
        "/opencode-router/identities/slack",
        "/w/x/opencode-router/bindings/",
    ] {
        let (status, body) = send(server.with_bearer(Method::GET, path, &viewer)).await;
        assert_eq!(status, 403, "{path}");
        assert_eq!(
            body,
            json!({"code": "forbidden", "message": "Insufficient token scope",
                   "details": {"required": "collaborator", "scope": "viewer"}})
        );
        for token in [&collaborator, &owner] {
            let reply = send_full(server.with_bearer(Method::GET, path, token)).await;
            assert_eq!(reply.status, 200, "{path}");
        }
    }

    // Everything else, and every non-GET: the host token or an owner bearer.
    for (method, path) in [
        (Method::GET, "/opencode-router/config"),
        (Method::GET, "/opencode-router/identities"),
        (Method::HEAD, "/opencode-router/health"),
        (Method::POST, "/opencode-router/health"),
        (Method::DELETE, "/w/x/opencode-router/bindings"),
        (Method::PATCH, "/opencode-router"),
    ] {
        let before = forwarded();
        for token in [&viewer, &collaborator] {
            let reply = send_full(server.with_bearer(method.clone(), path, token)).await;
            assert_eq!(reply.status, 401, "{method} {path}");
        }
        assert_eq!(forwarded(), before, "{method} {path} was forwarded");
        let reply = send_full(
            server
                .with_bearer(method.clone(), path, &owner)
                .body("0123456789"),
        )
        .await;
        assert_eq!(reply.status, 200, "{method} {path} as owner");
        let reply = send_full(
            server
                .request(method.clone(), path)
                .header("x-openwork-host-token", &host)
                .body("0123456789"),
        )
        .await;
        assert_eq!(reply.status, 200, "{method} {path} with the host token");
        let last = seen.lock().unwrap().last().unwrap().clone();
        assert_eq!(last.method, method.as_str());
        if method == Method::POST || method == Method::PATCH || method == Method::DELETE {
            assert_eq!(last.body_len, 10, "the body is forwarded");
        }
    }

    // No credential of ours, and no OpenCode directory, ever reaches the router.
    for request in seen.lock().unwrap().iter() {
        for name in [
            "authorization",
            "x-openwork-host-token",
            "x-opencode-directory",
        ] {
            assert!(!request.headers.contains_key(name), "{name} forwarded");
        }
    }
}

#[tokio::test]
async fn a_missing_port_is_a_404_after_auth_and_a_dead_one_a_503() {
    for port in [None, Some("not-a-port")] {
        let server = server_with_port(port).await;
        let (status, _) = send(server.request(Method::GET, "/opencode-router/health")).await;
        assert_eq!(status, 401);
        let (status, body) = send(server.client(Method::GET, "/opencode-router/health")).await;
        assert_eq!(status, 404, "{port:?}");
        assert_eq!(
            body,
            error_body(
                "opencodeRouter_unconfigured",
                "OpenCodeRouter is not configured on this host"
            )
        );
    }

    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let server = server_with_port(Some(&dead.to_string())).await;
    let (status, body) = send(server.client(Method::GET, "/opencode-router/health?x=1")).await;
    assert_eq!(status, 503);
    assert_eq!(body["code"], "opencodeRouter_unreachable");
    assert_eq!(
        body["message"],
        "OpenCodeRouter is not reachable on this host"
    );
    let details = &body["details"];
    assert_eq!(details["baseUrl"], format!("http://127.0.0.1:{dead}"));
    assert_eq!(details["port"], dead);
    assert_eq!(
        details["targetUrl"],
        format!("http://127.0.0.1:{dead}/health?x=1")
    );
    assert!(details["error"].as_str().is_some_and(|e| !e.is_empty()));
}
