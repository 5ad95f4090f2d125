use super::*;
use serde_json::json;

fn object(value: Value) -> Map<String, Value> {
    value.as_object().unwrap().clone()
}

fn file(path: &str, content: &str) -> PortableFile {
    PortableFile {
        path: path.into(),
        content: content.into(),
    }
}

fn signals(text: &str) -> Vec<&'static str> {
    string_signals(text).0
}

#[test]
fn parses_the_mode() {
    assert_eq!(SensitiveMode::parse(None).unwrap(), SensitiveMode::Auto);
    assert_eq!(
        SensitiveMode::parse(Some(" ")).unwrap(),
        SensitiveMode::Auto
    );
    assert_eq!(
        SensitiveMode::parse(Some("exclude ")).unwrap(),
        SensitiveMode::Exclude
    );
    let error = SensitiveMode::parse(Some(" all ")).unwrap_err();
    assert_eq!(error.code, "invalid_workspace_export_sensitive_mode");
    assert_eq!(
        error.message,
        "Invalid workspace export sensitive mode: all"
    );
}

#[test]
fn benign_config_and_files_give_no_warnings() {
    let config = object(json!({
        "$schema": "https://opencode.ai/config.json",
        "model": "anthropic/claude-sonnet-4",
        "mcp": {"chrome": {"type": "local", "command": ["chrome-devtools-mcp"]},
                "docs": {"type": "remote", "url": "https://example.com/mcp"}},
        "plugin": ["opencode-wakatime@1.2.3"],
        "permission": {"edit": "allow"},
        "keybinds": {"key": "ctrl+k"},
    }));
    let files = [
        file(
            ".opencode/plugins/p.js",
            "export const Plugin = async () => ({})\n",
        ),
        file(".opencode/agents/a.md", "Never paste your password here."),
    ];
    assert_eq!(collect_warnings(&config, &files), []);
}

#[test]
fn a_bearer_header_names_the_value_kind() {
    let config = object(json!({"mcp": {"remote": {
        "type": "remote", "url": "https://example.com/mcp",
        "headers": {"Authorization": "Bearer abcdefghijklmnopqrstuvwxyz"},
    }}}));
    assert_eq!(
        collect_warnings(&config, &[]),
        [ExportWarning {
            id: "mcp-config".into(),
            label: "MCP servers".into(),
            detail: "Contains secret-like MCP config: Bearer.".into(),
        }]
    );
    let (kept, _) = strip_sensitive(&config, Vec::new());
    assert_eq!(
        Value::Object(kept),
        json!({"mcp": {"remote": {"type": "remote", "url": "https://example.com/mcp"}}})
    );
}

#[test]
fn every_section_is_checked_even_unexported_ones() {
    let config = object(json!({
        "provider": {"openai": {"options": {"apiKey": "sk-live-1234567890abcdef"}}},
        "plugin": [["my-plugin", {"token": "x"}]],
        "small_model": "https://example.com/a/very/long/path/to/some/model",
        "fooBar_baz--qux": {"password": "hunter2"},
    }));
    let warnings = collect_warnings(&config, &[]);
    let seen: Vec<_> = warnings
        .iter()
        .map(|w| (w.id.as_str(), w.label.as_str(), w.detail.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            (
                "provider-config",
                "Provider settings",
                "Contains secret-like provider config: apiKey, token."
            ),
            (
                "plugin-config",
                "Plugin settings",
                "Contains secret-like plugin config: token."
            ),
            (
                "config-small_model",
                "Small model",
                "Contains secret-like small_model config: long URL."
            ),
            (
                "config-fooBar_baz--qux",
                "Foo Bar baz qux",
                "Contains secret-like fooBar_baz--qux config: password."
            ),
        ]
    );
}

#[test]
fn file_warnings_cover_plugins_and_tools_only() {
    let files = [
        file(".opencode/agents/a.md", "const token = 'x'"),
        file(
            ".opencode/plugins/p.js",
            "export const apiKey = \"sk-abcdefghijklmnop\"",
        ),
        file(".opencode/tools/t.ts", "export default {}"),
    ];
    assert_eq!(
        collect_warnings(&Map::new(), &files),
        [ExportWarning {
            id: "portable-file:.opencode/plugins/p.js".into(),
            label: ".opencode/plugins/p.js".into(),
            detail: "Contains secret-like file content: token, apiKey.".into(),
        }]
    );
    let (_, kept) = strip_sensitive(&Map::new(), files.to_vec());
    let paths: Vec<_> = kept.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, [".opencode/agents/a.md", ".opencode/tools/t.ts"]);
}

#[test]
fn details_name_at_most_four_signals() {
    let config = object(json!({"mcp": {"x": {
        "apiKey": "a", "token": "b", "secret": "c", "password": "d", "credentials": "e",
    }}}));
    assert_eq!(
        collect_warnings(&config, &[])[0].detail,
        "Contains secret-like MCP config: apiKey, token, secret, password, ...."
    );
}

