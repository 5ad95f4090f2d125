//! Resolution of the layered configuration, without a server.

use super::*;
use std::path::Path;

fn load_with(
    file: Option<&str>,
    env: &[(&str, &str)],
    cli: CliOverrides,
) -> Result<ServerConfig, ConfigError> {
    let home = tempfile::tempdir().unwrap();
    if let Some(text) = file {
        let dir = home.path().join(".config/openwork");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("server.json"), text).unwrap();
    }
    let mut pairs: Vec<(String, String)> = vec![("HOME".into(), home.path().display().to_string())];
    pairs.extend(env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    let env = EnvSource::fixed(pairs);
    load(&Context {
        config_file: None,
        env: &env,
        cli: &cli,
        current_dir: Path::new("/srv/cwd"),
    })
}

fn load_ok(file: Option<&str>, env: &[(&str, &str)], cli: CliOverrides) -> ServerConfig {
    load_with(file, env, cli).expect("config loads")
}

#[test]
fn defaults_apply_when_nothing_is_set() {
    let c = load_ok(None, &[], CliOverrides::default());
    assert_eq!(c.host, "127.0.0.1");
    assert_eq!(c.port, 8787);
    assert_eq!(c.token_source, TokenSource::Generated);
    assert_eq!(c.token.expose().len(), 36);
    assert_ne!(c.token, c.host_token);
    assert_eq!(c.approval.mode, ApprovalMode::Manual);
    assert_eq!(c.approval.timeout_ms, 30_000);
    assert_eq!(c.cors_origins, ["*"]);
    assert!(!c.read_only && c.log_requests);
    assert_eq!(c.log_format, LogFormat::Pretty);
    assert!(c.workspaces.is_empty() && c.authorized_roots.is_empty());
    assert!(c.config_path.ends_with(".config/openwork/server.json"));
    assert!(c.token_store_path.ends_with(".config/openwork/tokens.json"));
}

#[test]
fn each_layer_overrides_the_one_below_per_setting() {
    let file = r#"{"host":"10.1.1.1","port":1111,"token":"file-tok","hostToken":"file-host"}"#;
    let c = load_ok(
        Some(file),
        &[("OPENWORK_PORT", "2222"), ("OPENWORK_TOKEN", "env-tok")],
        CliOverrides {
            token: Some("cli-tok".into()),
            ..CliOverrides::default()
        },
    );
    assert_eq!(c.host, "10.1.1.1");
    assert_eq!(c.port, 2222);
    assert_eq!(
        (c.token.expose(), c.token_source),
        ("cli-tok", TokenSource::Cli)
    );
    assert_eq!(
        (c.host_token.expose(), c.host_token_source),
        ("file-host", TokenSource::File)
    );
}

#[test]
fn numeric_looking_env_tokens_stay_strings() {
    let c = load_ok(
        None,
        &[("OPENWORK_TOKEN", "12345"), ("OPENWORK_HOST_TOKEN", "007")],
        CliOverrides::default(),
    );
    assert_eq!(
        (c.token.expose(), c.token_source),
        ("12345", TokenSource::Env)
    );
    assert_eq!(c.host_token.expose(), "007");
}

#[test]
fn a_non_numeric_env_timeout_means_the_default_not_the_file() {
    let file = r#"{"approval":{"mode":"auto","timeoutMs":5000}}"#;
    let c = load_ok(
        Some(file),
        &[("OPENWORK_APPROVAL_TIMEOUT_MS", "soon")],
        CliOverrides::default(),
    );
    assert_eq!(c.approval.timeout_ms, 30_000);
    assert_eq!(c.approval.mode, ApprovalMode::Auto);
    let c = load_ok(
        Some(file),
        &[("OPENWORK_APPROVAL_MODE", "AUTO")],
        CliOverrides::default(),
    );
    assert_eq!(
        c.approval.mode,
        ApprovalMode::Manual,
        "only exactly `auto` is auto"
    );
}

#[test]
fn an_ignored_env_log_format_lets_the_file_show_through() {
    let file = r#"{"logFormat":"json","logRequests":false}"#;
    let c = load_ok(
        Some(file),
        &[
            ("OPENWORK_LOG_FORMAT", "xml"),
            ("OPENWORK_LOG_REQUESTS", "maybe"),
        ],
        CliOverrides::default(),
    );
    assert_eq!(c.log_format, LogFormat::Json);
    assert!(!c.log_requests);
    let c = load_ok(
        Some(file),
        &[
            ("OPENWORK_LOG_FORMAT", "text"),
            ("OPENWORK_LOG_REQUESTS", "ON"),
        ],
        CliOverrides::default(),
    );
    assert_eq!(c.log_format, LogFormat::Pretty);
    assert!(c.log_requests);
}

