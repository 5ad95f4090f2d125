//! The load generator: many keep-alive HTTP/1 connections (hyper client), each sending
//! one request (a GET, or a POST of a JSON body serialised once) at a time as fast as
//! answers come back, every latency recorded in an HDR histogram. Also the
//! single-request probe used to time server startup, and [`send_once`] for set-up calls.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hdrhistogram::Histogram;
use http::{HeaderValue, Method, Request, StatusCode, Uri, header};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::Error;

/// Default for [`LoadConfig::request_timeout`].
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// A connection that failed this often gives up for the rest of the scenario.
const MAX_RECONNECTS: u32 = 100;
/// Pause before reconnecting, so a refusing server is not hammered in a hot loop.
const RECONNECT_PAUSE: Duration = Duration::from_millis(10);
/// Histogram range: 1 µs to 60 s in nanoseconds, three significant digits.
const HISTOGRAM_LOW_NS: u64 = 1_000;
const HISTOGRAM_HIGH_NS: u64 = 60_000_000_000;

/// One kind of request sent over and over.
#[derive(Clone)]
pub struct Scenario {
    /// Label in the report, e.g. `GET /health`.
    pub name: String,
    /// Server to load.
    pub addr: SocketAddr,
    /// Request path.
    pub path: &'static str,
    /// `Authorization: Bearer` value, for client routes.
    pub bearer: Option<String>,
    /// `GET` or `POST`.
    pub method: Method,
    /// JSON body sent with every request, serialised once before the run; cloning
    /// `Bytes` only bumps a reference count, so the body costs the loop nothing.
    pub json_body: Option<Bytes>,
}

/// How hard and how long a scenario runs.
#[derive(Debug, Clone, Copy)]
pub struct LoadConfig {
    /// Concurrent keep-alive connections.
    pub connections: usize,
    /// Unrecorded time before measuring.
    pub warmup: Duration,
    /// Recorded time.
    pub duration: Duration,
    /// Cap on requests sent, warm-up included.
    pub max_requests: u64,
    /// A request answered later than this counts as an error; it also bounds how long
    /// a stuck server can hold a scenario past its end. Slow scenarios (a walk of a
    /// huge workspace) raise it.
    pub request_timeout: Duration,
}

/// What a scenario measured.
pub struct LoadResult {
    /// The scenario's label.
    pub name: String,
    /// Successful (2xx) answers to requests started in the recorded window.
    pub ok: u64,
    /// Non-2xx answers, timeouts and transport failures, warm-up included.
    pub errors: u64,
    /// Length of the recorded window.
    pub window: Duration,
    /// Latency of every successful recorded request, in nanoseconds.
    pub latency_ns: Histogram<u64>,
}

impl LoadResult {
    /// Successful requests per second over the recorded window.
    pub fn requests_per_sec(&self) -> f64 {
        self.ok as f64 / self.window.as_secs_f64()
    }

    /// Adds another run of the same scenario to this one.
    pub fn absorb(&mut self, other: &LoadResult) {
        self.ok += other.ok;
        self.errors += other.errors;
        self.window += other.window;
        // Both histograms share bounds and precision, so adding cannot fail.
        let _ = self.latency_ns.add(&other.latency_ns);
    }

    /// Latency at quantile `q` (0..=1) in milliseconds.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        self.latency_ns.value_at_quantile(q) as f64 / 1e6
    }
}

/// The request as prepared once and cloned per send: header values are
/// reference-counted, so the loop allocates little besides hyper's own work.
#[derive(Clone)]
struct Template {
    method: Method,
    // Parsed once; cloning a `Uri` shares its bytes.
    uri: Uri,
    host: HeaderValue,
    authorization: Option<HeaderValue>,
    content_type: Option<HeaderValue>,
    body: Bytes,
}

