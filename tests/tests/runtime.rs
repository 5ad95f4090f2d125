//! The runtime control relay (contract Appendix A): `GET /runtime/versions` and
//! `POST /runtime/upgrade`, bare and under `/w/:id/`, relayed to the orchestrator's control
//! server named by `OPENWORK_CONTROL_BASE_URL` / `OPENWORK_CONTROL_TOKEN`. The control
//! server is a small recording mock on loopback whose answer each test sets.

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use http_body_util::BodyExt;
use openwork_server_tests::reqwest::Method;
use openwork_server_tests::{Options, TestServer, Value, error_body, json, send};
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;

const CONTROL_TOKEN: &str = "control-secret-1";

/// One request as the control server saw it.
#[derive(Clone, Debug)]
struct Seen {
    method: String,
    uri: String,
    headers: http::HeaderMap,
    body: String,
}

/// The mock control server: what it saw, and what it answers next (status, content type,
/// body).
#[derive(Clone)]
struct Control {
    base: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    answer: Arc<Mutex<(u16, &'static str, String)>>,
}

impl Control {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let answer = Arc::new(Mutex::new((
            200,
            "application/json",
            r#"{"ok":true}"#.to_owned(),
        )));
        let (record, reply) = (seen.clone(), answer.clone());
        let app = axum::Router::new().fallback(move |request: Request| {
            let (record, reply) = (record.clone(), reply.clone());
            async move {
                let (parts, body) = request.into_parts();
                let body = body.collect().await.unwrap().to_bytes();
                record.lock().unwrap().push(Seen {
                    method: parts.method.to_string(),
                    uri: parts.uri.to_string(),
                    headers: parts.headers,
                    body: String::from_utf8_lossy(&body).into_owned(),
                });
                let (status, content_type, text) = reply.lock().unwrap().clone();
                Response::builder()
                    .status(status)
                    .header("content-type", content_type)
                    .body(Body::from(text))
                    .unwrap()
            }
        });
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { base, seen, answer }
    }

    fn answer(&self, status: u16, content_type: &'static str, body: &str) {
        *self.answer.lock().unwrap() = (status, content_type, body.to_owned());
    }

    fn count(&self) -> usize {
        self.seen.lock().unwrap().len()
    }

    fn last(&self) -> Seen {
        self.seen
            .lock()
            .unwrap()
            .last()
            .cloned()
            .expect("a request")
    }
}

async fn server_with(env: &[(&str, &str)]) -> TestServer {
    TestServer::start_with(Options {
        env: env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        ..Options::default()
    })
    .await
}

async fn server_for(control: &Control) -> TestServer {
    server_with(&[
        ("OPENWORK_CONTROL_BASE_URL", &control.base),
        ("OPENWORK_CONTROL_TOKEN", CONTROL_TOKEN),
    ])
    .await
}

#[tokio::test]
async fn versions_are_relayed_for_any_client_token_with_the_control_token() {
    let control = Control::start().await;
    let server = server_for(&control).await;
    let versions = json!({"ok": true, "orchestrator": {"version": "0.18.1"},
                          "services": [{"name": "openwork-server", "running": true}]});
    control.answer(200, "application/json", &versions.to_string());
    let viewer = server.issue_token("viewer").await;
    let owner = server.issue_token("owner").await;

    for path in ["/runtime/versions", "/w/any-id/runtime/versions"] {
        let (status, body) = send(server.request(Method::GET, path)).await;
        assert_eq!(status, 401, "{path} without a token");
        assert_eq!(body, error_body("unauthorized", "Invalid bearer token"));
        let (status, _) = send(server.host(Method::GET, path)).await;
        assert_eq!(status, 401, "{path}: the host token is not a bearer");
        assert_eq!(control.count(), 0, "{path} was relayed without auth");
    }
    for (path, token) in [
        ("/runtime/versions", &viewer),
        ("/runtime/versions", &server.client_token),
        ("/w/any-id/runtime/versions", &owner),
    ] {
        let before = control.count();
        let (status, body) = send(server.with_bearer(Method::GET, path, token)).await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(body, versions, "{path}: the upstream JSON as is");
        assert_eq!(control.count(), before + 1);
        let seen = control.last();
        assert_eq!(
            (seen.method.as_str(), seen.uri.as_str()),
            ("GET", "/runtime/versions")
        );
        assert_eq!(
            seen.headers["authorization"],
            format!("Bearer {CONTROL_TOKEN}"),
            "the control token, never the caller's"
        );
        assert!(!seen.headers.contains_key("x-openwork-host-token"));
        assert_eq!(seen.body, "");
    }
}

