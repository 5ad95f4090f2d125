//! Command-line options of the bench: what to run, how hard and for how long.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// Usage text printed by `--help`.
pub const HELP: &str = "\
openwork-bench

Drives the release openwork-server over 127.0.0.1 and prints startup time, memory,
throughput and latency, next to a bare hyper server measured in the same run.

Build the server first:
  cargo build --release -p openwork-server
then run:
  cargo run --release -p openwork-bench -- [options]

Options:
  --server-bin <path>      server binary (default: <workspace>/target/release/openwork-server,
                           or $CARGO_TARGET_DIR/release/openwork-server when that is set)
  --connections <n>        keep-alive connections per scenario (default 64)
  --warmup <secs>          unrecorded warm-up per scenario (default 1)
  --duration <secs>        recorded time per scenario (default 5)
  --starts <n>             fresh server starts for the startup figure (default 10)
  --client-threads <n>     tokio worker threads of the load generator (default 1)
  --max-requests <n>       hard cap on requests per scenario (default 50000000)
  --rounds <n>             alternating ours/bare /health rounds; the median ratio is
                           reported (default 3)
  --catalog-files <n>      files in the workspace of the catalog snapshot scenario
                           (default 20000; e.g. 200000 for the large case)
  --help, -h               print this text
";

/// What the process was asked to do.
#[derive(Debug)]
pub enum Command {
    /// Print [`HELP`].
    Help,
    /// Hidden mode: serve the bare hyper reference server and print its port.
    BareServer,
    /// Run the benchmark.
    Bench(Options),
}

/// Settings of one benchmark run.
#[derive(Debug, Clone)]
pub struct Options {
    /// The `openwork-server` binary under test.
    pub server_bin: PathBuf,
    /// Keep-alive connections opened by the load generator per scenario.
    pub connections: usize,
    /// Load applied before recording starts, so connection setup and lazy
    /// initialisation stay out of the figures.
    pub warmup: Duration,
    /// Recorded load time per scenario.
    pub duration: Duration,
    /// How many fresh processes the startup figure is taken over.
    pub starts: usize,
    /// Worker threads of the load generator's runtime. The machine has two cores;
    /// every thread given to the client is taken from the server under test.
    pub client_threads: usize,
    /// Upper bound on requests per scenario, so a loop can never run away even if
    /// the clock misbehaves.
    pub max_requests: u64,
    /// How many times the `/health` comparison alternates between our server and the
    /// bare one; the ratio reported is the median of the rounds, which this shared
    /// two-core machine's noise makes necessary.
    pub rounds: usize,
    /// Files planted in the workspace whose catalog snapshot is measured.
    pub catalog_files: usize,
}

impl Options {
    fn defaults() -> Self {
        Self {
            server_bin: default_server_bin(),
            connections: 64,
            warmup: Duration::from_secs(1),
            duration: Duration::from_secs(5),
            starts: 10,
            client_threads: 1,
            max_requests: 50_000_000,
            rounds: 3,
            catalog_files: 20_000,
        }
    }
}

/// Where `cargo build --release -p openwork-server` puts the binary.
fn default_server_bin() -> PathBuf {
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        // The bench crate sits directly under the workspace root.
        _ => {
            let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
            crate_dir.parent().unwrap_or(crate_dir).join("target")
        }
    };
    target.join("release").join("openwork-server")
}

/// Parses the arguments after the program name.
pub fn parse(args: &[String]) -> Result<Command, String> {
    let mut options = Options::defaults();
    let mut rest = args.iter();
    while let Some(flag) = rest.next() {
        let mut value = || {
            rest.next()
                .map(String::as_str)
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--help" | "-h" => return Ok(Command::Help),
            "--bare-hyper-server" => return Ok(Command::BareServer),
            "--server-bin" => options.server_bin = PathBuf::from(value()?),
            "--connections" => options.connections = number(flag, value()?, 1, 4096)?,
            "--warmup" => options.warmup = seconds(flag, value()?, 0.0)?,
            "--duration" => options.duration = seconds(flag, value()?, 0.1)?,
            "--starts" => options.starts = number(flag, value()?, 1, 1000)?,
            "--client-threads" => options.client_threads = number(flag, value()?, 1, 64)?,
            "--rounds" => options.rounds = number(flag, value()?, 1, 100)?,
            "--catalog-files" => {
                options.catalog_files = number(flag, value()?, 1, 1_000_000)?;
            }
            "--max-requests" => {
                options.max_requests = number(flag, value()?, 1, u64::MAX)?;
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(Command::Bench(options))
}

fn number<T>(flag: &str, raw: &str, min: T, max: T) -> Result<T, String>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
{
    match raw.parse::<T>() {
        Ok(n) if n >= min && n <= max => Ok(n),
        _ => Err(format!(
            "{flag} takes a whole number from {min} to {max}, got {raw:?}"
        )),
    }
}

/// Durations are capped at ten minutes: every loop in the bench is bounded in time.
fn seconds(flag: &str, raw: &str, min: f64) -> Result<Duration, String> {
    match raw.parse::<f64>() {
        Ok(secs) if secs.is_finite() && secs >= min && secs <= 600.0 => {
            Ok(Duration::from_secs_f64(secs))
        }
        _ => Err(format!(
            "{flag} takes seconds from {min} to 600, got {raw:?}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn defaults_apply_without_flags() {
        let Ok(Command::Bench(options)) = parse(&[]) else {
            panic!("expected a bench run");
        };
        assert_eq!(options.connections, 64);
        assert!(options.server_bin.ends_with("release/openwork-server"));
    }

    #[test]
    fn flags_override_defaults() {
        let parsed = parse(&args(&[
            "--connections",
            "8",
            "--duration",
            "0.5",
            "--server-bin",
            "/x/server",
            "--catalog-files",
            "200000",
        ]));
        let Ok(Command::Bench(options)) = parsed else {
            panic!("expected a bench run");
        };
        assert_eq!(options.connections, 8);
        assert_eq!(options.duration, Duration::from_millis(500));
        assert_eq!(options.server_bin, PathBuf::from("/x/server"));
        assert_eq!(options.catalog_files, 200_000);
    }

    #[test]
    fn bad_values_are_rejected() {
        assert!(parse(&args(&["--connections", "0"])).is_err());
        assert!(parse(&args(&["--duration", "nan"])).is_err());
        assert!(parse(&args(&["--duration"])).is_err());
        assert!(parse(&args(&["--bogus"])).is_err());
    }
}
