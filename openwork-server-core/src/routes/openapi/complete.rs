//! Finishing the generated document: what `#[utoipa::path]` annotations leave out because
//! it is the same on every route of a kind.
//!
//! - the errors of the auth extractors, derived from each operation's `security`: `401`
//!   and `429` (D6) wherever credentials are checked;
//! - the errors of the workspace extractors, from the operation's `x-openwork-access`
//!   (`workspace-read`: `ReadAccess`; `workspace-write`: `WriteAccess`): bad path
//!   encoding, unknown or unauthorized workspace, read-only mode and scope;
//! - approval denials wherever `x-openwork-approval` names the approval action;
//! - the errors of the JSON body extractor (`invalid_json`, `payload_too_large`) wherever a
//!   JSON request body is documented;
//! - catch-all path segments (`{*path}` for axum) written as OpenAPI parameters (`{path}`);
//! - error responses that several operations share moved to `components/responses`, named
//!   after their status and codes (`404_workspace_not_found`).
//!
//! A status the annotation already lists keeps its description; the common codes are
//! appended to it.

use serde_json::{Map, Value, json};
use std::collections::HashMap;

/// One error a route can answer: status, code and message.
struct CommonError {
    status: &'static str,
    code: &'static str,
    message: &'static str,
}

const fn error(status: &'static str, code: &'static str, message: &'static str) -> CommonError {
    CommonError {
        status,
        code,
        message,
    }
}

const RATE_LIMITED: CommonError = error(
    "429",
    "rate_limited",
    "Too many failed authentication attempts (see `Retry-After`)",
);
const BAD_BEARER: CommonError = error("401", "unauthorized", "Invalid bearer token");
const BAD_HOST: CommonError = error("401", "unauthorized", "Invalid host token");
const BAD_ENCODING: CommonError = error("400", "invalid_path", "Invalid percent-encoding in path");
const NO_WORKSPACE: CommonError = error("404", "workspace_not_found", "Workspace not found");
const UNAUTHORIZED_WORKSPACE: CommonError = error(
    "403",
    "workspace_unauthorized",
    "Workspace is not authorized",
);
const IN_THE_WAY: CommonError = error(
    "400",
    "invalid_path",
    "Path goes through a file | Path must point to a file (a file or folder of the workspace is in the way)",
);
const READ_ONLY: CommonError = error("403", "read_only", "Server is in read-only mode");
const LOW_SCOPE: CommonError = error(
    "403",
    "forbidden",
    "Insufficient token scope (details: `required`, `scope`)",
);
const DENIED: CommonError = error(
    "403",
    "write_denied",
    "Write request denied (details: `requestId`, `reason` `denied` or `timeout`)",
);
const BAD_JSON: CommonError = error("400", "invalid_json", "Invalid JSON body");
const TOO_LARGE: CommonError = error("413", "payload_too_large", "Request body is too large");

/// How the operation authenticates, from its security requirements.
#[derive(PartialEq)]
enum Auth {
    None,
    Client,
    Host,
}

fn auth_of(operation: &Map<String, Value>) -> Auth {
    let Some(requirements) = operation.get("security").and_then(Value::as_array) else {
        return Auth::None;
    };
    let alone = |scheme: &str| {
        requirements
            .iter()
            .filter_map(Value::as_object)
            .any(|r| r.len() == 1 && r.contains_key(scheme))
    };
    if alone("hostToken") {
        Auth::Host
    } else if requirements.is_empty() {
        Auth::None
    } else {
        Auth::Client
    }
}

/// The common errors of one operation, in the order the server checks them.
fn common_errors(operation: &Map<String, Value>) -> Vec<&'static CommonError> {
    let mut errors = Vec::new();
    match auth_of(operation) {
        Auth::None => {}
        Auth::Client => errors.extend([&BAD_BEARER, &RATE_LIMITED]),
        Auth::Host => errors.extend([&BAD_HOST, &RATE_LIMITED]),
    }
    let access = operation.get("x-openwork-access").and_then(Value::as_str);
    if access == Some("workspace-write") {
        errors.extend([&READ_ONLY, &LOW_SCOPE]);
    }
    if matches!(access, Some("workspace-read" | "workspace-write")) {
        errors.extend([&BAD_ENCODING, &NO_WORKSPACE, &UNAUTHORIZED_WORKSPACE]);
    }
    if access == Some("workspace-write") {
        errors.push(&IN_THE_WAY);
    }
    let json_body = operation
        .get("requestBody")
        .and_then(|body| body.pointer("/content/application~1json"))
        .is_some();
    if json_body {
        errors.extend([&BAD_JSON, &TOO_LARGE]);
    }
    if operation.contains_key("x-openwork-approval") {
        errors.push(&DENIED);
    }
    errors
}

