//! OpenCode plugins of a workspace (contract §4.8): the project config's `plugin` list,
//! plugin files in `.opencode/plugins/` (and, on request, the global plugins folder), the
//! name rules that decide when two specs are the same plugin, and edits of the list.

use serde::Serialize;
use serde_json::{Map, Value};
use std::path::Path;

use crate::error::ApiError;
use crate::fs::jsonc::JsoncDocument;

/// The order in which OpenCode loads plugins, reported with every listing.
pub(crate) const LOAD_ORDER: [&str; 4] = [
    "config.global",
    "config.project",
    "dir.global",
    "dir.project",
];

/// One plugin as clients see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct PluginItem {
    /// The spec OpenCode loads: as written in the config, or `file://<abs path>`.
    pub(crate) spec: String,
    /// `config`, `dir.project` or `dir.global`.
    pub(crate) source: &'static str,
    /// `project` or `global`.
    pub(crate) scope: &'static str,
    /// Plugin files only: relative to the workspace (project) or absolute (global).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) path: Option<String>,
}

/// A listing: the items in load-source order and [`LOAD_ORDER`].
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PluginList {
    /// Config entries, then project files, then (optionally) global files.
    pub(crate) items: Vec<PluginItem>,
    /// Always [`LOAD_ORDER`].
    pub(crate) load_order: [&'static str; 4],
}

/// Which plugins folder is listed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PluginDir {
    /// `<ws>/.opencode/plugins`; paths are reported relative to the workspace.
    Project,
    /// `~/.config/opencode/plugins`; paths are reported absolute.
    Global,
}

/// The name two specs are compared by: `@scope/name@1.2` → `@scope/name`, `name@1.2` →
/// `name`; file, URL, git and absolute-path specs are kept whole (after trimming), because
/// an `@` in them is not a version separator.
pub(crate) fn normalize_spec(spec: &str) -> &str {
    let trimmed = spec.trim();
    let whole = ["file:", "http:", "https:", "git:", "/"]
        .iter()
        .any(|prefix| trimmed.starts_with(prefix));
    if whole {
        return trimmed;
    }
    // A scoped name starts with `@`, so its version separator is the second `@`.
    let search_from = usize::from(trimmed.starts_with('@'));
    match trimmed[search_from..].find('@') {
        Some(at) if search_from + at > 0 => &trimmed[..search_from + at],
        _ => trimmed,
    }
}

