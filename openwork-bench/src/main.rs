//! `openwork-bench`: measures the release `openwork-server` over loopback.
//!
//! Build the server, then run the bench (both in release mode, from the workspace root):
//!
//! ```text
//! cargo build --release -p openwork-server
//! cargo run --release -p openwork-bench -- [--connections 64] [--duration 5] [--server-bin PATH]
//!     [--catalog-files 200000]
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
//! 5. the file-session scenarios (contract §8): `read-batch` and `write-batch` of
//!    64 × 1 KiB files (approval auto) as POSTs of a JSON body serialised once;
//! 6. memory again after the load;
//! 7. a catalog snapshot page (`limit=2000`) of a workspace of `--catalog-files` files
//!    (default 20,000) on its own server: sequential latency, then under load;
//! 8. a 50 MB inbox upload on a fresh server, timed, with the server's VmRSS sampled
//!    every 2 ms (peak minus idle);
//! 9. `GET /opencode/global/health` through the proxy against the same request straight
//!    to a real OpenCode (skipped, with the reason, when OpenCode is not installed).
//!
//! A file scenario whose route does not answer as the contract says is reported as
//! skipped, with the reason; the others still run.
//!
//! Only `127.0.0.1` is contacted; every loop is bounded in time and in count; every
//! child is stopped with SIGTERM (then killed) at the end.

mod bare;
mod cli;
mod files;
mod load;
mod process;
mod proxy;
mod report;

use std::path::Path;
use std::process::{ExitCode, Stdio};
use std::time::{Duration, Instant};

use cli::{Command, Options};
use load::{LoadConfig, Scenario};
use process::{Fixture, ServerProcess, Tokens};
use report::{FilesFigures, Memory, Report, Startup};

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
    let read_paths = files::plant_batch_files(fixture.workspace.path())?;
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
        request_timeout: load::REQUEST_TIMEOUT,
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
    let mut results = Vec::with_capacity(10);
    if let Some((ours, theirs)) = health {
        results.push(ours);
        results.push(theirs);
    }
    let workspace = fixture.workspace_id();
    let path = |suffix: &str| leak(format!("/workspace/{workspace}/{suffix}"));
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
        results.push(run_scenario(scenario, config, &server).await?);
    }
    let mut figures = FilesFigures::default();
    match batch_scenarios(&server, &workspace, &tokens.client, &read_paths).await {
        Ok(batches) => {
            for scenario in &batches {
                results.push(run_scenario(scenario, config, &server).await?);
            }
        }
        Err(e) => figures.skipped.push(format!("read/write batch: {e}")),
    }
    let mut memory = vec![
        Memory {
            label: "openwork-server".to_owned(),
            idle_kib: server_idle,
            after_load_kib: server.rss_kib(),
        },
        Memory {
            label: "bare hyper".to_owned(),
            idle_kib: bare_idle,
            after_load_kib: bare.rss_kib(),
        },
    ];
    server.stop().await;
    bare.stop().await;

    match catalog_bench(&options, &tokens, config).await {
        Ok((result, probe, catalog_memory)) => {
            results.push(result);
            figures.catalog = Some(probe);
            memory.push(catalog_memory);
        }
        Err(e) => figures.skipped.push(format!("catalog snapshot: {e}")),
    }
    match upload_bench(&options, &tokens).await {
        Ok(runs) => figures.uploads = runs,
        Err(e) => figures.skipped.push(format!("inbox upload: {e}")),
    }

    let proxy = match proxy::run(&options.server_bin, &tokens, config, options.rounds).await {
        Ok(overhead) => Some(overhead),
        Err(e) => {
            figures.skipped.push(format!("OpenCode proxy: {e}"));
            None
        }
    };

    health_ratios.sort_by(f64::total_cmp);
    Ok(Report {
        proxy,
        server_bin: options.server_bin.clone(),
        server_version,
        options,
        startup,
        memory,
        scenarios: results,
        health_ratios,
        files: figures,
    })
}

/// Runs one load scenario, warning when nothing succeeded.
async fn run_scenario(
    scenario: &Scenario,
    config: LoadConfig,
    server: &ServerProcess,
) -> Result<load::LoadResult, Error> {
    eprintln!("running {} …", scenario.name);
    let result = load::run(scenario, config).await?;
    if result.ok == 0 {
        eprintln!(
            "warning: {} had no successful request; server stderr:\n{}",
            scenario.name,
            server.stderr_tail()
        );
    }
    Ok(result)
}

