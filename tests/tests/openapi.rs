//! `GET /openapi.json`: the served document equals the checked-in `docs/openapi.json`, it
//! is a well-formed OpenAPI 3.1 document, every documented operation is routed, and every
//! route that answers (probed over the contract's route list, §4.A and Appendix A) is
//! documented.
//!
//! Regenerate the checked-in copy after changing a route or its annotation:
//! `UPDATE_OPENAPI=1 cargo nextest run -p openwork-server-tests --test openapi`.

use openwork_server_tests::reqwest::{Method, StatusCode, header};
use openwork_server_tests::{TestServer, Value};
use std::collections::{BTreeSet, HashSet};
use std::path::PathBuf;

fn checked_in_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/openapi.json")
}

async fn served(server: &TestServer) -> (String, Value) {
    let response = server
        .request(Method::GET, "/openapi.json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "application/json",
        "content type"
    );
    let text = response.text().await.unwrap();
    let document = serde_json::from_str(&text).expect("the document is JSON");
    (text, document)
}

#[tokio::test]
async fn the_served_document_is_the_checked_in_one() {
    let server = TestServer::start().await;
    let (text, _) = served(&server).await;
    let path = checked_in_path();
    if std::env::var_os("UPDATE_OPENAPI").is_some_and(|v| v == "1") {
        std::fs::write(&path, &text).unwrap();
        return;
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == text,
        "docs/openapi.json differs from GET /openapi.json; regenerate it with \
         `UPDATE_OPENAPI=1 cargo nextest run -p openwork-server-tests --test openapi`"
    );
    // Served as the same bytes every time (rendered once).
    let (again, _) = served(&server).await;
    assert_eq!(again, text);
}

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// `(method, path template)` of every documented operation.
fn operations(document: &Value) -> Vec<(String, String, &Value)> {
    let mut out = Vec::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            if [
                "get", "post", "put", "patch", "delete", "head", "options", "trace",
            ]
            .contains(&method.as_str())
            {
                out.push((method.clone(), path.clone(), operation));
            }
        }
    }
    out
}

fn collect_refs<'a>(value: &'a Value, refs: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value) {
                    ("$ref", Value::String(target)) => refs.push(target),
                    _ => collect_refs(value, refs),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_refs(item, refs)),
        _ => {}
    }
}

