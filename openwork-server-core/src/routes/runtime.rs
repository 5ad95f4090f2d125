//! `GET /runtime/versions` and `POST /runtime/upgrade`, and their `/w/:id/` forms
//! (contract Appendix A): relays to the control server of the host orchestrator, which
//! reports the versions of the services it runs (OpenCode and this server) and upgrades
//! them. The orchestrator names its control server in `OPENWORK_CONTROL_BASE_URL` and
//! `OPENWORK_CONTROL_TOKEN`; both are read on every request, like the other switches.

use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::{Json, http::StatusCode};
use http::{HeaderValue, Method, Request, Uri, header};
use http_body_util::BodyExt;
use serde_json::Value;
use std::time::Duration;

use crate::auth::extract::{ClientAuth, HostAuth};
use crate::config::EnvSource;
use crate::error::ApiError;
use crate::pipeline::extract::JsonObject;
use crate::proxy::ProxyClient;
use crate::state::AppState;
use utoipa::IntoResponses;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::openapi::params::WorkspaceId;
use super::openapi::schemas::{ErrorBody, RelayedJson};

/// How long one exchange with the control server may take, connecting and reading the
/// answer included. The orchestrator answers an upgrade at once (`202`) and upgrades
/// afterwards, so this only bounds a control server that hangs.
const CONTROL_TIMEOUT: Duration = Duration::from_secs(30);

/// Most bytes of a control server's answer read; its answers are small status documents.
const MAX_CONTROL_BODY: usize = 1024 * 1024;

/// The runtime routes. The ids of the mounted forms are not checked (as for
/// `/w/:id/health`): the control server belongs to the host, not to a workspace.
pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_runtime_versions))
        .routes(routes!(get_mounted_runtime_versions))
        .routes(routes!(upgrade_runtime))
        .routes(routes!(upgrade_mounted_runtime))
}

/// How a relay to the control server fails, shared by the four operations.
#[derive(IntoResponses)]
#[allow(dead_code)] // documentation only: never built
enum RelayFailures {
    /// - `runtime_upgrade_unavailable`: Worker runtime control is not configured on this host
    #[response(status = 501)]
    Unavailable(ErrorBody),
    /// - `runtime_upgrade_failed`: Runtime control server is unreachable | Runtime control
    ///   base URL is invalid | Runtime control server returned an invalid response
    #[response(status = 502)]
    BadGateway(ErrorBody),
    /// - `runtime_upgrade_failed`: the control server's error status (details: its answer)
    #[response(status = "4XX")]
    UpstreamClientError(ErrorBody),
    /// - `runtime_upgrade_failed`: the control server's error status (details: its answer)
    #[response(status = "5XX")]
    UpstreamServerError(ErrorBody),
}

/// Reads the versions of the host's services from the control server.
async fn runtime_versions(state: &AppState) -> Result<Response, ApiError> {
    let control = ControlServer::from_env(&state.env)?;
    let answer = control
        .call(&state.proxy_client, Method::GET, "/runtime/versions", None)
        .await?;
    Ok((StatusCode::OK, Json(answer)).into_response())
}

/// Relays an upgrade request (the body as sent, e.g. `{"services":["openwork-server"]}`).
/// The upgrade runs after the answer: `202`.
async fn upgrade(state: &AppState, body: JsonObject) -> Result<Response, ApiError> {
    let control = ControlServer::from_env(&state.env)?;
    let body = Value::Object(body.0);
    let answer = control
        .call(
            &state.proxy_client,
            Method::POST,
            "/runtime/upgrade",
            Some(&body),
        )
        .await?;
    Ok((StatusCode::ACCEPTED, Json(answer)).into_response())
}

/// The versions of the host's services, as the control server reports them (`200`).
#[utoipa::path(
    get,
    path = "/runtime/versions",
    summary = "Versions of the host's services",
    description = "Relayed to the orchestrator's control server (`OPENWORK_CONTROL_BASE_URL` with `OPENWORK_CONTROL_TOKEN`, read per request).",
    tag = "runtime",
    security(("bearer" = ["viewer"])),
    responses(
        (status = 200, description = "The control server's answer", body = RelayedJson),
        RelayFailures,
    ),
)]
async fn get_runtime_versions(
    State(state): State<AppState>,
    ClientAuth(_actor): ClientAuth,
) -> Result<Response, ApiError> {
    runtime_versions(&state).await
}

/// The same under a workspace mount; the id is not checked.
#[utoipa::path(
    get,
    path = "/w/{id}/runtime/versions",
    summary = "Versions of the host's services (workspace mount)",
    description = "Relayed to the orchestrator's control server; the id is not checked.",
    tag = "runtime",
    params(WorkspaceId),
    security(("bearer" = ["viewer"])),
    responses(
        (status = 200, description = "The control server's answer", body = RelayedJson),
        RelayFailures,
    ),
)]
async fn get_mounted_runtime_versions(
    State(state): State<AppState>,
    ClientAuth(_actor): ClientAuth,
) -> Result<Response, ApiError> {
    runtime_versions(&state).await
}