/// The JSON of an error response listing `line`.
fn error_response(line: &str) -> Value {
    json!({
        "description": line,
        "content": {
            "application/json": { "schema": { "$ref": "#/components/schemas/ErrorBody" } }
        },
    })
}

fn add_error(responses: &mut Map<String, Value>, error: &CommonError) {
    let line = format!("- `{}`: {}", error.code, error.message);
    match responses.get_mut(error.status) {
        Some(existing) => {
            let description = existing
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if !description.contains(&line) {
                let joined = if description.is_empty() {
                    line
                } else {
                    format!("{description}\n{line}")
                };
                existing["description"] = joined.into();
            }
        }
        None => {
            let mut response = error_response(&line);
            if error.status == "429" {
                response["headers"] = json!({
                    "Retry-After": {
                        "description": "Seconds until credentials are checked again",
                        "schema": { "type": "integer" },
                    }
                });
            }
            responses.insert(error.status.to_owned(), response);
        }
    }
}

/// Statuses in numeric order, `default` last.
fn sort_responses(responses: &mut Map<String, Value>) {
    let mut entries: Vec<(String, Value)> = std::mem::take(responses).into_iter().collect();
    entries.sort_by(|(a, _), (b, _)| (a == "default", a).cmp(&(b == "default", b)));
    responses.extend(entries);
}

fn complete_operation(operation: &mut Map<String, Value>) {
    let errors = common_errors(operation);
    let responses = operation
        .entry("responses")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .expect("responses is an object");
    for error in errors {
        add_error(responses, error);
    }
    sort_responses(responses);
}

/// `/opencode/{*path}` → `/opencode/{path}`: OpenAPI has no catch-all segments.
fn openapi_path(axum_path: &str) -> String {
    axum_path.replace("{*", "{")
}

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// The name of a shared error response: its status and the codes it lists.
fn response_name(status: &str, response: &Value) -> String {
    let description = response["description"].as_str().unwrap_or_default();
    let codes = description
        .lines()
        .filter_map(|line| line.strip_prefix("- `")?.split('`').next())
        .collect::<Vec<_>>();
    let mut name = status.to_owned();
    let mut seen = Vec::new();
    for code in codes {
        if !seen.contains(&code) {
            seen.push(code);
            name.push('_');
            name.push_str(code);
        }
    }
    name
}

/// The first listed message as a name part: `Invalid host token` → `invalid_host_token`.
fn message_slug(response: &Value) -> String {
    let description = response["description"].as_str().unwrap_or_default();
    let message = description
        .lines()
        .next()
        .and_then(|line| line.split_once(": "))
        .map_or("", |(_, message)| message);
    let words: Vec<String> = message
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(5)
        .map(str::to_ascii_lowercase)
        .collect();
    words.join("_")
}

