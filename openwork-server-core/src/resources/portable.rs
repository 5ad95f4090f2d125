//! Workspace portability (contract §7): what of a workspace travels in an export and may be
//! written by an import. The portable subset of the OpenCode config, `openwork.json` without
//! its per-machine blueprint state, and the "portable files" allowlist
//! (`.opencode/{agents,plugins,tools}/…`) with the reference's path normalisation.
//!
//! Submodules: [`sensitive`] (the export's secret detection), [`changeset`] (all-or-nothing
//! application of file changes) and [`import`] (turning an import body into a change set).

pub(crate) mod changeset;
pub(crate) mod import;
pub(crate) mod sensitive;

use http::StatusCode;
use serde::Serialize;
use serde_json::{Map, Value};
use std::path::Path;

use super::skills::{js_string, js_trim};
use crate::error::ApiError;
use crate::fs::confine::ensure_inside;

/// The OpenCode config keys an export carries and an import may set, in output order.
/// Everything else (`model`, `provider`, `$schema`, `default_agent`…) is machine-specific.
pub(crate) const PORTABLE_KEYS: [&str; 9] = [
    "agent",
    "command",
    "instructions",
    "mcp",
    "permission",
    "plugin",
    "share",
    "tools",
    "watcher",
];

/// Workspace-relative folders whose files are portable.
const PORTABLE_PREFIXES: [&str; 3] = [
    ".opencode/agents/",
    ".opencode/plugins/",
    ".opencode/tools/",
];

/// Path segments never exported or imported, whatever folder they are in.
const RESERVED_SEGMENTS: [&str; 3] = [".DS_Store", "Thumbs.db", "node_modules"];

/// The portable keys of a project config, in [`PORTABLE_KEYS`] order (a copy).
pub(crate) fn portable_opencode(config: &Map<String, Value>) -> Map<String, Value> {
    PORTABLE_KEYS
        .iter()
        .filter_map(|key| {
            config
                .get(*key)
                .map(|value| ((*key).to_owned(), value.clone()))
        })
        .collect()
}

/// `openwork.json` without `blueprint.materialized.sessions` (the sessions created on this
/// machine), dropping `blueprint.materialized` when nothing else is left in it.
pub(crate) fn without_materialized_sessions(openwork: &Map<String, Value>) -> Map<String, Value> {
    let mut next = openwork.clone();
    if let Some(Value::Object(blueprint)) = next.get_mut("blueprint") {
        if let Some(Value::Object(materialized)) = blueprint.get_mut("materialized") {
            materialized.remove("sessions");
            if materialized.is_empty() {
                blueprint.remove("materialized");
            }
        }
    }
    next
}

/// One portable file: its normalised workspace-relative path and its text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct PortableFile {
    /// Workspace-relative, `/`-separated, e.g. `.opencode/agents/a.md`.
    pub(crate) path: String,
    /// The file's text (UTF-8).
    pub(crate) content: String,
}

fn invalid_path(message: String) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "invalid_portable_file_path",
        message,
    )
}

/// Normalises a portable path the reference's way: backslashes become `/`, repeated `/`
/// collapse, one leading `./` and the leading `/` go, then the text is trimmed. Empty, NUL,
/// and empty/`.`/`..` segments are `400 invalid_portable_file_path`.
pub(crate) fn normalize_path(input: &str) -> Result<String, ApiError> {
    let mut collapsed = String::with_capacity(input.len());
    for c in input.chars().map(|c| if c == '\\' { '/' } else { c }) {
        if !(c == '/' && collapsed.ends_with('/')) {
            collapsed.push(c);
        }
    }
    let rest = collapsed.strip_prefix("./").unwrap_or(&collapsed);
    let normalized = js_trim(rest.trim_start_matches('/'));
    if normalized.is_empty() {
        return Err(invalid_path("Portable file path is required".to_owned()));
    }
    if normalized.contains('\0') {
        return Err(invalid_path(format!(
            "Portable file path contains an invalid byte: {normalized}"
        )));
    }
    // SECURITY: no segment may climb out of (or alias) the folder it names.
    if normalized
        .split('/')
        .any(|segment| matches!(segment, "" | "." | ".."))
    {
        return Err(invalid_path(format!(
            "Portable file path is invalid: {normalized}"
        )));
    }
    Ok(normalized.to_owned())
}

