//! Skills (contract §4.9): discovery from the workspace up to its git root and the user's
//! global folders, reading one skill, the exact bytes of an upserted `SKILL.md`, deletion,
//! validation before any approval prompt (D4), approvals, audit lines and reload events.

use openwork_server_core::CliOverrides;
use openwork_server_tests::reqwest::Method;
use openwork_server_tests::{Options, TestServer, Value, json, manual_approval, read_text, send};
use std::path::{Path, PathBuf};

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn skill_text(description: &str) -> String {
    format!("---\ndescription: {description}\n---\n# Body\n")
}

/// A server whose workspace is a git root, so discovery never looks above it.
async fn start_with(mut options: Options) -> TestServer {
    let home = tempfile::tempdir().unwrap();
    let workspace = tempfile::tempdir().unwrap();
    std::fs::create_dir(workspace.path().join(".git")).unwrap();
    if options.cli.workspaces.is_empty() {
        options
            .cli
            .workspaces
            .push(workspace.path().to_string_lossy().into_owned());
    }
    TestServer::start_in(options, home, workspace).await
}

async fn start() -> TestServer {
    start_with(Options::default()).await
}

fn skills_path(server: &TestServer) -> String {
    format!("/workspace/{}/skills", server.workspace_id())
}

fn project_skill(server: &TestServer, name: &str) -> PathBuf {
    server
        .workspace_path()
        .join(".opencode/skills")
        .join(name)
        .join("SKILL.md")
}

async fn list(server: &TestServer, query: &str) -> Vec<Value> {
    let (status, body) =
        send(server.client(Method::GET, &format!("{}{query}", skills_path(server)))).await;
    assert_eq!(status, 200, "{body}");
    body["items"].as_array().unwrap().clone()
}

