//! MCP servers of a workspace (contract §4.10): the `mcp` maps of the global and project
//! OpenCode configs merged into one listing, whether a config's `tools.deny` globs switch a
//! server off, and the rules a new entry must follow.

use globset::GlobBuilder;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::ApiError;

/// One MCP server as clients see it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct McpItem {
    /// The key in the `mcp` map.
    pub(crate) name: String,
    /// The stored entry, every field kept as written.
    pub(crate) config: Value,
    /// `config.global` or `config.project`.
    pub(crate) source: &'static str,
    /// `true` when a `tools.deny` glob matches the server; omitted otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) disabled_by_tools: Option<bool>,
}

/// A config's `mcp` map; anything that is not an object counts as empty.
pub(crate) fn servers(config: &Map<String, Value>) -> Map<String, Value> {
    match config.get("mcp") {
        Some(Value::Object(map)) => map.clone(),
        _ => Map::new(),
    }
}

/// Global entries first, except names the project also defines (the project entry wins),
/// then every project entry; each in the key order of its file.
pub(crate) fn list(project: &Map<String, Value>, global: &Map<String, Value>) -> Vec<McpItem> {
    let project_servers = servers(project);
    let global_servers = servers(global);
    let global_items = global_servers
        .iter()
        .filter(|(name, _)| !project_servers.contains_key(name.as_str()))
        .map(|(name, config)| McpItem {
            name: name.clone(),
            config: config.clone(),
            source: "config.global",
            // A global server is off when either config denies it.
            disabled_by_tools: (disabled_by_tools(global, name)
                || disabled_by_tools(project, name))
            .then_some(true),
        });
    let project_items = project_servers.iter().map(|(name, config)| McpItem {
        name: name.clone(),
        config: config.clone(),
        source: "config.project",
        disabled_by_tools: disabled_by_tools(project, name).then_some(true),
    });
    global_items.chain(project_items).collect()
}

/// Whether a string of the config's `tools.deny` list matches one of the tool names
/// OpenCode gives this server's tools (or all MCP tools).
pub(crate) fn disabled_by_tools(config: &Map<String, Value>, name: &str) -> bool {
    let Some(deny) = config
        .get("tools")
        .and_then(|tools| tools.get("deny"))
        .and_then(Value::as_array)
    else {
        return false;
    };
    let candidates = [
        format!("mcp.{name}"),
        format!("mcp.{name}.*"),
        format!("mcp:{name}"),
        format!("mcp:{name}:*"),
        "mcp.*".to_owned(),
        "mcp:*".to_owned(),
    ];
    deny.iter()
        .filter_map(Value::as_str)
        .any(|pattern| candidates.iter().any(|c| minimatch(c, pattern)))
}

/// `minimatch(candidate, pattern)` with its default options: `#` starts a comment (matches
/// nothing), leading `!`s negate, `*` and `?` stop at `/`, braces expand, and a pattern
/// that is not a valid glob (an unclosed `[`) is compared literally.
fn minimatch(candidate: &str, pattern: &str) -> bool {
    if pattern.starts_with('#') {
        return false;
    }
    let body = pattern.trim_start_matches('!');
    let negated = (pattern.len() - body.len()) % 2 == 1;
    let matched = if body.is_empty() {
        candidate.is_empty()
    } else {
        match GlobBuilder::new(body)
            .literal_separator(true)
            .backslash_escape(true)
            .empty_alternates(true)
            .build()
        {
            Ok(glob) => glob.compile_matcher().is_match(candidate),
            Err(_) => candidate == body,
        }
    };
    matched != negated
}

fn invalid_config(message: &'static str) -> ApiError {
    ApiError::new(http::StatusCode::BAD_REQUEST, "invalid_mcp_config", message)
}

/// `400 invalid_mcp_name` unless the name is `[A-Za-z0-9_-]+` and does not start with `-`.
/// SECURITY: the name becomes a key in the config and part of tool names; the pattern also
/// keeps `/`, `.` and whitespace out.
pub(crate) fn validate_name(name: &str) -> Result<(), ApiError> {
    let valid = !name.is_empty()
        && !name.starts_with('-')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if valid {
        return Ok(());
    }
    Err(ApiError::new(
        http::StatusCode::BAD_REQUEST,
        "invalid_mcp_name",
        "MCP name must be alphanumeric and not start with -",
    ))
}

