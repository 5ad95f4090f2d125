//! Workspace management host routes (contract Appendix A): `POST /workspaces/local`,
//! `PATCH /workspaces/:id/display-name`, `POST /workspaces/:id/activate`,
//! `DELETE /workspaces/:id`.

use openwork_server_core::CliOverrides;
use openwork_server_tests::reqwest::Method;
use openwork_server_tests::{
    Options, TestServer, Value, error_body, json, keys, read_only, send, sha256_hex,
};
use std::path::{Path, PathBuf};

/// The id the server derives for a local folder.
fn id_for(path: &Path) -> String {
    format!("ws_{}", &sha256_hex(&path.to_string_lossy())[..12])
}

fn path_str(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// Every file below `root`, relative, sorted.
fn tree(root: &Path) -> Vec<String> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, root, out);
            } else {
                out.push(
                    path.strip_prefix(root)
                        .unwrap()
                        .to_string_lossy()
                        .into_owned(),
                );
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

/// The audit lines written for a workspace id, oldest first.
fn audit_lines(server: &TestServer, id: &str) -> Vec<Value> {
    let path = server
        .home
        .path()
        .join(format!(".openwork/openwork-server/audit/{id}.jsonl"));
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

async fn create(server: &TestServer, body: Value) -> (u16, Value) {
    send(server.host(Method::POST, "/workspaces/local").json(&body)).await
}

fn config_path(server: &TestServer) -> PathBuf {
    server.home.path().join(".config/openwork/server.json")
}

/// A server whose `server.json` is exactly `text` (`@WS@` stands for the workspace folder);
/// its workspaces come from the file.
async fn start_with_server_json(text: &str) -> TestServer {
    let home = tempfile::tempdir().unwrap();
    let workspace = tempfile::tempdir().unwrap();
    let dir = home.path().join(".config/openwork");
    std::fs::create_dir_all(&dir).unwrap();
    let text = text.replace("@WS@", &path_str(workspace.path()));
    std::fs::write(dir.join("server.json"), text).unwrap();
    let options = Options {
        no_workspace: true,
        ..Options::default()
    };
    TestServer::start_in(options, home, workspace).await
}

#[tokio::test]
async fn creating_a_local_workspace_puts_it_first_with_starter_files() {
    let server = TestServer::start().await;
    let parent = tempfile::tempdir().unwrap();
    let folder = parent.path().join("Finance");
    let id = id_for(&folder);

    let (status, body) = create(&server, json!({ "folderPath": path_str(&folder) })).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(keys(&body), ["activeId", "workspaces", "persisted"]);
    assert_eq!(body["activeId"], id);
    assert_eq!(body["persisted"], false);
    let workspaces = body["workspaces"].as_array().unwrap();
    assert_eq!(workspaces.len(), 2);
    assert_eq!(
        workspaces[0],
        json!({
            "id": id,
            "name": "Finance",
            "path": path_str(&folder),
            "preset": "starter",
            "workspaceType": "local",
            "opencode": { "directory": path_str(&folder) },
        })
    );
    assert_eq!(workspaces[1]["id"], server.workspace_id());

    assert_eq!(
        tree(&folder),
        [
            ".opencode/agents/openwork.md",
            ".opencode/commands/get-started.md",
            ".opencode/commands/learn-files.md",
            ".opencode/commands/learn-plugins.md",
            ".opencode/commands/learn-skills.md",
            ".opencode/openwork.json",
            ".opencode/skills/get-started/SKILL.md",
            ".opencode/skills/workspace-guide/SKILL.md",
            "opencode.jsonc",
        ]
    );
    let command =
        std::fs::read_to_string(folder.join(".opencode/commands/learn-files.md")).unwrap();
    assert!(
        command.starts_with("---\nname: learn-files\ndescription: "),
        "{command}"
    );
    assert!(command.contains("\nsubtask: false\n---\n\n"), "{command}");
    let skill =
        std::fs::read_to_string(folder.join(".opencode/skills/workspace-guide/SKILL.md")).unwrap();
    assert!(
        skill.starts_with("---\nname: workspace-guide\ndescription: "),
        "{skill}"
    );

    // The project config is plain JSON with the starter defaults.
    let text = std::fs::read_to_string(folder.join("opencode.jsonc")).unwrap();
    let expected = json!({
        "$schema": "https://opencode.ai/config.json",
        "default_agent": "openwork",
        "plugin": ["opencode-scheduler"],
        "mcp": { "control-chrome": { "type": "local", "command": ["chrome-devtools-mcp"] } },
    });
    assert_eq!(
        text,
        format!("{}\n", serde_json::to_string_pretty(&expected).unwrap())
    );

    // The new workspace answers at once, on every route.
    let (status, list) = send(server.client(Method::GET, "/workspaces")).await;
    assert_eq!(status, 200);
    assert_eq!(list["activeId"], id);
    assert_eq!(list["items"][0]["path"], path_str(&folder));
    let (status, config) =
        send(server.client(Method::GET, &format!("/workspace/{id}/config"))).await;
    assert_eq!(status, 200, "{config}");
    assert_eq!(config["opencode"], expected);
    assert_eq!(config["openwork"]["version"], 1);
    assert_eq!(config["openwork"]["workspace"]["name"], "Finance");
    assert_eq!(config["openwork"]["workspace"]["preset"], "starter");
    assert!(config["openwork"]["workspace"]["createdAt"].is_u64());
    assert_eq!(
        config["openwork"]["authorizedRoots"],
        json!([path_str(&folder)])
    );
    assert_eq!(config["openwork"]["reload"], Value::Null);
    assert!(config["openwork"]["blueprint"]["emptyState"].is_object());
    let (_, status_body) = send(server.client(Method::GET, "/status")).await;
    assert!(
        status_body["authorizedRoots"]
            .as_array()
            .unwrap()
            .contains(&json!(path_str(&folder)))
    );

    // No server.json existed, so none was written.
    assert!(!config_path(&server).exists());

    let lines = audit_lines(&server, &id);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["action"], "workspace.create");
    assert_eq!(lines[0]["target"], path_str(&folder));
    assert_eq!(lines[0]["summary"], "Created workspace Finance");
    assert_eq!(lines[0]["actor"]["type"], "host");
}

#[tokio::test]
async fn presets_decide_the_starter_set() {
    let server = TestServer::start().await;
    let parent = tempfile::tempdir().unwrap();

    let automation = parent.path().join("auto");
    let (status, body) = create(
        &server,
        json!({ "folderPath": path_str(&automation), "preset": " automation ", "name": " Jobs " }),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["workspaces"][0]["preset"], "automation");
    assert_eq!(body["workspaces"][0]["name"], "Jobs");
    assert_eq!(
        tree(&automation),
        [
            ".opencode/agents/openwork.md",
            ".opencode/commands/learn-files.md",
            ".opencode/commands/learn-plugins.md",
            ".opencode/commands/learn-skills.md",
            ".opencode/openwork.json",
            ".opencode/skills/workspace-guide/SKILL.md",
            "opencode.jsonc",
        ]
    );
    let config: Value =
        serde_json::from_slice(&std::fs::read(automation.join("opencode.jsonc")).unwrap()).unwrap();
    assert_eq!(
        config,
        json!({
            "$schema": "https://opencode.ai/config.json",
            "default_agent": "openwork",
            "plugin": ["opencode-scheduler"],
        })
    );

    let minimal = parent.path().join("plain");
    let (status, _) = create(
        &server,
        json!({ "folderPath": path_str(&minimal), "preset": "minimal" }),
    )
    .await;
    assert_eq!(status, 201);
    let config: Value =
        serde_json::from_slice(&std::fs::read(minimal.join("opencode.jsonc")).unwrap()).unwrap();
    assert_eq!(
        config,
        json!({ "$schema": "https://opencode.ai/config.json", "default_agent": "openwork" })
    );
    let openwork: Value =
        serde_json::from_slice(&std::fs::read(minimal.join(".opencode/openwork.json")).unwrap())
            .unwrap();
    assert_eq!(openwork["workspace"]["preset"], "minimal");
}

#[tokio::test]
async fn existing_files_are_kept() {
    let server = TestServer::start().await;
    let folder = tempfile::tempdir().unwrap();
    let root = folder.path();
    std::fs::create_dir_all(root.join(".opencode/skills/workspace-guide")).unwrap();
    std::fs::write(
        root.join(".opencode/skills/workspace-guide/SKILL.md"),
        "mine",
    )
    .unwrap();
    std::fs::write(root.join(".opencode/openwork.json"), "{\"version\":7}").unwrap();
    std::fs::write(
        root.join("opencode.json"),
        "{\n  // mine\n  \"default_agent\": \"build\",\n  \"plugin\": \"a\",\n}\n",
    )
    .unwrap();

    let (status, body) = create(&server, json!({ "folderPath": path_str(root) })).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        std::fs::read(root.join(".opencode/skills/workspace-guide/SKILL.md")).unwrap(),
        b"mine"
    );
    assert_eq!(
        std::fs::read(root.join(".opencode/openwork.json")).unwrap(),
        b"{\"version\":7}"
    );
    // The existing opencode.json is the one edited; no opencode.jsonc appears.
    assert!(!root.join("opencode.jsonc").exists());
    let config: Value =
        serde_json::from_slice(&std::fs::read(root.join("opencode.json")).unwrap()).unwrap();
    assert_eq!(config["default_agent"], "build");
    assert_eq!(config["plugin"], json!(["a", "opencode-scheduler"]));
    assert_eq!(config["mcp"]["control-chrome"]["type"], "local");

    // A config that already has every default is not rewritten (its comments stay).
    let complete = tempfile::tempdir().unwrap();
    let text = "// keep\n{\"default_agent\": \"build\",}\n";
    std::fs::write(complete.path().join("opencode.jsonc"), text).unwrap();
    let (status, _) = create(
        &server,
        json!({ "folderPath": path_str(complete.path()), "preset": "minimal" }),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(
        std::fs::read_to_string(complete.path().join("opencode.jsonc")).unwrap(),
        text
    );
}

#[tokio::test]
async fn an_unreadable_config_refuses_the_request_and_writes_nothing() {
    let server = TestServer::start().await;
    let folder = tempfile::tempdir().unwrap();
    std::fs::write(folder.path().join("opencode.jsonc"), "{ \"a\": }").unwrap();

    let (status, body) = create(&server, json!({ "folderPath": path_str(folder.path()) })).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["code"], "invalid_jsonc");
    assert_eq!(tree(folder.path()), ["opencode.jsonc"]);
    assert_eq!(
        std::fs::read(folder.path().join("opencode.jsonc")).unwrap(),
        b"{ \"a\": }"
    );
    let (_, list) = send(server.client(Method::GET, "/workspaces")).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn create_validates_its_body() {
    let server = TestServer::start().await;
    let required = error_body("invalid_payload", "folderPath is required");
    for body in [
        json!({}),
        json!({ "folderPath": "   " }),
        json!({ "folderPath": 7 }),
    ] {
        assert_eq!(create(&server, body).await, (400, required.clone()));
    }
    let (status, body) = send(
        server
            .host(Method::POST, "/workspaces/local")
            .body("not json"),
    )
    .await;
    assert_eq!(
        (status, body),
        (400, error_body("invalid_json", "Invalid JSON body"))
    );

    let file = tempfile::NamedTempFile::new().unwrap();
    let (status, body) = create(&server, json!({ "folderPath": path_str(file.path()) })).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["code"], "invalid_payload");
}

