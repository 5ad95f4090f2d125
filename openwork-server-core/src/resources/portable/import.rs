//! Import (contract §7.2 with D4 and D5): an import body read and validated as a whole,
//! then turned into the complete [`ChangeSet`] it asks for — nothing is written until
//! every section and item has passed, and the change set is then applied all or nothing.
//!
//! Validation runs in the reference's order, so the first error a client sees is the one
//! the reference answers: portable files, the existing config files (when merging into
//! them), skills, then commands.

use http::StatusCode;
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

use super::changeset::ChangeSet;
use super::{
    PortableFile, list_files, parse_import_file, portable_opencode, without_materialized_sessions,
};
use crate::error::ApiError;
use crate::fs::confine::ensure_inside;
use crate::fs::frontmatter::{self, get_str};
use crate::fs::jsonc::JsoncDocument;
use crate::resources::commands::{CommandInput, command_file, command_path, commands_dir};
use crate::resources::skills::{
    js_string, js_truthy_string, project_skills_dir, skill_file, validate_skill_name,
};
use crate::workspace::Workspace;

/// Which sections replace what is there instead of merging into it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Replace {
    opencode: bool,
    openwork: bool,
    skills: bool,
    commands: bool,
    files: bool,
}

/// An import body, read.
#[derive(Clone, Debug, Default)]
pub(crate) struct ImportRequest {
    /// Portable files, already normalised and checked against the allowlist.
    files: Vec<PortableFile>,
    /// The portable keys of the given `opencode` object.
    opencode: Option<Map<String, Value>>,
    /// The given `openwork` object without materialized sessions.
    openwork: Option<Map<String, Value>>,
    /// Skill items as sent (validated by [`ImportRequest::plan`]).
    skills: Vec<Value>,
    /// Command items as sent (validated by [`ImportRequest::plan`]).
    commands: Vec<Value>,
    replace: Replace,
}

/// The items of a non-empty array field; anything else is no items.
fn items(body: &Map<String, Value>, key: &str) -> Vec<Value> {
    match body.get(key) {
        Some(Value::Array(items)) => items.clone(),
        _ => Vec::new(),
    }
}

fn object(body: &Map<String, Value>, key: &str) -> Option<Map<String, Value>> {
    body.get(key).and_then(Value::as_object).cloned()
}

impl ImportRequest {
    /// Reads the body and validates its portable files (the reference's first check:
    /// `400 invalid_portable_file` / `invalid_portable_file_path`).
    pub(crate) fn parse(body: &Map<String, Value>) -> Result<Self, ApiError> {
        let files = items(body, "files")
            .iter()
            .map(parse_import_file)
            .collect::<Result<Vec<_>, _>>()?;
        let mode = object(body, "mode").unwrap_or_default();
        let replaces = |key: &str| mode.get(key).and_then(Value::as_str) == Some("replace");
        Ok(Self {
            files,
            opencode: object(body, "opencode").map(|config| portable_opencode(&config)),
            openwork: object(body, "openwork").map(|o| without_materialized_sessions(&o)),
            skills: items(body, "skills"),
            commands: items(body, "commands"),
            replace: Replace {
                opencode: replaces("opencode"),
                openwork: replaces("openwork"),
                skills: replaces("skills"),
                commands: replaces("commands"),
                files: replaces("files"),
            },
        })
    }

    /// The paths the approval prompt names: the project config, `openwork.json`, then every
    /// portable file to be written.
    pub(crate) fn approval_paths(&self, ws: &Workspace) -> Vec<String> {
        let mut paths = vec![ws.project_config_path(), ws.openwork_config_path()];
        paths.extend(self.files.iter().map(|file| ws.root().join(&file.path)));
        paths
            .iter()
            .map(|path| path.to_string_lossy().into_owned())
            .collect()
    }

    /// Every change the import makes, in the order they apply, from the workspace as it is
    /// now; or the first validation error. Blocking: it reads the config files and lists
    /// the portable files.
    pub(crate) fn plan(&self, ws: &Workspace) -> Result<ChangeSet, ApiError> {
        let root = ws.root();
        let mut changes = ChangeSet::default();
        if let Some(config) = &self.opencode {
            plan_opencode(ws, config, self.replace.opencode, &mut changes)?;
        }
        if let Some(openwork) = &self.openwork {
            plan_openwork(ws, openwork, self.replace.openwork, &mut changes)?;
        }
        if !self.skills.is_empty() {
            if self.replace.skills {
                changes.remove(project_skills_dir(ws));
            }
            for item in &self.skills {
                let (path, text) = skill_write(ws, item)?;
                changes.write(path, text);
            }
        }
        if !self.commands.is_empty() {
            if self.replace.commands {
                changes.remove(commands_dir(ws));
            }
            let dir = commands_dir(ws);
            for item in &self.commands {
                let (name, text) = command_file(&command_input(item)?)?;
                changes.write(command_path(&dir, &name), text);
            }
        }
        if !self.files.is_empty() {
            if self.replace.files {
                for existing in list_files(root)? {
                    changes.remove(root.join(&existing.path));
                }
            }
            for file in &self.files {
                changes.write(root.join(&file.path), file.content.clone());
            }
        }
        // SECURITY (D1): nothing may be written or removed through a link out of the
        // workspace.
        for change in changes.changes() {
            ensure_inside(root, change.path())?;
        }
        Ok(changes)
    }
}

