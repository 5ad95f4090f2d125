//! The figures of one run and the table they are printed as.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use crate::cli::Options;
use crate::files::{CATALOG_LIMIT, CatalogProbe, UPLOAD_BYTES, UploadRun};
use crate::load::LoadResult;
use crate::proxy::ProxyOverhead;

/// Timings of the fresh starts.
#[derive(Default)]
pub struct Startup {
    /// Spawn to the `OpenWork server listening on …` line.
    pub to_listening: Vec<Duration>,
    /// Spawn to the first `200` from `GET /health`.
    pub to_healthy: Vec<Duration>,
    /// SIGTERM to process exit.
    pub to_exit: Vec<Duration>,
    /// Starts that did not exit within the grace period and were killed.
    pub forced_kills: usize,
    /// Starts that exited by themselves but with a non-zero status.
    pub unclean_exits: usize,
}

/// Resident memory of one server process, in KiB.
pub struct Memory {
    /// Which server.
    pub label: String,
    /// After startup, before any load.
    pub idle_kib: Option<u64>,
    /// Right after the last scenario against it.
    pub after_load_kib: Option<u64>,
}

/// Everything one run measured.
pub struct Report {
    /// The binary under test.
    pub server_bin: PathBuf,
    /// What it printed for `--version`.
    pub server_version: String,
    /// The run's settings.
    pub options: Options,
    /// Startup and shutdown timings.
    pub startup: Startup,
    /// Memory of each server.
    pub memory: Vec<Memory>,
    /// Load scenarios in the order they ran.
    pub scenarios: Vec<LoadResult>,
    /// Our `/health` req/s divided by the bare hyper server's, one per round, sorted.
    pub health_ratios: Vec<f64>,
    /// The file scenarios' figures that are not load runs.
    pub files: FilesFigures,
    /// The OpenCode proxy against OpenCode itself, when OpenCode is installed.
    pub proxy: Option<ProxyOverhead>,
}

/// Catalog latency without load, inbox uploads, and file scenarios that could not run.
#[derive(Default)]
pub struct FilesFigures {
    /// Sequential catalog snapshots.
    pub catalog: Option<CatalogProbe>,
    /// 50 MB inbox uploads.
    pub uploads: Vec<UploadRun>,
    /// Why a group of file scenarios did not run (e.g. its route answered 404), so a
    /// missing row is explained rather than silent.
    pub skipped: Vec<String>,
}

/// Renders the report as a plain-text table.
pub fn render(report: &Report) -> String {
    let o = &report.options;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "openwork-bench: openwork-server {} ({})",
        report.server_version,
        report.server_bin.display()
    );
    let _ = writeln!(
        out,
        "load: {} keep-alive connections, {:.1} s warm-up + {:.1} s recorded per scenario, \
         {} client thread(s), 127.0.0.1 only",
        o.connections,
        o.warmup.as_secs_f64(),
        o.duration.as_secs_f64(),
        o.client_threads
    );
    out.push('\n');

    let s = &report.startup;
    let _ = writeln!(
        out,
        "{:<36}{:>10}{:>10}{:>10}",
        format!("Startup, {} fresh starts (ms)", s.to_healthy.len()),
        "min",
        "median",
        "max"
    );
    for (label, samples) in [
        ("  spawn -> listening line", &s.to_listening),
        ("  spawn -> first 200 on /health", &s.to_healthy),
        ("  SIGTERM -> exit", &s.to_exit),
    ] {
        let _ = writeln!(
            out,
            "{label:<36}{:>10}{:>10}{:>10}",
            ms(samples.iter().min().copied()),
            ms(median(samples)),
            ms(samples.iter().max().copied())
        );
    }
    let _ = writeln!(
        out,
        "  forced kills after 2 s: {}, non-zero exits: {}",
        s.forced_kills, s.unclean_exits
    );
    out.push('\n');

    let _ = writeln!(
        out,
        "{:<42}{:>10}{:>12}",
        "Memory (VmRSS, MiB)", "idle", "after load"
    );
    for m in &report.memory {
        let _ = writeln!(
            out,
            "  {:<40}{:>10}{:>12}",
            m.label,
            mib(m.idle_kib),
            mib(m.after_load_kib)
        );
    }
    out.push('\n');

    let _ = writeln!(
        out,
        "{:<46}{:>12}{:>10}{:>10}{:>10}{:>9}",
        "Scenario", "req/s", "p50 ms", "p99 ms", "max ms", "errors"
    );
    for r in &report.scenarios {
        let (p50, p99, max) = if r.latency_ns.is_empty() {
            ("-".to_owned(), "-".to_owned(), "-".to_owned())
        } else {
            (
                format!("{:.3}", r.quantile_ms(0.5)),
                format!("{:.3}", r.quantile_ms(0.99)),
                format!("{:.3}", r.latency_ns.max() as f64 / 1e6),
            )
        };
        let _ = writeln!(
            out,
            "  {:<44}{:>12.0}{p50:>10}{p99:>10}{max:>10}{:>9}",
            r.name,
            r.requests_per_sec(),
            r.errors
        );
    }
    out.push('\n');
    render_files(&mut out, &report.files);
    if let Some(proxy) = &report.proxy {
        render_proxy(&mut out, proxy);
    }
    let ratios = &report.health_ratios;
    if ratios.is_empty() {
        let _ = writeln!(out, "/health throughput vs bare hyper: n/a");
    } else {
        let rounds: Vec<String> = ratios.iter().map(|r| format!("{r:.2}")).collect();
        let _ = writeln!(
            out,
            "/health throughput vs bare hyper: {:.2}x median of {} rounds ({}) \
             (openwork-server req/s / bare hyper req/s, scenario rows above sum all rounds)",
            ratios[ratios.len() / 2],
            ratios.len(),
            rounds.join(", ")
        );
    }
    out
}

