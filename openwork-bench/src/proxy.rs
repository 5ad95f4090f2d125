//! The OpenCode proxy scenario: `GET /opencode/global/health` through the server against
//! the same request straight to a real OpenCode, in the same run, so the difference is
//! what the proxy adds.
//!
//! The engine is `.cache/opencode/bin/opencode` (installed by `scripts/install-opencode`;
//! `OPENCODE_BIN` overrides it), started with an isolated HOME and every network feature
//! off. OpenCode 1.2's memory grows under sustained load and its throughput falls, so each
//! round starts a fresh engine and alternates which side is measured first.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::Error;
use crate::load::{self, LoadConfig, LoadResult, OneShot, Scenario};
use crate::process::{Fixture, Launch, ServerProcess, Tokens};

/// How long a fresh engine may take to answer `/global/health` (the first start on a new
/// HOME migrates a database).
const ENGINE_READY: Duration = Duration::from_secs(30);

/// The two load results and the overhead between them.
pub struct ProxyOverhead {
    /// Straight to the engine.
    pub direct: LoadResult,
    /// Through `/opencode/…` of the server.
    pub proxied: LoadResult,
}

impl ProxyOverhead {
    /// Throughput lost through the proxy, in percent of the direct figure.
    pub fn throughput_loss_pct(&self) -> f64 {
        let direct = self.direct.requests_per_sec();
        if direct <= 0.0 {
            return 0.0;
        }
        (1.0 - self.proxied.requests_per_sec() / direct) * 100.0
    }

    /// p50 latency added by the proxy, in milliseconds and in percent of the direct p50.
    pub fn p50_added(&self) -> (f64, f64) {
        let direct = self.direct.quantile_ms(0.5);
        let added = self.proxied.quantile_ms(0.5) - direct;
        let pct = if direct > 0.0 {
            added / direct * 100.0
        } else {
            0.0
        };
        (added, pct)
    }
}

/// The engine binary, if installed.
pub fn engine_path() -> Option<PathBuf> {
    let path = std::env::var_os("OPENCODE_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../.cache/opencode/bin/opencode")
        });
    path.is_file().then_some(path)
}

/// Runs `rounds` rounds of direct and proxied load; `Err` explains a skip or a failure.
pub async fn run(
    server_bin: &Path,
    tokens: &Tokens,
    config: LoadConfig,
    rounds: usize,
) -> Result<ProxyOverhead, Error> {
    let engine_bin = engine_path().ok_or(
        "OpenCode is not installed (.cache/opencode/bin/opencode): run ./scripts/install-opencode",
    )?;
    let mut overhead: Option<ProxyOverhead> = None;
    for round in 1..=rounds.max(1) {
        eprintln!("running OpenCode proxy round {round}/{} …", rounds.max(1));
        let engine_home = tempfile::Builder::new().prefix("owbench-oc").tempdir()?;
        let engine = ServerProcess::start(&engine_launch(&engine_bin, engine_home.path())?).await?;
        engine_ready(&engine).await?;
        let fixture = Fixture::new()?;
        let mut launch = crate::process::openwork_launch(server_bin, &fixture, tokens);
        launch.args.push(OsString::from("--opencode-base-url"));
        launch
            .args
            .push(OsString::from(format!("http://{}", engine.addr())));
        let server = ServerProcess::start(&launch).await?;
        load::first_healthy(server.addr(), Instant::now() + ENGINE_READY).await?;

        let direct = Scenario {
            name: "OpenCode GET /global/health (direct)".to_owned(),
            addr: engine.addr(),
            path: "/global/health",
            bearer: None,
            method: http::Method::GET,
            json_body: None,
        };
        let proxied = Scenario {
            name: "GET /opencode/global/health (proxied)".to_owned(),
            addr: server.addr(),
            path: "/opencode/global/health",
            bearer: Some(tokens.client.clone()),
            ..direct.clone()
        };
        let (direct, proxied) = if round % 2 == 1 {
            let d = load::run(&direct, config).await?;
            (d, load::run(&proxied, config).await?)
        } else {
            let p = load::run(&proxied, config).await?;
            (load::run(&direct, config).await?, p)
        };
        server.stop().await;
        engine.stop().await;
        if proxied.ok == 0 {
            return Err("no proxied request succeeded".into());
        }
        match &mut overhead {
            Some(all) => {
                all.direct.absorb(&direct);
                all.proxied.absorb(&proxied);
            }
            None => overhead = Some(ProxyOverhead { direct, proxied }),
        }
    }
    overhead.ok_or_else(|| "no round ran".into())
}

/// `opencode serve` on a free loopback port with an isolated HOME and no network features.
fn engine_launch(engine: &Path, home: &Path) -> Result<Launch, Error> {
    // OpenCode reads `--port 0` as its default port, so a free one is picked here.
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let mut env: Vec<(OsString, OsString)> = vec![
        ("HOME".into(), home.into()),
        ("XDG_CONFIG_HOME".into(), home.join(".config").into()),
        ("XDG_DATA_HOME".into(), home.join(".local/share").into()),
        ("XDG_CACHE_HOME".into(), home.join(".cache").into()),
        ("XDG_STATE_HOME".into(), home.join(".local/state").into()),
    ];
    for flag in [
        "OPENCODE_DISABLE_MODELS_FETCH",
        "OPENCODE_DISABLE_AUTOUPDATE",
        "OPENCODE_DISABLE_LSP_DOWNLOAD",
        "OPENCODE_DISABLE_SHARE",
        "OPENCODE_DISABLE_DEFAULT_PLUGINS",
        "OPENCODE_DISABLE_CLAUDE_CODE",
    ] {
        env.push((flag.into(), "1".into()));
    }
    if let Some(path) = std::env::var_os("PATH") {
        env.push(("PATH".into(), path));
    }
    Ok(Launch {
        program: engine.to_owned(),
        args: [
            "serve",
            "--hostname",
            "127.0.0.1",
            "--port",
            &port.to_string(),
        ]
        .into_iter()
        .map(OsString::from)
        .collect(),
        env,
        cwd: home.to_owned(),
        ready_prefix: "opencode server listening on http://",
    })
}

/// Polls `/global/health` with a short per-request bound: an early connection can be
/// accepted and never answered while the engine boots.
async fn engine_ready(engine: &ServerProcess) -> Result<(), Error> {
    let deadline = Instant::now() + ENGINE_READY;
    while Instant::now() < deadline {
        let shot = OneShot {
            addr: engine.addr(),
            method: http::Method::GET,
            path: "/global/health",
            bearer: None,
            body: None,
            timeout: Duration::from_secs(2),
        };
        if let Ok((status, _)) = load::send_once(shot).await {
            if status.is_success() {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err("OpenCode never answered /global/health".into())
}