/// The config's `plugin` value as a list: a string is one spec, an array keeps its strings
/// (other elements are ignored and, on the next write, dropped, as in the reference).
pub(crate) fn specs_from_config(config: &Map<String, Value>) -> Vec<String> {
    match config.get("plugin") {
        Some(Value::String(spec)) => vec![spec.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|item| item.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// The config entries as listing items.
pub(crate) fn config_items(specs: &[String]) -> Vec<PluginItem> {
    specs
        .iter()
        .map(|spec| PluginItem {
            spec: spec.clone(),
            source: "config",
            scope: "project",
            path: None,
        })
        .collect()
}

/// `400 invalid_plugin_spec` for an empty or blank spec.
pub(crate) fn validate_spec(spec: &str) -> Result<(), ApiError> {
    if spec.trim().is_empty() {
        return Err(ApiError::new(
            http::StatusCode::BAD_REQUEST,
            "invalid_plugin_spec",
            "Plugin spec is required",
        ));
    }
    Ok(())
}

/// The list with `spec` appended as sent, or `None` when a plugin of the same normalised
/// name is already there (nothing to write).
pub(crate) fn with_added(mut specs: Vec<String>, spec: &str) -> Option<Vec<String>> {
    let name = normalize_spec(spec);
    if specs
        .iter()
        .any(|existing| normalize_spec(existing) == name)
    {
        return None;
    }
    specs.push(spec.to_owned());
    Some(specs)
}

/// The list without every entry of `name`'s normalised name, or `None` when none matched.
pub(crate) fn without(specs: Vec<String>, name: &str) -> Option<Vec<String>> {
    let name = normalize_spec(name);
    let before = specs.len();
    let kept: Vec<String> = specs
        .into_iter()
        .filter(|existing| normalize_spec(existing) != name)
        .collect();
    (kept.len() != before).then_some(kept)
}

/// Regular `.js`/`.ts` files directly in a plugins folder, in directory order. A missing
/// folder lists nothing. Symlinks are not followed into (as `Dirent.isFile()` in the
/// reference), and names that are not UTF-8 are skipped.
pub(crate) fn dir_items(
    dir: &Path,
    kind: PluginDir,
    workspace_root: &Path,
) -> std::io::Result<Vec<PluginItem>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        // A plugins "folder" that is a file lists nothing, like a missing one.
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut items = Vec::new();
    for entry in entries {
        let entry = entry?;
        if !entry.file_type()?.is_file() {
            continue;
        }
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if !(name.ends_with(".js") || name.ends_with(".ts")) {
            continue;
        }
        let absolute = dir.join(&name);
        let absolute_text = absolute.to_string_lossy().into_owned();
        let (source, scope, path) = match kind {
            PluginDir::Project => (
                "dir.project",
                "project",
                absolute.strip_prefix(workspace_root).map_or_else(
                    |_| absolute_text.clone(),
                    |p| p.to_string_lossy().into_owned(),
                ),
            ),
            PluginDir::Global => ("dir.global", "global", absolute_text.clone()),
        };
        items.push(PluginItem {
            spec: format!("file://{absolute_text}"),
            source,
            scope,
            path: Some(path),
        });
    }
    Ok(items)
}

/// The project config text with one top-level key set, keeping every other byte (comments,
/// trailing commas, key order). A config that does not exist yet is created holding just
/// that key, as the reference's `JSON.stringify(updates, null, 2)` plus a newline. Shared by
/// the routes that own one key of the project config (`plugin`, `mcp`).
pub(crate) fn config_text_with(
    existing: Option<&str>,
    key: &str,
    value: &Value,
) -> Result<String, ApiError> {
    let Some(text) = existing else {
        let mut fresh = Map::new();
        fresh.insert(key.to_owned(), value.clone());
        let mut out = serde_json::to_string_pretty(&fresh).map_err(ApiError::internal)?;
        out.push('\n');
        return Ok(out);
    };
    let mut doc = JsoncDocument::parse(text).map_err(|e| e.into_api_error())?;
    doc.set(key, value);
    Ok(doc.to_text())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn normalised_names_drop_versions_but_keep_locations_whole() {
        assert_eq!(
            normalize_spec("opencode-wakatime@1.2.3"),
            "opencode-wakatime"
        );
        assert_eq!(normalize_spec("  opencode-wakatime  "), "opencode-wakatime");
        assert_eq!(normalize_spec("@scope/name@2.0.0"), "@scope/name");
        assert_eq!(normalize_spec("@scope/name"), "@scope/name");
        assert_eq!(normalize_spec("@scope"), "@scope");
        assert_eq!(normalize_spec("@"), "@");
        assert_eq!(normalize_spec("@@1"), "@");
        assert_eq!(normalize_spec("file:///a@b/p.js"), "file:///a@b/p.js");
        assert_eq!(
            normalize_spec("https://x.test/p@1.js"),
            "https://x.test/p@1.js"
        );
        assert_eq!(normalize_spec("http://x.test/p@1"), "http://x.test/p@1");
        assert_eq!(normalize_spec("git:repo@main"), "git:repo@main");
        assert_eq!(normalize_spec(" /abs/p@1.ts"), "/abs/p@1.ts");
        // A leading `@` that is not a scope still only splits at a later `@`.
        assert_eq!(normalize_spec("name@"), "name");
        assert_eq!(normalize_spec(""), "");
    }

    #[test]
    fn config_values_become_lists_of_strings() {
        let list = |v: Value| specs_from_config(v.as_object().unwrap());
        assert_eq!(list(json!({"plugin": "a"})), ["a"]);
        assert_eq!(list(json!({"plugin": ["a", 1, null, "b"]})), ["a", "b"]);
        assert!(list(json!({"plugin": {"a": 1}})).is_empty());
        assert!(list(json!({})).is_empty());
    }

    #[test]
    fn adding_dedupes_by_normalised_name_and_keeps_the_spec_as_sent() {
        let specs = vec!["opencode-foo@1.0.0".to_owned()];
        assert_eq!(with_added(specs.clone(), "opencode-foo@2.0.0"), None);
        assert_eq!(with_added(specs.clone(), " opencode-foo "), None);
        assert_eq!(
            with_added(specs, " opencode-bar "),
            Some(vec![
                "opencode-foo@1.0.0".to_owned(),
                " opencode-bar ".to_owned()
            ])
        );
    }

    #[test]
    fn removing_takes_every_entry_of_the_name() {
        let specs: Vec<String> = ["@s/p@1", "@s/p@2", "q"].map(str::to_owned).into();
        assert_eq!(without(specs.clone(), "@s/p"), Some(vec!["q".to_owned()]));
        assert_eq!(
            without(specs.clone(), "q@9"),
            Some(vec!["@s/p@1".to_owned(), "@s/p@2".to_owned()])
        );
        assert_eq!(without(specs, "missing"), None);
    }

    #[test]
    fn blank_specs_are_refused() {
        assert_eq!(
            validate_spec(" \t").unwrap_err().code,
            "invalid_plugin_spec"
        );
        assert!(validate_spec("x").is_ok());
    }

    #[test]
    fn a_new_config_holds_just_the_key() {
        let text = config_text_with(None, "plugin", &json!(["a"])).unwrap();
        assert_eq!(text, "{\n  \"plugin\": [\n    \"a\"\n  ]\n}\n");
    }

    #[test]
    fn plugin_files_are_regular_js_and_ts_files_only() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join(".opencode/plugins");
        std::fs::create_dir_all(dir.join("nested.js")).unwrap();
        std::fs::write(dir.join("a.js"), "").unwrap();
        std::fs::write(dir.join("b.ts"), "").unwrap();
        std::fs::write(dir.join("c.md"), "").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(dir.join("a.js"), dir.join("link.js")).unwrap();
        let mut items = dir_items(&dir, PluginDir::Project, root.path()).unwrap();
        items.sort_by(|a, b| a.spec.cmp(&b.spec));
        let paths: Vec<_> = items.iter().map(|i| i.path.clone().unwrap()).collect();
        assert_eq!(paths, [".opencode/plugins/a.js", ".opencode/plugins/b.ts"]);
        assert_eq!(
            items[0].spec,
            format!("file://{}", dir.join("a.js").display())
        );
        assert_eq!(items[0].source, "dir.project");

        let global = dir_items(&dir, PluginDir::Global, root.path()).unwrap();
        assert!(
            global
                .iter()
                .all(|i| i.scope == "global" && i.source == "dir.global")
        );
        assert!(
            global
                .iter()
                .all(|i| i.path.as_deref().unwrap().starts_with('/'))
        );
        assert!(
            dir_items(&root.path().join("missing"), PluginDir::Global, root.path())
                .unwrap()
                .is_empty()
        );
    }
}
