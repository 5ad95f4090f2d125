use super::*;
use crate::resources::portable::changeset::Change;
use crate::workspace::WorkspaceConfig;
use serde_json::json;

fn workspace(dir: &Path) -> Workspace {
    Workspace::from_config(
        WorkspaceConfig {
            path: Some(dir.to_string_lossy().into_owned()),
            ..WorkspaceConfig::default()
        },
        "/",
    )
}

fn put(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// Planned changes as (workspace-relative path, new text or `None` for a removal).
fn planned(root: &Path, body: Value) -> Result<Vec<(String, Option<String>)>, ApiError> {
    let request = ImportRequest::parse(body.as_object().unwrap())?;
    let changes = request.plan(&workspace(root))?;
    Ok(changes
        .changes()
        .iter()
        .map(|change| {
            let rel = change.path().strip_prefix(root).unwrap();
            let rel = rel.to_string_lossy().into_owned();
            match change {
                Change::Write { bytes, .. } => {
                    (rel, Some(String::from_utf8(bytes.clone()).unwrap()))
                }
                Change::Remove { .. } => (rel, None),
            }
        })
        .collect())
}

fn error(root: &Path, body: Value) -> (u16, String, String) {
    let error = planned(root, body).unwrap_err();
    (
        error.status.as_u16(),
        error.code.into_owned(),
        error.message.into_owned(),
    )
}

#[test]
fn merge_sets_portable_keys_in_place_and_keeps_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    put(
        root,
        "opencode.jsonc",
        "{\n  // mine\n  \"model\": \"m\",\n  \"mcp\": {\"old\": {}},\n}\n",
    );
    let changes = planned(
        root,
        json!({"opencode": {"mcp": {}, "model": "ignored", "plugin": ["p"]}}),
    )
    .unwrap();
    assert_eq!(changes.len(), 1);
    let (path, text) = &changes[0];
    assert_eq!(path, "opencode.jsonc");
    let text = text.as_deref().unwrap();
    assert!(
        text.starts_with("{\n  // mine\n  \"model\": \"m\",\n  \"mcp\": {}"),
        "{text}"
    );
    assert!(
        text.contains("\"plugin\": [\"p\"]") || text.contains("\"plugin\": [\n"),
        "{text}"
    );
    assert!(!text.contains("ignored"));
}

#[test]
fn replace_rewrites_the_config_as_pretty_json() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    put(root, "opencode.json", "{ /* c */ \"model\": \"m\" }");
    let changes = planned(
        root,
        json!({"opencode": {"plugin": ["p"], "agent": {}}, "mode": {"opencode": "replace"}}),
    )
    .unwrap();
    assert_eq!(
        changes,
        [(
            "opencode.json".to_owned(),
            Some("{\n  \"agent\": {},\n  \"plugin\": [\n    \"p\"\n  ]\n}\n".to_owned())
        )]
    );
}

#[test]
fn a_broken_config_fails_a_merge_but_not_a_replace() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    put(root, "opencode.jsonc", "{ \"mcp\": ");
    assert_eq!(
        error(root, json!({"opencode": {"mcp": {}}})),
        (422, "invalid_jsonc".into(), "Failed to parse JSONC".into())
    );
    assert!(
        planned(
            root,
            json!({"opencode": {}, "mode": {"opencode": "replace"}})
        )
        .is_ok()
    );
    put(root, ".opencode/openwork.json", "not json");
    assert_eq!(
        error(root, json!({"openwork": {"a": 1}})),
        (
            422,
            "invalid_json".into(),
            "Failed to parse openwork.json".into()
        )
    );
}

#[test]
fn openwork_merges_shallowly_without_materialized_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    put(
        root,
        ".opencode/openwork.json",
        "{\"version\":1,\"keep\":true}",
    );
    let body = json!({"openwork": {"version": 2, "blueprint": {"materialized": {"sessions": {}}}}});
    assert_eq!(
        planned(root, body).unwrap(),
        [(
            ".opencode/openwork.json".to_owned(),
            Some("{\n  \"version\": 2,\n  \"keep\": true,\n  \"blueprint\": {}\n}\n".to_owned())
        )]
    );
    let body = json!({"openwork": {"version": 2}, "mode": {"openwork": "replace"}});
    assert_eq!(
        planned(root, body).unwrap()[0].1.as_deref(),
        Some("{\n  \"version\": 2\n}\n")
    );
}

