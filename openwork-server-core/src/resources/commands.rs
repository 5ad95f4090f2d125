//! Commands (contract §4.11): the `*.md` files of `.opencode/commands` (or the user's
//! global folder) as list items, the exact bytes of an upserted command file, name
//! sanitising, and the repair of legacy files whose frontmatter says `model: null`.

use serde::Serialize;
use serde_json::{Map, Value};
use serde_yaml_ng::{Mapping, Value as Yaml};
use std::path::{Path, PathBuf};

use super::skills::{js_string, js_trim, js_truthy_string};
use crate::error::ApiError;
use crate::fs::frontmatter::{self, get_str, render_block};
use crate::workspace::Workspace;

/// A command as listed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct CommandItem {
    /// Frontmatter `name`, else the file name without `.md`.
    pub(crate) name: String,
    /// Frontmatter `description`, when a string.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) description: Option<String>,
    /// The body after the frontmatter, trimmed.
    pub(crate) template: String,
    /// Frontmatter `agent`, when a string.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) agent: Option<String>,
    /// Frontmatter `model`; `null` on the wire when absent or not a string.
    pub(crate) model: Option<String>,
    /// Frontmatter `subtask`, when a boolean.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) subtask: Option<bool>,
    /// `workspace` or `global`.
    pub(crate) scope: &'static str,
}

/// What a client asks to write (`POST /workspace/:id/commands`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct CommandInput {
    /// Raw name; sanitised (trimmed, leading `/` removed) before use.
    pub(crate) name: String,
    /// The prompt template; must not be blank.
    pub(crate) template: String,
    /// Dropped when empty.
    pub(crate) description: Option<String>,
    /// Dropped when empty.
    pub(crate) agent: Option<String>,
    /// Dropped when empty.
    pub(crate) model: Option<String>,
    /// Written as `false` when absent.
    pub(crate) subtask: Option<bool>,
}

impl CommandInput {
    /// Reads a request body the way the reference does: `name` and `template` as text,
    /// falsy `description`/`agent`/`model` dropped, `subtask` only when a boolean.
    pub(crate) fn from_body(body: &Map<String, Value>) -> Self {
        Self {
            name: js_string(body.get("name")),
            template: js_string(body.get("template")),
            description: js_truthy_string(body.get("description")),
            agent: js_truthy_string(body.get("agent")),
            model: js_truthy_string(body.get("model")),
            subtask: body.get("subtask").and_then(Value::as_bool),
        }
    }
}

/// `<ws>/.opencode/commands`.
pub(crate) fn commands_dir(ws: &Workspace) -> PathBuf {
    ws.root().join(".opencode").join("commands")
}

/// The user's global commands, `~/.config/opencode/commands`.
pub(crate) fn global_commands_dir(home: &Path) -> PathBuf {
    home.join(".config").join("opencode").join("commands")
}

/// Trimmed, then leading `/` characters removed (`/daily-report` → `daily-report`).
pub(crate) fn sanitize_name(raw: &str) -> String {
    js_trim(raw).trim_start_matches('/').to_owned()
}

/// `^[A-Za-z0-9_-]+$`: also rules out `/`, `.` and `..`, so a name is one file name.
fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// `400 invalid_command_name` unless the (sanitised) name matches `^[A-Za-z0-9_-]+$`.
pub(crate) fn validate_name(name: &str) -> Result<(), ApiError> {
    if is_valid_name(name) {
        Ok(())
    } else {
        Err(ApiError::new(
            http::StatusCode::BAD_REQUEST,
            "invalid_command_name",
            "Command name must be alphanumeric with _ or -",
        ))
    }
}

/// The file of a command in `dir`, for an already sanitised and validated name.
pub(crate) fn command_path(dir: &Path, sanitized: &str) -> PathBuf {
    dir.join(format!("{sanitized}.md"))
}

/// A frontmatter block; an empty map renders as `{}` like the reference's YAML library.
fn block(data: &Mapping) -> String {
    if data.is_empty() {
        "---\n{}\n---\n".to_owned()
    } else {
        render_block(data)
    }
}

