//! The file-session and inbox scenarios (contract §8): the fixtures they need, the
//! request bodies (serialised once), the set-up calls, the checks that make sure the
//! load measures real work rather than error answers, the sequential catalog snapshot
//! latency and the 50 MB inbox upload with the server's memory sampled while it runs.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode};
use serde_json::{Value, json};

use crate::Error;
use crate::load::{self, OneShot};
use crate::process::{ServerProcess, rss_kib_of};

/// Files per read or write batch: the contract's per-batch maximum.
pub const BATCH_FILES: usize = 64;
/// Size of every batch file.
const BATCH_FILE_BYTES: usize = 1024;
/// The snapshot page size asked for (the contract's default).
pub const CATALOG_LIMIT: usize = 2000;
/// Inbox upload size: the server's default upload limit (50,000,000 bytes), so the
/// upload is accepted with the default configuration.
pub const UPLOAD_BYTES: usize = 50_000_000;
/// Sessions outlive any run (the default TTL is 15 minutes, a long run could pass it).
const SESSION_TTL_SECS: u64 = 3600;
/// Bound on set-up calls and probes.
const SETUP_TIMEOUT: Duration = Duration::from_secs(10);
/// Bound on one snapshot of a huge workspace, alone or under load.
pub const CATALOG_TIMEOUT: Duration = Duration::from_secs(60);
/// Bound on one upload.
const UPLOAD_TIMEOUT: Duration = Duration::from_secs(120);
/// Sequential snapshots timed without concurrent load, after two unrecorded ones.
const CATALOG_PROBES: usize = 20;
/// Uploads of the same file (each overwrites the last).
const UPLOAD_RUNS: usize = 3;
/// VmRSS sampling period during an upload.
const RSS_SAMPLE_EVERY: Duration = Duration::from_millis(2);
/// Where the upload lands, relative to the workspace.
const UPLOAD_NAME: &str = "bench-upload.bin";
const MULTIPART_BOUNDARY: &str = "openwork-bench-boundary-7d1f0c";

/// Workspace-relative paths of one batch, e.g. `bench/read/file-00.txt`.
pub fn batch_paths(folder: &str) -> Vec<String> {
    (0..BATCH_FILES)
        .map(|n| format!("bench/{folder}/file-{n:02}.txt"))
        .collect()
}

/// Writes [`BATCH_FILES`] files of 1 KiB under `bench/read/` for the read batch.
pub fn plant_batch_files(root: &Path) -> Result<Vec<String>, Error> {
    let paths = batch_paths("read");
    for path in &paths {
        let file = root.join(path);
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(file, batch_content())?;
    }
    Ok(paths)
}

fn batch_content() -> Vec<u8> {
    (0..BATCH_FILE_BYTES)
        .map(|i| b'a' + (i % 26) as u8)
        .collect()
}

/// Fills `root` with `count` small files, 100 files per folder and 100 folders per
/// group, so the catalog walk meets a realistic tree rather than one huge directory.
pub fn plant_catalog(root: &Path, count: usize) -> Result<(), Error> {
    std::fs::create_dir_all(root.join(".git"))?;
    for n in 0..count {
        let dir = root
            .join("src")
            .join(format!("group-{:03}", n / 10_000))
            .join(format!("module-{:03}", (n / 100) % 100));
        if n % 100 == 0 {
            std::fs::create_dir_all(&dir)?;
        }
        std::fs::write(dir.join(format!("file-{:02}.ts", n % 100)), "export {};\n")?;
    }
    Ok(())
}

/// `{"paths":[…]}` for `read-batch`.
pub fn read_batch_body(paths: &[String]) -> Bytes {
    Bytes::from(json!({ "paths": paths }).to_string())
}

/// `{"writes":[{"path","contentBase64","force":true}…]}` for `write-batch`.
pub fn write_batch_body(paths: &[String]) -> Bytes {
    let content = base64::engine::general_purpose::STANDARD.encode(batch_content());
    let writes: Vec<Value> = paths
        .iter()
        .map(|path| json!({ "path": path, "contentBase64": content, "force": true }))
        .collect();
    Bytes::from(json!({ "writes": writes }).to_string())
}