/// Opens a file session and checks one read and one write batch, then returns the two
/// load scenarios.
async fn batch_scenarios(
    server: &ServerProcess,
    workspace: &str,
    bearer: &str,
    read_paths: &[String],
) -> Result<[Scenario; 2], Error> {
    let session = files::open_session(server.addr(), workspace, bearer).await?;
    let read_path = leak(format!("/files/sessions/{session}/read-batch"));
    let write_path = leak(format!("/files/sessions/{session}/write-batch"));
    let read_body = files::read_batch_body(read_paths);
    let write_body = files::write_batch_body(&files::batch_paths("write"));
    files::check_batch(server.addr(), read_path, bearer, read_body.clone()).await?;
    files::check_batch(server.addr(), write_path, bearer, write_body.clone()).await?;
    let n = files::BATCH_FILES;
    Ok([
        post_scenario(
            &format!("POST read-batch ({n} x 1 KiB)"),
            server,
            read_path,
            bearer,
            read_body,
        ),
        post_scenario(
            &format!("POST write-batch ({n} x 1 KiB)"),
            server,
            write_path,
            bearer,
            write_body,
        ),
    ])
}

/// A server on a workspace of `options.catalog_files` files: sequential snapshot
/// latency, then the snapshot under load, and the server's memory around it.
async fn catalog_bench(
    options: &Options,
    tokens: &Tokens,
    config: LoadConfig,
) -> Result<(load::LoadResult, files::CatalogProbe, Memory), Error> {
    let fixture = Fixture::new()?;
    eprintln!("planting {} files for the catalog …", options.catalog_files);
    files::plant_catalog(fixture.workspace.path(), options.catalog_files)?;
    let launch = process::openwork_launch(&options.server_bin, &fixture, tokens);
    let server = ServerProcess::start(&launch).await?;
    load::first_healthy(server.addr(), Instant::now() + HEALTHY_TIMEOUT).await?;
    let idle_kib = server.rss_kib();
    let measured = async {
        let workspace = fixture.workspace_id();
        let session = files::open_session(server.addr(), &workspace, &tokens.client).await?;
        let path = leak(format!(
            "/files/sessions/{session}/catalog/snapshot?limit={}",
            files::CATALOG_LIMIT
        ));
        eprintln!("timing sequential catalog snapshots …");
        let probe =
            files::probe_catalog(server.addr(), path, &tokens.client, options.catalog_files)
                .await?;
        let scenario = Scenario {
            name: format!("GET catalog snapshot ({} files)", options.catalog_files),
            ..scenario("", &server, path, Some(tokens.client.clone()))
        };
        // One snapshot walks the whole tree; under full concurrency it can take far
        // longer than a small request.
        let config = LoadConfig {
            request_timeout: files::CATALOG_TIMEOUT,
            ..config
        };
        let result = run_scenario(&scenario, config, &server).await?;
        Ok::<_, Error>((result, probe))
    }
    .await;
    let memory = Memory {
        label: format!("openwork-server, {}-file catalog", options.catalog_files),
        idle_kib,
        after_load_kib: server.rss_kib(),
    };
    server.stop().await;
    let (result, probe) = measured?;
    Ok((result, probe, memory))
}

/// A fresh server, so the idle figure is a real idle; then the uploads.
async fn upload_bench(options: &Options, tokens: &Tokens) -> Result<Vec<files::UploadRun>, Error> {
    let fixture = Fixture::new()?;
    let launch = process::openwork_launch(&options.server_bin, &fixture, tokens);
    let server = ServerProcess::start(&launch).await?;
    load::first_healthy(server.addr(), Instant::now() + HEALTHY_TIMEOUT).await?;
    eprintln!(
        "uploading {} MB to the inbox …",
        files::UPLOAD_BYTES / 1_000_000
    );
    let runs = files::measure_uploads(
        &server,
        &fixture.workspace_id(),
        fixture.workspace.path(),
        &tokens.client,
    )
    .await;
    server.stop().await;
    runs
}

/// Scenario paths live for the whole run; leaking a few short strings is simpler than
/// threading lifetimes through the load generator.
fn leak(path: String) -> &'static str {
    Box::leak(path.into_boxed_str())
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
        method: http::Method::GET,
        json_body: None,
    }
}

fn post_scenario(
    name: &str,
    target: &ServerProcess,
    path: &'static str,
    bearer: &str,
    json_body: bytes::Bytes,
) -> Scenario {
    Scenario {
        method: http::Method::POST,
        json_body: Some(json_body),
        ..scenario(name, target, path, Some(bearer.to_owned()))
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