fn names(items: &[Value]) -> Vec<String> {
    let mut names: Vec<String> = items
        .iter()
        .map(|i| i["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

fn find<'a>(items: &'a [Value], name: &str) -> &'a Value {
    items
        .iter()
        .find(|i| i["name"] == name)
        .unwrap_or_else(|| panic!("{name} listed in {items:?}"))
}

async fn upsert(server: &TestServer, body: Value) -> (u16, Value) {
    send(
        server
            .client(Method::POST, &skills_path(server))
            .json(&body),
    )
    .await
}

async fn events(server: &TestServer) -> Vec<Value> {
    let (_, body) = send(server.client(
        Method::GET,
        &format!("/workspace/{}/events", server.workspace_id()),
    ))
    .await;
    body["items"].as_array().unwrap().clone()
}

// ---------------------------------------------------------------------------------------
// Discovery
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn discovery_walks_up_to_the_git_root_with_claude_and_domain_folders() {
    let top = tempfile::tempdir().unwrap();
    let repo = top.path().join("repo");
    let ws = repo.join("apps/ws");
    std::fs::create_dir_all(repo.join(".git")).unwrap();
    std::fs::create_dir_all(&ws).unwrap();
    write(
        &ws.join(".opencode/skills/deploy/SKILL.md"),
        &skill_text("Deploys the app"),
    );
    write(
        &ws.join(".claude/skills/ops/rollback/SKILL.md"),
        &skill_text("Rolls back"),
    );
    write(
        &repo.join("apps/.opencode/skills/middle/SKILL.md"),
        &skill_text("From the middle"),
    );
    // The same name further up loses to the first one found.
    write(
        &repo.join(".opencode/skills/deploy/SKILL.md"),
        &skill_text("Repo deploy"),
    );
    write(
        &repo.join(".claude/skills/repo-wide/SKILL.md"),
        &skill_text("Repo wide"),
    );
    // Above the git root: never scanned.
    write(
        &top.path().join(".opencode/skills/outside/SKILL.md"),
        &skill_text("Outside"),
    );
    // Not acceptable: each is skipped, the others still list.
    write(
        &ws.join(".opencode/skills/Upper/SKILL.md"),
        &skill_text("Upper case"),
    );
    write(
        &ws.join(".opencode/skills/mismatch/SKILL.md"),
        "---\nname: other\ndescription: d\n---\n",
    );
    write(
        &ws.join(".opencode/skills/no-description/SKILL.md"),
        "---\nname: no-description\n---\n",
    );
    write(
        &ws.join(".opencode/skills/broken-yaml/SKILL.md"),
        "---\ndescription: [oops\n---\n",
    );
    write(
        &ws.join(".opencode/skills/too-long/SKILL.md"),
        &skill_text(&"x".repeat(1025)),
    );
    write(
        &ws.join(".opencode/skills/loose-file.md"),
        "not a skill folder",
    );

    let server = start_with(Options {
        cli: CliOverrides {
            workspaces: vec![ws.to_string_lossy().into_owned()],
            ..CliOverrides::default()
        },
        ..Options::default()
    })
    .await;
    let items = list(&server, "").await;
    assert_eq!(names(&items), ["deploy", "middle", "repo-wide", "rollback"]);
    let deploy = find(&items, "deploy");
    assert_eq!(
        *deploy,
        json!({
            "name": "deploy",
            "description": "Deploys the app",
            "path": ws.join(".opencode/skills/deploy/SKILL.md").to_str().unwrap(),
            "scope": "project",
        })
    );
    assert_eq!(
        find(&items, "rollback")["path"],
        ws.join(".claude/skills/ops/rollback/SKILL.md")
            .to_str()
            .unwrap()
    );
    assert_eq!(find(&items, "repo-wide")["scope"], "project");
}

#[tokio::test]
async fn triggers_come_from_trigger_when_or_the_when_to_use_section() {
    let server = start().await;
    let dir = server.workspace_path().join(".opencode/skills");
    write(
        &dir.join("a/SKILL.md"),
        "---\ndescription: d\ntrigger: On deploy\nwhen: ignored\n---\n",
    );
    write(
        &dir.join("b/SKILL.md"),
        "---\ndescription: d\nwhen: ' After a release '\n---\n",
    );
    write(
        &dir.join("c/SKILL.md"),
        "---\ndescription: d\n---\n# C\n\nIntro line\n\n## When to Use\n\n1. When tests fail\n2. Other\n",
    );
    write(
        &dir.join("d/SKILL.md"),
        "---\ndescription: d\n---\n## Usage\n- not a trigger\n",
    );
    let items = list(&server, "").await;
    assert_eq!(find(&items, "a")["trigger"], "On deploy");
    assert_eq!(find(&items, "b")["trigger"], "After a release");
    assert_eq!(find(&items, "c")["trigger"], "When tests fail");
    assert!(
        find(&items, "d").get("trigger").is_none(),
        "omitted when empty"
    );
}

#[tokio::test]
async fn include_global_adds_the_users_folders_after_the_project() {
    let server = start().await;
    let home = server.home.path();
    write(
        &home.join(".config/opencode/skills/g-one/SKILL.md"),
        &skill_text("one"),
    );
    write(
        &home.join(".claude/skills/g-two/SKILL.md"),
        &skill_text("two"),
    );
    write(
        &home.join(".agents/skills/g-three/SKILL.md"),
        &skill_text("three"),
    );
    write(
        &home.join(".agent/skills/domain/g-four/SKILL.md"),
        &skill_text("four"),
    );
    // A global skill named like a project one is hidden by the project's.
    write(
        &home.join(".claude/skills/shared/SKILL.md"),
        &skill_text("global"),
    );
    write(&project_skill(&server, "shared"), &skill_text("project"));

    assert_eq!(names(&list(&server, "").await), ["shared"]);
    assert_eq!(names(&list(&server, "?includeGlobal=1").await), ["shared"]);
    let items = list(&server, "?includeGlobal=true").await;
    assert_eq!(
        names(&items),
        ["g-four", "g-one", "g-three", "g-two", "shared"]
    );
    assert_eq!(find(&items, "shared")["description"], "project");
    let g = find(&items, "g-one");
    assert_eq!(g["scope"], "global");
    assert_eq!(
        g["path"],
        home.join(".config/opencode/skills/g-one/SKILL.md")
            .to_str()
            .unwrap()
    );
}

#[tokio::test]
async fn listings_follow_edits_made_outside_the_api() {
    let server = start().await;
    let file = project_skill(&server, "notes");
    write(&file, &skill_text("First"));
    assert_eq!(
        find(&list(&server, "").await, "notes")["description"],
        "First"
    );
    write(&file, &skill_text("Second, and a longer one"));
    assert_eq!(
        find(&list(&server, "").await, "notes")["description"],
        "Second, and a longer one"
    );
    // Same length, different bytes: still seen.
    write(&file, &skill_text("Second, and a longer two"));
    let (_, body) =
        send(server.client(Method::GET, &format!("{}/notes", skills_path(&server)))).await;
    assert_eq!(body["item"]["description"], "Second, and a longer two");
    assert_eq!(body["content"], skill_text("Second, and a longer two"));
    write(&file, "---\nname: Broken\n---\n");
    assert!(list(&server, "").await.is_empty());
    std::fs::remove_dir_all(file.parent().unwrap()).unwrap();
    assert!(list(&server, "").await.is_empty());
}

#[tokio::test]
async fn get_one_skill_with_its_content_or_skill_not_found() {
    let server = start().await;
    let text = "---\nname: notes\ndescription: Takes notes\n---\n\n## When to use\n- Meetings\n";
    write(&project_skill(&server, "notes"), text);
    write(
        &server
            .home
            .path()
            .join(".config/opencode/skills/global-one/SKILL.md"),
        &skill_text("g"),
    );
    let base = skills_path(&server);
    let (status, body) = send(server.client(Method::GET, &format!("{base}/notes"))).await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({
            "item": {
                "name": "notes",
                "description": "Takes notes",
                "path": project_skill(&server, "notes").to_str().unwrap(),
                "scope": "project",
                "trigger": "Meetings",
            },
            "content": text,
        })
    );
    let (status, body) = send(server.client(Method::GET, &format!("{base}/missing"))).await;
    assert_eq!(status, 404);
    assert_eq!(
        body,
        json!({"code": "skill_not_found", "message": "Skill not found: missing"})
    );
    let (status, _) = send(server.client(Method::GET, &format!("{base}/global-one"))).await;
    assert_eq!(status, 404);
    let (status, body) = send(server.client(
        Method::GET,
        &format!("{base}/global-one?includeGlobal=true"),
    ))
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["item"]["scope"], "global");
}