/// Asks the control server to upgrade services (`202`).
#[utoipa::path(
    post,
    path = "/runtime/upgrade",
    summary = "Upgrade the host's services",
    description = "Relayed with its JSON body to the orchestrator's control server, which answers at once and upgrades afterwards (the server is restarted on the same port).",
    tag = "runtime",
    security(("hostToken" = []), ("bearer" = ["owner"])),
    request_body = RelayedJson,
    responses(
        (status = 202, description = "The control server accepted the upgrade", body = RelayedJson),
        RelayFailures,
    ),
)]
async fn upgrade_runtime(
    State(state): State<AppState>,
    HostAuth(_actor): HostAuth,
    body: JsonObject,
) -> Result<Response, ApiError> {
    upgrade(&state, body).await
}

/// The same under a workspace mount; the id is not checked.
#[utoipa::path(
    post,
    path = "/w/{id}/runtime/upgrade",
    summary = "Upgrade the host's services (workspace mount)",
    description = "Relayed with its JSON body to the orchestrator's control server; the id is not checked.",
    tag = "runtime",
    params(WorkspaceId),
    security(("hostToken" = []), ("bearer" = ["owner"])),
    request_body = RelayedJson,
    responses(
        (status = 202, description = "The control server accepted the upgrade", body = RelayedJson),
        RelayFailures,
    ),
)]
async fn upgrade_mounted_runtime(
    State(state): State<AppState>,
    HostAuth(_actor): HostAuth,
    body: JsonObject,
) -> Result<Response, ApiError> {
    upgrade(&state, body).await
}

/// The control server as the environment names it.
struct ControlServer {
    /// `OPENWORK_CONTROL_BASE_URL`, trimmed.
    base_url: String,
    /// `OPENWORK_CONTROL_TOKEN`, sent exactly as given (the control server compares the
    /// whole header).
    token: String,
}

impl ControlServer {
    /// Both variables must be set and non-blank, else `501 runtime_upgrade_unavailable`:
    /// without a token the control server refuses every call anyway.
    fn from_env(env: &EnvSource) -> Result<Self, ApiError> {
        let read = |name: &str| env.get(name).filter(|v| !v.trim().is_empty());
        match (
            read("OPENWORK_CONTROL_BASE_URL"),
            read("OPENWORK_CONTROL_TOKEN"),
        ) {
            (Some(base_url), Some(token)) => Ok(Self {
                base_url: base_url.trim().to_owned(),
                token,
            }),
            _ => Err(ApiError::new(
                StatusCode::NOT_IMPLEMENTED,
                "runtime_upgrade_unavailable",
                "Worker runtime control is not configured on this host",
            )),
        }
    }

    /// `<base URL without query>/<path>`: a path prefix in the base URL is kept, so a
    /// control server behind a reverse proxy can be named. Only plain `http` is spoken
    /// (the orchestrator listens on loopback).
    fn endpoint(&self, path: &str) -> Option<Uri> {
        let base: Uri = self.base_url.parse().ok()?;
        if base.scheme_str() != Some("http") {
            return None;
        }
        let authority = base.authority()?.as_str();
        // SECURITY: userinfo in the URL is never sent; the bearer token authenticates us.
        let host = authority
            .rsplit_once('@')
            .map_or(authority, |(_, host)| host);
        let prefix = base.path().trim_end_matches('/');
        format!("http://{host}{prefix}{path}").parse().ok()
    }

