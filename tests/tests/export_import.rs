//! Export and import (contract §7.1, §7.2, D4, D5): the export document's shape and
//! filtering, the sensitivity gate, and imports that either apply completely or leave
//! every file of the workspace byte-identical.

use openwork_server_core::{ApprovalMode, CliOverrides};
use openwork_server_tests::reqwest::Method;
use openwork_server_tests::{Options, TestServer, Value, json, keys, send};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// A server whose workspace is its own git root, so skill discovery never looks above it.
async fn start_with(options: Options) -> TestServer {
    let server = TestServer::start_with(options).await;
    std::fs::create_dir_all(server.workspace_path().join(".git")).unwrap();
    server
}

async fn start() -> TestServer {
    start_with(Options::default()).await
}

async fn start_manual() -> TestServer {
    start_with(Options {
        cli: CliOverrides {
            approval_mode: Some(ApprovalMode::Manual),
            approval_timeout_ms: Some(30_000),
            ..CliOverrides::default()
        },
        ..Options::default()
    })
    .await
}

fn put(server: &TestServer, rel: &str, text: &str) {
    let path = server.workspace_path().join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn read(server: &TestServer, rel: &str) -> Option<String> {
    std::fs::read_to_string(server.workspace_path().join(rel)).ok()
}

fn abs(server: &TestServer, rel: &str) -> String {
    server
        .workspace_path()
        .join(rel)
        .to_string_lossy()
        .into_owned()
}

/// Every file and folder of the workspace: files with their bytes, folders as `None`.
fn tree(root: &Path) -> BTreeMap<PathBuf, Option<Vec<u8>>> {
    fn visit(dir: &Path, root: &Path, out: &mut BTreeMap<PathBuf, Option<Vec<u8>>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let rel = path.strip_prefix(root).unwrap().to_path_buf();
            if path.is_dir() {
                out.insert(rel, None);
                visit(&path, root, out);
            } else {
                out.insert(rel, Some(std::fs::read(&path).unwrap()));
            }
        }
    }
    let mut out = BTreeMap::new();
    visit(root, root, &mut out);
    out
}

async fn export(server: &TestServer, query: &str) -> (u16, Value) {
    let path = format!("/workspace/{}/export{query}", server.workspace_id());
    send(server.client(Method::GET, &path)).await
}

fn import_request(
    server: &TestServer,
    body: &Value,
) -> openwork_server_tests::reqwest::RequestBuilder {
    let path = format!("/workspace/{}/import", server.workspace_id());
    server.client(Method::POST, &path).json(body)
}

async fn import(server: &TestServer, body: Value) -> (u16, Value) {
    send(import_request(server, &body)).await
}

