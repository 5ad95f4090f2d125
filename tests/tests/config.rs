//! Startup configuration (contract §2.2–§2.5, D7, D8): the per-setting precedence
//! CLI > environment > config file > default, list and boolean spellings, workspace
//! construction and ids, OpenCode inheritance, authorized roots, and the startup errors for
//! unreadable files.

use openwork_server_core::config::OpencodeDefaults;
use openwork_server_core::{
    ApprovalMode, CliOverrides, ConfigError, EnvSource, LogFormat, Server, ServerConfig,
    TokenSource,
};
use openwork_server_tests::reqwest::Method;
use openwork_server_tests::{Options, TestServer, Value, json, send};
use std::path::Path;
use tempfile::TempDir;

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// Writes `server.json` into `home/.config/openwork/` and returns its path.
fn write_config(home: &Path, config: &Value) -> std::path::PathBuf {
    let path = home.join(".config/openwork/server.json");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, serde_json::to_vec_pretty(config).unwrap()).unwrap();
    path
}

/// Builds a server (without binding) from the three layers, with a temp HOME that is also
/// the current directory.
fn build(
    file: Option<Value>,
    env: &[(&str, &str)],
    cli: CliOverrides,
) -> (TempDir, Result<Server, ConfigError>) {
    let home = tempfile::tempdir().unwrap();
    if let Some(file) = &file {
        write_config(home.path(), file);
    }
    let mut pairs: Vec<(String, String)> =
        vec![("HOME".into(), home.path().to_string_lossy().into_owned())];
    pairs.extend(env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    let result = Server::builder()
        .env(EnvSource::fixed(pairs))
        .cli(cli)
        .current_dir(home.path())
        .build();
    (home, result)
}

/// The resolved configuration for the three layers; panics when the build fails.
fn resolve(file: Option<Value>, env: &[(&str, &str)], cli: CliOverrides) -> ServerConfig {
    let (_home, result) = build(file, env, cli);
    result.expect("server builds").config().clone()
}

fn no_cli() -> CliOverrides {
    CliOverrides::default()
}

fn paths(config: &ServerConfig) -> Vec<String> {
    config.workspaces.iter().map(|ws| ws.path.clone()).collect()
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// The error text of a build that must fail.
fn build_error(result: Result<Server, ConfigError>) -> String {
    match result {
        Ok(server) => panic!("build should fail, got {:?}", server.config()),
        Err(error) => error.to_string(),
    }
}

/// Starts a harness server with a config file and the given env/CLI, workspaces from the
/// file only.
async fn start_with_file(file: Value, env: &[(&str, &str)]) -> TestServer {
    TestServer::start_with(Options {
        config_file: Some(file),
        env: env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        ..Options::default()
    })
    .await
}

/// `GET /workspaces` with the client token; returns the `items`.
async fn workspace_items(server: &TestServer) -> Vec<Value> {
    let (status, body) = send(server.client(Method::GET, "/workspaces")).await;
    assert_eq!(status, 200, "{body}");
    body["items"].as_array().unwrap().clone()
}

// ---------------------------------------------------------------------------------------
// §2.3 precedence, per setting
// ---------------------------------------------------------------------------------------

#[test]
fn host_precedence() {
    assert_eq!(resolve(None, &[], no_cli()).host, "127.0.0.1");
    let file = json!({ "host": "10.0.0.1" });
    assert_eq!(resolve(Some(file.clone()), &[], no_cli()).host, "10.0.0.1");
    let env = [("OPENWORK_HOST", "10.0.0.2")];
    assert_eq!(resolve(Some(file.clone()), &env, no_cli()).host, "10.0.0.2");
    let cli = CliOverrides {
        host: Some("10.0.0.3".into()),
        ..no_cli()
    };
    assert_eq!(resolve(Some(file), &env, cli).host, "10.0.0.3");
}

#[test]
fn port_precedence() {
    assert_eq!(resolve(None, &[], no_cli()).port, 8787);
    let file = json!({ "port": 1111 });
    assert_eq!(resolve(Some(file.clone()), &[], no_cli()).port, 1111);
    let env = [("OPENWORK_PORT", "2222")];
    assert_eq!(resolve(Some(file.clone()), &env, no_cli()).port, 2222);
    let cli = CliOverrides {
        port: Some(3333),
        ..no_cli()
    };
    assert_eq!(resolve(Some(file), &env, cli).port, 3333);
}

#[test]
fn non_numeric_env_port_becomes_the_default_not_the_file_value() {
    let file = json!({ "port": 1111 });
    let config = resolve(Some(file), &[("OPENWORK_PORT", "abc")], no_cli());
    assert_eq!(config.port, 8787);
}

#[test]
fn env_port_is_converted_like_javascript_number() {
    for (raw, port) in [
        (" 2222 ", 2222u16),
        ("1e3", 1000),
        ("+5", 5),
        ("0x1F90", 8080),
        ("0o17", 15),
        ("0b101", 5),
        ("80px", 8787),
    ] {
        let config = resolve(None, &[("OPENWORK_PORT", raw)], no_cli());
        assert_eq!(config.port, port, "OPENWORK_PORT={raw:?}");
    }
}

#[test]
fn client_token_precedence_and_source() {
    let config = resolve(None, &[], no_cli());
    assert_eq!(config.token_source, TokenSource::Generated);
    assert_uuid_v4(config.token.expose());

    let file = json!({ "token": "file-tok" });
    let config = resolve(Some(file.clone()), &[], no_cli());
    assert_eq!(
        (config.token.expose(), config.token_source),
        ("file-tok", TokenSource::File)
    );

    let env = [("OPENWORK_TOKEN", "env-tok")];
    let config = resolve(Some(file.clone()), &env, no_cli());
    assert_eq!(
        (config.token.expose(), config.token_source),
        ("env-tok", TokenSource::Env)
    );

    let cli = CliOverrides {
        token: Some("cli-tok".into()),
        ..no_cli()
    };
    let config = resolve(Some(file), &env, cli);
    assert_eq!(
        (config.token.expose(), config.token_source),
        ("cli-tok", TokenSource::Cli)
    );
}

#[test]
fn host_token_precedence_and_source() {
    let config = resolve(None, &[], no_cli());
    assert_eq!(config.host_token_source, TokenSource::Generated);
    assert_uuid_v4(config.host_token.expose());
    assert_ne!(config.host_token.expose(), config.token.expose());

    let file = json!({ "hostToken": "file-host" });
    let config = resolve(Some(file.clone()), &[], no_cli());
    assert_eq!(
        (config.host_token.expose(), config.host_token_source),
        ("file-host", TokenSource::File)
    );

    let env = [("OPENWORK_HOST_TOKEN", "env-host")];
    let config = resolve(Some(file.clone()), &env, no_cli());
    assert_eq!(
        (config.host_token.expose(), config.host_token_source),
        ("env-host", TokenSource::Env)
    );

    let cli = CliOverrides {
        host_token: Some("cli-host".into()),
        ..no_cli()
    };
    let config = resolve(Some(file), &env, cli);
    assert_eq!(
        (config.host_token.expose(), config.host_token_source),
        ("cli-host", TokenSource::Cli)
    );
}

fn assert_uuid_v4(token: &str) {
    let parts: Vec<&str> = token.split('-').collect();
    let lengths: Vec<usize> = parts.iter().map(|p| p.len()).collect();
    assert_eq!(lengths, [8, 4, 4, 4, 12], "{token}");
    assert!(
        token.chars().all(|c| c == '-' || c.is_ascii_hexdigit()),
        "{token}"
    );
    assert!(parts[2].starts_with('4'), "{token} is not a v4 UUID");
}

#[tokio::test]
async fn status_reports_where_each_token_came_from() {
    async fn sources(env: &[(&str, &str)], file: Option<Value>, cli: CliOverrides) -> Value {
        let server = TestServer::start_with(Options {
            env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            config_file: file,
            cli,
            keep_token_layers: true,
            ..Options::default()
        })
        .await;
        let (status, body) = send(server.client(Method::GET, "/status")).await;
        assert_eq!(status, 200, "{body}");
        body["tokenSource"].clone()
    }

    assert_eq!(
        sources(&[], None, no_cli()).await,
        json!({ "client": "generated", "host": "generated" })
    );
    assert_eq!(
        sources(
            &[],
            Some(json!({ "token": "ft", "hostToken": "fh" })),
            no_cli()
        )
        .await,
        json!({ "client": "file", "host": "file" })
    );
    assert_eq!(
        sources(
            &[("OPENWORK_TOKEN", "et"), ("OPENWORK_HOST_TOKEN", "eh")],
            Some(json!({ "token": "ft", "hostToken": "fh" })),
            no_cli()
        )
        .await,
        json!({ "client": "env", "host": "env" })
    );
    assert_eq!(
        sources(
            &[("OPENWORK_TOKEN", "et")],
            Some(json!({ "hostToken": "fh" })),
            CliOverrides {
                token: Some("ct".into()),
                ..no_cli()
            }
        )
        .await,
        json!({ "client": "cli", "host": "file" })
    );
}

#[tokio::test]
async fn numeric_looking_env_token_is_a_string_and_works_as_bearer() {
    let server = TestServer::start_with(Options {
        env: vec![
            ("OPENWORK_TOKEN".into(), "12345".into()),
            ("OPENWORK_HOST_TOKEN".into(), "67890".into()),
        ],
        keep_token_layers: true,
        ..Options::default()
    })
    .await;
    assert_eq!(server.client_token, "12345");
    let (status, body) = send(server.with_bearer(Method::GET, "/status", "12345")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["tokenSource"],
        json!({ "client": "env", "host": "env" })
    );
    let (status, _) = send(
        server
            .request(Method::GET, "/tokens")
            .header("X-OpenWork-Host-Token", "67890"),
    )
    .await;
    assert_eq!(status, 200);
}

#[test]
fn approval_mode_precedence() {
    assert_eq!(
        resolve(None, &[], no_cli()).approval.mode,
        ApprovalMode::Manual
    );
    let file = json!({ "approval": { "mode": "auto" } });
    assert_eq!(
        resolve(Some(file.clone()), &[], no_cli()).approval.mode,
        ApprovalMode::Auto
    );
    let env = [("OPENWORK_APPROVAL_MODE", "manual")];
    assert_eq!(
        resolve(Some(file.clone()), &env, no_cli()).approval.mode,
        ApprovalMode::Manual
    );
    let cli = CliOverrides {
        approval_mode: Some(ApprovalMode::Auto),
        ..no_cli()
    };
    assert_eq!(
        resolve(Some(file), &env, cli).approval.mode,
        ApprovalMode::Auto
    );
}

#[test]
fn approval_mode_other_than_exactly_auto_is_manual() {
    let file = json!({ "approval": { "mode": "auto" } });
    let config = resolve(
        Some(file),
        &[("OPENWORK_APPROVAL_MODE", "banana")],
        no_cli(),
    );
    assert_eq!(config.approval.mode, ApprovalMode::Manual);
    let config = resolve(
        Some(json!({ "approval": { "mode": "AUTO" } })),
        &[],
        no_cli(),
    );
    assert_eq!(config.approval.mode, ApprovalMode::Manual);
}

#[test]
fn approval_timeout_precedence() {
    assert_eq!(resolve(None, &[], no_cli()).approval.timeout_ms, 30_000);
    let file = json!({ "approval": { "timeoutMs": 5000 } });
    assert_eq!(
        resolve(Some(file.clone()), &[], no_cli())
            .approval
            .timeout_ms,
        5000
    );
    let env = [("OPENWORK_APPROVAL_TIMEOUT_MS", "1500")];
    assert_eq!(
        resolve(Some(file.clone()), &env, no_cli())
            .approval
            .timeout_ms,
        1500
    );
    let cli = CliOverrides {
        approval_timeout_ms: Some(700),
        ..no_cli()
    };
    assert_eq!(resolve(Some(file), &env, cli).approval.timeout_ms, 700);
}

#[test]
fn non_numeric_env_approval_timeout_is_the_default_not_the_file_value() {
    let file = json!({ "approval": { "mode": "auto", "timeoutMs": 5000 } });
    let config = resolve(
        Some(file),
        &[("OPENWORK_APPROVAL_TIMEOUT_MS", "soon")],
        no_cli(),
    );
    assert_eq!(config.approval.timeout_ms, 30_000);
    // The mode from the file is untouched by the bad timeout.
    assert_eq!(config.approval.mode, ApprovalMode::Auto);
}

#[test]
fn workspaces_take_the_whole_list_of_the_highest_layer() {
    assert!(resolve(None, &[], no_cli()).workspaces.is_empty());
    let file = json!({ "workspaces": [ { "path": "/tmp/f1" }, { "path": "/tmp/f2" } ] });
    assert_eq!(
        paths(&resolve(Some(file.clone()), &[], no_cli())),
        ["/tmp/f1", "/tmp/f2"]
    );

    let env = [("OPENWORK_WORKSPACES", "/tmp/e1")];
    assert_eq!(
        paths(&resolve(Some(file.clone()), &env, no_cli())),
        ["/tmp/e1"]
    );

    let cli = CliOverrides {
        workspaces: strings(&["/tmp/c1"]),
        ..no_cli()
    };
    assert_eq!(paths(&resolve(Some(file), &env, cli)), ["/tmp/c1"]);
}

#[test]
fn workspace_env_list_syntaxes() {
    for raw in [
        "/tmp/e1,/tmp/e2",
        "/tmp/e1;/tmp/e2",
        " /tmp/e1 , ; /tmp/e2 ;",
        r#"["/tmp/e1", "/tmp/e2"]"#,
        r#"[" /tmp/e1 ", "", "/tmp/e2"]"#,
    ] {
        let config = resolve(None, &[("OPENWORK_WORKSPACES", raw)], no_cli());
        assert_eq!(
            paths(&config),
            ["/tmp/e1", "/tmp/e2"],
            "OPENWORK_WORKSPACES={raw}"
        );
    }
}

#[test]
fn an_empty_env_workspace_list_falls_through_to_the_file() {
    let file = json!({ "workspaces": [ { "path": "/tmp/f1" } ] });
    for raw in ["", " ; , ", "[]", "[not json"] {
        let config = resolve(
            Some(file.clone()),
            &[("OPENWORK_WORKSPACES", raw)],
            no_cli(),
        );
        assert_eq!(paths(&config), ["/tmp/f1"], "OPENWORK_WORKSPACES={raw:?}");
    }
}

#[test]
fn cors_origins_precedence_and_list_syntaxes() {
    assert_eq!(resolve(None, &[], no_cli()).cors_origins, ["*"]);
    let file = json!({ "corsOrigins": ["https://file.example"] });
    assert_eq!(
        resolve(Some(file.clone()), &[], no_cli()).cors_origins,
        ["https://file.example"]
    );
    for raw in [
        "https://a.example,https://b.example",
        "https://a.example;https://b.example",
        " https://a.example ;, https://b.example ",
        r#"["https://a.example","https://b.example"]"#,
    ] {
        let config = resolve(
            Some(file.clone()),
            &[("OPENWORK_CORS_ORIGINS", raw)],
            no_cli(),
        );
        assert_eq!(
            config.cors_origins,
            ["https://a.example", "https://b.example"],
            "OPENWORK_CORS_ORIGINS={raw}"
        );
    }
    let cli = CliOverrides {
        cors_origins: Some(strings(&["https://cli.example"])),
        ..no_cli()
    };
    let config = resolve(
        Some(file),
        &[("OPENWORK_CORS_ORIGINS", "https://a.example")],
        cli,
    );
    assert_eq!(config.cors_origins, ["https://cli.example"]);
}

#[test]
fn read_only_precedence_and_spellings() {
    assert!(!resolve(None, &[], no_cli()).read_only);
    assert!(resolve(Some(json!({ "readOnly": true })), &[], no_cli()).read_only);
    for truthy in ["true", "TRUE", "1", "yes", "Yes"] {
        let config = resolve(None, &[("OPENWORK_READONLY", truthy)], no_cli());
        assert!(config.read_only, "OPENWORK_READONLY={truthy}");
    }
    // Any other non-empty value is false, even over a file that says true.
    for falsy in ["false", "0", "no", "banana"] {
        let config = resolve(
            Some(json!({ "readOnly": true })),
            &[("OPENWORK_READONLY", falsy)],
            no_cli(),
        );
        assert!(!config.read_only, "OPENWORK_READONLY={falsy}");
    }
    let cli = CliOverrides {
        read_only: Some(true),
        ..no_cli()
    };
    assert!(resolve(None, &[("OPENWORK_READONLY", "no")], cli).read_only);
}

#[test]
fn log_format_precedence_and_normalisation() {
    assert_eq!(resolve(None, &[], no_cli()).log_format, LogFormat::Pretty);
    let json_file = json!({ "logFormat": "json" });
    assert_eq!(
        resolve(Some(json_file.clone()), &[], no_cli()).log_format,
        LogFormat::Json
    );
    assert_eq!(
        resolve(Some(json!({ "logFormat": "human" })), &[], no_cli()).log_format,
        LogFormat::Pretty
    );
    // An unknown env value is ignored: the file shows through.
    let config = resolve(
        Some(json_file.clone()),
        &[("OPENWORK_LOG_FORMAT", "xml")],
        no_cli(),
    );
    assert_eq!(config.log_format, LogFormat::Json);
    for pretty in ["pretty", "text", "human"] {
        let config = resolve(
            Some(json_file.clone()),
            &[("OPENWORK_LOG_FORMAT", pretty)],
            no_cli(),
        );
        assert_eq!(
            config.log_format,
            LogFormat::Pretty,
            "OPENWORK_LOG_FORMAT={pretty}"
        );
    }
    let config = resolve(
        Some(json!({ "logFormat": "pretty" })),
        &[("OPENWORK_LOG_FORMAT", "json")],
        no_cli(),
    );
    assert_eq!(config.log_format, LogFormat::Json);
    let cli = CliOverrides {
        log_format: Some(LogFormat::Json),
        ..no_cli()
    };
    let config = resolve(None, &[("OPENWORK_LOG_FORMAT", "pretty")], cli);
    assert_eq!(config.log_format, LogFormat::Json);
}

#[test]
fn log_requests_precedence_and_spellings() {
    assert!(resolve(None, &[], no_cli()).log_requests);
    let off_file = json!({ "logRequests": false });
    assert!(!resolve(Some(off_file.clone()), &[], no_cli()).log_requests);
    for on in ["true", "1", "yes", "on", "ON"] {
        let config = resolve(
            Some(off_file.clone()),
            &[("OPENWORK_LOG_REQUESTS", on)],
            no_cli(),
        );
        assert!(config.log_requests, "OPENWORK_LOG_REQUESTS={on}");
    }
    for off in ["false", "0", "no", "off"] {
        let config = resolve(None, &[("OPENWORK_LOG_REQUESTS", off)], no_cli());
        assert!(!config.log_requests, "OPENWORK_LOG_REQUESTS={off}");
    }
    // Other values are ignored: the file shows through.
    let config = resolve(
        Some(off_file),
        &[("OPENWORK_LOG_REQUESTS", "banana")],
        no_cli(),
    );
    assert!(!config.log_requests);
    let cli = CliOverrides {
        log_requests: Some(true),
        ..no_cli()
    };
    assert!(resolve(None, &[("OPENWORK_LOG_REQUESTS", "off")], cli).log_requests);
}

#[test]
fn opencode_settings_precedence() {
    let file = json!({
        "opencodeBaseUrl": "http://file:1",
        "opencodeDirectory": "/file",
        "opencodeUsername": "fu",
        "opencodePassword": "fp",
    });
    assert_eq!(
        resolve(Some(file.clone()), &[], no_cli()).opencode,
        OpencodeDefaults {
            base_url: Some("http://file:1".into()),
            directory: Some("/file".into()),
            username: Some("fu".into()),
            password: Some("fp".into()),
        }
    );
    let env = [
        ("OPENWORK_OPENCODE_BASE_URL", "http://env:2"),
        ("OPENWORK_OPENCODE_USERNAME", "eu"),
    ];
    let cli = CliOverrides {
        opencode_base_url: Some("http://cli:3".into()),
        opencode_password: Some("cp".into()),
        ..no_cli()
    };
    assert_eq!(
        resolve(Some(file), &env, cli).opencode,
        OpencodeDefaults {
            base_url: Some("http://cli:3".into()),
            directory: Some("/file".into()),
            username: Some("eu".into()),
            password: Some("cp".into()),
        }
    );
}

#[test]
fn config_path_default_and_overrides() {
    let (home, result) = build(None, &[], no_cli());
    let config = result.unwrap().config().clone();
    assert_eq!(
        config.config_path,
        home.path().join(".config/openwork/server.json")
    );
    assert_eq!(
        config.token_store_path,
        home.path().join(".config/openwork/tokens.json")
    );

    // OPENWORK_SERVER_CONFIG names the file; the token store sits beside it.
    let elsewhere = tempfile::tempdir().unwrap();
    let file = elsewhere.path().join("conf/custom.json");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, r#"{"host":"10.9.9.9"}"#).unwrap();
    let (_home, result) = build(
        None,
        &[("OPENWORK_SERVER_CONFIG", file.to_str().unwrap())],
        no_cli(),
    );
    let config = result.unwrap().config().clone();
    assert_eq!(config.config_path, file);
    assert_eq!(config.host, "10.9.9.9");
    assert_eq!(
        config.token_store_path,
        elsewhere.path().join("conf/tokens.json")
    );
}

// ---------------------------------------------------------------------------------------
// §2.4 workspace ids, names, presets
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn workspace_ids_match_the_reference_vectors() {
    let server = start_with_file(
        json!({
            "workspaces": [
                { "path": "/tmp/ws" },
                { "path": "/tmp/refws" },
                { "path": "/Users/susan/Finance" },
                { "path": "/workspace" },
                { "workspaceType": "remote", "baseUrl": "http://10.0.0.8:4096" },
                { "workspaceType": "remote", "baseUrl": " http://10.0.0.8:4096 ", "directory": "/srv/app" },
                { "workspaceType": "remote", "remoteType": "openwork",
                  "openworkHostUrl": "http://host:8787", "openworkWorkspaceId": "ws_abc" },
            ]
        }),
        &[],
    )
    .await;
    let ids: Vec<Value> = workspace_items(&server)
        .await
        .iter()
        .map(|w| w["id"].clone())
        .collect();
    assert_eq!(
        ids,
        [
            "ws_b011ea26cc73",
            "ws_4be7d9038ffc",
            "ws_21b0cf5ce338",
            "ws_c52ddf65534b",
            "ws_d00faacd6451",
            "ws_f5bbbd41bc65",
            "ws_28e1b05fd08a",
        ]
    );
}

#[tokio::test]
async fn openwork_remote_id_falls_back_to_base_url_and_omits_empty_workspace_id() {
    let server = start_with_file(
        json!({
            "workspaces": [
                { "workspaceType": "remote", "remoteType": "openwork",
                  "baseUrl": "http://host:8787", "openworkWorkspaceId": " ws_abc " },
                { "workspaceType": "remote", "remoteType": "openwork",
                  "openworkHostUrl": "http://host:8787" },
            ]
        }),
        &[],
    )
    .await;
    let items = workspace_items(&server).await;
    assert_eq!(items[0]["id"], "ws_28e1b05fd08a");
    assert_eq!(
        items[1]["id"],
        openwork_server_core::workspace::workspace_id_for("openwork::http://host:8787")
    );
}

#[tokio::test]
async fn local_paths_are_normalised_before_hashing() {
    let server = start_with_file(
        json!({ "workspaces": [ { "path": " /tmp/./ws/ " }, { "path": "/tmp//x/../refws" } ] }),
        &[],
    )
    .await;
    let items = workspace_items(&server).await;
    assert_eq!(items[0]["path"], "/tmp/ws");
    assert_eq!(items[0]["id"], "ws_b011ea26cc73");
    assert_eq!(items[1]["path"], "/tmp/refws");
    assert_eq!(items[1]["id"], "ws_4be7d9038ffc");
}

#[tokio::test]
async fn workspace_names_presets_and_explicit_ids() {
    let server = start_with_file(
        json!({
            "workspaces": [
                { "path": "/tmp/ws" },
                { "path": "/tmp/a", "name": "  ", "displayName": " Finance ", "openworkWorkspaceName": "other" },
                { "path": "/tmp/b", "openworkWorkspaceName": "Remote Name", "preset": " blank ", "id": " custom " },
                { "workspaceType": "remote", "baseUrl": "http://10.0.0.8:4096", "directory": "/srv/app" },
                { "workspaceType": "remote", "baseUrl": "http://10.0.0.8:4096" },
            ]
        }),
        &[],
    )
    .await;
    let items = workspace_items(&server).await;
    let summary: Vec<(Value, Value, Value)> = items
        .iter()
        .map(|w| (w["id"].clone(), w["name"].clone(), w["preset"].clone()))
        .collect();
    assert_eq!(
        summary,
        [
            (json!("ws_b011ea26cc73"), json!("ws"), json!("starter")),
            (items[1]["id"].clone(), json!("Finance"), json!("starter")),
            (json!("custom"), json!("Remote Name"), json!("blank")),
            (json!("ws_f5bbbd41bc65"), json!("app"), json!("remote")),
            (
                json!("ws_d00faacd6451"),
                json!("10.0.0.8:4096"),
                json!("remote")
            ),
        ]
    );
    assert_eq!(items[0]["workspaceType"], "local");
    assert_eq!(items[3]["workspaceType"], "remote");
    // Explicit ids are used as given (trimmed) for routing too.
    let (status, body) = send(server.client(Method::GET, "/w/custom/workspaces")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["activeId"], "custom");
}

#[tokio::test]
async fn a_remote_workspace_without_url_or_directory() {
    let server = start_with_file(
        json!({ "workspaces": [ { "workspaceType": "remote" } ] }),
        &[],
    )
    .await;
    let items = workspace_items(&server).await;
    assert_eq!(
        items[0]["id"],
        openwork_server_core::workspace::workspace_id_for("remote::")
    );
    assert_eq!(items[0]["name"], "Workspace");
    assert_eq!(items[0]["preset"], "remote");
    assert!(items[0].get("opencode").is_none(), "{}", items[0]);
}

#[tokio::test]
async fn other_workspace_fields_are_copied_through() {
    let server = start_with_file(
        json!({
            "workspaces": [ {
                "path": "/tmp/ws",
                "displayName": "Shown",
                "sandboxBackend": "docker",
                "sandboxRunId": "run-1",
                "sandboxContainerName": "box",
                "unknownKey": "ignored",
            } ]
        }),
        &[],
    )
    .await;
    let items = workspace_items(&server).await;
    assert_eq!(
        items[0],
        json!({
            "id": "ws_b011ea26cc73",
            "name": "Shown",
            "path": "/tmp/ws",
            "preset": "starter",
            "workspaceType": "local",
            "displayName": "Shown",
            "sandboxBackend": "docker",
            "sandboxRunId": "run-1",
            "sandboxContainerName": "box",
            "opencode": { "directory": "/tmp/ws" },
        })
    );
}

// ---------------------------------------------------------------------------------------
// §2.5 OpenCode inheritance
// ---------------------------------------------------------------------------------------

const OPENCODE_ENV: [(&str, &str); 4] = [
    ("OPENWORK_OPENCODE_BASE_URL", "http://127.0.0.1:4096"),
    ("OPENWORK_OPENCODE_DIRECTORY", "/srv/opencode"),
    ("OPENWORK_OPENCODE_USERNAME", "opencode"),
    ("OPENWORK_OPENCODE_PASSWORD", "pw"),
];

#[tokio::test]
async fn a_single_workspace_inherits_the_server_opencode_connection_including_directory() {
    let server = start_with_file(
        json!({ "workspaces": [ { "path": "/tmp/ws" } ] }),
        &OPENCODE_ENV,
    )
    .await;
    let items = workspace_items(&server).await;
    assert_eq!(
        items[0],
        json!({
            "id": "ws_b011ea26cc73",
            "name": "ws",
            "path": "/tmp/ws",
            "preset": "starter",
            "workspaceType": "local",
            "baseUrl": "http://127.0.0.1:4096",
            "directory": "/srv/opencode",
            "opencode": {
                "baseUrl": "http://127.0.0.1:4096",
                "directory": "/srv/opencode",
                "username": "opencode",
                "password": "pw",
            },
        })
    );
}

#[tokio::test]
async fn with_two_workspaces_the_directory_is_not_inherited() {
    let server = start_with_file(
        json!({ "workspaces": [ { "path": "/tmp/ws" }, { "path": "/tmp/refws" } ] }),
        &OPENCODE_ENV,
    )
    .await;
    let items = workspace_items(&server).await;
    for (item, path) in items.iter().zip(["/tmp/ws", "/tmp/refws"]) {
        assert!(item.get("directory").is_none(), "{item}");
        assert_eq!(item["baseUrl"], "http://127.0.0.1:4096");
        assert_eq!(
            item["opencode"],
            json!({
                "baseUrl": "http://127.0.0.1:4096",
                "directory": path,
                "username": "opencode",
                "password": "pw",
            })
        );
    }
}

#[tokio::test]
async fn a_workspace_keeps_its_own_opencode_settings() {
    let server = start_with_file(
        json!({ "workspaces": [ {
            "path": "/tmp/ws",
            "baseUrl": "http://own:1",
            "directory": "/own/dir",
            "opencodeUsername": "own-user",
        } ] }),
        &OPENCODE_ENV,
    )
    .await;
    let items = workspace_items(&server).await;
    assert_eq!(
        items[0]["opencode"],
        json!({
            "baseUrl": "http://own:1",
            "directory": "/own/dir",
            "username": "own-user",
            "password": "pw",
        })
    );
    assert!(items[0].get("opencodeUsername").is_none());
    assert!(items[0].get("opencodePassword").is_none());
}

#[tokio::test]
async fn no_server_opencode_settings_means_nothing_is_inherited() {
    let server = start_with_file(json!({ "workspaces": [ { "path": "/tmp/ws" } ] }), &[]).await;
    let items = workspace_items(&server).await;
    assert!(items[0].get("baseUrl").is_none());
    assert_eq!(items[0]["opencode"], json!({ "directory": "/tmp/ws" }));
}

// ---------------------------------------------------------------------------------------
// Authorized roots
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn authorized_roots_default_to_the_workspace_paths() {
    let server = start_with_file(
        json!({ "workspaces": [ { "path": "/tmp/ws" }, { "path": "/tmp/refws/" } ], "authorizedRoots": [] }),
        &[],
    )
    .await;
    let (status, body) = send(server.client(Method::GET, "/status")).await;
    assert_eq!(status, 200);
    assert_eq!(body["authorizedRoots"], json!(["/tmp/ws", "/tmp/refws"]));
    assert_eq!(server.config.authorized_roots, ["/tmp/ws", "/tmp/refws"]);
}

#[tokio::test]
async fn authorized_roots_from_the_file_resolve_against_its_folder() {
    let home = tempfile::tempdir().unwrap();
    let config_dir = home.path().join(".config/openwork");
    let inside = config_dir.join("roots/project");
    let server = TestServer::start_in(
        Options {
            config_file: Some(json!({
                "workspaces": [ { "path": inside }, { "path": "/tmp/ws" } ],
                "authorizedRoots": [ "roots", " /srv/shared/ " ],
            })),
            ..Options::default()
        },
        home,
        tempfile::tempdir().unwrap(),
    )
    .await;
    let (status, body) = send(server.client(Method::GET, "/status")).await;
    assert_eq!(status, 200);
    assert_eq!(
        body["authorizedRoots"],
        json!([config_dir.join("roots").to_str().unwrap(), "/srv/shared"])
    );

    let inside_id = server.config.workspaces[0].id.clone();
    let (status, body) = send(server.client(Method::GET, &format!("/w/{inside_id}/status"))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["activeWorkspaceId"], inside_id.as_str());

    // /tmp/ws lies outside every root.
    let (status, body) = send(server.client(Method::GET, "/w/ws_b011ea26cc73/status")).await;
    assert_eq!(status, 403);
    assert_eq!(
        body,
        json!({ "code": "workspace_unauthorized", "message": "Workspace is not authorized" })
    );
    let (status, body) = send(server.client(Method::GET, "/w/ws_b011ea26cc73/workspaces")).await;
    assert_eq!(
        (status, &body["code"]),
        (403, &json!("workspace_unauthorized"))
    );
}

#[tokio::test]
async fn a_root_matches_whole_path_segments_only() {
    let server = start_with_file(
        json!({
            "workspaces": [ { "path": "/tmp/wsx" } ],
            "authorizedRoots": [ "/tmp/ws" ],
        }),
        &[],
    )
    .await;
    let id = server.workspace_id();
    let (status, body) = send(server.client(Method::GET, &format!("/w/{id}/status"))).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["code"], "workspace_unauthorized");
}

// ---------------------------------------------------------------------------------------
// D7: unreadable files stop the start
// ---------------------------------------------------------------------------------------

#[test]
fn invalid_server_json_fails_with_the_file_and_position() {
    let home = tempfile::tempdir().unwrap();
    let path = home.path().join(".config/openwork/server.json");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, "{\n  \"host\": \"127.0.0.1\",\n  \"port\": ,\n}\n").unwrap();
    let result = Server::builder()
        .env(EnvSource::fixed([(
            "HOME",
            home.path().to_string_lossy().into_owned(),
        )]))
        .current_dir(home.path())
        .build();
    let message = build_error(result);
    assert!(
        message.contains(path.to_str().unwrap()),
        "error should name {}: {message}",
        path.display()
    );
    assert!(
        message.contains("line 3") && message.contains("column"),
        "error should give the position: {message}"
    );
}

