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
                    "{method} {path} {status} {duration_ms}ms"
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
