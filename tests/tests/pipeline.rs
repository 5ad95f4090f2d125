//! The request pipeline (contract §4.0, §10.1, D9, D13): `OPTIONS` preflight, JSON 404s
//! before auth, exact path matching, the `/w/:id/` mount, malformed percent-encoding,
//! `HEAD`, CORS headers on every answer, strict JSON bodies, and body-less requests that
//! carry `Content-Type: application/json`.

use openwork_server_core::CliOverrides;
use openwork_server_tests::reqwest::{Method, RequestBuilder};
use openwork_server_tests::{Options, Reply, TestServer, json, send, send_full};

const ALLOW_HEADERS: &str = "Authorization, Content-Type, X-OpenWork-Host-Token, X-OpenWork-Client-Id, X-OpenCode-Directory, X-Opencode-Directory, x-opencode-directory";
const ALLOW_METHODS: &str = "GET,POST,PATCH,DELETE,OPTIONS";

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

fn assert_not_found(reply: &Reply, what: &str) {
    assert_eq!(reply.status, 404, "{what}: {}", reply.text);
    assert_eq!(
        reply.json(),
        json!({ "code": "not_found", "message": "Not found" }),
        "{what}"
    );
    assert_json_type(reply, what);
}

fn assert_json_type(reply: &Reply, what: &str) {
    let content_type = reply.header("content-type").unwrap_or_default();
    assert!(
        content_type.starts_with("application/json"),
        "{what}: Content-Type {content_type:?}"
    );
}

/// Asserts the CORS headers of an allowed request, with `origin` as the allowed origin.
fn assert_cors(reply: &Reply, origin: &str, what: &str) {
    assert_eq!(
        reply.header("access-control-allow-origin"),
        Some(origin),
        "{what}"
    );
    assert_eq!(
        reply.header("access-control-allow-headers"),
        Some(ALLOW_HEADERS),
        "{what}"
    );
    assert_eq!(
        reply.header("access-control-allow-methods"),
        Some(ALLOW_METHODS),
        "{what}"
    );
    assert_eq!(reply.header("vary"), Some("Origin"), "{what}");
    for absent in [
        "access-control-allow-credentials",
        "access-control-max-age",
        "access-control-expose-headers",
    ] {
        assert!(reply.header(absent).is_none(), "{what}: {absent}");
    }
}

fn assert_no_cors(reply: &Reply, what: &str) {
    for name in [
        "access-control-allow-origin",
        "access-control-allow-headers",
        "access-control-allow-methods",
        "vary",
    ] {
        assert!(
            reply.header(name).is_none(),
            "{what}: unexpected {name}: {:?}",
            reply.header(name)
        );
    }
}

async fn start_with_origins(origins: &[&str]) -> TestServer {
    TestServer::start_with(Options {
        cli: CliOverrides {
            cors_origins: Some(origins.iter().map(|o| (*o).to_owned()).collect()),
            ..CliOverrides::default()
        },
        ..Options::default()
    })
    .await
}

fn assert_invalid_json(reply: &Reply, what: &str) {
    assert_eq!(reply.status, 400, "{what}: {}", reply.text);
    assert_eq!(
        reply.json(),
        json!({ "code": "invalid_json", "message": "Invalid JSON body" }),
        "{what}"
    );
}

/// Bodies that are not a JSON object (or not JSON at all).
const NON_OBJECT_BODIES: [&str; 9] = [
    "null", "[]", "[{}]", "\"x\"", "42", "true", "", "{bad", "{} x",
];

// ---------------------------------------------------------------------------------------
// OPTIONS
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn options_on_any_path_is_204_without_auth() {
    let server = TestServer::start().await;
    for path in [
        "/health",
        "/status",
        "/tokens",
        "/tokens/some-id",
        "/approvals/some-id",
        "/does/not/exist",
        "/w/a/workspace/b/config",
        "/health/",
    ] {
        let reply = send_full(
            server
                .request(Method::OPTIONS, path)
                .header("Origin", "https://app.example")
                .header("Access-Control-Request-Method", "POST"),
        )
        .await;
        assert_eq!(reply.status, 204, "OPTIONS {path}: {}", reply.text);
        assert_eq!(reply.text, "", "OPTIONS {path}");
        assert_cors(&reply, "*", &format!("OPTIONS {path}"));
    }
}

#[tokio::test]
async fn options_from_an_unlisted_origin_has_no_cors_headers() {
    let server = start_with_origins(&["https://app.example"]).await;
    let reply = send_full(
        server
            .request(Method::OPTIONS, "/status")
            .header("Origin", "https://evil.example"),
    )
    .await;
    assert_eq!(reply.status, 204);
    assert_no_cors(&reply, "OPTIONS from unlisted origin");

    let reply = send_full(
        server
            .request(Method::OPTIONS, "/status")
            .header("Origin", "https://app.example"),
    )
    .await;
    assert_eq!(reply.status, 204);
    assert_cors(&reply, "https://app.example", "OPTIONS from listed origin");
}