#[test]
fn an_explicit_config_file_that_is_not_json_fails_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("server.json");
    std::fs::write(&path, "not json at all").unwrap();
    let result = Server::builder()
        .config_file(&path)
        .env(EnvSource::fixed([(
            "HOME",
            dir.path().to_string_lossy().into_owned(),
        )]))
        .current_dir(dir.path())
        .build();
    let message = build_error(result);
    assert!(message.contains(path.to_str().unwrap()), "{message}");
    assert!(message.contains("line 1"), "{message}");
}

#[test]
fn a_server_json_that_is_not_an_object_fails() {
    for content in ["[]", "null", ""] {
        let home = tempfile::tempdir().unwrap();
        let path = home.path().join(".config/openwork/server.json");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, content).unwrap();
        let result = Server::builder()
            .env(EnvSource::fixed([(
                "HOME",
                home.path().to_string_lossy().into_owned(),
            )]))
            .current_dir(home.path())
            .build();
        let message = build_error(result);
        assert!(
            message.contains(path.to_str().unwrap()),
            "{content:?}: {message}"
        );
    }
}

#[test]
fn a_wrongly_typed_key_fails_naming_the_key() {
    let (_home, result) = build(Some(json!({ "token": 123 })), &[], no_cli());
    let message = build_error(result);
    assert!(message.contains("token"), "{message}");

    let (_home, result) = build(Some(json!({ "workspaces": "/tmp/ws" })), &[], no_cli());
    let message = build_error(result);
    assert!(message.contains("workspaces"), "{message}");
}