/// Pending approvals, polled until there are `count` (at most 5 s).
async fn wait_pending(server: &TestServer, count: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (_, body) = send(server.host(Method::GET, "/approvals")).await;
        let items = body["items"].as_array().cloned().unwrap_or_default();
        if items.len() == count {
            return items;
        }
        assert!(Instant::now() < deadline, "pending approvals: {items:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// A workspace with something of every kind in it.
fn furnish(server: &TestServer) {
    put(
        server,
        "opencode.jsonc",
        "{\n  // keep me\n  \"$schema\": \"https://opencode.ai/config.json\",\n  \"model\": \"anthropic/claude\",\n  \"mcp\": {\"old\": {\"type\": \"local\", \"command\": [\"old-mcp\"]}},\n  \"plugin\": [\"opencode-wakatime\"],\n}\n",
    );
    put(
        server,
        ".opencode/openwork.json",
        "{\"version\":1,\"keep\":true}\n",
    );
    put(
        server,
        ".opencode/skills/old-skill/SKILL.md",
        "---\nname: old-skill\ndescription: Old\n---\nold\n",
    );
    put(
        server,
        ".opencode/commands/old-command.md",
        "---\nname: old-command\nsubtask: false\n---\n\nold\n",
    );
    put(server, ".opencode/agents/old.md", "old agent");
    put(server, ".opencode/agents/.env", "SECRET=1");
    put(server, "src/main.rs", "fn main() {}");
}

// ---------------------------------------------------------------------------------------
// Export
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn export_carries_portable_config_skills_commands_and_files() {
    let server = start().await;
    put(
        &server,
        "opencode.jsonc",
        r#"{
  // comments are fine
  "$schema": "https://opencode.ai/config.json",
  "model": "anthropic/claude-sonnet-4",
  "default_agent": "build",
  "provider": {"local": {"options": {"timeout": 5}}},
  "plugin": ["opencode-wakatime@1.2.3"],
  "permission": {"edit": "allow"},
  "mcp": {"chrome": {"type": "local", "command": ["chrome-devtools-mcp"]}},
}"#,
    );
    put(
        &server,
        ".opencode/openwork.json",
        r#"{"version":1,"foo":"bar","blueprint":{"sessions":[{"title":"T"}],"materialized":{"sessions":{"items":[]}}}}"#,
    );
    let skill = "---\nname: fm-skill\ndescription: From FM\n---\n# Skill\nbody\n";
    put(&server, ".opencode/skills/fm-skill/SKILL.md", skill);
    put(
        &server,
        ".opencode/commands/daily-report.md",
        "---\nname: daily-report\ndescription: Daily report\nagent: build\nsubtask: false\n---\n\nsummarize yesterday\n",
    );
    for (rel, text) in [
        (".opencode/tools/t.ts", "export default {}"),
        (".opencode/agents/b.md", "agent b"),
        (".opencode/agents/A.md", "agent A"),
        (".opencode/agents/sub/c.md", "agent c"),
        (".opencode/agents/.env", "SECRET=1"),
        (".opencode/agents/.env.local", "SECRET=2"),
        (".opencode/agents/.DS_Store", "litter"),
        (".opencode/plugins/node_modules/dep/index.js", "module"),
        (".opencode/other/x.md", "not portable"),
    ] {
        put(&server, rel, text);
    }

    let before = now_ms();
    let (status, body) = export(&server, "").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        keys(&body),
        [
            "workspaceId",
            "exportedAt",
            "opencode",
            "openwork",
            "skills",
            "commands",
            "files"
        ]
    );
    assert_eq!(body["workspaceId"], server.workspace_id());
    assert!(body["exportedAt"].as_u64().unwrap() >= before);
    assert_eq!(
        body["opencode"],
        json!({
            "mcp": {"chrome": {"type": "local", "command": ["chrome-devtools-mcp"]}},
            "permission": {"edit": "allow"},
            "plugin": ["opencode-wakatime@1.2.3"],
        })
    );
    assert_eq!(keys(&body["opencode"]), ["mcp", "permission", "plugin"]);
    assert_eq!(
        body["openwork"],
        json!({"version": 1, "foo": "bar", "blueprint": {"sessions": [{"title": "T"}]}})
    );
    assert_eq!(
        body["skills"],
        json!([{"name": "fm-skill", "description": "From FM", "content": skill}])
    );
    assert_eq!(
        body["commands"],
        json!([{"name": "daily-report", "description": "Daily report", "template": "summarize yesterday"}])
    );
    assert_eq!(
        body["files"],
        json!([
            {"path": ".opencode/agents/A.md", "content": "agent A"},
            {"path": ".opencode/agents/b.md", "content": "agent b"},
            {"path": ".opencode/agents/sub/c.md", "content": "agent c"},
            {"path": ".opencode/tools/t.ts", "content": "export default {}"},
        ])
    );
}

#[tokio::test]
async fn an_empty_workspace_exports_empty_sections_and_no_files() {
    let server = start().await;
    let (status, body) = export(&server, "?sensitive=auto").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        keys(&body),
        [
            "workspaceId",
            "exportedAt",
            "opencode",
            "openwork",
            "skills",
            "commands"
        ]
    );
    assert_eq!(body["opencode"], json!({}));
    assert_eq!(body["openwork"], json!({}));
    assert_eq!(body["skills"], json!([]));
    assert_eq!(body["commands"], json!([]));
}

fn sensitive_workspace(server: &TestServer) {
    put(
        server,
        "opencode.json",
        r#"{"mcp": {"remote": {"type": "remote", "url": "https://example.com/mcp",
             "headers": {"Authorization": "Bearer abcdefghijklmnopqrstuvwxyz"}}},
            "share": "manual"}"#,
    );
    put(
        server,
        ".opencode/plugins/p.js",
        "export const apiKey = \"sk-abcdefghijklmnop\"\n",
    );
    put(server, ".opencode/agents/a.md", "Keep your password safe.");
}