// ---------------------------------------------------------------------------------------
// Routing
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn unknown_paths_are_json_404_before_auth() {
    let server = TestServer::start().await;
    for path in [
        "/",
        "/nope",
        "/api/status",
        "/status/extra",
        "/tokens/a/b",
        "/approvals/a/b",
        "/workspace",
        "/WHOAMI",
        "/st%61tus",
        "//health",
    ] {
        let reply = send_full(server.request(Method::GET, path)).await;
        assert_not_found(&reply, &format!("GET {path} without auth"));
        let reply = send_full(server.with_bearer(Method::GET, path, "wrong")).await;
        assert_not_found(&reply, &format!("GET {path} with a wrong token"));
    }
}

#[tokio::test]
async fn trailing_slashes_are_not_tolerated() {
    let server = TestServer::start().await;
    for path in [
        "/health/",
        "/status/",
        "/whoami/",
        "/workspaces/",
        "/approvals/",
    ] {
        let reply = send_full(server.client(Method::GET, path)).await;
        assert_not_found(&reply, &format!("GET {path}"));
    }
    let reply = send_full(server.host(Method::GET, "/tokens/")).await;
    assert_not_found(&reply, "GET /tokens/");
}

#[tokio::test]
async fn a_wrong_method_is_404() {
    let server = TestServer::start().await;
    for (method, path) in [
        (Method::POST, "/health"),
        (Method::DELETE, "/status"),
        (Method::PUT, "/tokens"),
        (Method::PATCH, "/approvals"),
        (Method::GET, "/tokens/some-id"),
        (Method::GET, "/approvals/some-id"),
        (Method::POST, "/whoami"),
        (Method::POST, "/w/x/health"),
    ] {
        let reply = send_full(
            server
                .client(method.clone(), path)
                .header("X-OpenWork-Host-Token", "host-tok"),
        )
        .await;
        assert_not_found(&reply, &format!("{method} {path}"));
    }
}

