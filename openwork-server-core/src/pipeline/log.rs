//! Request log lines (contract §10.2): `<METHOD> <path> <status> <ms>ms` with the method,
//! path (no query), status, duration, route auth mode and error message as attributes.
//! Level follows the status: ERROR for 5xx, WARN for 4xx, INFO otherwise.

use axum::extract::Request;
use axum::http::Method;
use axum::response::Response;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Instant;

use crate::error::ErrorMessage;

/// Target of request log events.
pub(crate) const REQUEST_TARGET: &str = "openwork_server::request";

/// How a route authenticates, as the request log reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum AuthMode {
    /// No credentials needed.
    None = 0,
    /// A bearer token.
    Client = 1,
    /// The host token or an owner bearer.
    Host = 2,
}

impl AuthMode {
    fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Client => "client",
            Self::Host => "host",
        }
    }
}

/// Where the auth extractors note the route's auth mode for the log line. Present in the
/// request extensions only while request logging is on, so it costs nothing otherwise.
#[derive(Clone, Debug, Default)]
pub(crate) struct AuthSlot(Arc<AtomicU8>);

impl AuthSlot {
    /// Notes how the route authenticates (whether or not the caller succeeded).
    pub(crate) fn set(&self, mode: AuthMode) {
        self.0.store(mode as u8, Ordering::Relaxed);
    }

    fn get(&self) -> AuthMode {
        match self.0.load(Ordering::Relaxed) {
            1 => AuthMode::Client,
            2 => AuthMode::Host,
            _ => AuthMode::None,
        }
    }
}

/// Left in a proxied response's extensions so its log line names the upstream: the
/// message gets ` (<service>)` and the attributes `proxy.base_url` and `proxy.service`.
#[derive(Clone, Debug)]
pub(crate) struct ProxyTarget {
    /// The upstream base URL as configured.
    pub(crate) base_url: String,
    /// `opencode` or `opencode-router`.
    pub(crate) service: &'static str,
}

/// A request being timed for its log line.
pub(super) struct RequestLine {
    started: Instant,
    auth: AuthSlot,
    method: Method,
    /// The path as the client sent it (before any mount rewrite), without the query.
    path: String,
}

impl RequestLine {
    /// Starts timing and leaves an [`AuthSlot`] in the request for the extractors.
    pub(super) fn start(request: &mut Request) -> Self {
        let auth = AuthSlot::default();
        request.extensions_mut().insert(auth.clone());
        Self {
            started: Instant::now(),
            auth,
            method: request.method().clone(),
            path: request.uri().path().to_owned(),
        }
    }

    /// Emits the line for the finished response.
    pub(super) fn finish(self, response: &Response) {
        let Self {
            started,
            auth,
            method,
            path,
        } = self;
        let status = response.status().as_u16();
        let duration_ms = started.elapsed().as_millis() as u64;
        let auth = auth.get().as_str();
        let error = response
            .extensions()
            .get::<ErrorMessage>()
            .map(|m| m.0.as_str());
        let proxy = response.extensions().get::<ProxyTarget>();
        let proxy_base_url = proxy.map(|p| p.base_url.as_str());
        let proxy_service = proxy.map(|p| p.service);
        let suffix = proxy.map_or(String::new(), |p| format!(" ({})", p.service));
        macro_rules! line {
            ($level:expr) => {
                tracing::event!(
                    target: REQUEST_TARGET,
                    $level,
                    method = %method,
                    path = %path,
                    status,
                    durationMs = duration_ms,
                    auth,
                    error,
                    proxy.base_url = proxy_base_url,
                    proxy.service = proxy_service,
                    "{method} {path} {status} {duration_ms}ms{suffix}"
                )
            };
        }
        match status {
            500.. => line!(tracing::Level::ERROR),
            400..=499 => line!(tracing::Level::WARN),
            _ => line!(tracing::Level::INFO),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::LogFormat;
    use crate::logging::OpenworkFormat;
    use std::sync::Mutex;

    /// A writer appending to a shared buffer.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_proxied_request_names_its_upstream() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .event_format(OpenworkFormat::new(LogFormat::Json, "run"))
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let mut request = Request::new(axum::body::Body::empty());
            *request.uri_mut() = "/opencode/session?x=1".parse().unwrap();
            let line = RequestLine::start(&mut request);
            let mut response = Response::new(axum::body::Body::empty());
            response.extensions_mut().insert(ProxyTarget {
                base_url: "http://127.0.0.1:4096".into(),
                service: "opencode",
            });
            line.finish(&response);
        });
        let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        let record: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
        let body = record["body"].as_str().unwrap();
        assert!(body.starts_with("GET /opencode/session 200 "), "{body}");
        assert!(body.ends_with("ms (opencode)"), "{body}");
        let attributes = &record["attributes"];
        assert_eq!(attributes["proxy.base_url"], "http://127.0.0.1:4096");
        assert_eq!(attributes["proxy.service"], "opencode");
        assert_eq!(attributes["path"], "/opencode/session");
    }
}