/// The sanitised name and exact file bytes of a command (contract §4.11): frontmatter
/// `name, description, agent, model, subtask` (empty ones dropped, `subtask` default
/// `false`), a blank line, the trimmed template and a newline. Errors: blank template
/// (`400 invalid_command_template`, checked first), bad name (`400 invalid_command_name`).
pub(crate) fn command_file(input: &CommandInput) -> Result<(String, String), ApiError> {
    let template = js_trim(&input.template);
    if template.is_empty() {
        return Err(ApiError::new(
            http::StatusCode::BAD_REQUEST,
            "invalid_command_template",
            "Command template is required",
        ));
    }
    let name = sanitize_name(&input.name);
    validate_name(&name)?;
    let mut data = Mapping::new();
    data.insert(Yaml::from("name"), Yaml::from(name.as_str()));
    for (key, value) in [
        ("description", &input.description),
        ("agent", &input.agent),
        ("model", &input.model),
    ] {
        if let Some(value) = value.as_deref().filter(|v| !v.is_empty()) {
            data.insert(Yaml::from(key), Yaml::from(value));
        }
    }
    data.insert(
        Yaml::from("subtask"),
        Yaml::Bool(input.subtask.unwrap_or(false)),
    );
    let text = format!("{}\n{template}\n", block(&data));
    Ok((name, text))
}

/// The new text of a legacy command file whose frontmatter has `model: null`: the same
/// frontmatter without its null entries, then the body starting with exactly one blank
/// line. `None` when the file needs no repair (or cannot be parsed).
pub(crate) fn repaired(text: &str) -> Option<String> {
    let doc = frontmatter::parse(text).ok()?;
    if !matches!(doc.data.get("model"), Some(Yaml::Null)) {
        return None;
    }
    let mut data = doc.data;
    data.retain(|_, value| !value.is_null());
    let body = doc.body.strip_prefix('\n').unwrap_or(&doc.body);
    Some(format!("{}\n{body}", block(&data)))
}

/// A scanned commands folder.
#[derive(Clone, Debug, Default)]
pub(crate) struct Listing {
    /// Valid commands in readdir order.
    pub(crate) items: Vec<CommandItem>,
    /// Files whose frontmatter has `model: null` (see [`repaired`]).
    pub(crate) legacy: Vec<PathBuf>,
}

/// One command file as a list item; `None` when its frontmatter is not YAML (D9: skipped,
/// never an error) or its name is invalid. Also reports whether it needs the repair.
fn read_command(text: &str, file_stem: &str, scope: &'static str) -> (Option<CommandItem>, bool) {
    let Ok(doc) = frontmatter::parse(text) else {
        return (None, false);
    };
    let legacy = matches!(doc.data.get("model"), Some(Yaml::Null));
    let name = get_str(&doc.data, "name").unwrap_or(file_stem);
    if !is_valid_name(name) {
        return (None, legacy);
    }
    let text_of = |key: &str| get_str(&doc.data, key).map(str::to_owned);
    let item = CommandItem {
        name: name.to_owned(),
        description: text_of("description"),
        template: js_trim(&doc.body).to_owned(),
        agent: text_of("agent"),
        model: text_of("model"),
        subtask: doc.data.get("subtask").and_then(Yaml::as_bool),
        scope,
    };
    (Some(item), legacy)
}

/// Scans the regular `*.md` files of `dir` (symlinks are not followed, like the
/// reference's `Dirent.isFile()`); a missing folder lists nothing. Blocking.
pub(crate) fn scan(dir: &Path, scope: &'static str) -> Listing {
    let mut listing = Listing::default();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return listing;
    };
    for entry in entries.filter_map(Result::ok) {
        if !entry.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let Some(stem) = file_name.strip_suffix(".md") else {
            continue;
        };
        let path = entry.path();
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        let (item, legacy) = read_command(&String::from_utf8_lossy(&bytes), stem, scope);
        listing.items.extend(item);
        if legacy {
            listing.legacy.push(path);
        }
    }
    listing
}

