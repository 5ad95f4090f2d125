//! Starter files for a workspace created through `POST /workspaces/local` (contract
//! Appendix A, "ensureWorkspaceFiles"): guide skills, the `openwork` agent, learning
//! commands, OpenCode defaults for the preset and `.opencode/openwork.json`.
//!
//! Files that already exist are left alone; the project OpenCode config is rewritten (as
//! plain JSON, as the reference does) only when a default is missing from it.

use axum::http::StatusCode;
use serde_json::{Map, Value, json};
use serde_yaml_ng::Mapping;
use std::path::{Path, PathBuf};

use crate::error::ApiError;
use crate::fs::atomic::{FileMode, write_atomic};
use crate::fs::confine::ensure_inside;
use crate::fs::frontmatter::render_block;
use crate::fs::jsonc::{self, JsoncError};
use crate::fs::locks::FileLocks;
use crate::fs::paths::basename;

/// The preset a workspace gets when the request names none.
pub(crate) const DEFAULT_PRESET: &str = "starter";

/// The OpenCode config schema a new project config starts with.
const OPENCODE_SCHEMA: &str = "https://opencode.ai/config.json";

/// One file the preset provides, relative to the workspace root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StarterFile {
    /// Path below the workspace root.
    pub(crate) rel: String,
    /// Full file text.
    pub(crate) text: String,
}

const WORKSPACE_GUIDE_BODY: &str = "\
# This workspace

OpenWork is a desktop home for OpenCode: you chat with an agent that works on the files in
this folder, and every change it makes goes through you first.

Start by asking who you are talking to, so the rest can be pitched at the right level.

## Getting around
- Drop documents, notes or spreadsheets in this folder and ask for summaries, drafts or
  clean-ups.
- Skills (in `.opencode/skills`) teach the agent a repeatable task.
- Commands (in `.opencode/commands`) are saved prompts you start with `/name`.
- Plugins and MCP servers (in `opencode.json`) add tools such as schedules or a browser.

## Going further
OpenCode documents skills, plugins, MCP servers and every config key at
https://opencode.ai/docs/.

Finish by suggesting two small things to try next.
";

const GET_STARTED_SKILL_BODY: &str = "\
# Get started

## When to use
- The user types \"get started\" or asks what this workspace can do.

## Steps
1. Welcome the user to OpenWork in one sentence.
2. Mention that a scheduler plugin and a Chrome control server are already set up.
3. Suggest a first try: \"open example.com in Chrome\".
4. When they ask for a site, open it with the control-chrome tools and report the page title.
";

const OPENWORK_AGENT_BODY: &str = "\
You are OpenWork, the assistant of this workspace. \"You\" in the user's words means the
OpenWork app and this folder.

What you do:
- Work on the user's files carefully, and say what you changed.
- Turn work that repeats into skills or commands, so it can be done again the same way.
- Keep the setup portable: what lives in `.opencode/` should work on another machine.

What you keep apart:
- Shareable behaviour (skills, agents, docs) may be committed.
- Private state (tokens, ids, credentials, local databases, logs) never goes into files that
  are shared; write only redacted summaries or pointers there.

How you work:
- Assume nothing about the environment; when something is missing, ask one precise question.
- After changing code, run the smallest check that shows it works.
";

/// `(name, description, template)` of the learning commands every preset gets.
const LEARN_COMMANDS: [(&str, &str, &str); 3] = [
    (
        "learn-files",
        "Work with the files in this workspace",
        "Show me, with small safe examples, how to read, summarize and edit files in this workspace.",
    ),
    (
        "learn-skills",
        "What skills are and how to write one",
        "Explain what a skill is, how to use one, and walk me through adding a new skill to this workspace.",
    ),
    (
        "learn-plugins",
        "What plugins are and how to add them",
        "Explain what OpenCode plugins do and how to add one to this workspace.",
    ),
];

fn skill_file(name: &str, description: &str, body: &str) -> StarterFile {
    let mut data = Mapping::new();
    data.insert("name".into(), name.into());
    data.insert("description".into(), description.into());
    StarterFile {
        rel: format!(".opencode/skills/{name}/SKILL.md"),
        text: format!("{}{body}", render_block(&data)),
    }
}