// ---------------------------------------------------------------------------------------
// Upsert
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn upsert_without_frontmatter_writes_the_verified_bytes() {
    let server = start().await;
    let (status, body) = upsert(
        &server,
        json!({"name": "my-skill", "content": "# Hi\nbody", "description": "Does things"}),
    )
    .await;
    let file = project_skill(&server, "my-skill");
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"name": "my-skill", "path": file.to_str().unwrap(), "description": "Does things", "scope": "project"})
    );
    assert_eq!(
        read_text(&file),
        "---\nname: my-skill\ndescription: Does things\n---\n# Hi\nbody\n"
    );

    let entries = server.audit().await;
    assert_eq!(entries[0]["action"], "skills.upsert");
    assert_eq!(entries[0]["target"], file.to_str().unwrap());
    assert_eq!(entries[0]["summary"], "Upserted skill my-skill");
    assert_eq!(entries[0]["actor"]["scope"], "collaborator");

    let reload = events(&server).await;
    let event = reload
        .iter()
        .find(|e| e["reason"] == "skills" && e["trigger"]["action"] == "added")
        .expect("a skills event");
    assert_eq!(
        event["trigger"],
        json!({"type": "skill", "name": "my-skill", "action": "added", "path": file.to_str().unwrap()})
    );

    let items = list(&server, "").await;
    assert_eq!(find(&items, "my-skill")["description"], "Does things");
}