#[tokio::test]
async fn an_upgrade_needs_the_host_and_relays_the_body_answering_202() {
    let control = Control::start().await;
    let server = server_for(&control).await;
    let started = json!({"ok": true, "started": true, "services": ["openwork-server"],
                         "upgrade": {"status": "running"}});
    control.answer(202, "application/json", &started.to_string());
    let viewer = server.issue_token("viewer").await;
    let owner = server.issue_token("owner").await;
    let request = json!({"services": ["openwork-server"], "note": "ü \"quoted\""});

    for path in ["/runtime/upgrade", "/w/any-id/runtime/upgrade"] {
        for token in [&viewer, &server.client_token] {
            let (status, body) =
                send(server.with_bearer(Method::POST, path, token).json(&request)).await;
            assert_eq!(status, 401, "{path}");
            assert_eq!(body, error_body("unauthorized", "Invalid host token"));
        }
        let (status, _) = send(server.request(Method::POST, path).json(&request)).await;
        assert_eq!(status, 401);
        assert_eq!(control.count(), 0, "{path} was relayed without host auth");
    }

    // The control server answers 200 here: our answer is 202 whatever 2xx it gives.
    control.answer(200, "application/json", &started.to_string());
    for (path, caller) in [
        (
            "/runtime/upgrade",
            server.host(Method::POST, "/runtime/upgrade"),
        ),
        (
            "/w/any-id/runtime/upgrade",
            server.with_bearer(Method::POST, "/w/any-id/runtime/upgrade", &owner),
        ),
    ] {
        let (status, body) = send(caller.json(&request)).await;
        assert_eq!(status, 202, "{path}");
        assert_eq!(body, started);
        let seen = control.last();
        assert_eq!(
            (seen.method.as_str(), seen.uri.as_str()),
            ("POST", "/runtime/upgrade")
        );
        assert_eq!(
            seen.headers["authorization"],
            format!("Bearer {CONTROL_TOKEN}")
        );
        assert_eq!(seen.headers["content-type"], "application/json");
        let relayed: Value = serde_json::from_str(&seen.body).unwrap();
        assert_eq!(relayed, request, "{path}: the body is relayed");
    }

    // A body that is not a JSON object is refused before anything is relayed.
    let before = control.count();
    for body in ["", "null", "[1]", "{"] {
        let (status, answer) = send(server.host(Method::POST, "/runtime/upgrade").body(body)).await;
        assert_eq!(status, 400, "{body:?}");
        assert_eq!(answer, error_body("invalid_json", "Invalid JSON body"));
    }
    assert_eq!(control.count(), before);
}

#[tokio::test]
async fn without_a_control_server_both_routes_answer_501() {
    let unavailable = error_body(
        "runtime_upgrade_unavailable",
        "Worker runtime control is not configured on this host",
    );
    for env in [
        vec![],
        vec![("OPENWORK_CONTROL_BASE_URL", "http://127.0.0.1:9")],
        vec![("OPENWORK_CONTROL_TOKEN", "tok")],
        vec![
            ("OPENWORK_CONTROL_BASE_URL", "  "),
            ("OPENWORK_CONTROL_TOKEN", "tok"),
        ],
    ] {
        let server = server_with(&env).await;
        let (status, body) = send(server.client(Method::GET, "/runtime/versions")).await;
        assert_eq!((status, &body), (501, &unavailable), "{env:?}");
        let (status, body) = send(
            server
                .host(Method::POST, "/w/x/runtime/upgrade")
                .json(&json!({})),
        )
        .await;
        assert_eq!((status, &body), (501, &unavailable), "{env:?}");
        // Auth still comes first.
        let (status, _) = send(server.request(Method::GET, "/runtime/versions")).await;
        assert_eq!(status, 401);
    }
}