#[test]
fn key_names_are_split_into_words() {
    let names = |key: &str| key_signals(key, &json!("v")).0;
    assert_eq!(names("clientSecret"), ["secret"]);
    assert_eq!(names("client_secret"), ["secret"]);
    assert_eq!(names("X-API-Key"), ["apiKey"]);
    assert_eq!(names("accessToken"), ["token"]);
    assert_eq!(names("refresh_token"), ["token"]);
    assert_eq!(names("authorization"), ["Bearer"]);
    assert_eq!(names("db_passwd"), ["password"]);
    assert_eq!(names("gcpCredentialsFile"), ["credentials"]);
    assert_eq!(names("privateKey"), ["privateKey"]);
    assert_eq!(names("publicKey"), Vec::<&str>::new());
    assert_eq!(names("tokens"), Vec::<&str>::new());
    assert_eq!(names("command"), Vec::<&str>::new());
}

#[test]
fn a_bare_key_counts_only_with_a_secret_looking_value() {
    assert!(key_signals("key", &json!("gpt-4")).is_empty());
    assert!(key_signals("key", &json!(123)).is_empty());
    assert!(key_signals("key", &json!({"a": 1})).is_empty());
    assert!(key_signals("key", &json!("short words only here")).is_empty());
    assert_eq!(key_signals("key", &json!("Ab3dEf6hIj9kLm2nOp")).0, ["key"]);
    assert_eq!(
        key_signals("key", &json!("0123456789abcdef0123456789abcdef")).0,
        ["key"]
    );
    assert_eq!(
        key_signals("key", &json!("sk-proj-abcdefgh1234")).0,
        ["key"]
    );
}

#[test]
fn known_value_shapes_are_recognised() {
    assert_eq!(signals("Bearer abc.def"), ["Bearer"]);
    assert_eq!(signals("ghp_abcdefgh12345678"), ["token"]);
    assert_eq!(signals("xoxb-1234-abcdefgh"), ["token"]);
    assert_eq!(signals("AKIAABCDEFGHIJKLMNOP"), ["token"]);
    assert_eq!(signals("task-abcdefghij"), Vec::<&str>::new());
    assert_eq!(signals("sk-short"), Vec::<&str>::new());
    assert_eq!(
        signals("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"),
        ["JWT"]
    );
    assert_eq!(signals("eyJhbGciOiJIUzI1NiJ9.only-two"), Vec::<&str>::new());
    assert_eq!(
        signals("https://example.com/some/long/path/over/32"),
        ["long URL"]
    );
    assert_eq!(signals("https://example.com/mcp"), Vec::<&str>::new());
}

#[test]
fn words_in_text_need_word_boundaries() {
    assert_eq!(signals("Set your API-KEY first"), ["apiKey"]);
    assert_eq!(signals("access_token=abc"), ["token"]);
    assert_eq!(signals("tokens and secrets"), Vec::<&str>::new());
    assert_eq!(signals("the client-secret"), ["secret"]);
    assert_eq!(signals("bearer lowercase"), Vec::<&str>::new());
    assert_eq!(signals("uses Bearer"), ["Bearer"]);
    assert_eq!(
        signals("no passwd, one credential"),
        ["password", "credentials"]
    );
    assert_eq!(signals("PRIVATE_KEY"), ["privateKey"]);
}

#[test]
fn quoted_key_assignments_with_secret_values_are_flagged() {
    assert_eq!(signals(r#"const key = "Ab3dEf6hIj9kLm2nOp";"#), ["key"]);
    assert_eq!(signals(r#"{"key": 'Ab3dEf6hIj9kLm2nOp'}"#), ["key"]);
    assert_eq!(signals(r#"key: "plain words here ok""#), Vec::<&str>::new());
    assert_eq!(
        signals(r#"monkey = "Ab3dEf6hIj9kLm2nOp""#),
        Vec::<&str>::new()
    );
}

#[test]
fn exclude_drops_flagged_values_and_emptied_containers() {
    let config = object(json!({
        "mcp": {
            "a": {"type": "local", "command": ["run"], "environment": {"API_TOKEN": "x"}},
            "b": {"headers": {"Authorization": "y"}},
        },
        "plugin": ["ok-plugin", "Bearer abcdefgh"],
        "instructions": ["https://example.com/a/very/long/instructions/url.md"],
        "share": "manual",
    }));
    let (kept, _) = strip_sensitive(&config, Vec::new());
    assert_eq!(
        Value::Object(kept),
        json!({
            "mcp": {"a": {"type": "local", "command": ["run"]}},
            "plugin": ["ok-plugin"],
            "share": "manual",
        })
    );
}

#[test]
fn long_repetitive_text_is_scanned_without_backtracking_blowups() {
    // A scan from every start position to the end of the text would be quadratic here.
    let tokens = format!("{}!", "sk-".repeat(30_000));
    assert_eq!(signals(&tokens), ["token"]);
    let jwt_like = format!("eyJa.{}", "-eyJa".repeat(30_000));
    assert!(signals(&jwt_like).is_empty());
    let assignments = "key = \"abc ".repeat(15_000);
    assert!(signals(&assignments).is_empty());
}