/// Moves error responses used by more than one operation to `components/responses`.
fn share_error_responses(document: &mut Value) {
    let mut uses: HashMap<String, usize> = HashMap::new();
    let each_error = |document: &mut Value, f: &mut dyn FnMut(&str, &mut Value)| {
        let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) else {
            return;
        };
        for item in paths.values_mut().filter_map(Value::as_object_mut) {
            for method in METHODS {
                let responses = item
                    .get_mut(method)
                    .and_then(|op| op.get_mut("responses"))
                    .and_then(Value::as_object_mut);
                for (status, response) in responses.into_iter().flatten() {
                    if status.starts_with('4') || status.starts_with('5') {
                        f(status, response);
                    }
                }
            }
        }
    };
    each_error(document, &mut |_, response| {
        *uses.entry(response.to_string()).or_default() += 1;
    });
    // The shared bodies in document order, then their names: status and codes, plus the
    // first message where the same codes come with other messages (e.g. the bearer and the
    // host `unauthorized`).
    let mut bodies: Vec<(String, Value)> = Vec::new();
    each_error(document, &mut |status, response| {
        if uses[&response.to_string()] > 1 && !bodies.iter().any(|(_, b)| b == &*response) {
            bodies.push((status.to_owned(), response.clone()));
        }
    });
    let bases: Vec<String> = bodies
        .iter()
        .map(|(status, body)| response_name(status, body))
        .collect();
    let mut shared = Map::new();
    let mut names: HashMap<String, String> = HashMap::new();
    for ((_, body), base) in bodies.iter().zip(&bases) {
        let mut name = base.clone();
        if bases.iter().filter(|b| *b == base).count() > 1 {
            // `Workspace not found (mounted)` under `404_workspace_not_found` adds `mounted`.
            let slug = message_slug(body);
            let code = base.rsplit_once('_').map_or("", |_| &base[4..]);
            let extra = slug
                .strip_prefix(code)
                .unwrap_or(&slug)
                .trim_start_matches('_');
            if !extra.is_empty() {
                name = format!("{base}_{extra}");
            }
        }
        let unique = name.clone();
        let mut n = 2;
        while shared.contains_key(&name) {
            name = format!("{unique}_{n}");
            n += 1;
        }
        shared.insert(name.clone(), body.clone());
        names.insert(body.to_string(), name);
    }
    each_error(document, &mut |_, response| {
        if let Some(name) = names.get(&response.to_string()) {
            *response = json!({ "$ref": format!("#/components/responses/{name}") });
        }
    });
    if !shared.is_empty() {
        document["components"]["responses"] = Value::Object(shared);
    }
}

/// Adds the common errors to every operation, gives each operation of a multi-method
/// handler its own id (`<handler>_<method>`), rewrites catch-all paths and shares the
/// error responses many operations have in common.
pub(super) fn complete(document: &mut Value) {
    complete_operations(document);
    share_error_responses(document);
}