/// Opens a writable file session on the workspace and returns its id.
pub async fn open_session(
    addr: SocketAddr,
    workspace_id: &str,
    bearer: &str,
) -> Result<String, Error> {
    let body = json!({ "ttlSeconds": SESSION_TTL_SECS, "write": true }).to_string();
    let (status, answer) = load::send_once(OneShot {
        addr,
        method: Method::POST,
        path: &format!("/workspace/{workspace_id}/files/sessions"),
        bearer: Some(bearer),
        body: load::json_body(Bytes::from(body)),
        timeout: SETUP_TIMEOUT,
    })
    .await?;
    let answer: Value = parse(status, &answer, "POST /workspace/:id/files/sessions")?;
    answer["session"]["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("session answer has no session.id: {answer}").into())
}

/// Sends one batch and checks that every item succeeded, so the load that follows
/// measures the work and not per-item errors behind a `200`.
pub async fn check_batch(
    addr: SocketAddr,
    path: &str,
    bearer: &str,
    body: Bytes,
) -> Result<(), Error> {
    let (status, answer) = load::send_once(OneShot {
        addr,
        method: Method::POST,
        path,
        bearer: Some(bearer),
        body: load::json_body(body),
        timeout: SETUP_TIMEOUT,
    })
    .await?;
    let answer: Value = parse(status, &answer, path)?;
    let items = answer["items"].as_array().ok_or("answer has no items")?;
    if items.len() != BATCH_FILES {
        return Err(format!("{path}: {} items, expected {BATCH_FILES}", items.len()).into());
    }
    match items.iter().find(|item| item["ok"] != true) {
        Some(failed) => Err(format!("{path}: item failed: {failed}").into()),
        None => Ok(()),
    }
}

/// What the sequential snapshot probe measured.
pub struct CatalogProbe {
    /// Files planted in the workspace.
    pub files: usize,
    /// `total` of the answer: entries (files and folders) after filtering.
    pub total: u64,
    /// Entries in one page.
    pub returned: usize,
    /// The session's first snapshot, which may pay for building an index.
    pub first: Duration,
    /// One snapshot at a time, without concurrent load.
    pub latencies: Vec<Duration>,
}

/// Times [`CATALOG_PROBES`] snapshots one after the other and checks the page shape.
pub async fn probe_catalog(
    addr: SocketAddr,
    path: &str,
    bearer: &str,
    files: usize,
) -> Result<CatalogProbe, Error> {
    let shot = || OneShot {
        addr,
        method: Method::GET,
        path,
        bearer: Some(bearer),
        body: None,
        timeout: CATALOG_TIMEOUT,
    };
    let started = Instant::now();
    let (status, answer) = load::send_once(shot()).await?;
    let first = started.elapsed();
    let answer: Value = parse(status, &answer, path)?;
    let total = answer["total"].as_u64().ok_or("snapshot has no total")?;
    let returned = answer["items"].as_array().map_or(0, Vec::len);
    if (total as usize) < files || returned != CATALOG_LIMIT || answer["truncated"] != true {
        return Err(format!(
            "{path}: total {total}, {returned} items, truncated {}; expected a full page of \
             {CATALOG_LIMIT} out of at least {files}",
            answer["truncated"]
        )
        .into());
    }
    load::send_once(shot()).await?;
    let mut latencies = Vec::with_capacity(CATALOG_PROBES);
    for _ in 0..CATALOG_PROBES {
        let started = Instant::now();
        let (status, _) = load::send_once(shot()).await?;
        if status != StatusCode::OK {
            return Err(format!("{path} answered {status}").into());
        }
        latencies.push(started.elapsed());
    }
    Ok(CatalogProbe {
        files,
        total,
        returned,
        first,
        latencies,
    })
}

/// One 50 MB inbox upload.
pub struct UploadRun {
    /// Request sent to answer read.
    pub elapsed: Duration,
    /// Server VmRSS right before the upload, KiB.
    pub idle_kib: Option<u64>,
    /// Highest VmRSS sampled during the upload, KiB.
    pub peak_kib: Option<u64>,
}

/// Uploads [`UPLOAD_BYTES`] to the inbox [`UPLOAD_RUNS`] times while another thread
/// samples the server's VmRSS, and checks the answer and the bytes on disk.
pub async fn measure_uploads(
    server: &ServerProcess,
    workspace_id: &str,
    workspace_root: &Path,
    bearer: &str,
) -> Result<Vec<UploadRun>, Error> {
    let (content_type, body) = multipart_body()?;
    let path = format!("/workspace/{workspace_id}/inbox");
    let landed = workspace_root
        .join(".opencode/openwork/inbox")
        .join(UPLOAD_NAME);
    let mut runs = Vec::with_capacity(UPLOAD_RUNS);
    for _ in 0..UPLOAD_RUNS {
        let idle_kib = server.rss_kib();
        let sampler = RssSampler::start(server.pid());
        let started = Instant::now();
        let outcome = load::send_once(OneShot {
            addr: server.addr(),
            method: Method::POST,
            path: &path,
            bearer: Some(bearer),
            body: Some((content_type.clone(), body.clone())),
            timeout: UPLOAD_TIMEOUT,
        })
        .await;
        let elapsed = started.elapsed();
        let peak_kib = sampler.stop().await;
        let (status, answer) = outcome?;
        let answer: Value = parse(status, &answer, "POST /workspace/:id/inbox")?;
        let on_disk = std::fs::metadata(&landed).map(|m| m.len()).ok();
        if answer["bytes"] != UPLOAD_BYTES || on_disk != Some(UPLOAD_BYTES as u64) {
            return Err(format!(
                "upload answered {answer} and left {on_disk:?} bytes at {}",
                landed.display()
            )
            .into());
        }
        runs.push(UploadRun {
            elapsed,
            idle_kib,
            peak_kib,
        });
    }
    Ok(runs)
}

/// `multipart/form-data` with one field `file`, built once and shared by every run.
fn multipart_body() -> Result<(HeaderValue, Bytes), Error> {
    let head = format!(
        "--{MULTIPART_BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; \
         filename=\"{UPLOAD_NAME}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    );
    let tail = format!("\r\n--{MULTIPART_BOUNDARY}--\r\n");
    let mut body = Vec::with_capacity(head.len() + UPLOAD_BYTES + tail.len());
    body.extend_from_slice(head.as_bytes());
    // Not all zeros, so nothing along the way can shortcut the content.
    body.extend((0..UPLOAD_BYTES).map(|i| (i % 251) as u8));
    body.extend_from_slice(tail.as_bytes());
    let content_type = HeaderValue::from_str(&format!(
        "multipart/form-data; boundary={MULTIPART_BOUNDARY}"
    ))?;
    Ok((content_type, Bytes::from(body)))
}

/// Samples a process's VmRSS on a blocking thread, so the sampling keeps its pace
/// while the client runtime is busy pushing the upload.
struct RssSampler {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
    thread: tokio::task::JoinHandle<()>,
}

impl RssSampler {
    fn start(pid: u32) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicU64::new(0));
        let thread = tokio::task::spawn_blocking({
            let (stop, peak) = (Arc::clone(&stop), Arc::clone(&peak));
            move || {
                // Bounded: the upload itself is bounded by UPLOAD_TIMEOUT.
                let deadline = Instant::now() + UPLOAD_TIMEOUT + SETUP_TIMEOUT;
                while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                    if let Some(kib) = rss_kib_of(pid) {
                        peak.fetch_max(kib, Ordering::Relaxed);
                    }
                    std::thread::sleep(RSS_SAMPLE_EVERY);
                }
            }
        });
        Self { stop, peak, thread }
    }

    /// Stops sampling and returns the highest value seen.
    async fn stop(self) -> Option<u64> {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.thread.await;
        match self.peak.load(Ordering::Relaxed) {
            0 => None,
            kib => Some(kib),
        }
    }
}