#[test]
fn an_out_of_range_port_fails_naming_where_it_came_from() {
    let (_home, result) = build(None, &[("OPENWORK_PORT", "70000")], no_cli());
    let message = build_error(result);
    assert!(message.contains("OPENWORK_PORT"), "{message}");
}

#[test]
fn an_invalid_token_store_fails_naming_it_and_is_left_untouched() {
    let home = tempfile::tempdir().unwrap();
    let store = home.path().join(".config/openwork/tokens.json");
    std::fs::create_dir_all(store.parent().unwrap()).unwrap();
    let bytes = b"{\n  \"schemaVersion\": 1,\n  \"tokens\": [,]\n}\n";
    std::fs::write(&store, bytes).unwrap();
    let result = Server::builder()
        .env(EnvSource::fixed([(
            "HOME",
            home.path().to_string_lossy().into_owned(),
        )]))
        .current_dir(home.path())
        .build();
    let message = build_error(result);
    assert!(message.contains(store.to_str().unwrap()), "{message}");
    assert!(message.contains("line 3"), "{message}");
    assert_eq!(std::fs::read(&store).unwrap(), bytes);
}

#[test]
fn a_token_store_that_is_not_an_object_fails() {
    let home = tempfile::tempdir().unwrap();
    let store = home.path().join("store.json");
    std::fs::write(&store, "[1, 2]").unwrap();
    let (_h, result) = build(
        None,
        &[("OPENWORK_TOKEN_STORE", store.to_str().unwrap())],
        no_cli(),
    );
    let message = build_error(result);
    assert!(message.contains(store.to_str().unwrap()), "{message}");
    assert_eq!(std::fs::read_to_string(&store).unwrap(), "[1, 2]");
}