/// A command file in the format `POST /workspace/:id/commands` writes (contract §4.11).
fn command_file(name: &str, description: &str, template: &str) -> StarterFile {
    let mut data = Mapping::new();
    data.insert("name".into(), name.into());
    data.insert("description".into(), description.into());
    data.insert("subtask".into(), false.into());
    StarterFile {
        rel: format!(".opencode/commands/{name}.md"),
        text: format!("{}\n{}\n", render_block(&data), template.trim()),
    }
}

fn agent_file() -> StarterFile {
    let mut data = Mapping::new();
    data.insert(
        "description".into(),
        "OpenWork's default agent for this workspace".into(),
    );
    data.insert("mode".into(), "primary".into());
    data.insert("temperature".into(), 0.2.into());
    StarterFile {
        rel: ".opencode/agents/openwork.md".into(),
        text: format!("{}\n{OPENWORK_AGENT_BODY}", render_block(&data)),
    }
}

/// The markdown files of `preset`, in the order the reference writes them.
pub(crate) fn starter_files(preset: &str) -> Vec<StarterFile> {
    let starter = preset == "starter";
    let mut files = vec![skill_file(
        "workspace-guide",
        "Introduces OpenWork and this workspace to a new user.",
        WORKSPACE_GUIDE_BODY,
    )];
    if starter {
        files.push(skill_file(
            "get-started",
            "Walks a new user through the get started demo with Chrome.",
            GET_STARTED_SKILL_BODY,
        ));
    }
    files.push(agent_file());
    for (name, description, template) in LEARN_COMMANDS {
        files.push(command_file(name, description, template));
    }
    if starter {
        files.push(command_file("get-started", "Get started", "get started"));
    }
    files
}

/// Adds the preset's OpenCode defaults to a project config: `default_agent` when unset,
/// the scheduler plugin (presets `starter`, `automation`), the Chrome MCP server
/// (`starter`). `None` when nothing needs adding.
pub(crate) fn with_opencode_defaults(
    mut config: Map<String, Value>,
    preset: &str,
) -> Option<Map<String, Value>> {
    let before = config.clone();
    let agent_set = config
        .get("default_agent")
        .and_then(Value::as_str)
        .is_some_and(|agent| !agent.trim().is_empty());
    if !agent_set {
        config.insert("default_agent".into(), "openwork".into());
    }
    if preset == "starter" || preset == "automation" {
        // As the reference: a string becomes a list, non-string entries are dropped.
        let mut plugins: Vec<Value> = match config.get("plugin") {
            Some(Value::Array(items)) => items.iter().filter(|v| v.is_string()).cloned().collect(),
            Some(Value::String(spec)) => vec![spec.clone().into()],
            _ => Vec::new(),
        };
        if !plugins.iter().any(|p| p == "opencode-scheduler") {
            plugins.push("opencode-scheduler".into());
        }
        config.insert("plugin".into(), Value::Array(plugins));
    }
    if preset == "starter" {
        let mut servers = match config.get("mcp") {
            Some(Value::Object(servers)) => servers.clone(),
            _ => Map::new(),
        };
        if !servers.contains_key("control-chrome") {
            servers.insert(
                "control-chrome".into(),
                json!({ "type": "local", "command": ["chrome-devtools-mcp"] }),
            );
        }
        config.insert("mcp".into(), Value::Object(servers));
    }
    (config != before).then_some(config)
}

/// `.opencode/openwork.json` for a new workspace. Starter ids and the `connect-openai`
/// action are the identifiers clients know; the texts are ours.
pub(crate) fn openwork_config(root: &str, preset: &str, now_ms: u64) -> Value {
    let name = Some(basename(root))
        .filter(|n| !n.is_empty())
        .unwrap_or("Workspace");
    json!({
        "version": 1,
        "workspace": { "name": name, "createdAt": now_ms, "preset": preset },
        "authorizedRoots": [root],
        "blueprint": {
            "emptyState": {
                "title": "What shall we work on?",
                "body": "Choose a starting point, or just type below.",
                "starters": [
                    {
                        "id": "csv-help",
                        "kind": "prompt",
                        "title": "Tidy a spreadsheet",
                        "description": "Clean up, merge or create CSV data.",
                        "prompt": "Help me create or clean up CSV files in this folder."
                    },
                    {
                        "id": "starter-connect-openai",
                        "kind": "action",
                        "title": "Connect ChatGPT",
                        "description": "Add the OpenAI provider so its models are ready for new sessions.",
                        "action": "connect-openai"
                    },
                    {
                        "id": "browser-automation",
                        "kind": "session",
                        "title": "Drive Chrome",
                        "description": "Start a conversation about automating the browser.",
                        "prompt": "Help me connect to Chrome and automate a task I repeat often."
                    }
                ]
            },
            "sessions": [
                {
                    "id": "welcome-to-openwork",
                    "title": "Welcome to OpenWork",
                    "openOnFirstLoad": true,
                    "messages": [
                        {
                            "role": "assistant",
                            "text": "Welcome to OpenWork!\n\nI work on the files in this folder: \
                                     spreadsheets, notes, documents, and the browser when you \
                                     connect it.\n\nWhat would you like to get done?"
                        }
                    ]
                }
            ]
        },
        "reload": null
    })
}