/// A `200` JSON answer, or an error naming the call and what came back.
fn parse(status: StatusCode, body: &[u8], what: &str) -> Result<Value, Error> {
    if status != StatusCode::OK {
        return Err(format!(
            "{what} answered {status}: {}",
            String::from_utf8_lossy(&body[..body.len().min(300)])
        )
        .into());
    }
    Ok(serde_json::from_slice(body).map_err(|e| format!("{what}: answer is not JSON: {e}"))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_have_the_contract_shapes() {
        let paths = batch_paths("write");
        assert_eq!(paths.len(), BATCH_FILES);
        assert_eq!(paths[7], "bench/write/file-07.txt");
        let read: Value = serde_json::from_slice(&read_batch_body(&paths)).unwrap();
        assert_eq!(read["paths"].as_array().unwrap().len(), BATCH_FILES);
        let write: Value = serde_json::from_slice(&write_batch_body(&paths)).unwrap();
        let first = &write["writes"][0];
        assert_eq!(first["path"], "bench/write/file-00.txt");
        assert_eq!(first["force"], true);
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(first["contentBase64"].as_str().unwrap())
            .unwrap();
        assert_eq!(decoded.len(), BATCH_FILE_BYTES);
    }

    #[test]
    fn multipart_body_wraps_the_whole_file() {
        let (content_type, body) = multipart_body().unwrap();
        assert!(
            content_type
                .to_str()
                .unwrap()
                .ends_with(&format!("boundary={MULTIPART_BOUNDARY}"))
        );
        let head_end = body.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        let tail = format!("\r\n--{MULTIPART_BOUNDARY}--\r\n");
        assert_eq!(body.len() - head_end - tail.len(), UPLOAD_BYTES);
        assert!(body.ends_with(tail.as_bytes()));
    }

    #[test]
    fn catalog_fixture_has_the_asked_file_count() {
        let dir = tempfile::tempdir().unwrap();
        plant_catalog(dir.path(), 250).unwrap();
        let mut files = 0;
        let mut stack = vec![dir.path().join("src")];
        while let Some(folder) = stack.pop() {
            for entry in std::fs::read_dir(folder).unwrap() {
                let entry = entry.unwrap();
                if entry.file_type().unwrap().is_dir() {
                    stack.push(entry.path());
                } else {
                    files += 1;
                }
            }
        }
        assert_eq!(files, 250);
    }
}