// ---------------------------------------------------------------------------------------
// D8: relative workspace paths
// ---------------------------------------------------------------------------------------

/// Builds with an explicit config file in one folder and a different current directory.
fn build_in(
    config: &Value,
    env: &[(&str, &str)],
    cli: CliOverrides,
) -> (TempDir, TempDir, ServerConfig) {
    let conf = tempfile::tempdir().unwrap();
    let cwd = tempfile::tempdir().unwrap();
    let file = conf.path().join("server.json");
    std::fs::write(&file, serde_json::to_vec(config).unwrap()).unwrap();
    let mut pairs: Vec<(String, String)> =
        vec![("HOME".into(), cwd.path().to_string_lossy().into_owned())];
    pairs.extend(env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    let server = Server::builder()
        .config_file(&file)
        .env(EnvSource::fixed(pairs))
        .cli(cli)
        .current_dir(cwd.path())
        .build()
        .expect("server builds");
    let config = server.config().clone();
    (conf, cwd, config)
}

fn under(dir: &TempDir, rel: &str) -> String {
    dir.path().join(rel).to_string_lossy().into_owned()
}

#[test]
fn relative_cli_workspaces_resolve_against_the_current_directory() {
    let cli = CliOverrides {
        workspaces: strings(&["proj/a", "./proj/../b/"]),
        ..no_cli()
    };
    let (_conf, cwd, config) = build_in(&json!({}), &[], cli);
    assert_eq!(paths(&config), [under(&cwd, "proj/a"), under(&cwd, "b")]);
}

#[test]
fn relative_env_workspaces_resolve_against_the_current_directory() {
    let (_conf, cwd, config) = build_in(&json!({}), &[("OPENWORK_WORKSPACES", "proj/e")], no_cli());
    assert_eq!(paths(&config), [under(&cwd, "proj/e")]);
    // The default authorized root is that resolved path.
    assert_eq!(config.authorized_roots, [under(&cwd, "proj/e")]);
}

#[test]
fn relative_file_workspaces_resolve_against_the_config_folder() {
    let (conf, _cwd, config) = build_in(
        &json!({ "workspaces": [ { "path": "proj/f" }, { "path": "../sibling" } ] }),
        &[],
        no_cli(),
    );
    let parent = conf.path().parent().unwrap().join("sibling");
    assert_eq!(
        paths(&config),
        [
            under(&conf, "proj/f"),
            parent.to_string_lossy().into_owned()
        ]
    );
}

#[test]
fn relative_token_store_resolves_against_the_current_directory() {
    let (_conf, cwd, config) = build_in(
        &json!({}),
        &[("OPENWORK_TOKEN_STORE", "state/tokens.json")],
        no_cli(),
    );
    assert_eq!(
        config.token_store_path,
        cwd.path().join("state/tokens.json")
    );
}