#[tokio::test]
async fn sensitive_config_needs_a_decision() {
    let server = start().await;
    sensitive_workspace(&server);
    for query in ["", "?sensitive=", "?sensitive=auto"] {
        let (status, body) = export(&server, query).await;
        assert_eq!(status, 409, "{query}");
        assert_eq!(
            body,
            json!({
                "code": "workspace_export_requires_decision",
                "message": "This workspace includes sensitive config. Choose whether to exclude it or include it before exporting.",
                "details": {"warnings": [
                    {"id": "mcp-config", "label": "MCP servers",
                     "detail": "Contains secret-like MCP config: Bearer."},
                    {"id": "portable-file:.opencode/plugins/p.js", "label": ".opencode/plugins/p.js",
                     "detail": "Contains secret-like file content: token, apiKey."},
                ]},
            })
        );
    }
}

#[tokio::test]
async fn include_exports_everything_and_exclude_drops_what_was_flagged() {
    let server = start().await;
    sensitive_workspace(&server);

    let (status, body) = export(&server, "?sensitive=include").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["opencode"]["mcp"]["remote"]["headers"],
        json!({"Authorization": "Bearer abcdefghijklmnopqrstuvwxyz"})
    );
    let paths: Vec<&Value> = body["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| &f["path"])
        .collect();
    assert_eq!(paths, [".opencode/agents/a.md", ".opencode/plugins/p.js"]);

    let (status, body) = export(&server, "?sensitive=exclude").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["opencode"],
        json!({"mcp": {"remote": {"type": "remote", "url": "https://example.com/mcp"}}, "share": "manual"})
    );
    assert_eq!(
        body["files"],
        json!([{"path": ".opencode/agents/a.md", "content": "Keep your password safe."}])
    );
}

#[tokio::test]
async fn a_secret_in_an_unexported_section_still_needs_a_decision() {
    let server = start().await;
    put(
        &server,
        "opencode.jsonc",
        r#"{"provider": {"openai": {"options": {"apiKey": "sk-live-1234567890abcdef"}}}, "plugin": ["p"]}"#,
    );
    let (status, body) = export(&server, "").await;
    assert_eq!(status, 409);
    assert_eq!(
        body["details"]["warnings"],
        json!([{"id": "provider-config", "label": "Provider settings",
                "detail": "Contains secret-like provider config: apiKey, token."}])
    );
    let (status, body) = export(&server, "?sensitive=exclude").await;
    assert_eq!(status, 200);
    assert_eq!(body["opencode"], json!({"plugin": ["p"]}));
}

#[tokio::test]
async fn an_unknown_sensitive_mode_is_a_bad_request() {
    let server = start().await;
    let (status, body) = export(&server, "?sensitive=%20all%20").await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"code": "invalid_workspace_export_sensitive_mode",
               "message": "Invalid workspace export sensitive mode: all"})
    );
}

#[tokio::test]
async fn any_scope_may_export_and_nothing_is_audited() {
    let server = start().await;
    let viewer = server.issue_token("viewer").await;
    let path = format!("/workspace/{}/export", server.workspace_id());
    let (status, _) = send(server.with_bearer(Method::GET, &path, &viewer)).await;
    assert_eq!(status, 200);
    let (status, _) = send(server.request(Method::GET, &path)).await;
    assert_eq!(status, 401);
    let audit = format!("/workspace/{}/audit", server.workspace_id());
    let (_, body) = send(server.client(Method::GET, &audit)).await;
    assert_eq!(body["items"], json!([]));
}

#[tokio::test]
async fn a_broken_config_is_reported_not_exported() {
    let server = start().await;
    put(&server, "opencode.jsonc", "{ \"mcp\": ");
    let (status, body) = export(&server, "").await;
    assert_eq!(status, 422);
    assert_eq!(body["code"], "invalid_jsonc");
}

