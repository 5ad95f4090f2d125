//! `openwork-bench`: measures the release `openwork-server` over loopback.
//!
//! Build the server, then run the bench (both in release mode, from the workspace root):
//!
//! ```text
//! cargo build --release -p openwork-server
//! cargo run --release -p openwork-bench -- [--connections 64] [--duration 5] [--server-bin PATH]
//! ```
//!
//! One run, with a temporary HOME and workspace for every server it starts:
//!
//! 1. startup: spawn to first `200` on `GET /health`, over several fresh starts, and
//!    SIGTERM to exit;
//! 2. idle memory (VmRSS) of a started server;
//! 3. load: `GET /health`, `GET /status` and `GET /workspaces` (with the client bearer)
//!    from a hyper client over many keep-alive connections, every latency in an HDR
//!    histogram;
//! 4. the same `/health` load against a bare hyper server in its own process (this
//!    binary with `--bare-hyper-server`), so the two figures come from the same machine
//!    state, and the ratio between them;
//! 5. memory again after the load.
//!
//! Only `127.0.0.1` is contacted; every loop is bounded in time and in count; every
//! child is stopped with SIGTERM (then killed) at the end.

mod bare;
mod cli;
mod load;
mod process;
mod report;

use std::path::Path;
use std::process::{ExitCode, Stdio};
use std::time::{Duration, Instant};

use cli::{Command, Options};
use load::{LoadConfig, Scenario};
use process::{Fixture, ServerProcess, Tokens};
use report::{Memory, Report, Startup};

/// Anything that stops a run, carrying a message for the operator.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// How long a fresh server may take to answer its first `/health`.
const HEALTHY_TIMEOUT: Duration = Duration::from_secs(10);

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match cli::parse(&args) {
        Ok(Command::Help) => {
            print!("{}", cli::HELP);
            ExitCode::SUCCESS
        }
        Ok(Command::BareServer) => bare::run(),
        Ok(Command::Bench(options)) => run_bench(options),
        Err(message) => {
            eprintln!("openwork-bench: {message}\nRun with --help for usage.");
            ExitCode::from(2)
        }
    }
}