/// `400 invalid_mcp_config` unless `type` is `local` with a non-empty `command` array or
/// `remote` with a non-empty `url` string. A value that is not an object has no `type`.
pub(crate) fn validate_config(config: &Value) -> Result<(), ApiError> {
    match config.get("type").and_then(Value::as_str) {
        Some("local") => match config.get("command") {
            Some(Value::Array(command)) if !command.is_empty() => Ok(()),
            _ => Err(invalid_config("Local MCP requires command array")),
        },
        Some("remote") => match config.get("url") {
            Some(Value::String(url)) if !url.is_empty() => Ok(()),
            _ => Err(invalid_config("Remote MCP requires url")),
        },
        _ => Err(invalid_config("MCP config type must be local or remote")),
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
    fn deny_globs_follow_minimatch() {
        let denied = |patterns: Value, name: &str| {
            disabled_by_tools(&object(json!({"tools": {"deny": patterns}})), name)
        };
        assert!(denied(json!(["mcp.docs"]), "docs"));
        assert!(denied(json!(["mcp.docs.*"]), "docs"));
        assert!(denied(json!(["mcp:docs:*"]), "docs"));
        assert!(denied(json!(["mcp.*"]), "anything"));
        assert!(denied(json!(["mcp:*"]), "anything"));
        assert!(denied(json!(["mcp.do?s"]), "docs"));
        assert!(denied(json!(["mcp.{docs,web}"]), "web"));
        assert!(denied(json!(["mcp.[a-d]ocs"]), "docs"));
        assert!(denied(json!(["*"]), "docs"));
        assert!(denied(json!(["mcp.**"]), "docs"));
        assert!(!denied(json!(["mcp.other"]), "docs"));
        assert!(!denied(json!(["mcp.docs"]), "Docs"), "case matters");
        assert!(!denied(json!(["bash", 3, null]), "docs"));
        assert!(
            !denied(json!(["#mcp.*"]), "docs"),
            "a comment matches nothing"
        );
        assert!(
            denied(json!(["!mcp.other"]), "docs"),
            "a negation matches the rest"
        );
        assert!(!denied(json!(["!!mcp.other"]), "docs"));
        assert!(
            !denied(json!(["mcp.[docs"]), "docs"),
            "an unclosed class is literal"
        );
        assert!(denied(json!(["mcp.[docs"]), "[docs"));
        assert!(!denied(json!([""]), "docs"));
        assert!(!disabled_by_tools(
            &object(json!({"tools": {"deny": "mcp.*"}})),
            "docs"
        ));
        assert!(!disabled_by_tools(
            &object(json!({"tools": ["mcp.*"]})),
            "docs"
        ));
    }

    #[test]
    fn global_entries_come_first_unless_the_project_overrides_them() {
        let global = object(json!({
            "mcp": {"shared": {"type": "remote", "url": "g"}, "only-global": {"type": "local", "command": ["x"]}},
            "tools": {"deny": ["mcp.only-global"]},
        }));
        let project = object(json!({
            "mcp": {"zeta": {"type": "local", "command": ["z"], "enabled": false}, "shared": {"type": "remote", "url": "p"}},
            "tools": {"deny": ["mcp:zeta"]},
        }));
        let items = list(&project, &global);
        let summary: Vec<_> = items
            .iter()
            .map(|i| (i.name.as_str(), i.source, i.disabled_by_tools))
            .collect();
        assert_eq!(
            summary,
            [
                ("only-global", "config.global", Some(true)),
                ("zeta", "config.project", Some(true)),
                ("shared", "config.project", None),
            ]
        );
        assert_eq!(
            items[1].config,
            json!({"type": "local", "command": ["z"], "enabled": false})
        );
        assert_eq!(
            serde_json::to_value(&items[2]).unwrap(),
            json!({"name": "shared", "config": {"type": "remote", "url": "p"}, "source": "config.project"})
        );

        // The project's deny list also switches global servers off.
        let project = object(json!({"tools": {"deny": ["mcp.*"]}}));
        let items = list(&project, &global);
        assert!(items.iter().all(|i| i.disabled_by_tools == Some(true)));
        assert!(list(&object(json!({"mcp": "nope"})), &Map::new()).is_empty());
    }

    #[test]
    fn names_and_configs_are_validated_with_the_reference_messages() {
        for good in ["docs", "a_b-c", "X9", "_x"] {
            assert!(validate_name(good).is_ok(), "{good}");
        }
        for bad in ["", "-x", "a b", "a/b", "a.b", "é"] {
            assert_eq!(
                validate_name(bad).unwrap_err().code,
                "invalid_mcp_name",
                "{bad}"
            );
        }
        let message = |config: Value| validate_config(&config).unwrap_err().message.into_owned();
        assert_eq!(
            message(json!({})),
            "MCP config type must be local or remote"
        );
        assert_eq!(
            message(json!("local")),
            "MCP config type must be local or remote"
        );
        assert_eq!(
            message(json!({"type": "stdio"})),
            "MCP config type must be local or remote"
        );
        assert_eq!(
            message(json!({"type": "local"})),
            "Local MCP requires command array"
        );
        assert_eq!(
            message(json!({"type": "local", "command": []})),
            "Local MCP requires command array"
        );
        assert_eq!(
            message(json!({"type": "local", "command": "npx"})),
            "Local MCP requires command array"
        );
        assert_eq!(
            message(json!({"type": "remote"})),
            "Remote MCP requires url"
        );
        assert_eq!(
            message(json!({"type": "remote", "url": ""})),
            "Remote MCP requires url"
        );
        assert_eq!(
            message(json!({"type": "remote", "url": 5})),
            "Remote MCP requires url"
        );
        assert!(validate_config(&json!({"type": "local", "command": ["npx", "x"]})).is_ok());
        assert!(validate_config(&json!({"type": "remote", "url": "https://x.test/mcp"})).is_ok());
        assert_eq!(
            validate_config(&json!({})).unwrap_err().code,
            "invalid_mcp_config"
        );
    }
}