// ---------------------------------------------------------------------------------------
// Import: applying
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn merge_import_sets_each_section_and_keeps_the_rest() {
    let server = start().await;
    furnish(&server);
    let (status, body) = import(
        &server,
        json!({
            "opencode": {"mcp": {}, "plugin": ["p1"], "model": "ignored"},
            "openwork": {"version": 2, "blueprint": {"materialized": {"sessions": {"items": []}}}},
            "skills": [{"name": "imp-skill", "content": "# Imported\nbody", "description": "Imported skill"}],
            "commands": [
                {"name": "c1", "content": "---\ndescription: C one\nagent: build\n---\ndo it"},
                {"name": "/c2", "template": " two ", "description": "C two", "model": "m", "subtask": true},
            ],
            "files": [{"path": ".opencode/agents/new.md", "content": "new agent"}],
        }),
    )
    .await;
    assert_eq!((status, &body), (200, &json!({"ok": true})));

    assert_eq!(
        read(&server, "opencode.jsonc").unwrap(),
        "{\n  // keep me\n  \"$schema\": \"https://opencode.ai/config.json\",\n  \"model\": \"anthropic/claude\",\n  \"mcp\": {},\n  \"plugin\": [\"p1\"],\n}\n"
    );
    assert_eq!(
        read(&server, ".opencode/openwork.json").unwrap(),
        "{\n  \"version\": 2,\n  \"keep\": true,\n  \"blueprint\": {}\n}\n"
    );
    assert_eq!(
        read(&server, ".opencode/skills/imp-skill/SKILL.md").unwrap(),
        "---\nname: imp-skill\ndescription: Imported skill\n---\n# Imported\nbody\n"
    );
    assert_eq!(
        read(&server, ".opencode/commands/c1.md").unwrap(),
        "---\nname: c1\ndescription: C one\nagent: build\nsubtask: false\n---\n\ndo it\n"
    );
    assert_eq!(
        read(&server, ".opencode/commands/c2.md").unwrap(),
        "---\nname: c2\ndescription: C two\nmodel: m\nsubtask: true\n---\n\ntwo\n"
    );
    assert_eq!(
        read(&server, ".opencode/agents/new.md").unwrap(),
        "new agent"
    );
    // Merge keeps what was there.
    assert!(read(&server, ".opencode/skills/old-skill/SKILL.md").is_some());
    assert!(read(&server, ".opencode/commands/old-command.md").is_some());
    assert_eq!(
        read(&server, ".opencode/agents/old.md").unwrap(),
        "old agent"
    );
}

#[tokio::test]
async fn replace_import_swaps_each_section_wholesale() {
    let server = start().await;
    furnish(&server);
    let (status, body) = import(
        &server,
        json!({
            "opencode": {"plugin": ["p1"], "provider": {"x": {}}},
            "openwork": {"version": 2},
            "skills": [{"name": "imp-skill", "content": "---\ndescription: Own\n---\nbody\n"}],
            "commands": [{"name": "c1", "template": "t"}],
            "files": [{"path": ".opencode/tools/t.ts", "content": "tool"}],
            "mode": {"opencode": "replace", "openwork": "replace", "skills": "replace",
                     "commands": "replace", "files": "replace"},
        }),
    )
    .await;
    assert_eq!((status, &body), (200, &json!({"ok": true})));
    assert_eq!(
        read(&server, "opencode.jsonc").unwrap(),
        "{\n  \"plugin\": [\n    \"p1\"\n  ]\n}\n"
    );
    assert_eq!(
        read(&server, ".opencode/openwork.json").unwrap(),
        "{\n  \"version\": 2\n}\n"
    );
    assert_eq!(read(&server, ".opencode/skills/old-skill/SKILL.md"), None);
    assert!(
        !server
            .workspace_path()
            .join(".opencode/skills/old-skill")
            .exists()
    );
    assert_eq!(
        read(&server, ".opencode/skills/imp-skill/SKILL.md").unwrap(),
        "---\ndescription: Own\nname: imp-skill\n---\nbody\n"
    );
    assert_eq!(read(&server, ".opencode/commands/old-command.md"), None);
    assert_eq!(
        read(&server, ".opencode/commands/c1.md").unwrap(),
        "---\nname: c1\nsubtask: false\n---\n\nt\n"
    );
    // Portable files are replaced; non-portable neighbours stay.
    assert_eq!(read(&server, ".opencode/agents/old.md"), None);
    assert_eq!(read(&server, ".opencode/tools/t.ts").unwrap(), "tool");
    assert_eq!(read(&server, ".opencode/agents/.env").unwrap(), "SECRET=1");
    assert_eq!(read(&server, "src/main.rs").unwrap(), "fn main() {}");
}