    /// One exchange: `method <endpoint>` with the bearer token (and the JSON body), within
    /// [`CONTROL_TIMEOUT`]. A 2xx answer gives its JSON; anything else is an [`ApiError`].
    async fn call(
        &self,
        client: &ProxyClient,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, ApiError> {
        let invalid = || {
            ApiError::new(
                StatusCode::BAD_GATEWAY,
                "runtime_upgrade_failed",
                "Runtime control base URL is invalid",
            )
        };
        let uri = self.endpoint(path).ok_or_else(invalid)?;
        let authorization =
            HeaderValue::from_str(&format!("Bearer {}", self.token)).map_err(|_| invalid())?;
        let mut request = Request::new(match body {
            Some(value) => Body::from(value.to_string()),
            None => Body::empty(),
        });
        *request.method_mut() = method;
        *request.uri_mut() = uri;
        let headers = request.headers_mut();
        headers.insert(header::AUTHORIZATION, authorization);
        headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        if body.is_some() {
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
        }
        let exchange = async {
            let response = client.send(request).await?;
            let status = response.status();
            let limited = http_body_util::Limited::new(response.into_body(), MAX_CONTROL_BODY);
            let bytes = limited
                .collect()
                .await
                .map_err(|e| format!("reading the answer: {e}"))?
                .to_bytes();
            Ok::<_, String>((status, bytes))
        };
        let (status, bytes) = match tokio::time::timeout(CONTROL_TIMEOUT, exchange).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(cause)) => return Err(unreachable(&cause)),
            Err(_) => return Err(unreachable("no answer within 30 s")),
        };
        let parsed = parse_answer(&bytes);
        if status.is_success() {
            return parsed.ok_or_else(|| {
                tracing::warn!(
                    target: "openwork_server::runtime",
                    "Runtime control server answered {status} with a body that is not JSON"
                );
                ApiError::new(
                    StatusCode::BAD_GATEWAY,
                    "runtime_upgrade_failed",
                    "Runtime control server returned an invalid response",
                )
            });
        }
        // The upstream's own status is passed on when it is an error status; a redirect
        // (never followed) or other oddity is a bad gateway.
        let status = if status.is_client_error() || status.is_server_error() {
            status
        } else {
            StatusCode::BAD_GATEWAY
        };
        let details = parsed.unwrap_or_else(|| {
            let text = String::from_utf8_lossy(&bytes).trim().to_owned();
            if text.is_empty() {
                Value::Null
            } else {
                Value::String(text)
            }
        });
        Err(ApiError::new(
            status,
            "runtime_upgrade_failed",
            "Runtime control request failed",
        )
        .with_details(details))
    }
}

/// A JSON answer; `None` when the body is not JSON.
fn parse_answer(bytes: &[u8]) -> Option<Value> {
    serde_json::from_slice(bytes).ok()
}

/// `502 runtime_upgrade_failed` for a control server that cannot be reached or does not
/// answer. The cause goes to the log only.
fn unreachable(cause: &str) -> ApiError {
    tracing::warn!(target: "openwork_server::runtime", "Runtime control server unreachable: {cause}");
    ApiError::new(
        StatusCode::BAD_GATEWAY,
        "runtime_upgrade_failed",
        "Runtime control server is unreachable",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn control(base_url: &str) -> ControlServer {
        ControlServer {
            base_url: base_url.to_owned(),
            token: "t".to_owned(),
        }
    }

    #[test]
    fn the_endpoint_keeps_a_path_prefix_and_drops_query_and_userinfo() {
        let uri = |base: &str| control(base).endpoint("/runtime/versions");
        assert_eq!(
            uri("http://127.0.0.1:9000").unwrap().to_string(),
            "http://127.0.0.1:9000/runtime/versions"
        );
        assert_eq!(
            uri("http://u:p@127.0.0.1:9000/control/?x=1")
                .unwrap()
                .to_string(),
            "http://127.0.0.1:9000/control/runtime/versions"
        );
        for bad in ["", "not a url", "127.0.0.1:9000", "https://h", "/path"] {
            assert!(uri(bad).is_none(), "{bad:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_control_server_that_never_answers_is_a_502_after_the_time_limit() {
        // The kernel accepts the connection; nobody ever reads or answers. Paused time
        // runs ahead to the time limit as soon as everything waits.
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let control = control(&format!("http://{}", silent.local_addr().unwrap()));
        let started = tokio::time::Instant::now();
        let error = control
            .call(&ProxyClient::new(), Method::GET, "/runtime/versions", None)
            .await
            .unwrap_err();
        assert_eq!(
            (error.status, error.message.as_ref()),
            (
                StatusCode::BAD_GATEWAY,
                "Runtime control server is unreachable"
            )
        );
        assert!(started.elapsed() >= CONTROL_TIMEOUT);
    }

    #[test]
    fn both_variables_are_needed() {
        let read = |pairs: &[(&str, &str)]| {
            ControlServer::from_env(&EnvSource::fixed(pairs.iter().copied()))
                .map(|c| (c.base_url, c.token))
                .map_err(|e| (e.status.as_u16(), e.code.into_owned()))
        };
        let unavailable = Err((501, "runtime_upgrade_unavailable".to_owned()));
        assert_eq!(read(&[]), unavailable);
        assert_eq!(
            read(&[("OPENWORK_CONTROL_BASE_URL", "http://h:1")]),
            unavailable
        );
        assert_eq!(
            read(&[
                ("OPENWORK_CONTROL_BASE_URL", "http://h:1"),
                ("OPENWORK_CONTROL_TOKEN", "  ")
            ]),
            unavailable
        );
        assert_eq!(
            read(&[
                ("OPENWORK_CONTROL_BASE_URL", " http://h:1 "),
                ("OPENWORK_CONTROL_TOKEN", " tok ")
            ]),
            Ok(("http://h:1".to_owned(), " tok ".to_owned()))
        );
    }
}