#[tokio::test]
async fn upsert_with_frontmatter_keeps_its_keys_in_order_and_echoes_the_payload_description() {
    let server = start().await;
    let content =
        "---\nlicense: MIT\ndescription: From the file\nwhen: On Fridays\n---\n\n# Title\n\nText";
    let (status, body) = upsert(&server, json!({"name": " weekly ", "content": content})).await;
    assert_eq!(status, 200, "{body}");
    // QUIRK kept: the echoed description is the payload's (absent here), not the file's.
    assert_eq!(body["description"], "");
    assert_eq!(body["name"], " weekly ");
    let file = project_skill(&server, "weekly");
    assert_eq!(body["path"], file.to_str().unwrap());
    assert_eq!(
        read_text(&file),
        "---\nlicense: MIT\ndescription: From the file\nwhen: On Fridays\nname: weekly\n---\n# Title\n\nText\n"
    );

    // Overwriting is an update; the payload description fills a missing one.
    let (status, _) = upsert(
        &server,
        json!({"name": "weekly", "content": "---\nname: weekly\n---\nNew body\n", "description": "Payload"}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        read_text(&file),
        "---\nname: weekly\ndescription: Payload\n---\nNew body\n"
    );
    let entries = server.audit().await;
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[1]["summary"], "Upserted skill  weekly ");
}

#[tokio::test]
async fn invalid_upserts_are_refused_before_anyone_is_asked() {
    let server = start_with(manual_approval(30_000)).await;
    let existing = project_skill(&server, "keep");
    write(
        &existing,
        "---\nname: keep\ndescription: Original\n---\nOriginal\n",
    );
    let cases = [
        (
            json!({"name": "Bad_Name", "content": "x", "description": "d"}),
            400,
            json!({"code": "invalid_skill_name", "message": "Skill name must be kebab-case (1-64 chars)"}),
        ),
        (
            json!({"name": "../escape", "content": "x", "description": "d"}),
            400,
            json!({"code": "invalid_skill_name", "message": "Skill name must be kebab-case (1-64 chars)"}),
        ),
        (
            json!({"content": "x", "description": "d"}),
            400,
            json!({"code": "invalid_skill_name", "message": "Skill name must be kebab-case (1-64 chars)"}),
        ),
        (
            json!({"name": "keep", "content": "", "description": "d"}),
            400,
            json!({"code": "invalid_skill_content", "message": "Skill content is required"}),
        ),
        (
            json!({"name": "keep", "content": "---\nname: other\n---\nx", "description": "d"}),
            400,
            json!({"code": "invalid_skill_name", "message": "Skill frontmatter name must match payload name"}),
        ),
        (
            json!({"name": "keep", "content": "no frontmatter"}),
            422,
            json!({"code": "invalid_description", "message": "Description must be 1-1024 characters"}),
        ),
        (
            json!({"name": "keep", "content": "---\nname: keep\n---\nx", "description": ""}),
            422,
            json!({"code": "invalid_description", "message": "Description must be 1-1024 characters"}),
        ),
        (
            json!({"name": "keep", "content": "x", "description": "d".repeat(1025)}),
            422,
            json!({"code": "invalid_description", "message": "Description must be 1-1024 characters"}),
        ),
    ];
    for (payload, code, expected) in cases {
        let (status, body) = upsert(&server, payload.clone()).await;
        assert_eq!((status, &body), (code, &expected), "{payload}");
    }
    let (status, body) = send(
        server
            .client(Method::POST, &skills_path(&server))
            .body("nope"),
    )
    .await;
    assert_eq!((status, body["code"].clone()), (400, json!("invalid_json")));

    let (_, approvals) = send(server.host(Method::GET, "/approvals")).await;
    assert_eq!(approvals["items"], json!([]), "nobody was asked");
    assert_eq!(
        read_text(&existing),
        "---\nname: keep\ndescription: Original\n---\nOriginal\n"
    );
    assert!(server.audit().await.is_empty());
}