fn run_bench(options: Options) -> ExitCode {
    if !options.server_bin.is_file() {
        eprintln!(
            "openwork-bench: no server binary at {}\n\
             Build it first with `cargo build --release -p openwork-server`, or pass --server-bin PATH.",
            options.server_bin.display()
        );
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(options.client_threads)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("openwork-bench: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(bench(options)) {
        Ok(report) => {
            print!("{}", report::render(&report));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("openwork-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn bench(options: Options) -> Result<Report, Error> {
    let server_version = version_of(&options.server_bin).await?;
    let tokens = Tokens::random()?;

    eprintln!("measuring {} fresh starts …", options.starts);
    let startup = measure_startup(&options, &tokens).await?;

    let fixture = Fixture::new()?;
    fixture.populate(20)?;
    let server = ServerProcess::start(&process::openwork_launch(
        &options.server_bin,
        &fixture,
        &tokens,
    ))
    .await?;
    load::first_healthy(server.addr(), Instant::now() + HEALTHY_TIMEOUT).await?;
    let server_idle = server.rss_kib();
    let bare = ServerProcess::start(&process::bare_launch(fixture.home.path())?).await?;
    load::first_healthy(bare.addr(), Instant::now() + HEALTHY_TIMEOUT).await?;
    let bare_idle = bare.rss_kib();

    let config = LoadConfig {
        connections: options.connections,
        warmup: options.warmup,
        duration: options.duration,
        max_requests: options.max_requests,
    };
    let bearer = Some(tokens.client.clone());
    // Ours and the bare server's /health alternate, round after round, so both see the
    // same machine state; each round gives a ratio and the median is reported.
    let ours_health = scenario("GET /health", &server, "/health", None);
    let bare_health = scenario("bare hyper GET /health", &bare, "/health", None);
    let mut health: Option<(load::LoadResult, load::LoadResult)> = None;
    let mut health_ratios = Vec::with_capacity(options.rounds);
    for round in 1..=options.rounds {
        eprintln!("running /health round {round}/{} …", options.rounds);
        let ours = load::run(&ours_health, config).await?;
        let theirs = load::run(&bare_health, config).await?;
        if theirs.requests_per_sec() > 0.0 {
            health_ratios.push(ours.requests_per_sec() / theirs.requests_per_sec());
        }
        match &mut health {
            Some((all_ours, all_theirs)) => {
                all_ours.absorb(&ours);
                all_theirs.absorb(&theirs);
            }
            None => health = Some((ours, theirs)),
        }
    }
    let mut results = Vec::with_capacity(7);
    if let Some((ours, theirs)) = health {
        results.push(ours);
        results.push(theirs);
    }
    let workspace = fixture.workspace_id();
    // Scenario paths live for the whole run; leaking three short strings is simpler than
    // threading lifetimes through the load generator.
    let path = |suffix: &str| -> &'static str {
        Box::leak(format!("/workspace/{workspace}/{suffix}").into_boxed_str())
    };
    let scenarios = [
        scenario("GET /status (bearer)", &server, "/status", bearer.clone()),
        scenario(
            "GET /workspaces (bearer)",
            &server,
            "/workspaces",
            bearer.clone(),
        ),
        scenario(
            "GET /workspace/:id/skills (20 skills)",
            &server,
            path("skills"),
            bearer.clone(),
        ),
        scenario(
            "GET /workspace/:id/config (commented JSONC)",
            &server,
            path("config"),
            bearer.clone(),
        ),
        scenario("GET /workspace/:id/events", &server, path("events"), bearer),
    ];
    for scenario in &scenarios {
        eprintln!("running {} …", scenario.name);
        let result = load::run(scenario, config).await?;
        if result.ok == 0 {
            eprintln!(
                "warning: {} had no successful request; server stderr:\n{}",
                scenario.name,
                server.stderr_tail()
            );
        }
        results.push(result);
    }
    let memory = vec![
        Memory {
            label: "openwork-server",
            idle_kib: server_idle,
            after_load_kib: server.rss_kib(),
        },
        Memory {
            label: "bare hyper",
            idle_kib: bare_idle,
            after_load_kib: bare.rss_kib(),
        },
    ];
    server.stop().await;
    bare.stop().await;

    health_ratios.sort_by(f64::total_cmp);
    Ok(Report {
        server_bin: options.server_bin.clone(),
        server_version,
        options,
        startup,
        memory,
        scenarios: results,
        health_ratios,
    })
}

fn scenario(
    name: &str,
    target: &ServerProcess,
    path: &'static str,
    bearer: Option<String>,
) -> Scenario {
    Scenario {
        name: name.to_owned(),
        addr: target.addr(),
        path,
        bearer,
    }
}

/// Starts and stops a fresh server (new HOME, new workspace) `options.starts` times.
async fn measure_startup(options: &Options, tokens: &Tokens) -> Result<Startup, Error> {
    let mut startup = Startup::default();
    for _ in 0..options.starts {
        let fixture = Fixture::new()?;
        let launch = process::openwork_launch(&options.server_bin, &fixture, tokens);
        let server = ServerProcess::start(&launch).await?;
        let healthy_at =
            load::first_healthy(server.addr(), server.spawned_at() + HEALTHY_TIMEOUT).await?;
        startup.to_listening.push(server.time_to_ready());
        startup.to_healthy.push(healthy_at - server.spawned_at());
        let stopped = server.stop().await;
        startup.to_exit.push(stopped.elapsed);
        if !stopped.graceful {
            startup.forced_kills += 1;
        } else if !stopped.status.is_some_and(|s| s.success()) {
            startup.unclean_exits += 1;
        }
    }
    Ok(startup)
}

/// Runs `<server> --version`, bounded in time.
async fn version_of(server_bin: &Path) -> Result<String, Error> {
    let mut command = tokio::process::Command::new(server_bin);
    command
        .arg("--version")
        .env_clear()
        .stdin(Stdio::null())
        .kill_on_drop(true);
    if let Some(path) = std::env::var_os("PATH") {
        command.env("PATH", path);
    }
    let output = tokio::time::timeout(HEALTHY_TIMEOUT, command.output())
        .await
        .map_err(|_| format!("{} --version did not exit", server_bin.display()))??;
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}