/// The `{name}` segments of a path template.
fn template_params(path: &str) -> BTreeSet<String> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn the_document_is_well_formed_openapi_3_1() {
    let server = TestServer::start().await;
    let (_, document) = served(&server).await;
    assert_eq!(document["openapi"], "3.1.0");
    assert_eq!(document["info"]["version"], "0.11.207");
    let schemes = &document["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["hostToken"]["name"], "X-OpenWork-Host-Token");

    let mut refs = Vec::new();
    collect_refs(&document, &mut refs);
    for target in refs {
        let pointer = target.strip_prefix('#').expect("local reference");
        assert!(
            document.pointer(pointer).is_some(),
            "dangling $ref {target}"
        );
    }

    let tags: HashSet<&str> = document["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    let mut ids = HashSet::new();
    for (method, path, operation) in operations(&document) {
        let what = format!("{method} {path}");
        let id = operation["operationId"].as_str().expect("operationId");
        assert!(
            ids.insert(id.to_owned()),
            "{what}: duplicate operationId {id}"
        );
        let op_tags = operation["tags"].as_array().expect("tags");
        assert!(
            op_tags.iter().all(|t| tags.contains(t.as_str().unwrap())),
            "{what}: undeclared tag"
        );
        let declared: BTreeSet<String> = operation["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["in"] == "path")
            .map(|p| p["name"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(declared, template_params(&path), "{what}: path parameters");
        for scheme in operation["security"].as_array().into_iter().flatten() {
            for name in scheme.as_object().unwrap().keys() {
                assert!(schemes.get(name).is_some(), "{what}: unknown scheme {name}");
            }
        }
        let responses = operation["responses"].as_object().expect("responses");
        assert!(
            responses
                .keys()
                .any(|status| status.starts_with('2') || status == "default"),
            "{what}: no success response"
        );
        for (status, response) in responses {
            let response = match response["$ref"].as_str() {
                Some(target) => document.pointer(&target[1..]).expect("shared response"),
                None => response,
            };
            let is_error = status.starts_with('4') || status.starts_with('5');
            if is_error {
                assert_eq!(
                    response["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/ErrorBody",
                    "{what} {status}: errors use the shared error body"
                );
            }
            if operation.get("security").is_some() {
                assert!(responses.contains_key("401"), "{what}: 401 documented");
                assert!(responses.contains_key("429"), "{what}: 429 documented");
            }
        }
    }
}

/// A concrete path for a template: the test workspace's id for `{id}`, a sample value for
/// other parameters (`toy.css` for the toy UI's assets, whose unknown names are 404s).
fn concrete(template: &str, workspace_id: &str) -> String {
    template
        .split('/')
        .map(|seg| match seg {
            "{id}" => workspace_id.to_owned(),
            "{name}" if template.starts_with("/ui/assets/") => "toy.css".to_owned(),
            s if s.starts_with('{') => "x".to_owned(),
            s => s.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Whether a request without credentials reached a route: anything but the router's
/// fallback (`404 not_found`, answered before any auth check).
async fn reachable(server: &TestServer, method: &str, path: &str) -> bool {
    let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).unwrap();
    let response = server.request(method, path).send().await.unwrap();
    if response.status() != StatusCode::NOT_FOUND {
        return true;
    }
    let body: Value = response.json().await.unwrap_or_default();
    body["code"] != "not_found"
}

/// `{anything}` → `{}`, so templates compare whatever their parameter names.
fn shape(template: &str) -> String {
    template
        .split('/')
        .map(|seg| if seg.starts_with('{') { "{}" } else { seg })
        .collect::<Vec<_>>()
        .join("/")
}

/// Every route of contract §4.A and Appendix A, implemented here or not (`:param` written
/// `{param}`; proxies by their three forms).
const CONTRACT_ROUTES: &[&str] = &[
    "/health",
    "/w/{id}/health",
    "/status",
    "/w/{id}/status",
    "/capabilities",
    "/w/{id}/capabilities",
    "/whoami",
    "/workspaces",
    "/w/{id}/workspaces",
    "/workspace/{id}/config",
    "/workspace/{id}/events",
    "/workspace/{id}/engine/reload",
    "/workspace/{id}/plugins",
    "/workspace/{id}/plugins/{name}",
    "/workspace/{id}/skills",
    "/workspace/{id}/skills/{name}",
    "/workspace/{id}/mcp",
    "/workspace/{id}/mcp/{name}",
    "/workspace/{id}/commands",
    "/workspace/{id}/commands/{name}",
    "/workspace/{id}/audit",
    "/workspace/{id}/export",
    "/workspace/{id}/import",
    "/tokens",
    "/tokens/{id}",
    "/workspace/{id}/inbox",
    "/workspace/{id}/inbox/{inboxId}",
    "/workspace/{id}/artifacts",
    "/workspace/{id}/artifacts/{artifactId}",
    "/workspace/{id}/files/sessions",
    "/files/sessions/{sessionId}/renew",
    "/files/sessions/{sessionId}",
    "/files/sessions/{sessionId}/catalog/snapshot",
    "/files/sessions/{sessionId}/catalog/events",
    "/files/sessions/{sessionId}/read-batch",
    "/files/sessions/{sessionId}/write-batch",
    "/files/sessions/{sessionId}/ops",
    "/ui",
    "/w/{id}/ui",
    "/ui/assets/{name}",
    "/opencode",
    "/opencode/",
    "/opencode/{path}",
    "/w/{id}/opencode",
    "/w/{id}/opencode/",
    "/w/{id}/opencode/{path}",
    "/opencode-router",
    "/opencode-router/",
    "/opencode-router/{path}",
    "/w/{id}/opencode-router",
    "/w/{id}/opencode-router/",
    "/w/{id}/opencode-router/{path}",
    "/approvals",
    "/approvals/{id}",
    // Appendix A.
    "/runtime/versions",
    "/w/{id}/runtime/versions",
    "/runtime/upgrade",
    "/w/{id}/runtime/upgrade",
    "/workspaces/local",
    "/workspaces/{id}/display-name",
    "/workspaces/{id}/activate",
    "/workspaces/{id}",
    "/workspace/{id}/opencode-config",
    "/workspace/{id}/sessions",
    "/workspace/{id}/sessions/{sessionId}",
    "/workspace/{id}/sessions/{sessionId}/messages",
    "/workspace/{id}/sessions/{sessionId}/snapshot",
    "/workspace/{id}/files/content",
    "/hub/skills",
    "/workspace/{id}/skills/hub/{name}",
    "/workspace/{id}/mcp/{name}/auth",
    "/workspace/{id}/scheduler/jobs",
    "/workspace/{id}/scheduler/jobs/{name}",
    "/workspace/{id}/blueprint/sessions/materialize",
    "/share/bundles/publish",
    "/share/bundles/fetch",
    "/workspace/{id}/opencode-router/health",
    "/workspace/{id}/opencode-router/telegram-token",
    "/workspace/{id}/opencode-router/telegram",
    "/workspace/{id}/opencode-router/telegram-enabled",
    "/workspace/{id}/opencode-router/slack-tokens",
    "/workspace/{id}/opencode-router/identities/telegram",
    "/workspace/{id}/opencode-router/identities/telegram/{identityId}",
    "/workspace/{id}/opencode-router/identities/slack",
    "/workspace/{id}/opencode-router/identities/slack/{identityId}",
    "/workspace/{id}/opencode-router/bindings",
    "/workspace/{id}/opencode-router/send",
];

/// Routes in scope (DECISIONS §4) that this server serves today; each must be documented
/// with exactly these methods.
const SERVED: &[(&str, &str)] = &[
    ("get", "/health"),
    ("get", "/w/{id}/health"),
    ("get", "/status"),
    ("get", "/w/{id}/status"),
    ("get", "/capabilities"),
    ("get", "/w/{id}/capabilities"),
    ("get", "/whoami"),
    ("get", "/workspaces"),
    ("get", "/w/{id}/workspaces"),
    ("get", "/workspace/{id}/config"),
    ("patch", "/workspace/{id}/config"),
    ("get", "/workspace/{id}/events"),
    ("post", "/workspace/{id}/engine/reload"),
    ("get", "/workspace/{id}/plugins"),
    ("post", "/workspace/{id}/plugins"),
    ("delete", "/workspace/{id}/plugins/{name}"),
    ("get", "/workspace/{id}/skills"),
    ("post", "/workspace/{id}/skills"),
    ("get", "/workspace/{id}/skills/{name}"),
    ("delete", "/workspace/{id}/skills/{name}"),
    ("get", "/workspace/{id}/mcp"),
    ("post", "/workspace/{id}/mcp"),
    ("delete", "/workspace/{id}/mcp/{name}"),
    ("get", "/workspace/{id}/commands"),
    ("post", "/workspace/{id}/commands"),
    ("delete", "/workspace/{id}/commands/{name}"),
    ("get", "/workspace/{id}/audit"),
    ("get", "/workspace/{id}/export"),
    ("post", "/workspace/{id}/import"),
    ("get", "/tokens"),
    ("post", "/tokens"),
    ("delete", "/tokens/{id}"),
    ("get", "/workspace/{id}/inbox"),
    ("post", "/workspace/{id}/inbox"),
    ("get", "/workspace/{id}/inbox/{inboxId}"),
    ("get", "/workspace/{id}/artifacts"),
    ("get", "/workspace/{id}/artifacts/{artifactId}"),
    ("post", "/workspace/{id}/files/sessions"),
    ("post", "/files/sessions/{sessionId}/renew"),
    ("delete", "/files/sessions/{sessionId}"),
    ("get", "/files/sessions/{sessionId}/catalog/snapshot"),
    ("get", "/files/sessions/{sessionId}/catalog/events"),
    ("post", "/files/sessions/{sessionId}/read-batch"),
    ("post", "/files/sessions/{sessionId}/write-batch"),
    ("post", "/files/sessions/{sessionId}/ops"),
    ("get", "/approvals"),
    ("post", "/approvals/{id}"),
    ("post", "/workspaces/local"),
    ("patch", "/workspaces/{id}/display-name"),
    ("post", "/workspaces/{id}/activate"),
    ("delete", "/workspaces/{id}"),
    ("get", "/workspace/{id}/opencode-config"),
    ("post", "/workspace/{id}/opencode-config"),
    ("get", "/workspace/{id}/sessions"),
    ("get", "/workspace/{id}/sessions/{sessionId}"),
    ("delete", "/workspace/{id}/sessions/{sessionId}"),
    ("get", "/workspace/{id}/sessions/{sessionId}/messages"),
    ("get", "/workspace/{id}/sessions/{sessionId}/snapshot"),
    ("get", "/workspace/{id}/files/content"),
    ("post", "/workspace/{id}/files/content"),
    ("delete", "/workspace/{id}/mcp/{name}/auth"),
    ("get", "/openapi.json"),
    ("get", "/ui"),
    ("get", "/w/{id}/ui"),
    ("get", "/ui/assets/{name}"),
    ("get", "/runtime/versions"),
    ("get", "/w/{id}/runtime/versions"),
    ("post", "/runtime/upgrade"),
    ("post", "/w/{id}/runtime/upgrade"),
];

fn documented(document: &Value) -> HashSet<(String, String)> {
    operations(document)
        .into_iter()
        .map(|(method, path, _)| (method, shape(&path)))
        .collect()
}

#[tokio::test]
async fn every_documented_operation_is_routed() {
    let server = TestServer::start().await;
    let (_, document) = served(&server).await;
    let id = server.workspace_id();
    for (method, path, _) in operations(&document) {
        let concrete = concrete(&path, &id);
        assert!(
            reachable(&server, &method, &concrete).await,
            "{method} {path} is documented but not routed"
        );
    }
    let documented = documented(&document);
    for (method, path) in SERVED {
        assert!(
            documented.contains(&(method.to_string(), shape(path))),
            "{method} {path} is served but missing from the document"
        );
    }
}

#[tokio::test]
async fn every_reachable_route_is_documented() {
    let server = TestServer::start().await;
    let (_, document) = served(&server).await;
    let id = server.workspace_id();
    let documented = documented(&document);
    let templates: BTreeSet<String> = CONTRACT_ROUTES
        .iter()
        .map(|t| t.to_string())
        .chain(operations(&document).into_iter().map(|(_, path, _)| path))
        .collect();
    for template in &templates {
        let concrete = concrete(template, &id);
        for method in METHODS {
            if reachable(&server, method, &concrete).await {
                assert!(
                    documented.contains(&(method.to_owned(), shape(template))),
                    "{} {template} answers but is not in the document",
                    method.to_ascii_uppercase()
                );
            }
        }
    }
}