/// `.env`, `.env.local`, `.ENV.production`…: environment files hold secrets.
fn is_env_segment(segment: &str) -> bool {
    let Some(prefix) = segment.get(..4) else {
        return false;
    };
    if !prefix.eq_ignore_ascii_case(".env") {
        return false;
    }
    let rest = &segment[4..];
    rest.is_empty()
        || rest.strip_prefix('.').is_some_and(|tail| {
            !tail.is_empty() && !tail.contains(['\n', '\r', '\u{2028}', '\u{2029}'])
        })
}

/// Whether a normalised path is on the portable allowlist: under one of the portable
/// folders, with no environment file, OS litter or `node_modules` segment.
pub(crate) fn is_allowed_path(path: &str) -> bool {
    PORTABLE_PREFIXES
        .iter()
        .any(|prefix| path.starts_with(prefix))
        && !path
            .split('/')
            .any(|segment| is_env_segment(segment) || RESERVED_SEGMENTS.contains(&segment))
}

/// Whether a portable file is a plugin or tool (code that may embed credentials).
pub(crate) fn is_code_path(path: &str) -> bool {
    path.starts_with(".opencode/plugins/") || path.starts_with(".opencode/tools/")
}

/// One entry of an import's `files`: an object whose `path` normalises onto the allowlist.
/// Non-string content is stringified as the reference does.
pub(crate) fn parse_import_file(entry: &Value) -> Result<PortableFile, ApiError> {
    let Value::Object(record) = entry else {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_portable_file",
            "Portable files must be objects with path and content",
        ));
    };
    let path = normalize_path(&js_string(record.get("path")))?;
    if !is_allowed_path(&path) {
        return Err(invalid_path(format!(
            "Portable file path is not allowed: {path}"
        )));
    }
    Ok(PortableFile {
        path,
        content: js_string(record.get("content")),
    })
}