#[tokio::test]
async fn an_export_imports_into_another_workspace_unchanged() {
    let source = start().await;
    furnish(&source);
    let (status, exported) = export(&source, "?sensitive=include").await;
    assert_eq!(status, 200, "{exported}");

    let target = start().await;
    let mut body = exported.clone();
    body["mode"] = json!({"opencode": "replace", "openwork": "replace"});
    let (status, _) = import(&target, body).await;
    assert_eq!(status, 200);
    let (status, again) = export(&target, "?sensitive=include").await;
    assert_eq!(status, 200);
    for key in ["opencode", "openwork", "skills", "commands", "files"] {
        assert_eq!(again[key], exported[key], "{key}");
    }
}

#[tokio::test]
async fn a_successful_import_is_audited_and_announces_a_config_reload() {
    let server = start().await;
    let (status, _) = import(&server, json!({"opencode": {"share": "manual"}})).await;
    assert_eq!(status, 200);

    let id = server.workspace_id();
    let (_, audit) = send(server.client(Method::GET, &format!("/workspace/{id}/audit"))).await;
    let entry = &audit["items"][0];
    assert_eq!(entry["action"], "config.import");
    assert_eq!(entry["target"], "workspace");
    assert_eq!(entry["summary"], "Imported workspace config");

    let (_, events) = send(server.client(Method::GET, &format!("/workspace/{id}/events"))).await;
    let config = abs(&server, "opencode.jsonc");
    let expected =
        json!({"type": "config", "name": "opencode.jsonc", "action": "updated", "path": config});
    let items = events["items"].as_array().unwrap();
    assert!(
        items
            .iter()
            .any(|e| e["reason"] == "config" && e["trigger"] == expected),
        "{events}"
    );
}

// ---------------------------------------------------------------------------------------
// Import: refusing
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn bad_portable_files_are_refused_before_approval() {
    let server = start_manual().await;
    put(&server, "opencode.jsonc", "{}\n");
    let before = tree(server.workspace_path());
    let cases = [
        (
            json!(["x"]),
            "invalid_portable_file",
            "Portable files must be objects with path and content",
        ),
        (
            json!([{"path": "../x", "content": ""}]),
            "invalid_portable_file_path",
            "Portable file path is invalid: ../x",
        ),
        (
            json!([{"path": "src/x.js", "content": ""}]),
            "invalid_portable_file_path",
            "Portable file path is not allowed: src/x.js",
        ),
        (
            json!([{"path": ".opencode/agents/.env", "content": ""}]),
            "invalid_portable_file_path",
            "Portable file path is not allowed: .opencode/agents/.env",
        ),
        (
            json!([{"content": "x"}]),
            "invalid_portable_file_path",
            "Portable file path is required",
        ),
    ];
    for (files, code, message) in cases {
        let (status, body) =
            import(&server, json!({"opencode": {"mcp": {}}, "files": files})).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body, json!({"code": code, "message": message}));
    }
    let (_, pending) = send(server.host(Method::GET, "/approvals")).await;
    assert_eq!(pending["items"], json!([]));
    assert_eq!(tree(server.workspace_path()), before);
}

#[tokio::test]
async fn one_bad_item_fails_the_whole_import_and_changes_nothing() {
    let server = start_manual().await;
    furnish(&server);
    let before = tree(server.workspace_path());
    let everything = |skills: Value, commands: Value| {
        json!({
            "opencode": {"mcp": {}},
            "openwork": {"version": 9},
            "skills": skills,
            "commands": commands,
            "files": [{"path": ".opencode/agents/new.md", "content": "new"}],
            "mode": {"opencode": "replace", "openwork": "replace", "skills": "replace",
                     "commands": "replace", "files": "replace"},
        })
    };
    let good_skill = json!({"name": "good", "content": "x", "description": "d"});
    let good_command = json!({"name": "good", "template": "t"});
    let cases = [
        (
            everything(
                json!([good_skill, {"name": "Bad Name", "content": "x", "description": "d"}]),
                json!([good_command]),
            ),
            400,
            "invalid_skill_name",
            "Skill name must be kebab-case (1-64 chars)",
        ),
        (
            everything(
                json!([good_skill, {"name": "no-description", "content": "x"}]),
                json!([good_command]),
            ),
            422,
            "invalid_description",
            "Description must be 1-1024 characters",
        ),
        (
            everything(
                json!([good_skill]),
                json!([good_command, {"content": "---\nagent: build\n---\nno name"}]),
            ),
            400,
            "invalid_command",
            "Command name is required",
        ),
        (
            everything(json!([good_skill]), json!([good_command, {"name": "x"}])),
            400,
            "invalid_command_template",
            "Command template is required",
        ),
    ];
    for (body, status, code, message) in cases {
        let (got, reply) = import(&server, body).await;
        assert_eq!(
            (got, &reply),
            (status, &json!({"code": code, "message": message}))
        );
        assert_eq!(tree(server.workspace_path()), before, "{code}");
    }
    // D4: nobody was asked to approve a request that could not succeed.
    let (_, pending) = send(server.host(Method::GET, "/approvals")).await;
    assert_eq!(pending["items"], json!([]));
}