/// The commands of `dir` as listed by `GET /workspace/:id/commands` (`scope` is
/// `workspace` or `global`). Blocking.
#[allow(dead_code)] // the export engineer's entry point (§7); routes also need the repair list
pub(crate) fn list(dir: &Path, scope: &'static str) -> Vec<CommandItem> {
    scan(dir, scope).items
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn input(name: &str, template: &str) -> CommandInput {
        CommandInput {
            name: name.into(),
            template: template.into(),
            ..CommandInput::default()
        }
    }

    #[test]
    fn names_are_sanitised_then_validated() {
        assert_eq!(sanitize_name("  //daily-report "), "daily-report");
        assert_eq!(sanitize_name("/ a"), " a");
        for bad in ["", "/", ".", "..", "a b", "a/b", "a.b", " a"] {
            assert!(validate_name(bad).is_err(), "{bad:?}");
        }
        assert!(validate_name("Daily_report-2").is_ok());
    }

    #[test]
    fn the_verified_file_bytes() {
        let (name, text) = command_file(&CommandInput {
            name: "/daily-report".into(),
            template: "  summarize yesterday \n".into(),
            description: Some("Daily report".into()),
            agent: Some("default".into()),
            model: None,
            subtask: None,
        })
        .unwrap();
        assert_eq!(name, "daily-report");
        assert_eq!(
            text,
            "---\nname: daily-report\ndescription: Daily report\nagent: default\nsubtask: false\n---\n\nsummarize yesterday\n"
        );
        let (_, text) = command_file(&CommandInput {
            model: Some("openai/gpt".into()),
            description: Some(String::new()),
            subtask: Some(true),
            ..input("x", "t")
        })
        .unwrap();
        assert_eq!(
            text,
            "---\nname: x\nmodel: openai/gpt\nsubtask: true\n---\n\nt\n"
        );
    }

    #[test]
    fn the_template_is_checked_before_the_name() {
        let err = command_file(&input("bad name", " \n")).unwrap_err();
        assert_eq!(
            (err.code.as_ref(), err.message.as_ref()),
            ("invalid_command_template", "Command template is required")
        );
        let err = command_file(&input("bad name", "t")).unwrap_err();
        assert_eq!(err.code, "invalid_command_name");
    }

    #[test]
    fn bodies_are_read_like_the_reference() {
        let body = json!({"name": 5, "template": "t", "description": "", "agent": "a", "model": 0, "subtask": "yes"});
        let parsed = CommandInput::from_body(body.as_object().unwrap());
        assert_eq!(
            parsed,
            CommandInput {
                name: "5".into(),
                template: "t".into(),
                agent: Some("a".into()),
                ..CommandInput::default()
            }
        );
    }

    #[test]
    fn legacy_null_models_are_repaired() {
        let text = "---\nname: x\nmodel: null\nagent: ~\nsubtask: false\n---\nbody\n";
        assert_eq!(
            repaired(text).unwrap(),
            "---\nname: x\nsubtask: false\n---\n\nbody\n"
        );
        assert_eq!(
            repaired("---\nmodel:\n---\n\n\nbody").unwrap(),
            "---\n{}\n---\n\n\nbody"
        );
        assert_eq!(repaired("---\nmodel: m\n---\nbody"), None);
        assert_eq!(repaired("---\nmodel: [\n---\nbody"), None);
    }

    #[test]
    fn items_follow_the_frontmatter_types() {
        let (item, legacy) = read_command(
            "---\ndescription: 5\nagent: a\nmodel: null\nsubtask: true\n---\n\n hi \n",
            "file",
            "workspace",
        );
        assert!(legacy);
        let item = item.unwrap();
        assert_eq!(
            serde_json::to_value(&item).unwrap(),
            json!({"name": "file", "template": "hi", "agent": "a", "model": null, "subtask": true, "scope": "workspace"})
        );
        assert!(
            read_command("---\nname: bad name\n---\n", "ok", "workspace")
                .0
                .is_none()
        );
        assert!(
            read_command("---\nname: [\n---\n", "ok", "workspace")
                .0
                .is_none()
        );
    }
}