/// The portable files of a workspace, sorted by path (byte order). Blocking.
///
/// Symlinks inside the portable folders are skipped, as the reference's directory walk
/// does. SECURITY (D1): a `.opencode` that resolves outside the workspace is
/// `400 invalid_path`. Files that vanish or cannot be read while walking are left out.
pub(crate) fn list_files(root: &Path) -> Result<Vec<PortableFile>, ApiError> {
    let base = root.join(".opencode");
    if !base.exists() {
        return Ok(Vec::new());
    }
    ensure_inside(root, &base)?;
    let mut out = Vec::new();
    for folder in ["agents", "plugins", "tools"] {
        let dir = base.join(folder);
        let is_real_dir = std::fs::symlink_metadata(&dir).is_ok_and(|m| m.is_dir());
        if is_real_dir {
            walk(&dir, &format!(".opencode/{folder}"), &mut out);
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

fn walk(dir: &Path, rel: &str, out: &mut Vec<PortableFile>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let rel = format!("{rel}/{name}");
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            // Nothing under `node_modules` is portable; do not read it at all.
            if name != "node_modules" {
                walk(&entry.path(), &rel, out);
            }
        } else if kind.is_file() && is_allowed_path(&rel) {
            if let Ok(bytes) = std::fs::read(entry.path()) {
                out.push(PortableFile {
                    path: rel,
                    content: String::from_utf8_lossy(&bytes).into_owned(),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn keeps_only_the_nine_portable_keys_in_fixed_order() {
        let config = object(json!({
            "$schema": "https://opencode.ai/config.json", "watcher": {"ignore": []},
            "model": "m", "provider": {"x": {}}, "plugin": ["p"], "mcp": {},
            "agent": {}, "default_agent": "a", "share": "manual",
        }));
        let portable = portable_opencode(&config);
        let keys: Vec<_> = portable.keys().map(String::as_str).collect();
        assert_eq!(keys, ["agent", "mcp", "plugin", "share", "watcher"]);
        assert_eq!(portable["plugin"], json!(["p"]));
    }

    #[test]
    fn strips_materialized_sessions_only() {
        let openwork = object(json!({
            "version": 1,
            "blueprint": {"sessions": [{"title": "t"}], "materialized": {"sessions": {"items": []}}},
        }));
        assert_eq!(
            Value::Object(without_materialized_sessions(&openwork)),
            json!({"version": 1, "blueprint": {"sessions": [{"title": "t"}]}})
        );
        let kept = object(json!({"blueprint": {"materialized": {"sessions": {}, "other": 1}}}));
        assert_eq!(
            Value::Object(without_materialized_sessions(&kept)),
            json!({"blueprint": {"materialized": {"other": 1}}})
        );
    }

    #[test]
    fn normalises_paths_like_the_reference() {
        let ok = |input: &str| normalize_path(input).unwrap();
        assert_eq!(ok(".opencode/agents/a.md"), ".opencode/agents/a.md");
        assert_eq!(ok("./.opencode//agents\\a.md"), ".opencode/agents/a.md");
        assert_eq!(ok("///.opencode/tools/t.ts "), ".opencode/tools/t.ts");
        let err = |input: &str| normalize_path(input).unwrap_err().message.into_owned();
        assert_eq!(err(""), "Portable file path is required");
        assert_eq!(err("//"), "Portable file path is required");
        // Trimming comes last, as in the reference.
        assert_eq!(err(" / "), "Portable file path is invalid: /");
        assert_eq!(err("../x"), "Portable file path is invalid: ../x");
        assert_eq!(
            err(".opencode/agents/../../x"),
            "Portable file path is invalid: .opencode/agents/../../x"
        );
        assert_eq!(err("a/./b"), "Portable file path is invalid: a/./b");
        assert_eq!(
            err("a\0b"),
            "Portable file path contains an invalid byte: a\0b"
        );
    }

    #[test]
    fn allowlist_excludes_env_files_litter_and_node_modules() {
        assert!(is_allowed_path(".opencode/agents/a.md"));
        assert!(is_allowed_path(".opencode/plugins/sub/p.js"));
        assert!(is_allowed_path(".opencode/tools/.envrc"));
        assert!(is_allowed_path(".opencode/tools/.env."));
        assert!(!is_allowed_path(".opencode/skills/s/SKILL.md"));
        assert!(!is_allowed_path("src/x.js"));
        assert!(!is_allowed_path(".opencode/agents"));
        assert!(!is_allowed_path(".opencode/plugins/.env"));
        assert!(!is_allowed_path(".opencode/plugins/.ENV.local"));
        assert!(!is_allowed_path(".opencode/plugins/.env.d/x"));
        assert!(!is_allowed_path(".opencode/tools/node_modules/x.js"));
        assert!(!is_allowed_path(".opencode/agents/.DS_Store"));
        assert!(!is_allowed_path(".opencode/agents/Thumbs.db"));
    }

    #[test]
    fn import_entries_must_be_objects_on_the_allowlist() {
        let file = parse_import_file(&json!({"path": "/.opencode/agents/a.md", "content": 5}));
        assert_eq!(
            file.unwrap(),
            PortableFile {
                path: ".opencode/agents/a.md".into(),
                content: "5".into()
            }
        );
        let error = parse_import_file(&json!("x")).unwrap_err();
        assert_eq!(error.code, "invalid_portable_file");
        let error = parse_import_file(&json!({"path": "src/x.js"})).unwrap_err();
        assert_eq!(
            (error.code.as_ref(), error.message.as_ref()),
            (
                "invalid_portable_file_path",
                "Portable file path is not allowed: src/x.js"
            )
        );
        let error = parse_import_file(&json!({"content": "x"})).unwrap_err();
        assert_eq!(error.message, "Portable file path is required");
    }

    #[test]
    fn lists_allowlisted_files_sorted_and_skips_links() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for (rel, body) in [
            (".opencode/tools/t.ts", "tool"),
            (".opencode/agents/b.md", "b"),
            (".opencode/agents/a.md", "a"),
            (".opencode/agents/.env", "SECRET=1"),
            (".opencode/plugins/node_modules/m/index.js", "m"),
            (".opencode/plugins/.DS_Store", "x"),
            (".opencode/skills/s/SKILL.md", "s"),
            (".opencode/openwork.json", "{}"),
        ] {
            let path = root.join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, body).unwrap();
        }
        #[cfg(unix)]
        std::os::unix::fs::symlink("/etc/hostname", root.join(".opencode/agents/link.md")).unwrap();
        let paths: Vec<_> = list_files(root)
            .unwrap()
            .into_iter()
            .map(|f| f.path)
            .collect();
        assert_eq!(
            paths,
            [
                ".opencode/agents/a.md",
                ".opencode/agents/b.md",
                ".opencode/tools/t.ts"
            ]
        );
    }

    #[cfg(unix)]
    #[test]
    fn an_opencode_folder_linked_outside_is_an_escape() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(outside.path().join("agents")).unwrap();
        std::fs::write(outside.path().join("agents/a.md"), "a").unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join(".opencode")).unwrap();
        let error = list_files(dir.path()).unwrap_err();
        assert_eq!(error.message, "Path escapes the workspace");
    }
}