#[tokio::test]
async fn a_write_failing_midway_is_rolled_back() {
    let server = start().await;
    furnish(&server);
    // A file where the import needs a folder makes the last write fail.
    put(&server, ".opencode/tools", "not a folder");
    let before = tree(server.workspace_path());
    let (status, body) = import(
        &server,
        json!({
            "opencode": {"mcp": {}},
            "openwork": {"version": 9},
            "skills": [{"name": "good", "content": "x", "description": "d"}],
            "commands": [{"name": "good", "template": "t"}],
            "files": [{"path": ".opencode/tools/t.ts", "content": "tool"}],
            "mode": {"opencode": "replace", "skills": "replace", "commands": "replace", "files": "replace"},
        }),
    )
    .await;
    assert_eq!(status, 500, "{body}");
    assert_eq!(body["code"], "internal_error");
    assert_eq!(tree(server.workspace_path()), before);
    let id = server.workspace_id();
    let (_, audit) = send(server.client(Method::GET, &format!("/workspace/{id}/audit"))).await;
    assert_eq!(audit["items"], json!([]));
}

#[tokio::test]
async fn a_denied_import_changes_nothing() {
    let server = start_manual().await;
    furnish(&server);
    let before = tree(server.workspace_path());
    let body = json!({
        "opencode": {"mcp": {}},
        "skills": [{"name": "good", "content": "x", "description": "d"}],
        "files": [{"path": ".opencode/agents/new.md", "content": "new"}],
        "mode": {"skills": "replace", "files": "replace"},
    });
    let request = import_request(&server, &body);
    let task = tokio::spawn(send(request));
    let pending = wait_pending(&server, 1).await;
    let item = &pending[0];
    assert_eq!(item["action"], "config.import");
    assert_eq!(item["summary"], "Import workspace config");
    assert_eq!(
        item["paths"],
        json!([
            abs(&server, "opencode.jsonc"),
            abs(&server, ".opencode/openwork.json"),
            abs(&server, ".opencode/agents/new.md"),
        ])
    );
    let id = item["id"].as_str().unwrap();
    let (status, _) = send(
        server
            .host(Method::POST, &format!("/approvals/{id}"))
            .json(&json!({"reply": "deny"})),
    )
    .await;
    assert_eq!(status, 200);
    let (status, reply) = task.await.unwrap();
    assert_eq!(status, 403);
    assert_eq!(
        reply,
        json!({"code": "write_denied", "message": "Write request denied",
               "details": {"requestId": id, "reason": "denied"}})
    );
    assert_eq!(tree(server.workspace_path()), before);
}

#[tokio::test]
async fn read_only_servers_and_viewers_cannot_import() {
    let server = start_with(Options {
        cli: CliOverrides {
            read_only: Some(true),
            ..CliOverrides::default()
        },
        ..Options::default()
    })
    .await;
    let (status, body) = import(&server, json!({"opencode": {"mcp": {}}})).await;
    assert_eq!(status, 403);
    assert_eq!(body["code"], "read_only");

    let server = start().await;
    let viewer = server.issue_token("viewer").await;
    let path = format!("/workspace/{}/import", server.workspace_id());
    let (status, body) = send(
        server
            .with_bearer(Method::POST, &path, &viewer)
            .json(&json!({"opencode": {"mcp": {}}})),
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(
        body,
        json!({"code": "forbidden", "message": "Insufficient token scope",
               "details": {"required": "collaborator", "scope": "viewer"}})
    );
    assert_eq!(read(&server, "opencode.jsonc"), None);
}

#[tokio::test]
async fn a_body_that_is_not_an_object_is_invalid_json() {
    let server = start().await;
    let path = format!("/workspace/{}/import", server.workspace_id());
    let (status, body) = send(server.client(Method::POST, &path).body("[]")).await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"code": "invalid_json", "message": "Invalid JSON body"})
    );
}