impl Template {
    fn new(
        addr: SocketAddr,
        method: Method,
        path: &str,
        bearer: Option<&str>,
    ) -> Result<Self, Error> {
        Ok(Self {
            method,
            uri: Uri::try_from(path)?,
            host: HeaderValue::from_str(&addr.to_string())?,
            authorization: bearer
                .map(|t| HeaderValue::from_str(&format!("Bearer {t}")))
                .transpose()?,
            content_type: None,
            body: Bytes::new(),
        })
    }

    fn with_body(mut self, content_type: HeaderValue, body: Bytes) -> Self {
        self.content_type = Some(content_type);
        self.body = body;
        self
    }

    fn request(&self) -> Result<Request<Full<Bytes>>, Error> {
        let mut builder = Request::builder()
            .method(self.method.clone())
            .uri(self.uri.clone())
            .header(header::HOST, self.host.clone());
        if let Some(auth) = &self.authorization {
            builder = builder.header(header::AUTHORIZATION, auth.clone());
        }
        if let Some(content_type) = &self.content_type {
            builder = builder.header(header::CONTENT_TYPE, content_type.clone());
        }
        Ok(builder.body(Full::new(self.body.clone()))?)
    }
}

/// Time marks shared by every connection of a scenario.
#[derive(Clone, Copy)]
struct Window {
    record_from: Instant,
    end: Instant,
}

/// What one connection saw.
struct ConnectionStats {
    ok: u64,
    errors: u64,
    latency_ns: Histogram<u64>,
}

/// Runs a scenario to its end and merges every connection's figures.
pub async fn run(scenario: &Scenario, config: LoadConfig) -> Result<LoadResult, Error> {
    let mut template = Template::new(
        scenario.addr,
        scenario.method.clone(),
        scenario.path,
        scenario.bearer.as_deref(),
    )?;
    if let Some(body) = &scenario.json_body {
        template = template.with_body(json_content_type(), body.clone());
    }
    let start = Instant::now();
    let window = Window {
        record_from: start + config.warmup,
        end: start + config.warmup + config.duration,
    };
    let sent = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::with_capacity(config.connections);
    for _ in 0..config.connections {
        tasks.push(tokio::spawn(drive_connection(
            scenario.addr,
            template.clone(),
            window,
            Arc::clone(&sent),
            config,
        )));
    }
    let mut total = ConnectionStats {
        ok: 0,
        errors: 0,
        latency_ns: new_histogram()?,
    };
    for task in tasks {
        let stats = task.await??;
        total.ok += stats.ok;
        total.errors += stats.errors;
        total.latency_ns.add(&stats.latency_ns)?;
    }
    Ok(LoadResult {
        name: scenario.name.clone(),
        ok: total.ok,
        errors: total.errors,
        window: config.duration,
        latency_ns: total.latency_ns,
    })
}

fn new_histogram() -> Result<Histogram<u64>, Error> {
    Ok(Histogram::new_with_bounds(
        HISTOGRAM_LOW_NS,
        HISTOGRAM_HIGH_NS,
        3,
    )?)
}

async fn drive_connection(
    addr: SocketAddr,
    template: Template,
    window: Window,
    sent: Arc<AtomicU64>,
    config: LoadConfig,
) -> Result<ConnectionStats, Error> {
    let mut stats = ConnectionStats {
        ok: 0,
        errors: 0,
        latency_ns: new_histogram()?,
    };
    let mut sender: Option<SendRequest<Full<Bytes>>> = None;
    let mut failures = 0u32;
    loop {
        if Instant::now() >= window.end
            || sent.fetch_add(1, Ordering::Relaxed) >= config.max_requests
        {
            break;
        }
        if sender.is_none() {
            match connect(addr, config.request_timeout).await {
                Ok(fresh) => sender = Some(fresh),
                Err(_) => {
                    stats.errors += 1;
                    failures += 1;
                    if failures >= MAX_RECONNECTS {
                        break;
                    }
                    tokio::time::sleep(RECONNECT_PAUSE).await;
                    continue;
                }
            }
        }
        let Some(current) = sender.as_mut() else {
            continue;
        };
        let request = template.request()?;
        let started = Instant::now();
        let outcome =
            tokio::time::timeout(config.request_timeout, exchange(current, request)).await;
        let latency = started.elapsed();
        match outcome {
            Ok(Ok(status)) if status.is_success() => {
                if started >= window.record_from {
                    stats.ok += 1;
                    let ns = u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX);
                    stats.latency_ns.saturating_record(ns.max(HISTOGRAM_LOW_NS));
                }
            }
            Ok(Ok(_)) => stats.errors += 1,
            Ok(Err(_)) | Err(_) => {
                // The connection is in an unknown state; start a new one.
                stats.errors += 1;
                failures += 1;
                sender = None;
                if failures >= MAX_RECONNECTS {
                    break;
                }
            }
        }
    }
    Ok(stats)
}