#[tokio::test]
async fn creating_an_existing_workspace_moves_it_to_the_front() {
    let server = TestServer::start().await;
    let other = tempfile::tempdir().unwrap();
    let (status, _) = create(&server, json!({ "folderPath": path_str(other.path()) })).await;
    assert_eq!(status, 201);

    // The default workspace again, with a trailing slash: same id, no duplicate.
    let again = format!("{}/", path_str(server.workspace_path()));
    let (status, body) = create(&server, json!({ "folderPath": again })).await;
    assert_eq!(status, 201, "{body}");
    let ids: Vec<&str> = body["workspaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [server.workspace_id(), id_for(other.path())]);
    assert_eq!(body["activeId"], server.workspace_id());
    let (_, status_body) = send(server.client(Method::GET, "/status")).await;
    let roots = status_body["authorizedRoots"].as_array().unwrap();
    assert_eq!(roots.len(), 2, "{roots:?}");
}

#[tokio::test]
async fn new_workspaces_inherit_the_server_opencode_connection() {
    let server = TestServer::start_with(Options {
        cli: CliOverrides {
            opencode_base_url: Some("http://127.0.0.1:4096".into()),
            opencode_username: Some("opencode".into()),
            opencode_password: Some("pw".into()),
            ..CliOverrides::default()
        },
        ..Options::default()
    })
    .await;
    let folder = tempfile::tempdir().unwrap();
    let (status, body) = create(&server, json!({ "folderPath": path_str(folder.path()) })).await;
    assert_eq!(status, 201);
    assert_eq!(body["workspaces"][0]["baseUrl"], "http://127.0.0.1:4096");
    assert_eq!(
        body["workspaces"][0]["opencode"],
        json!({
            "baseUrl": "http://127.0.0.1:4096",
            "directory": path_str(folder.path()),
            "username": "opencode",
            "password": "pw",
        })
    );
}

#[tokio::test]
async fn host_routes_refuse_client_and_viewer_tokens() {
    let server = TestServer::start().await;
    let id = server.workspace_id();
    let viewer = server.issue_token("viewer").await;
    let unauthorized = error_body("unauthorized", "Invalid host token");
    let routes = [
        (Method::POST, "/workspaces/local".to_owned()),
        (Method::PATCH, format!("/workspaces/{id}/display-name")),
        (Method::POST, format!("/workspaces/{id}/activate")),
        (Method::DELETE, format!("/workspaces/{id}")),
    ];
    for (method, path) in &routes {
        let body = json!({ "folderPath": "/tmp/x", "displayName": "x" });
        let (status, reply) = send(server.client(method.clone(), path).json(&body)).await;
        assert_eq!(
            (status, reply),
            (401, unauthorized.clone()),
            "{method} {path}"
        );
        let (status, _) = send(
            server
                .with_bearer(method.clone(), path, &viewer)
                .json(&body),
        )
        .await;
        assert_eq!(status, 401, "{method} {path}");
        let (status, _) = send(server.request(method.clone(), path)).await;
        assert_eq!(status, 401, "{method} {path}");
    }
    let (_, list) = send(server.client(Method::GET, "/workspaces")).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);

    // An owner bearer is the host.
    let owner = server.issue_token("owner").await;
    let (status, body) =
        send(server.with_bearer(Method::POST, &format!("/workspaces/{id}/activate"), &owner)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(audit_lines(&server, &id)[0]["actor"]["scope"], "owner");
}

#[tokio::test]
async fn read_only_mode_refuses_changes_but_allows_activation() {
    let server = TestServer::start_with(read_only()).await;
    let id = server.workspace_id();
    let folder = tempfile::tempdir().unwrap();
    let target = folder.path().join("new");
    let (status, body) = create(&server, json!({ "folderPath": path_str(&target) })).await;
    assert_eq!((status, body["code"].clone()), (403, json!("read_only")));
    // Refused before the body is read.
    let (status, body) = send(server.host(Method::POST, "/workspaces/local").body("x")).await;
    assert_eq!((status, body["code"].clone()), (403, json!("read_only")));
    let (status, body) = send(
        server
            .host(Method::PATCH, &format!("/workspaces/{id}/display-name"))
            .json(&json!({ "displayName": "x" })),
    )
    .await;
    assert_eq!((status, body["code"].clone()), (403, json!("read_only")));
    let (status, body) = send(server.host(Method::DELETE, &format!("/workspaces/{id}"))).await;
    assert_eq!((status, body["code"].clone()), (403, json!("read_only")));
    assert!(!target.exists());

    let (status, body) =
        send(server.host(Method::POST, &format!("/workspaces/{id}/activate"))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["activeId"], id);
    let (_, list) = send(server.client(Method::GET, "/workspaces")).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn display_names_are_set_and_cleared() {
    let server = TestServer::start().await;
    let id = server.workspace_id();
    let path = format!("/workspaces/{id}/display-name");
    let original = server
        .workspace_path()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();

    let (status, body) = send(
        server
            .host(Method::PATCH, &path)
            .json(&json!({ "displayName": "  Finance " })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(keys(&body), ["activeId", "workspaces", "persisted"]);
    assert_eq!(body["activeId"], id);
    assert_eq!(body["persisted"], false);
    assert_eq!(body["workspaces"][0]["name"], "Finance");
    assert_eq!(body["workspaces"][0]["displayName"], "Finance");
    let (_, list) = send(server.client(Method::GET, "/workspaces")).await;
    assert_eq!(list["items"][0]["displayName"], "Finance");

    // Empty clears the display name; the name stays what it became.
    let (status, body) = send(
        server
            .host(Method::PATCH, &path)
            .json(&json!({ "displayName": "" })),
    )
    .await;
    assert_eq!(status, 200);
    assert!(body["workspaces"][0].get("displayName").is_none());
    assert_eq!(body["workspaces"][0]["name"], "Finance");
    assert_ne!(original, "Finance");

    let lines = audit_lines(&server, &id);
    let summaries: Vec<&str> = lines
        .iter()
        .map(|l| l["summary"].as_str().unwrap())
        .collect();
    assert_eq!(
        summaries,
        [
            "Updated workspace display name to Finance",
            "Updated workspace display name"
        ]
    );
    assert!(lines.iter().all(|l| l["action"] == "workspace.rename"));
    assert_eq!(lines[0]["target"], path_str(server.workspace_path()));

    // The workspace is looked up before the body is read.
    let (status, body) = send(
        server
            .host(Method::PATCH, "/workspaces/ws_unknown/display-name")
            .body("not json"),
    )
    .await;
    assert_eq!(
        (status, body),
        (
            404,
            error_body("workspace_not_found", "Workspace not found")
        )
    );
    let (status, body) = send(server.host(Method::PATCH, &path).body("not json")).await;
    assert_eq!(
        (status, body),
        (400, error_body("invalid_json", "Invalid JSON body"))
    );
}

#[tokio::test]
async fn activation_moves_a_workspace_to_the_front_without_a_body() {
    let server = TestServer::start().await;
    let first = server.workspace_id();
    let other = tempfile::tempdir().unwrap();
    let (status, _) = create(&server, json!({ "folderPath": path_str(other.path()) })).await;
    assert_eq!(status, 201);

    let (status, body) =
        send(server.host(Method::POST, &format!("/workspaces/{first}/activate"))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(keys(&body), ["activeId", "workspace", "persisted"]);
    assert_eq!(body["activeId"], first);
    assert_eq!(body["workspace"]["id"], first);
    assert_eq!(body["workspace"]["path"], path_str(server.workspace_path()));
    assert_eq!(body["persisted"], false);
    let (_, list) = send(server.client(Method::GET, "/workspaces")).await;
    assert_eq!(list["activeId"], first);
    assert_eq!(list["items"][1]["id"], id_for(other.path()));

    let lines = audit_lines(&server, &first);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["action"], "workspace.activate");
    assert_eq!(lines[0]["target"], "workspace");
    assert_eq!(lines[0]["summary"], "Switched active workspace");

    let (status, body) = send(server.host(Method::POST, "/workspaces/ws_nope/activate")).await;
    assert_eq!(
        (status, body),
        (
            404,
            error_body("workspace_not_found", "Workspace not found")
        )
    );
}

#[tokio::test]
async fn deleting_forgets_the_workspace_but_keeps_its_files() {
    let server = TestServer::start().await;
    let parent = tempfile::tempdir().unwrap();
    let folder = parent.path().join("gone");
    let (status, _) = create(&server, json!({ "folderPath": path_str(&folder) })).await;
    assert_eq!(status, 201);
    let id = id_for(&folder);
    let files = tree(&folder);

    let (status, body) = send(server.host(Method::DELETE, &format!("/workspaces/{id}"))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        keys(&body),
        [
            "ok",
            "deleted",
            "persisted",
            "activeId",
            "items",
            "workspaces"
        ]
    );
    assert_eq!(body["ok"], true);
    assert_eq!(body["deleted"], true);
    assert_eq!(body["persisted"], false);
    assert_eq!(body["activeId"], server.workspace_id());
    assert_eq!(body["items"], body["workspaces"]);
    assert_eq!(body["items"].as_array().unwrap().len(), 1);
    assert_eq!(tree(&folder), files);

    let (status, body) = send(server.client(Method::GET, &format!("/workspace/{id}/config"))).await;
    assert_eq!(
        (status, body),
        (
            404,
            error_body("workspace_not_found", "Workspace not found")
        )
    );
    let (status, _) = send(server.host(Method::DELETE, &format!("/workspaces/{id}"))).await;
    assert_eq!(status, 404);
    let (_, status_body) = send(server.client(Method::GET, "/status")).await;
    assert_eq!(
        status_body["authorizedRoots"],
        json!([path_str(server.workspace_path())])
    );

    let lines = audit_lines(&server, &id);
    let last = lines.last().unwrap();
    assert_eq!(last["action"], "workspace.delete");
    assert_eq!(last["target"], "workspace");
    assert_eq!(last["summary"], "Deleted workspace from OpenWork server");

    // The last workspace can go too.
    let (status, body) = send(server.host(
        Method::DELETE,
        &format!("/workspaces/{}", server.workspace_id()),
    ))
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["activeId"], Value::Null);
    assert_eq!(body["workspaces"], json!([]));
}

#[tokio::test]
async fn changes_are_persisted_to_an_existing_server_json_only() {
    // Unknown keys, their order and values survive; only the two keys are replaced.
    let original = r#"{"zeta":{"b":[1,2.5,"x"],"a":null},"workspaces":[{"path":"@WS@","sandboxRunId":"r1"}],"approval":{"mode":"auto"},"authorizedRoots":["@WS@/.."],"custom":"ünï"}"#;
    let server = start_with_server_json(original).await;
    let first = server.workspace_id();
    let ws = path_str(server.workspace_path());
    let broad_root = path_str(server.workspace_path().parent().unwrap());
    let folder = tempfile::tempdir().unwrap();
    let new_path = path_str(folder.path());
    let new_id = id_for(folder.path());

    let (status, body) = create(&server, json!({ "folderPath": new_path, "name": "New" })).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["persisted"], true);

    let text = std::fs::read_to_string(config_path(&server)).unwrap();
    let expected = json!({
        "zeta": { "b": [1, 2.5, "x"], "a": null },
        "workspaces": [
            { "id": new_id, "path": new_path, "name": "New", "preset": "starter", "workspaceType": "local" },
            { "id": first, "path": ws, "name": server.workspace_path().file_name().unwrap().to_string_lossy(),
              "preset": "starter", "workspaceType": "local", "sandboxRunId": "r1" },
        ],
        "approval": { "mode": "auto" },
        "authorizedRoots": [broad_root, new_path],
        "custom": "ünï",
    });
    assert_eq!(
        text,
        format!("{}\n", serde_json::to_string_pretty(&expected).unwrap())
    );
    let names: Vec<String> = std::fs::read_dir(config_path(&server).parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["server.json"], "no temp file is left behind");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(config_path(&server))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // Activation is memory only.
    let before = std::fs::read(config_path(&server)).unwrap();
    let (status, body) =
        send(server.host(Method::POST, &format!("/workspaces/{first}/activate"))).await;
    assert_eq!((status, body["persisted"].clone()), (200, json!(false)));
    assert_eq!(std::fs::read(config_path(&server)).unwrap(), before);

    // Rename and delete persist; delete removes only the exact root.
    let (status, body) = send(
        server
            .host(Method::PATCH, &format!("/workspaces/{new_id}/display-name"))
            .json(&json!({ "displayName": "Renamed" })),
    )
    .await;
    assert_eq!((status, body["persisted"].clone()), (200, json!(true)));
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(config_path(&server)).unwrap()).unwrap();
    assert_eq!(
        saved["workspaces"][0]["id"], first,
        "activation order is live"
    );
    assert_eq!(saved["workspaces"][1]["name"], "Renamed");
    assert_eq!(saved["workspaces"][1]["displayName"], "Renamed");

    let (status, body) = send(server.host(Method::DELETE, &format!("/workspaces/{new_id}"))).await;
    assert_eq!((status, body["persisted"].clone()), (200, json!(true)));
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(config_path(&server)).unwrap()).unwrap();
    assert_eq!(saved["authorizedRoots"], json!([broad_root]));
    assert_eq!(saved["workspaces"].as_array().unwrap().len(), 1);
    assert_eq!(saved["custom"], "ünï");
    let keys_now: Vec<&str> = keys(&saved);
    assert_eq!(
        keys_now,
        [
            "zeta",
            "workspaces",
            "approval",
            "authorizedRoots",
            "custom"
        ]
    );

    // The persisted file starts the same workspaces after a restart.
    let (home, workspace) = server.stop().await;
    let options = Options {
        no_workspace: true,
        ..Options::default()
    };
    let restarted = TestServer::start_in(options, home, workspace).await;
    let (_, list) = send(restarted.client(Method::GET, "/workspaces")).await;
    assert_eq!(list["activeId"], first);
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_broken_server_json_refuses_changes_and_stays_as_it_is() {
    let server = start_with_server_json(r#"{"workspaces":[{"path":"@WS@"}]}"#).await;
    std::fs::write(config_path(&server), "{broken").unwrap();
    let folder = tempfile::tempdir().unwrap();
    let target = folder.path().join("new");

    let (status, body) = create(&server, json!({ "folderPath": path_str(&target) })).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["code"], "invalid_json");
    assert_eq!(body["message"], "Failed to parse server config");
    assert!(!target.exists());
    let (status, _) = send(server.host(
        Method::DELETE,
        &format!("/workspaces/{}", server.workspace_id()),
    ))
    .await;
    assert_eq!(status, 422);
    assert_eq!(std::fs::read(config_path(&server)).unwrap(), b"{broken");
    let (_, list) = send(server.client(Method::GET, "/workspaces")).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn concurrent_creates_lose_no_workspace() {
    let server = start_with_server_json(r#"{"workspaces":[{"path":"@WS@"}]}"#).await;
    let parent = tempfile::tempdir().unwrap();
    let requests = (0..6).map(|i| {
        let folder = path_str(&parent.path().join(format!("ws{i}")));
        create(&server, json!({ "folderPath": folder }))
    });
    for (status, body) in futures_util::future::join_all(requests).await {
        assert_eq!(status, 201, "{body}");
    }
    let (_, list) = send(server.client(Method::GET, "/workspaces")).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 7);
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(config_path(&server)).unwrap()).unwrap();
    assert_eq!(saved["workspaces"].as_array().unwrap().len(), 7);
    assert_eq!(saved["authorizedRoots"].as_array().unwrap().len(), 7);
}