#[tokio::test]
async fn query_strings_do_not_change_the_route() {
    let server = TestServer::start().await;
    let (status, _) = send(server.request(Method::GET, "/health?probe=1")).await;
    assert_eq!(status, 200);
    let (status, _) = send(server.client(Method::GET, "/status?x=y&z")).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn head_answers_like_get_without_a_body() {
    let server = TestServer::start().await;
    for (request, get, what) in [
        (
            server.request(Method::HEAD, "/health"),
            server.request(Method::GET, "/health"),
            "HEAD /health",
        ),
        (
            server.client(Method::HEAD, "/status"),
            server.client(Method::GET, "/status"),
            "HEAD /status",
        ),
        (
            server.request(Method::HEAD, "/status"),
            server.request(Method::GET, "/status"),
            "HEAD /status without auth",
        ),
        (
            server.request(Method::HEAD, "/w/x/health"),
            server.request(Method::GET, "/w/x/health"),
            "HEAD /w/x/health",
        ),
        (
            server.host(Method::HEAD, "/tokens"),
            server.host(Method::GET, "/tokens"),
            "HEAD /tokens",
        ),
        (
            server.request(Method::HEAD, "/nope"),
            server.request(Method::GET, "/nope"),
            "HEAD /nope",
        ),
    ] {
        let head = send_full(request).await;
        let get = send_full(get).await;
        assert_eq!(head.status, get.status, "{what}");
        assert_eq!(head.text, "", "{what}");
        assert_eq!(
            head.header("content-type"),
            get.header("content-type"),
            "{what}"
        );
        assert_cors(&head, "*", what);
    }
}

// ---------------------------------------------------------------------------------------
// The /w/:id/ mount
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn a_nested_workspace_id_that_differs_from_the_mount_is_404_without_auth() {
    let server = TestServer::start().await;
    let id = server.workspace_id();
    for path in [
        "/w/a/workspace/b/config".to_owned(),
        "/w/a/workspace/b".to_owned(),
        format!("/w/{id}/workspace/other/config"),
        format!("/w/other/workspace/{id}/config"),
    ] {
        let reply = send_full(server.request(Method::GET, &path)).await;
        assert_not_found(&reply, &format!("GET {path}"));
        let reply = send_full(server.request(Method::POST, &path).body("{}")).await;
        assert_not_found(&reply, &format!("POST {path}"));
    }
}

#[tokio::test]
async fn mounted_ids_are_percent_decoded() {
    let server = TestServer::start().await;
    let id = server.workspace_id();
    let encoded = id.replace('_', "%5F");
    assert_ne!(encoded, id);
    let (status, body) = send(server.client(Method::GET, &format!("/w/{encoded}/status"))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["activeWorkspaceId"], id.as_str());
}

// ---------------------------------------------------------------------------------------
// D9: malformed percent-encoding
// ---------------------------------------------------------------------------------------

fn assert_invalid_path(reply: &Reply, what: &str) {
    assert_eq!(reply.status, 400, "{what}: {}", reply.text);
    let body = reply.json();
    assert_eq!(body["code"], "invalid_path", "{what}: {body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{what}"
    );
    assert_json_type(reply, what);
    assert_cors(reply, "*", what);
}

#[tokio::test]
async fn malformed_percent_encoding_is_a_json_400() {
    let server = TestServer::start().await;
    let cases: Vec<(&str, RequestBuilder)> = vec![
        (
            "GET /w/%E0%A4%A/status",
            server.client(Method::GET, "/w/%E0%A4%A/status"),
        ),
        (
            "GET /w/%FF/workspaces",
            server.client(Method::GET, "/w/%FF/workspaces"),
        ),
        (
            "DELETE /tokens/%E0%A4%A",
            server.host(Method::DELETE, "/tokens/%E0%A4%A"),
        ),
        (
            "POST /approvals/%E0%A4%A",
            server
                .host(Method::POST, "/approvals/%E0%A4%A")
                .json(&json!({ "reply": "allow" })),
        ),
    ];
    for (what, request) in cases {
        let reply = send_full(request).await;
        assert_invalid_path(&reply, what);
    }
}

#[tokio::test]
async fn malformed_percent_encoding_in_a_mount_rewrite_is_a_json_400() {
    let server = TestServer::start().await;
    let reply = send_full(server.client(Method::GET, "/w/%E0%A4%A/workspace/x/config")).await;
    assert_invalid_path(&reply, "GET /w/%E0%A4%A/workspace/x/config");
}

// ---------------------------------------------------------------------------------------
// §10.1 CORS
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn wildcard_cors_applies_even_without_an_origin() {
    let server = TestServer::start().await;
    let reply = send_full(server.request(Method::GET, "/health")).await;
    assert_eq!(reply.status, 200);
    assert_cors(&reply, "*", "GET /health without Origin");

    let reply = send_full(
        server
            .request(Method::GET, "/health")
            .header("Origin", "https://anything.example"),
    )
    .await;
    assert_cors(&reply, "*", "GET /health with Origin");
}

#[tokio::test]
async fn cors_headers_are_on_errors_too() {
    let server = TestServer::start().await;
    let reply = send_full(server.request(Method::GET, "/status")).await;
    assert_eq!(reply.status, 401);
    assert_cors(&reply, "*", "401");
    let reply = send_full(server.request(Method::GET, "/nope")).await;
    assert_eq!(reply.status, 404);
    assert_cors(&reply, "*", "404");
    let reply = send_full(server.host(Method::POST, "/tokens").body("null")).await;
    assert_eq!(reply.status, 400);
    assert_cors(&reply, "*", "400");
}

#[tokio::test]
async fn a_configured_list_echoes_the_exact_origin() {
    let server = start_with_origins(&["https://a.example", "https://b.example"]).await;
    for origin in ["https://a.example", "https://b.example"] {
        let reply = send_full(
            server
                .client(Method::GET, "/status")
                .header("Origin", origin),
        )
        .await;
        assert_eq!(reply.status, 200);
        assert_cors(&reply, origin, origin);
    }
    // Errors from a listed origin carry the headers as well.
    let reply = send_full(
        server
            .request(Method::GET, "/status")
            .header("Origin", "https://a.example"),
    )
    .await;
    assert_eq!(reply.status, 401);
    assert_cors(&reply, "https://a.example", "401 from listed origin");
}

#[tokio::test]
async fn a_wildcard_anywhere_in_the_list_allows_every_origin() {
    let server = start_with_origins(&["https://a.example", "*"]).await;
    let reply = send_full(
        server
            .client(Method::GET, "/status")
            .header("Origin", "https://c.example"),
    )
    .await;
    assert_eq!(reply.status, 200);
    assert_cors(&reply, "*", "wildcard in list");
}

#[tokio::test]
async fn an_unlisted_origin_gets_no_cors_headers() {
    let server = start_with_origins(&["https://a.example"]).await;
    for (origin, what) in [
        (Some("https://c.example"), "other origin"),
        (Some("https://A.example"), "different case"),
        (Some("https://a.example/"), "trailing slash"),
        (None, "no Origin"),
    ] {
        let mut request = server.client(Method::GET, "/status");
        if let Some(origin) = origin {
            request = request.header("Origin", origin);
        }
        let reply = send_full(request).await;
        assert_eq!(reply.status, 200, "{what}");
        assert_no_cors(&reply, what);
    }
    let reply = send_full(
        server
            .request(Method::GET, "/nope")
            .header("Origin", "https://c.example"),
    )
    .await;
    assert_eq!(reply.status, 404);
    assert_no_cors(&reply, "404 from other origin");
}

#[tokio::test]
async fn rate_limited_answers_carry_cors_headers() {
    let server = TestServer::start().await;
    for _ in 0..20 {
        let (status, _) = send(server.with_bearer(Method::GET, "/status", "guess")).await;
        assert_eq!(status, 401);
    }
    let reply = send_full(server.client(Method::GET, "/status")).await;
    assert_eq!(reply.status, 429, "{}", reply.text);
    assert_cors(&reply, "*", "429");
    assert_json_type(&reply, "429");
}

// ---------------------------------------------------------------------------------------
// JSON bodies
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn post_tokens_needs_a_json_object() {
    let server = TestServer::start().await;
    for body in NON_OBJECT_BODIES {
        for content_type in [Some("application/json"), None] {
            let mut request = server.host(Method::POST, "/tokens").body(body);
            if let Some(content_type) = content_type {
                request = request.header("Content-Type", content_type);
            }
            let reply = send_full(request).await;
            assert_invalid_json(&reply, &format!("POST /tokens {body:?} ({content_type:?})"));
        }
    }
    let (status, body) = send(server.host(Method::GET, "/tokens")).await;
    assert_eq!((status, body), (200, json!({ "items": [] })));
}

#[tokio::test]
async fn post_approvals_needs_a_json_object() {
    let server = TestServer::start().await;
    for body in NON_OBJECT_BODIES {
        let reply = send_full(
            server
                .host(Method::POST, "/approvals/some-id")
                .header("Content-Type", "application/json")
                .body(body),
        )
        .await;
        assert_invalid_json(&reply, &format!("POST /approvals/some-id {body:?}"));
    }
    // An object gets past parsing to the lookup.
    let (status, body) = send(
        server
            .host(Method::POST, "/approvals/some-id")
            .header("Content-Type", "application/json")
            .body("{}"),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(body["code"], "approval_not_found");
}

#[tokio::test]
async fn the_content_type_is_not_consulted_for_json_bodies() {
    let server = TestServer::start().await;
    for content_type in ["text/plain", "application/x-www-form-urlencoded"] {
        let (status, body) = send(
            server
                .host(Method::POST, "/tokens")
                .header("Content-Type", content_type)
                .body(r#"{"scope":"viewer"}"#),
        )
        .await;
        assert_eq!(status, 201, "{content_type}: {body}");
    }
}

#[tokio::test]
async fn bodies_larger_than_two_megabytes_are_read() {
    // §2.7: the reference accepts request bodies up to Bun's 128 MiB default.
    let server = TestServer::start().await;
    let body = json!({ "reply": "allow", "note": "x".repeat(3 * 1024 * 1024) }).to_string();
    let (status, answer) = send(
        server
            .host(Method::POST, "/approvals/some-id")
            .header("Content-Type", "application/json")
            .body(body),
    )
    .await;
    assert_eq!(status, 404, "a 3 MiB object must parse: {answer}");
    assert_eq!(answer["code"], "approval_not_found");
}

#[tokio::test]
async fn auth_is_checked_before_the_body() {
    let server = TestServer::start().await;
    let (status, body) = send(server.request(Method::POST, "/tokens").body("null")).await;
    assert_eq!(status, 401);
    assert_eq!(body["message"], "Invalid host token");
    let (status, body) = send(server.request(Method::POST, "/approvals/x").body("")).await;
    assert_eq!(status, 401);
    assert_eq!(body["message"], "Invalid host token");
}

#[tokio::test]
async fn body_less_requests_with_a_json_content_type_work() {
    let server = TestServer::start().await;
    let json_header = |request: RequestBuilder| request.header("Content-Type", "application/json");
    for (what, request) in [
        ("GET /health", server.request(Method::GET, "/health")),
        ("GET /status", server.client(Method::GET, "/status")),
        (
            "GET /capabilities",
            server.client(Method::GET, "/capabilities"),
        ),
        ("GET /whoami", server.client(Method::GET, "/whoami")),
        ("GET /workspaces", server.client(Method::GET, "/workspaces")),
        ("GET /tokens", server.host(Method::GET, "/tokens")),
        ("GET /approvals", server.host(Method::GET, "/approvals")),
    ] {
        let reply = send_full(json_header(request)).await;
        assert_eq!(reply.status, 200, "{what}: {}", reply.text);
    }

    // DELETE carries no body either.
    let (_, issued) = send(
        server
            .host(Method::POST, "/tokens")
            .json(&json!({ "scope": "viewer" })),
    )
    .await;
    let id = issued["id"].as_str().unwrap();
    let reply = send_full(json_header(
        server.host(Method::DELETE, &format!("/tokens/{id}")),
    ))
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json(), json!({ "ok": true }));
}