#[test]
fn read_only_env_spellings() {
    for (value, expected) in [
        ("TRUE", true),
        ("1", true),
        ("yes", true),
        ("on", false),
        ("no", false),
    ] {
        let c = load_ok(
            Some(r#"{"readOnly":true}"#),
            &[("OPENWORK_READONLY", value)],
            CliOverrides::default(),
        );
        assert_eq!(c.read_only, expected, "{value}");
    }
}

#[test]
fn workspace_lists_replace_whole_and_resolve_per_layer() {
    let file = r#"{"workspaces":[{"path":"ws-a"},{"path":"/abs/ws-b"}]}"#;
    let c = load_ok(Some(file), &[], CliOverrides::default());
    let paths: Vec<_> = c.workspaces.iter().map(|w| w.path.clone()).collect();
    let config_dir = c.config_path.parent().unwrap().display().to_string();
    assert_eq!(
        paths,
        [format!("{config_dir}/ws-a"), "/abs/ws-b".to_owned()]
    );

    // D8: relative command-line and environment paths are relative to the current directory.
    let c = load_ok(
        Some(file),
        &[("OPENWORK_WORKSPACES", "one;two")],
        CliOverrides::default(),
    );
    let paths: Vec<_> = c.workspaces.iter().map(|w| w.path.as_str()).collect();
    assert_eq!(paths, ["/srv/cwd/one", "/srv/cwd/two"]);
    let c = load_ok(
        Some(file),
        &[("OPENWORK_WORKSPACES", "one")],
        CliOverrides {
            workspaces: vec!["../x".into()],
            ..CliOverrides::default()
        },
    );
    let paths: Vec<_> = c.workspaces.iter().map(|w| w.path.as_str()).collect();
    assert_eq!(paths, ["/srv/x"]);
    // An empty environment list does not replace the file's.
    let c = load_ok(
        Some(file),
        &[("OPENWORK_WORKSPACES", "[]")],
        CliOverrides::default(),
    );
    assert_eq!(c.workspaces.len(), 2);
}

#[test]
fn authorized_roots_come_from_the_file_or_the_workspaces() {
    let c = load_ok(
        Some(r#"{"workspaces":[{"path":"/w/a"}],"authorizedRoots":["roots"]}"#),
        &[],
        CliOverrides::default(),
    );
    let config_dir = c.config_path.parent().unwrap().display().to_string();
    assert_eq!(c.authorized_roots, [format!("{config_dir}/roots")]);
    let c = load_ok(
        Some(r#"{"workspaces":[{"path":"/w/a"}],"authorizedRoots":[]}"#),
        &[],
        CliOverrides::default(),
    );
    assert_eq!(c.authorized_roots, ["/w/a"]);
}

#[test]
fn opencode_settings_are_inherited() {
    let cli = CliOverrides {
        workspaces: vec!["/w/one".into()],
        opencode_base_url: Some("http://127.0.0.1:4096".into()),
        opencode_directory: Some("/w/dir".into()),
        opencode_username: Some("opencode".into()),
        opencode_password: Some("pw".into()),
        ..CliOverrides::default()
    };
    let c = load_ok(None, &[], cli.clone());
    let ws = &c.workspaces[0].config;
    assert_eq!(ws.base_url.as_deref(), Some("http://127.0.0.1:4096"));
    assert_eq!(ws.directory.as_deref(), Some("/w/dir"));
    assert_eq!(ws.opencode_password.as_deref(), Some("pw"));

    let two = CliOverrides {
        workspaces: vec!["/w/one".into(), "/w/two".into()],
        ..cli
    };
    let c = load_ok(None, &[], two);
    for ws in &c.workspaces {
        assert_eq!(ws.config.base_url.as_deref(), Some("http://127.0.0.1:4096"));
        assert_eq!(
            ws.config.directory, None,
            "directory is inherited by a lone workspace only"
        );
    }
}

#[test]
fn errors_name_the_file_position_and_key() {
    let error = load_with(
        Some("{\n  \"port\": 1,\n  oops\n}"),
        &[],
        CliOverrides::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        error.contains("server.json") && error.contains("line 3"),
        "{error}"
    );

    let error = load_with(Some(r#"{"token": 123}"#), &[], CliOverrides::default())
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("server.json") && error.contains("key `token`"),
        "{error}"
    );

    let error = load_with(None, &[("OPENWORK_PORT", "70000")], CliOverrides::default())
        .unwrap_err()
        .to_string();
    assert!(error.contains("OPENWORK_PORT"), "{error}");
}

#[test]
fn a_non_numeric_port_falls_back_to_the_default() {
    assert_eq!(
        load_ok(Some(r#"{"port":"x"}"#), &[], CliOverrides::default()).port,
        8787
    );
    assert_eq!(
        load_ok(
            Some(r#"{"port":1234}"#),
            &[("OPENWORK_PORT", "abc")],
            CliOverrides::default()
        )
        .port,
        8787
    );
    assert_eq!(
        load_ok(Some(r#"{"port":"4321"}"#), &[], CliOverrides::default()).port,
        4321
    );
}

#[test]
fn list_syntax_for_cors() {
    let c = load_ok(
        None,
        &[("OPENWORK_CORS_ORIGINS", r#"["http://a", "http://b"]"#)],
        CliOverrides::default(),
    );
    assert_eq!(c.cors_origins, ["http://a", "http://b"]);
    let c = load_ok(
        Some(r#"{"corsOrigins":["http://file"]}"#),
        &[],
        CliOverrides::default(),
    );
    assert_eq!(c.cors_origins, ["http://file"]);
}