#[tokio::test]
async fn control_server_errors_keep_their_status_with_the_upstream_body_as_details() {
    let control = Control::start().await;
    let server = server_for(&control).await;
    let cases = [
        (
            409,
            "application/json",
            r#"{"ok":false,"error":"upgrade_in_progress"}"#,
            json!({"ok": false, "error": "upgrade_in_progress"}),
        ),
        (
            400,
            "application/json",
            r#"{"ok":false,"error":"invalid_services"}"#,
            json!({"ok": false, "error": "invalid_services"}),
        ),
        (
            401,
            "application/json",
            r#"{"ok":false,"error":"unauthorized"}"#,
            json!({"ok": false, "error": "unauthorized"}),
        ),
        (500, "text/plain", "  boom \n", json!("boom")),
        (503, "text/plain", "", Value::Null),
    ];
    for (status, content_type, text, details) in cases {
        control.answer(status, content_type, text);
        let expected = json!({"code": "runtime_upgrade_failed",
                              "message": "Runtime control request failed",
                              "details": details});
        let (got, body) = send(server.client(Method::GET, "/runtime/versions")).await;
        assert_eq!((got, &body), (status, &expected), "GET, upstream {status}");
        let (got, body) = send(
            server
                .host(Method::POST, "/runtime/upgrade")
                .json(&json!({})),
        )
        .await;
        assert_eq!((got, &body), (status, &expected), "POST, upstream {status}");
    }

    // A redirect is not followed and not passed on.
    control.answer(302, "application/json", "{}");
    let (status, body) = send(server.client(Method::GET, "/runtime/versions")).await;
    assert_eq!(status, 502);
    assert_eq!(body["code"], "runtime_upgrade_failed");

    // A success that is not JSON is a bad gateway.
    control.answer(200, "text/html", "<html></html>");
    let (status, body) = send(server.client(Method::GET, "/runtime/versions")).await;
    assert_eq!(
        (status, body),
        (
            502,
            error_body(
                "runtime_upgrade_failed",
                "Runtime control server returned an invalid response"
            )
        )
    );
}

#[tokio::test]
async fn an_unreachable_or_invalid_control_server_is_a_502() {
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let server = server_with(&[
        ("OPENWORK_CONTROL_BASE_URL", &dead),
        ("OPENWORK_CONTROL_TOKEN", CONTROL_TOKEN),
    ])
    .await;
    let unreachable = error_body(
        "runtime_upgrade_failed",
        "Runtime control server is unreachable",
    );
    let (status, body) = send(server.client(Method::GET, "/runtime/versions")).await;
    assert_eq!((status, &body), (502, &unreachable));
    let (status, body) = send(
        server
            .host(Method::POST, "/w/x/runtime/upgrade")
            .json(&json!({})),
    )
    .await;
    assert_eq!((status, &body), (502, &unreachable));

    for bad in ["not a url", "127.0.0.1:4000", "https://127.0.0.1:1"] {
        let server = server_with(&[
            ("OPENWORK_CONTROL_BASE_URL", bad),
            ("OPENWORK_CONTROL_TOKEN", CONTROL_TOKEN),
        ])
        .await;
        let (status, body) = send(server.client(Method::GET, "/runtime/versions")).await;
        assert_eq!(
            (status, body),
            (
                502,
                error_body(
                    "runtime_upgrade_failed",
                    "Runtime control base URL is invalid"
                )
            ),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn a_path_prefix_in_the_base_url_is_kept() {
    let control = Control::start().await;
    let base = format!("{}/control/", control.base);
    let server = server_with(&[
        ("OPENWORK_CONTROL_BASE_URL", &base),
        ("OPENWORK_CONTROL_TOKEN", CONTROL_TOKEN),
    ])
    .await;
    let (status, _) = send(server.client(Method::GET, "/runtime/versions")).await;
    assert_eq!(status, 200);
    assert_eq!(control.last().uri, "/control/runtime/versions");
}
