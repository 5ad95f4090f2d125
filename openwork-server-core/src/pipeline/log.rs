//! Request log lines (contract §10.2): `<METHOD> <path> <status> <ms>ms` with the method,
//! path (no query), status, duration, route auth mode and error message as attributes.
//! Level follows the status: ERROR for 5xx, WARN for 4xx, INFO otherwise.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use std::time::Instant;

use crate::error::ErrorMessage;
use crate::state::AppState;

/// Target of request log events.
pub(crate) const REQUEST_TARGET: &str = "openwork_server::request";

/// How a route authenticates, as the request log reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AuthMode {
    /// No credentials needed.
    None,
    /// A bearer token.
    Client,
    /// The host token or an owner bearer.
    Host,
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

pub(super) async fn log_request(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if !state.config.log_requests {
        return next.run(request).await;
    }
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    let status = response.status().as_u16();
    let duration_ms = started.elapsed().as_millis() as u64;
    let auth = response
        .extensions()
        .get::<AuthMode>()
        .copied()
        .unwrap_or(AuthMode::None)
        .as_str();
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
    response
}