#[test]
fn replace_modes_remove_before_writing() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    put(root, ".opencode/agents/old.md", "old");
    put(root, ".opencode/agents/.env", "SECRET=1");
    let body = json!({
        "skills": [{"name": "s", "content": "# S", "description": "Does S"}],
        "commands": [{"name": "c", "template": "do c"}],
        "files": [{"path": ".opencode/agents/new.md", "content": "new"}],
        "mode": {"skills": "replace", "commands": "replace", "files": "replace"},
    });
    let changes = planned(root, body).unwrap();
    let summary: Vec<_> = changes
        .iter()
        .map(|(path, text)| (path.as_str(), text.is_some()))
        .collect();
    assert_eq!(
        summary,
        [
            (".opencode/skills", false),
            (".opencode/skills/s/SKILL.md", true),
            (".opencode/commands", false),
            (".opencode/commands/c.md", true),
            (".opencode/agents/old.md", false),
            (".opencode/agents/new.md", true),
        ]
    );
    assert_eq!(
        changes[1].1.as_deref(),
        Some("---\nname: s\ndescription: Does S\n---\n# S\n")
    );
    assert_eq!(
        changes[3].1.as_deref(),
        Some("---\nname: c\nsubtask: false\n---\n\ndo c\n")
    );
}

#[test]
fn empty_sections_change_nothing_even_in_replace_mode() {
    let dir = tempfile::tempdir().unwrap();
    let body = json!({
        "skills": [], "commands": [], "files": [],
        "mode": {"skills": "replace", "commands": "replace", "files": "replace"},
    });
    assert_eq!(planned(dir.path(), body).unwrap(), []);
}

#[test]
fn commands_with_content_read_their_frontmatter() {
    let dir = tempfile::tempdir().unwrap();
    let body = json!({"commands": [
        {"name": "c1", "content": "---\ndescription: C one\nagent: build\nsubtask: true\n---\ndo it"},
        {"content": "---\nname: c2\nmodel: m\n---\n\n  two  \n", "description": "Two"},
    ]});
    let changes = planned(dir.path(), body).unwrap();
    assert_eq!(
        changes[0],
        (
            ".opencode/commands/c1.md".to_owned(),
            Some(
                "---\nname: c1\ndescription: C one\nagent: build\nsubtask: true\n---\n\ndo it\n"
                    .to_owned()
            )
        )
    );
    assert_eq!(
        changes[1].1.as_deref(),
        Some("---\nname: c2\ndescription: Two\nmodel: m\nsubtask: false\n---\n\ntwo\n")
    );
}

#[test]
fn every_item_is_validated_in_the_reference_order() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let skill = json!({"name": "ok", "content": "x", "description": "d"});
    assert_eq!(
        error(
            root,
            json!({"skills": [skill, {"name": "Bad", "content": "x"}]})
        ),
        (
            400,
            "invalid_skill_name".into(),
            "Skill name must be kebab-case (1-64 chars)".into()
        )
    );
    assert_eq!(
        error(root, json!({"skills": [{"name": "ok", "content": "x"}]})),
        (
            422,
            "invalid_description".into(),
            "Description must be 1-1024 characters".into()
        )
    );
    assert_eq!(
        error(root, json!({"commands": [{"content": "no frontmatter"}]})),
        (
            400,
            "invalid_command".into(),
            "Command name is required".into()
        )
    );
    assert_eq!(
        error(root, json!({"commands": [{"name": "c", "template": " "}]})),
        (
            400,
            "invalid_command_template".into(),
            "Command template is required".into()
        )
    );
    assert_eq!(
        error(
            root,
            json!({"commands": [{"name": "a b", "template": "t"}]})
        ),
        (
            400,
            "invalid_command_name".into(),
            "Command name must be alphanumeric with _ or -".into()
        )
    );
    // Files come first, whatever else is wrong.
    assert_eq!(
        error(
            root,
            json!({"skills": [{"name": "Bad"}], "files": [{"path": "../x", "content": ""}]})
        ),
        (
            400,
            "invalid_portable_file_path".into(),
            "Portable file path is invalid: ../x".into()
        )
    );
}

#[test]
fn approval_paths_name_both_configs_and_every_file() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let request = ImportRequest::parse(
        json!({"files": [{"path": "./.opencode/tools/t.ts", "content": "t"}]})
            .as_object()
            .unwrap(),
    )
    .unwrap();
    let shown = |rel: &str| root.join(rel).to_string_lossy().into_owned();
    assert_eq!(
        request.approval_paths(&workspace(root)),
        [
            shown("opencode.jsonc"),
            shown(".opencode/openwork.json"),
            shown(".opencode/tools/t.ts")
        ]
    );
}

#[cfg(unix)]
#[test]
fn writes_through_links_out_of_the_workspace_are_refused() {
    let outside = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join(".opencode")).unwrap();
    std::os::unix::fs::symlink(outside.path(), root.join(".opencode/skills")).unwrap();
    let body = json!({"skills": [{"name": "s", "content": "x", "description": "d"}]});
    assert_eq!(
        error(root, body),
        (
            400,
            "invalid_path".into(),
            "Path escapes the workspace".into()
        )
    );
}