#[tokio::test]
async fn an_approved_upsert_names_the_skill_file_and_a_denied_one_changes_nothing() {
    let server = start_with(manual_approval(30_000)).await;
    let file = project_skill(&server, "keep");
    let original = "---\nname: keep\ndescription: Original\n---\nOriginal\n";
    write(&file, original);

    let request = tokio::spawn(
        server
            .client(Method::POST, &skills_path(&server))
            .json(&json!({"name": "keep", "content": "New", "description": "New"}))
            .send(),
    );
    let pending = server.wait_for_pending().await;
    let (_, listed) = send(server.host(Method::GET, "/approvals")).await;
    let item = &listed["items"][0];
    assert_eq!(item["action"], "skills.upsert");
    assert_eq!(item["summary"], "Upsert skill keep");
    assert_eq!(item["paths"], json!([file.to_str().unwrap()]));
    assert_eq!(item["workspaceId"], server.workspace_id().as_str());
    let (status, _) = send(
        server
            .host(Method::POST, &format!("/approvals/{}", pending.id))
            .json(&json!({"reply": "deny"})),
    )
    .await;
    assert_eq!(status, 200);
    let response = request.await.unwrap().unwrap();
    assert_eq!(response.status(), 403);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"code": "write_denied", "message": "Write request denied", "details": {"requestId": pending.id, "reason": "denied"}})
    );
    assert_eq!(read_text(&file), original);
    assert!(server.audit().await.is_empty());

    let request = tokio::spawn(
        server
            .client(Method::POST, &skills_path(&server))
            .json(&json!({"name": "keep", "content": "New", "description": "New"}))
            .send(),
    );
    let pending = server.wait_for_pending().await;
    assert!(server.approvals.respond(&pending.id, true));
    assert_eq!(request.await.unwrap().unwrap().status(), 200);
    assert_eq!(
        read_text(&file),
        "---\nname: keep\ndescription: New\n---\nNew\n"
    );
}

#[tokio::test]
async fn a_timed_out_upsert_or_delete_leaves_every_file_alone() {
    let server = start_with(manual_approval(200)).await;
    let file = project_skill(&server, "keep");
    let original = "---\nname: keep\ndescription: Original\n---\nOriginal\n";
    write(&file, original);
    write(&file.with_file_name("extra.txt"), "extra");
    let (status, body) = upsert(
        &server,
        json!({"name": "keep", "content": "New", "description": "New"}),
    )
    .await;
    assert_eq!(
        (status, body["details"]["reason"].clone()),
        (403, json!("timeout"))
    );
    let (status, body) = upsert(
        &server,
        json!({"name": "fresh", "content": "New", "description": "New"}),
    )
    .await;
    assert_eq!((status, body["code"].clone()), (403, json!("write_denied")));
    let (status, body) =
        send(server.client(Method::DELETE, &format!("{}/keep", skills_path(&server)))).await;
    assert_eq!(
        (status, body["details"]["reason"].clone()),
        (403, json!("timeout"))
    );
    assert_eq!(read_text(&file), original);
    assert_eq!(read_text(&file.with_file_name("extra.txt")), "extra");
    assert!(!project_skill(&server, "fresh").exists());
    assert!(server.approvals.pending().is_empty());
}

// ---------------------------------------------------------------------------------------
// Delete
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn delete_removes_the_project_skill_folder() {
    let server = start().await;
    let file = project_skill(&server, "gone");
    write(&file, &skill_text("Going"));
    write(&file.with_file_name("scripts/run.sh"), "echo hi");
    let dir = file.parent().unwrap().to_path_buf();
    let (status, body) =
        send(server.client(Method::DELETE, &format!("{}/gone", skills_path(&server)))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"ok": true, "name": "gone", "path": dir.to_str().unwrap()})
    );
    assert!(!dir.exists());
    assert!(server.workspace_path().join(".opencode/skills").exists());

    let entries = server.audit().await;
    assert_eq!(entries[0]["action"], "skills.delete");
    assert_eq!(entries[0]["target"], dir.to_str().unwrap());
    assert_eq!(entries[0]["summary"], "Deleted skill gone");
    let reload = events(&server).await;
    assert!(reload.iter().any(|e| e["reason"] == "skills"
        && e["trigger"]
            == json!({"type": "skill", "name": "gone", "action": "removed", "path": dir.to_str().unwrap()})));

    let (status, body) =
        send(server.client(Method::DELETE, &format!("{}/gone", skills_path(&server)))).await;
    assert_eq!(
        (status, body),
        (
            404,
            json!({"code": "skill_not_found", "message": "Skill not found: gone"})
        )
    );
}