async fn connect(addr: SocketAddr, timeout: Duration) -> Result<SendRequest<Full<Bytes>>, Error> {
    let stream = tokio::time::timeout(timeout, TcpStream::connect(addr)).await??;
    stream.set_nodelay(true)?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    // The connection future does the socket I/O; it ends when the sender is dropped.
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(sender)
}

/// Sends one request and reads the whole body, so the measured latency includes it.
async fn exchange(
    sender: &mut SendRequest<Full<Bytes>>,
    request: Request<Full<Bytes>>,
) -> Result<StatusCode, Error> {
    sender.ready().await?;
    let response = sender.send_request(request).await?;
    let status = response.status();
    response.into_body().collect().await?;
    Ok(status)
}

fn json_content_type() -> HeaderValue {
    HeaderValue::from_static("application/json")
}

/// One request for set-up and probes, on a fresh connection, bounded by `timeout`.
pub struct OneShot<'a> {
    /// Server to ask.
    pub addr: SocketAddr,
    /// `GET` or `POST`.
    pub method: Method,
    /// Request path and query.
    pub path: &'a str,
    /// `Authorization: Bearer` value.
    pub bearer: Option<&'a str>,
    /// `Content-Type` and body, if any.
    pub body: Option<(HeaderValue, Bytes)>,
    /// Bound on connect + send + reading the whole answer.
    pub timeout: Duration,
}

/// Sends a [`OneShot`] and returns the status and the whole answer body.
pub async fn send_once(shot: OneShot<'_>) -> Result<(StatusCode, Bytes), Error> {
    let path = shot.path;
    let mut template = Template::new(shot.addr, shot.method, path, shot.bearer)?;
    if let Some((content_type, body)) = shot.body {
        template = template.with_body(content_type, body);
    }
    let request = template.request()?;
    let answer = async {
        let mut sender = connect(shot.addr, shot.timeout).await?;
        sender.ready().await?;
        let response = sender.send_request(request).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        Ok::<_, Error>((status, body))
    };
    tokio::time::timeout(shot.timeout, answer)
        .await
        .map_err(|_| format!("{path} got no answer within {:?}", shot.timeout))?
}

/// A JSON body for [`OneShot::body`].
pub fn json_body(body: Bytes) -> Option<(HeaderValue, Bytes)> {
    Some((json_content_type(), body))
}

/// Polls `GET /health` on fresh connections until one answers 200, and returns when
/// that happened. Bounded by `deadline` and by a fixed number of attempts.
pub async fn first_healthy(addr: SocketAddr, deadline: Instant) -> Result<Instant, Error> {
    const MAX_ATTEMPTS: u32 = 10_000;
    let template = Template::new(addr, Method::GET, "/health", None)?;
    for _ in 0..MAX_ATTEMPTS {
        if let Ok(mut sender) = connect(addr, REQUEST_TIMEOUT).await {
            let request = template.request()?;
            if let Ok(StatusCode::OK) = exchange(&mut sender, request).await {
                return Ok(Instant::now());
            }
        }
        if Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    Err(format!("GET /health on {addr} never answered 200").into())
}