/// Two-space JSON plus a newline, the way the reference writes whole JSON files.
pub(crate) fn json_text(value: &Value) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}

/// Where the project OpenCode config lives (contract §4.6).
fn project_config_path(root: &Path) -> PathBuf {
    let jsonc = root.join("opencode.jsonc");
    if jsonc.exists() {
        return jsonc;
    }
    let json = root.join("opencode.json");
    if json.exists() { json } else { jsonc }
}

/// Creates `root` and writes the starter files of `preset` that are missing. Everything that
/// can fail without writing (a path leaving the folder, an unreadable OpenCode config) is
/// checked before the first file is written, so a refused request changes nothing.
pub(crate) async fn ensure_workspace_files(
    locks: &FileLocks,
    root: &Path,
    preset: &str,
    now_ms: u64,
) -> Result<(), ApiError> {
    let dir = root.to_owned();
    let canonical_root = tokio::task::spawn_blocking(move || {
        std::fs::create_dir_all(&dir)?;
        dir.canonicalize()
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(|error| match error.kind() {
        std::io::ErrorKind::AlreadyExists | std::io::ErrorKind::NotADirectory => ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_payload",
            "folderPath is not a directory",
        ),
        _ => ApiError::internal(error),
    })?;

    let files = starter_files(preset);
    let config_path = project_config_path(root);
    let openwork_path = root.join(".opencode").join("openwork.json");
    let mut targets: Vec<PathBuf> = files.iter().map(|f| root.join(&f.rel)).collect();
    targets.push(config_path.clone());
    targets.push(openwork_path.clone());

    // Other routes may be editing these files in a workspace already on this folder.
    let mut guards = Vec::with_capacity(targets.len());
    for target in &targets {
        guards.push(locks.lock(target).await);
    }

    let root_text = root.to_string_lossy().into_owned();
    let preset = preset.to_owned();
    let result = tokio::task::spawn_blocking(move || {
        for target in &targets {
            ensure_inside(&canonical_root, target)?;
        }
        let config = read_project_config(&config_path)?;
        let config = with_opencode_defaults(config, &preset);
        for (file, target) in files.iter().zip(&targets) {
            write_if_missing(target, file.text.as_bytes())?;
        }
        if let Some(config) = config {
            write(&config_path, json_text(&Value::Object(config)).as_bytes())?;
        }
        let openwork = openwork_config(&root_text, &preset, now_ms);
        write_if_missing(&openwork_path, json_text(&openwork).as_bytes())
    })
    .await
    .map_err(ApiError::internal)?;
    drop(guards);
    result
}

/// The project config as an object: missing or not an object starts from `$schema` alone;
/// a parse error is `422 invalid_jsonc`.
fn read_project_config(path: &Path) -> Result<Map<String, Value>, ApiError> {
    let fresh = || {
        let mut config = Map::new();
        config.insert("$schema".into(), OPENCODE_SCHEMA.into());
        config
    };
    let text = match std::fs::read(path) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(fresh()),
        Err(error) => return Err(ApiError::internal(error)),
    };
    match jsonc::parse(&text) {
        Ok(Value::Object(config)) => Ok(config),
        Ok(_) => Ok(fresh()),
        Err(error) => Err(JsoncError::into_api_error(error)),
    }
}