fn read_optional(path: &Path) -> Result<Option<String>, ApiError> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(ApiError::internal(e)),
    }
}

fn pretty(value: &Map<String, Value>) -> Result<String, ApiError> {
    let mut text = serde_json::to_string_pretty(value).map_err(ApiError::internal)?;
    text.push('\n');
    Ok(text)
}

/// Adds a write unless the file already holds exactly these bytes.
fn write_if_changed(changes: &mut ChangeSet, path: PathBuf, current: Option<&str>, text: String) {
    if current != Some(text.as_str()) {
        changes.write(path, text);
    }
}

/// Replace: the file becomes the portable keys as pretty JSON (comments and other keys
/// are lost, as in the reference). Merge: each given key is set in place, keeping the
/// rest of the file byte for byte; a new file holds just the given keys.
fn plan_opencode(
    ws: &Workspace,
    config: &Map<String, Value>,
    replace: bool,
    changes: &mut ChangeSet,
) -> Result<(), ApiError> {
    let path = ws.project_config_path();
    let current = read_optional(&path)?;
    let text = match (&current, replace) {
        (_, true) => pretty(config)?,
        (Some(existing), false) => {
            let mut doc = JsoncDocument::parse(existing).map_err(|e| e.into_api_error())?;
            for (key, value) in config {
                doc.set(key, value);
            }
            doc.to_text()
        }
        (None, false) if config.is_empty() => return Ok(()),
        (None, false) => pretty(config)?,
    };
    write_if_changed(changes, path, current.as_deref(), text);
    Ok(())
}

/// Replace: `openwork.json` becomes the given object. Merge: the given keys are set over
/// the existing ones (shallow). Either way it is written as pretty JSON.
fn plan_openwork(
    ws: &Workspace,
    openwork: &Map<String, Value>,
    replace: bool,
    changes: &mut ChangeSet,
) -> Result<(), ApiError> {
    let path = ws.openwork_config_path();
    let current = read_optional(&path)?;
    let existing = match current.as_deref().filter(|_| !replace) {
        None => None,
        Some(text) => Some(serde_json::from_str::<Value>(text).map_err(|_| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_json",
                "Failed to parse openwork.json",
            )
        })?),
    };
    let mut next = match existing {
        Some(Value::Object(map)) => map,
        _ => Map::new(),
    };
    next.extend(openwork.clone());
    write_if_changed(changes, path, current.as_deref(), pretty(&next)?);
    Ok(())
}

/// A skill item's file: the same rules and errors as `POST /workspace/:id/skills`.
fn skill_write(ws: &Workspace, item: &Value) -> Result<(PathBuf, String), ApiError> {
    let empty = Map::new();
    let record = item.as_object().unwrap_or(&empty);
    let raw_name = js_string(record.get("name"));
    let description = js_truthy_string(record.get("description"));
    let text = skill_file(
        &raw_name,
        &js_string(record.get("content")),
        description.as_deref(),
    )?;
    let name = validate_skill_name(&raw_name)?;
    Ok((project_skills_dir(ws).join(name).join("SKILL.md"), text))
}

/// A command item as a command to write. With `content`, the text is a command file:
/// frontmatter plus template (the item's `name` and `description` win over the
/// frontmatter's); without it, the fields are read like a `POST` body.
fn command_input(item: &Value) -> Result<CommandInput, ApiError> {
    let empty = Map::new();
    let record = item.as_object().unwrap_or(&empty);
    let Some(Value::String(content)) = record.get("content") else {
        return Ok(CommandInput::from_body(record));
    };
    // The reference crashes (500) on frontmatter that is not YAML; we say what is wrong.
    let doc = frontmatter::parse(content).map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_command",
            "Command frontmatter must be valid YAML",
        )
    })?;
    let own = |key: &str| {
        get_str(&doc.data, key)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let name = js_truthy_string(record.get("name"))
        .or_else(|| own("name"))
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_command",
                "Command name is required",
            )
        })?;
    Ok(CommandInput {
        name,
        template: doc.body.clone(),
        description: js_truthy_string(record.get("description")).or_else(|| own("description")),
        agent: own("agent"),
        model: own("model"),
        subtask: doc
            .data
            .get("subtask")
            .and_then(serde_yaml_ng::Value::as_bool),
    })
}

#[cfg(test)]
mod tests;