fn complete_operations(document: &mut Value) {
    let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    let mut completed = Map::new();
    for (path, mut item) in std::mem::take(paths) {
        if let Some(item) = item.as_object_mut() {
            let methods: Vec<&str> = METHODS
                .into_iter()
                .filter(|m| item.contains_key(*m))
                .collect();
            let shared_ids = methods.len() > 1
                && methods
                    .windows(2)
                    .all(|pair| item[pair[0]]["operationId"] == item[pair[1]]["operationId"]);
            for method in methods {
                if let Some(operation) = item.get_mut(method).and_then(Value::as_object_mut) {
                    complete_operation(operation);
                    if shared_ids {
                        let id = operation["operationId"].as_str().unwrap_or_default();
                        operation["operationId"] = format!("{id}_{method}").into();
                    }
                }
            }
        }
        completed.insert(openapi_path(&path), item);
    }
    *paths = completed;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A response, following a shared-response reference.
    fn resolved<'a>(doc: &'a Value, response: &'a Value) -> &'a Value {
        match response["$ref"].as_str() {
            Some(target) => doc.pointer(&target[1..]).unwrap(),
            None => response,
        }
    }

    #[test]
    fn host_routes_get_the_host_message_and_client_routes_the_bearer_one() {
        let mut doc = json!({"paths": {
            "/tokens": {"get": {"security": [{"hostToken": []}, {"bearer": ["owner"]}],
                                "responses": {"200": {"description": "ok"}}}},
            "/status": {"get": {"security": [{"bearer": ["viewer"]}],
                                "responses": {"200": {"description": "ok"}}}},
            "/health": {"get": {"responses": {"200": {"description": "ok"}}}},
        }});
        complete(&mut doc);
        assert_eq!(
            doc["paths"]["/tokens"]["get"]["responses"]["401"]["description"],
            "- `unauthorized`: Invalid host token"
        );
        assert_eq!(
            doc["paths"]["/status"]["get"]["responses"]["401"]["description"],
            "- `unauthorized`: Invalid bearer token"
        );
        assert!(
            resolved(&doc, &doc["paths"]["/status"]["get"]["responses"]["429"])["headers"]
                ["Retry-After"]
                .is_object()
        );
        let health = doc["paths"]["/health"]["get"]["responses"]
            .as_object()
            .unwrap();
        assert_eq!(health.keys().collect::<Vec<_>>(), ["200"]);
    }

    #[test]
    fn declared_statuses_keep_their_text_and_gain_the_common_codes_in_order() {
        let mut doc = json!({"paths": {"/workspace/{id}/plugins": {"post": {
            "security": [{"bearer": ["collaborator"]}],
            "x-openwork-access": "workspace-write",
            "x-openwork-approval": "plugins.add",
            "requestBody": {"content": {"application/json": {}}},
            "responses": {
                "400": {"description": "- `invalid_plugin_spec`: Plugin spec is required"},
                "200": {"description": "ok"},
            },
        }}}});
        complete(&mut doc);
        let responses = doc["paths"]["/workspace/{id}/plugins"]["post"]["responses"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(status, response)| (status.clone(), resolved(&doc, response).clone()))
            .collect::<Map<String, Value>>();
        assert_eq!(
            responses.keys().collect::<Vec<_>>(),
            ["200", "400", "401", "403", "404", "413", "429"]
        );
        assert_eq!(
            responses["400"]["description"],
            "- `invalid_plugin_spec`: Plugin spec is required\n\
             - `invalid_path`: Invalid percent-encoding in path\n\
             - `invalid_path`: Path goes through a file | Path must point to a file (a file or folder of the workspace is in the way)\n\
             - `invalid_json`: Invalid JSON body"
        );
        let forbidden = responses["403"]["description"].as_str().unwrap();
        let codes: Vec<&str> = forbidden
            .lines()
            .map(|l| l.split('`').nth(1).unwrap())
            .collect();
        assert_eq!(
            codes,
            [
                "read_only",
                "forbidden",
                "workspace_unauthorized",
                "write_denied"
            ]
        );
    }

    #[test]
    fn operations_sharing_one_handler_get_one_id_each() {
        let mut doc = json!({"paths": {
            "/opencode": {
                "get": {"operationId": "proxy", "responses": {}},
                "post": {"operationId": "proxy", "responses": {}},
            },
            "/x": {"get": {"operationId": "a"}, "post": {"operationId": "b"}},
        }});
        complete(&mut doc);
        assert_eq!(doc["paths"]["/opencode"]["get"]["operationId"], "proxy_get");
        assert_eq!(
            doc["paths"]["/opencode"]["post"]["operationId"],
            "proxy_post"
        );
        assert_eq!(doc["paths"]["/x"]["get"]["operationId"], "a");
    }

    #[test]
    fn errors_several_operations_share_become_named_components() {
        let client = || json!({"security": [{"bearer": ["viewer"]}], "responses": {}});
        let host = || json!({"security": [{"hostToken": []}], "responses": {}});
        let lone = json!({"responses": {"409": {"description": "- `conflict`: once"}}});
        let mut doc = json!({"components": {}, "paths": {
            "/a": {"get": client()}, "/b": {"get": client()},
            "/c": {"get": host()}, "/d": {"get": host()}, "/e": {"get": lone},
        }});
        complete(&mut doc);
        let reference = |path: &str, status: &str| {
            doc["paths"][path]["get"]["responses"][status]["$ref"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        };
        assert_eq!(
            reference("/a", "429"),
            "#/components/responses/429_rate_limited"
        );
        assert_eq!(
            reference("/d", "429"),
            "#/components/responses/429_rate_limited"
        );
        // Same status and code, other messages: the message tells them apart.
        assert_eq!(
            reference("/b", "401"),
            "#/components/responses/401_unauthorized_invalid_bearer_token"
        );
        assert_eq!(
            reference("/c", "401"),
            "#/components/responses/401_unauthorized_invalid_host_token"
        );
        let shared = &doc["components"]["responses"];
        assert!(shared["429_rate_limited"]["headers"]["Retry-After"].is_object());
        // Used once: stays in place.
        assert_eq!(
            doc["paths"]["/e"]["get"]["responses"]["409"]["description"],
            "- `conflict`: once"
        );
    }

    #[test]
    fn catch_all_segments_become_plain_parameters() {
        let mut doc = json!({"paths": {"/opencode/{*path}": {"get": {"responses": {}}}}});
        complete(&mut doc);
        assert!(doc["paths"]["/opencode/{path}"]["get"].is_object());
        assert!(doc["paths"].get("/opencode/{*path}").is_none());
    }
}