fn write_if_missing(path: &Path, bytes: &[u8]) -> Result<(), ApiError> {
    if std::fs::symlink_metadata(path).is_ok() {
        return Ok(());
    }
    write(path, bytes)
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), ApiError> {
    write_atomic(path, bytes, FileMode::Default).map_err(ApiError::internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rels(preset: &str) -> Vec<String> {
        starter_files(preset).into_iter().map(|f| f.rel).collect()
    }

    #[test]
    fn presets_choose_the_files() {
        assert_eq!(
            rels("starter"),
            [
                ".opencode/skills/workspace-guide/SKILL.md",
                ".opencode/skills/get-started/SKILL.md",
                ".opencode/agents/openwork.md",
                ".opencode/commands/learn-files.md",
                ".opencode/commands/learn-skills.md",
                ".opencode/commands/learn-plugins.md",
                ".opencode/commands/get-started.md",
            ]
        );
        assert_eq!(
            rels("automation"),
            [
                ".opencode/skills/workspace-guide/SKILL.md",
                ".opencode/agents/openwork.md",
                ".opencode/commands/learn-files.md",
                ".opencode/commands/learn-skills.md",
                ".opencode/commands/learn-plugins.md",
            ]
        );
    }

    #[test]
    fn files_use_the_api_formats() {
        let files = starter_files("starter");
        let command = files
            .iter()
            .find(|f| f.rel.ends_with("get-started.md"))
            .unwrap();
        assert_eq!(
            command.text,
            "---\nname: get-started\ndescription: Get started\nsubtask: false\n---\n\nget started\n"
        );
        for file in &files {
            let doc = crate::fs::frontmatter::parse(&file.text).unwrap();
            assert!(doc.has_block, "{}", file.rel);
            assert!(file.text.ends_with('\n'), "{}", file.rel);
            if file.rel.contains("/skills/") {
                let dir = file.rel.split('/').nth(2).unwrap();
                assert_eq!(
                    crate::fs::frontmatter::get_str(&doc.data, "name"),
                    Some(dir)
                );
                let description = crate::fs::frontmatter::get_str(&doc.data, "description");
                assert!(description.is_some_and(|d| !d.is_empty() && d.len() <= 1024));
            }
        }
    }

    #[test]
    fn defaults_fill_only_what_is_missing() {
        let fresh: Map<String, Value> =
            serde_json::from_value(json!({ "$schema": OPENCODE_SCHEMA })).unwrap();
        let starter = with_opencode_defaults(fresh.clone(), "starter").unwrap();
        assert_eq!(
            Value::Object(starter),
            json!({
                "$schema": OPENCODE_SCHEMA,
                "default_agent": "openwork",
                "plugin": ["opencode-scheduler"],
                "mcp": { "control-chrome": { "type": "local", "command": ["chrome-devtools-mcp"] } }
            })
        );
        let other = with_opencode_defaults(fresh, "minimal").unwrap();
        assert_eq!(
            Value::Object(other),
            json!({ "$schema": OPENCODE_SCHEMA, "default_agent": "openwork" })
        );

        let existing: Map<String, Value> = serde_json::from_value(json!({
            "default_agent": "mine",
            "plugin": "a",
            "mcp": { "control-chrome": { "type": "remote", "url": "http://x" } }
        }))
        .unwrap();
        let merged = with_opencode_defaults(existing, "starter").unwrap();
        assert_eq!(merged["default_agent"], "mine");
        assert_eq!(merged["plugin"], json!(["a", "opencode-scheduler"]));
        assert_eq!(merged["mcp"]["control-chrome"]["type"], "remote");

        let complete: Map<String, Value> = serde_json::from_value(json!({
            "default_agent": "mine",
            "plugin": ["opencode-scheduler"]
        }))
        .unwrap();
        assert!(with_opencode_defaults(complete, "automation").is_none());
    }

    #[test]
    fn openwork_config_names_the_folder() {
        let config = openwork_config("/tmp/Finance", "automation", 42);
        assert_eq!(
            config["workspace"],
            json!({ "name": "Finance", "createdAt": 42, "preset": "automation" })
        );
        assert_eq!(config["authorizedRoots"], json!(["/tmp/Finance"]));
        assert_eq!(config["reload"], Value::Null);
        assert_eq!(config["version"], 1);
        assert_eq!(
            openwork_config("/", "starter", 1)["workspace"]["name"],
            "Workspace"
        );
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_out_of_the_folder_are_refused() {
        let outside = tempfile::tempdir().unwrap();
        let root = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), root.path().join(".opencode")).unwrap();
        let canonical = root.path().canonicalize().unwrap();
        let target = root.path().join(".opencode/agents/openwork.md");
        let error = ensure_inside(&canonical, &target).unwrap_err();
        assert_eq!(error.code, "invalid_path");
        assert!(ensure_inside(&canonical, &root.path().join("opencode.jsonc")).is_ok());
    }
}