fn render_files(out: &mut String, files: &FilesFigures) {
    if let Some(c) = &files.catalog {
        let _ = writeln!(
            out,
            "{:<36}{:>10}{:>10}{:>10}",
            format!("Catalog snapshot, {} files (ms)", c.files),
            "min",
            "median",
            "max"
        );
        let _ = writeln!(
            out,
            "{:<36}{:>10}{:>10}{:>10}",
            format!(
                "  {} sequential, {CATALOG_LIMIT}/{}",
                c.latencies.len(),
                c.total
            ),
            ms(c.latencies.iter().min().copied()),
            ms(median(&c.latencies)),
            ms(c.latencies.iter().max().copied())
        );
        let _ = writeln!(
            out,
            "  first snapshot of the session: {} ms; one page of {} entries out of {}",
            ms(Some(c.first)),
            c.returned,
            c.total
        );
        out.push('\n');
    }
    if !files.uploads.is_empty() {
        let _ = writeln!(
            out,
            "{:<28}{:>8}{:>8}{:>11}{:>11}{:>11}",
            format!("Inbox upload, {} MB", UPLOAD_BYTES / 1_000_000),
            "s",
            "MB/s",
            "idle MiB",
            "peak MiB",
            "delta MiB"
        );
        for (n, run) in files.uploads.iter().enumerate() {
            let secs = run.elapsed.as_secs_f64();
            let delta = match (run.idle_kib, run.peak_kib) {
                (Some(idle), Some(peak)) => {
                    format!("{:+.1}", (peak as f64 - idle as f64) / 1024.0)
                }
                _ => "-".to_owned(),
            };
            let _ = writeln!(
                out,
                "  {:<26}{secs:>8.3}{:>8.0}{:>11}{:>11}{delta:>11}",
                format!("run {}", n + 1),
                UPLOAD_BYTES as f64 / 1e6 / secs,
                mib(run.idle_kib),
                mib(run.peak_kib)
            );
        }
        let _ = writeln!(
            out,
            "  (server VmRSS sampled every 2 ms during each upload; delta = peak - idle before it)"
        );
        out.push('\n');
    }
    for reason in &files.skipped {
        let _ = writeln!(out, "skipped: {reason}");
    }
    if !files.skipped.is_empty() {
        out.push('\n');
    }
}

fn render_proxy(out: &mut String, proxy: &ProxyOverhead) {
    let _ = writeln!(
        out,
        "{:<46}{:>12}{:>10}",
        "OpenCode proxy", "req/s", "p50 ms"
    );
    for r in [&proxy.direct, &proxy.proxied] {
        let _ = writeln!(
            out,
            "  {:<44}{:>12.0}{:>10.3}",
            r.name,
            r.requests_per_sec(),
            r.quantile_ms(0.5)
        );
    }
    let (added_ms, added_pct) = proxy.p50_added();
    let _ = writeln!(
        out,
        "  overhead: throughput {:+.1}%, p50 {added_ms:+.3} ms ({added_pct:+.1}%) \
         (target: < 5% and < 0.2 ms at p50)",
        -proxy.throughput_loss_pct()
    );
    out.push('\n');
}

/// Middle value; the mean of the two middle values for an even count.
pub fn median(samples: &[Duration]) -> Option<Duration> {
    let mut sorted = samples.to_vec();
    sorted.sort();
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2),
    }
}

fn ms(value: Option<Duration>) -> String {
    value.map_or_else(
        || "-".to_owned(),
        |d| format!("{:.3}", d.as_secs_f64() * 1e3),
    )
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or_else(|| "-".to_owned(), |k| format!("{:.1}", k as f64 / 1024.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        let d = Duration::from_millis;
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[d(3), d(1), d(2)]), Some(d(2)));
        assert_eq!(
            median(&[d(4), d(1), d(2), d(3)]),
            Some(Duration::from_micros(2500))
        );
    }

    #[test]
    fn file_figures_are_rendered() {
        let d = Duration::from_millis;
        let figures = FilesFigures {
            catalog: Some(CatalogProbe {
                files: 20_000,
                total: 20_204,
                returned: 2000,
                first: d(40),
                latencies: vec![d(3), d(1), d(2)],
            }),
            uploads: vec![UploadRun {
                elapsed: d(500),
                idle_kib: Some(8 * 1024),
                peak_kib: Some(10 * 1024),
            }],
            skipped: vec!["inbox upload: 404".to_owned()],
        };
        let mut out = String::new();
        render_files(&mut out, &figures);
        assert!(out.contains("Catalog snapshot, 20000 files"), "{out}");
        assert!(
            out.contains("first snapshot of the session: 40.000 ms"),
            "{out}"
        );
        assert!(out.contains("+2.0"), "{out}");
        assert!(out.contains("skipped: inbox upload: 404"), "{out}");
    }

    #[test]
    fn units_are_formatted_for_the_table() {
        assert_eq!(ms(Some(Duration::from_micros(1234))), "1.234");
        assert_eq!(mib(Some(2048)), "2.0");
        assert_eq!(mib(None), "-");
    }
}
