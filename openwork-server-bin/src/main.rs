//! The headless `openwork-server` binary: parses the reference's flags, builds the server
//! from the config file, the `OPENWORK_*` environment and the flags, prints the boot lines
//! that wrappers parse, and serves until SIGINT or SIGTERM.

mod cli;
mod launcher;
mod prompter;

use openwork_server_core::{BoundServer, EnvSource, Server, TokenSource, VERSION, logging};
use prompter::TerminalPrompter;
use std::process::ExitCode;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

const BOOT: &str = "openwork_server::boot";

#[tokio::main]
async fn main() -> ExitCode {
    let args = cli::parse(std::env::args().skip(1));
    if args.help {
        print!("{}", cli::HELP);
        return ExitCode::SUCCESS;
    }
    if args.version {
        println!("{VERSION}");
        return ExitCode::SUCCESS;
    }
    if let Some(error) = args.errors.first() {
        eprintln!("openwork-server: {error}");
        return ExitCode::FAILURE;
    }

    let env = EnvSource::process();
    let prompter = Arc::new(TerminalPrompter::default());
    let mut builder = Server::builder()
        .env(env.clone())
        .cli(args.overrides)
        .prompter(prompter.clone());
    if let Some(path) = args.config {
        builder = builder.config_file(path);
    }
    let server = match builder.build() {
        Ok(server) => server,
        Err(error) => {
            eprintln!("openwork-server: {error}");
            return ExitCode::FAILURE;
        }
    };
    let run_id = env
        .get_non_empty("OPENWORK_RUN_ID")
        .unwrap_or_else(openwork_server_core::config::random_id);
    logging::install(server.config().log_format, run_id);

    // Handlers are installed before the listening line is printed: a wrapper may send
    // SIGTERM as soon as it reads that line, and an uninstalled handler means death by signal.
    let signals = match Signals::install() {
        Ok(signals) => signals,
        Err(error) => {
            eprintln!("openwork-server: cannot install signal handlers: {error}");
            return ExitCode::FAILURE;
        }
    };
    tokio::spawn(signals.stop(server.shutdown_token()));
    tokio::spawn(launcher::watch(
        env.get_non_empty(launcher::LAUNCHER_PID_ENV),
        server.shutdown_token(),
    ));
    let bound = match server.bind().await {
        Ok(bound) => bound,
        Err(error) => {
            eprintln!("openwork-server: {error}");
            return ExitCode::FAILURE;
        }
    };
    prompter.set_base_url(format!(
        "http://{}:{}",
        bound.server().config().host,
        bound.local_addr().port()
    ));
    print_boot_lines(&bound, args.verbose);
    match bound.serve().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("openwork-server: {error}");
            ExitCode::FAILURE
        }
    }
}

/// The boot output of contract §2.6, in order. Tokens are printed only when generated,
/// because nobody else knows them then.
fn print_boot_lines(bound: &BoundServer, verbose: bool) {
    let config = bound.server().config();
    let addr = bound.local_addr();
    tracing::info!(target: BOOT, "OpenWork server listening on http://{}:{}", config.host, addr.port());
    if config.token_source == TokenSource::Generated {
        tracing::info!(target: BOOT, "Client token: {}", config.token.expose());
    }
    if config.host_token_source == TokenSource::Generated {
        tracing::info!(target: BOOT, "Host token: {}", config.host_token.expose());
    }
    match config.workspaces.len() {
        0 => {
            tracing::info!(target: BOOT, "No workspaces configured. Add --workspace or update server.json.")
        }
        n => tracing::info!(target: BOOT, "Workspaces: {n}"),
    }
    if verbose {
        tracing::info!(target: BOOT, "Config path: {}", config.config_path.display());
        tracing::info!(target: BOOT, "Read-only: {}", config.read_only);
        tracing::info!(target: BOOT, "Approval: {} ({}ms)", config.approval.mode.as_str(), config.approval.timeout_ms);
        tracing::info!(target: BOOT, "CORS origins: {}", config.cors_origins.join(", "));
        tracing::info!(target: BOOT, "Authorized roots: {}", config.authorized_roots.join(", "));
        tracing::info!(target: BOOT, "Token source: {}", config.token_source.as_str());
        tracing::info!(target: BOOT, "Host token source: {}", config.host_token_source.as_str());
    }
}

/// SIGINT and SIGTERM, registered with the OS as soon as this exists.
struct Signals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> std::io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Self {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(Self {})
        }
    }

    /// Starts a graceful shutdown on the first signal.
    async fn stop(mut self, shutdown: CancellationToken) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
        shutdown.cancel();
    }
}