#[tokio::test]
async fn delete_targets_only_the_project_opencode_folder_and_checks_names_first() {
    let server = start_with(manual_approval(30_000)).await;
    let claude = server
        .workspace_path()
        .join(".claude/skills/other/SKILL.md");
    write(&claude, &skill_text("Claude's"));
    let base = skills_path(&server);
    let (status, body) = send(server.client(Method::DELETE, &format!("{base}/other"))).await;
    assert_eq!(
        (status, body["code"].clone()),
        (404, json!("skill_not_found"))
    );
    assert!(claude.exists());
    let (status, body) = send(server.client(Method::DELETE, &format!("{base}/Bad_Name"))).await;
    assert_eq!(
        (status, body),
        (
            400,
            json!({"code": "invalid_skill_name", "message": "Skill name must be kebab-case (1-64 chars)"})
        )
    );
    let (status, body) = send(server.client(Method::DELETE, &format!("{base}/%20"))).await;
    assert_eq!(
        (status, body),
        (
            400,
            json!({"code": "invalid_skill_name", "message": "Skill name is required"})
        )
    );
    let (status, _) = send(server.client(Method::DELETE, &format!("{base}/..%2F..%2Fetc"))).await;
    assert_eq!(status, 400);
    let (_, approvals) = send(server.host(Method::GET, "/approvals")).await;
    assert_eq!(approvals["items"], json!([]), "nobody was asked");
}

// ---------------------------------------------------------------------------------------
// Access
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn viewers_read_but_cannot_write_and_read_only_servers_refuse_writes() {
    let server = start().await;
    write(&project_skill(&server, "keep"), &skill_text("Keep"));
    let viewer = server.issue_token("viewer").await;
    let base = skills_path(&server);
    let (status, _) = send(server.with_bearer(Method::GET, &base, &viewer)).await;
    assert_eq!(status, 200);
    let (status, _) = send(server.with_bearer(Method::GET, &format!("{base}/keep"), &viewer)).await;
    assert_eq!(status, 200);
    for (method, path) in [
        (Method::POST, base.clone()),
        (Method::DELETE, format!("{base}/keep")),
    ] {
        let (status, body) = send(
            server
                .with_bearer(method, &path, &viewer)
                .json(&json!({"name": "x", "content": "y", "description": "z"})),
        )
        .await;
        assert_eq!(
            (status, body),
            (
                403,
                json!({"code": "forbidden", "message": "Insufficient token scope", "details": {"required": "collaborator", "scope": "viewer"}})
            )
        );
    }
    let (status, _) = send(server.request(Method::GET, &base)).await;
    assert_eq!(status, 401);
    let (status, body) = send(server.client(Method::GET, "/workspace/ws_nope/skills")).await;
    assert_eq!(
        (status, body["code"].clone()),
        (404, json!("workspace_not_found"))
    );

    let read_only = start_with(Options {
        cli: CliOverrides {
            read_only: Some(true),
            ..CliOverrides::default()
        },
        ..Options::default()
    })
    .await;
    let base = skills_path(&read_only);
    for (method, path) in [
        (Method::POST, base.clone()),
        (Method::DELETE, format!("{base}/keep")),
    ] {
        let (status, body) = send(
            read_only
                .client(method, &path)
                .json(&json!({"name": "x", "content": "y", "description": "z"})),
        )
        .await;
        assert_eq!(
            (status, body["code"].clone()),
            (403, json!("read_only")),
            "{path}"
        );
    }
    let (status, _) = send(read_only.client(Method::GET, &base)).await;
    assert_eq!(status, 200);
}

#[cfg(unix)]
#[tokio::test]
async fn a_symlinked_skills_folder_cannot_carry_a_write_out_of_the_workspace() {
    let server = start().await;
    let outside = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(server.workspace_path().join(".opencode")).unwrap();
    std::os::unix::fs::symlink(
        outside.path(),
        server.workspace_path().join(".opencode/skills"),
    )
    .unwrap();
    let (status, body) = upsert(
        &server,
        json!({"name": "evil", "content": "x", "description": "d"}),
    )
    .await;
    assert_eq!(
        (status, body),
        (
            400,
            json!({"code": "invalid_path", "message": "Path escapes the workspace"})
        )
    );
    assert!(std::fs::read_dir(outside.path()).unwrap().next().is_none());
}
