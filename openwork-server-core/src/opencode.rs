//! OpenCode as the server itself calls it (contract §2.5, §4.14): which OpenCode a
//! workspace talks to and with which credentials, and the calls the server makes on its
//! own behalf (disposing the instance so OpenCode reloads its configuration; JSON calls
//! for the sessions read model and MCP sign-out, with the workspace's directory header).

use base64::Engine;
use bytes::Bytes;
use http::{Method, Request, StatusCode, Uri, header};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value;
use std::time::Duration;

use crate::config::OpencodeDefaults;
use crate::workspace::Workspace;

/// How long one call to OpenCode may take, connecting and reading the answer included.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Most bytes of an error answer kept to report to the client.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// What `URLSearchParams` leaves unescaped: ASCII letters, digits and `*-._` (a space
/// becomes `+`, handled in [`form_encode`]).
const FORM_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'*')
    .remove(b'-')
    .remove(b'.')
    .remove(b'_');

/// The OpenCode a workspace talks to: its own settings, else the server's (trimmed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct OpencodeConnection {
    /// The base URL as configured (trimmed); `None` when neither level sets one.
    pub(crate) base_url: Option<String>,
    /// `Basic base64(user:pass)`, only when both a username and a password are set.
    pub(crate) authorization: Option<String>,
}

/// Why a call to OpenCode failed.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum OpencodeError {
    /// Neither the workspace nor the server names a base URL.
    Unconfigured,
    /// The base URL is not an absolute URL.
    InvalidUrl,
    /// OpenCode answered with a status outside 2xx; `body` is its JSON, else its trimmed
    /// text, else `null`.
    Status {
        /// The HTTP status.
        status: u16,
        /// The answer's body.
        body: Value,
    },
    /// OpenCode could not be reached or did not answer within [`REQUEST_TIMEOUT`].
    Unreachable(String),
}

impl OpencodeError {
    /// The answer for a misconfigured connection: `400 opencode_unconfigured` (no base
    /// URL) or `400 opencode_url_invalid`. Errors met while talking to OpenCode have
    /// route-specific answers; given one, this is a generic 500.
    pub(crate) fn configuration_error(&self) -> crate::error::ApiError {
        let (code, message) = match self {
            Self::Unconfigured => (
                "opencode_unconfigured",
                "OpenCode base URL is missing for this workspace",
            ),
            Self::InvalidUrl => ("opencode_url_invalid", "OpenCode base URL is invalid"),
            Self::Status { .. } | Self::Unreachable(_) => {
                return crate::error::ApiError::internal(self);
            }
        };
        crate::error::ApiError::new(http::StatusCode::BAD_REQUEST, code, message)
    }
}

impl std::fmt::Display for OpencodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unconfigured => write!(f, "no OpenCode base URL"),
            Self::InvalidUrl => write!(f, "invalid OpenCode base URL"),
            Self::Status { status, .. } => write!(f, "OpenCode answered {status}"),
            Self::Unreachable(cause) => write!(f, "OpenCode unreachable: {cause}"),
        }
    }
}

fn non_blank(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

impl OpencodeConnection {
    /// The connection of `workspace`, each setting falling back to the server's.
    pub(crate) fn for_workspace(workspace: &Workspace, server: &OpencodeDefaults) -> Self {
        let own = &workspace.config;
        let base_url = non_blank(&own.base_url).or_else(|| non_blank(&server.base_url));
        let username = non_blank(&own.opencode_username).or_else(|| non_blank(&server.username));
        let password = non_blank(&own.opencode_password).or_else(|| non_blank(&server.password));
        let authorization = match (username, password) {
            (Some(user), Some(pass)) => Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
            )),
            _ => None,
        };
        Self {
            base_url,
            authorization,
        }
    }

    /// The server-level connection, for when no workspace is configured.
    pub(crate) fn for_server(server: &OpencodeDefaults) -> Self {
        Self::for_workspace(&Workspace::from_config(Default::default(), "/"), server)
    }

    /// `POST <origin>/instance/dispose[?directory=…]`: OpenCode drops the instance of that
    /// directory and loads config, plugins, skills and MCP servers afresh on next use.
    pub(crate) async fn dispose_instance(
        &self,
        directory: Option<&str>,
    ) -> Result<(), OpencodeError> {
        let base_url = self
            .base_url
            .as_deref()
            .ok_or(OpencodeError::Unconfigured)?;
        let query: Vec<(&str, &str)> = directory.map(|d| ("directory", d)).into_iter().collect();
        let uri = endpoint(base_url, "/instance/dispose", &query)?;
        let (status, body) = post(uri, self.authorization.as_deref()).await?;
        if status.is_success() {
            return Ok(());
        }
        Err(OpencodeError::Status {
            status: status.as_u16(),
            body: error_body(&body),
        })
    }
}

/// `URLSearchParams` encoding of one key or value.
fn form_encode(text: &str) -> String {
    // A literal `%` is itself escaped, so every `%20` in the output stands for a space.
    utf8_percent_encode(text, FORM_VALUE)
        .to_string()
        .replace("%20", "+")
}

/// The base URL's origin with `path` and `query` in place of its own path, query and
/// fragment (as the reference sets `pathname` and `search` on a parsed `URL`).
pub(crate) fn endpoint(
    base_url: &str,
    path: &str,
    query: &[(&str, &str)],
) -> Result<Uri, OpencodeError> {
    let base: Uri = base_url
        .trim()
        .parse()
        .map_err(|_| OpencodeError::InvalidUrl)?;
    let (Some(scheme), Some(authority)) = (base.scheme(), base.authority()) else {
        return Err(OpencodeError::InvalidUrl);
    };
    // SECURITY: credentials embedded in the URL are not sent (nor logged with it); the
    // Authorization header comes from the configured username and password only.
    let host = authority
        .as_str()
        .rsplit_once('@')
        .map_or(authority.as_str(), |(_, host)| host);
    let mut text = format!("{scheme}://{host}{path}");
    for (index, (key, value)) in query.iter().enumerate() {
        text.push(if index == 0 { '?' } else { '&' });
        text.push_str(&form_encode(key));
        text.push('=');
        text.push_str(&form_encode(value));
    }
    text.parse().map_err(|_| OpencodeError::InvalidUrl)
}

/// An error answer as the reference reports it: parsed JSON, else the trimmed text, else
/// `null` when empty.
fn error_body(bytes: &[u8]) -> Value {
    let text = String::from_utf8_lossy(bytes);
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Value::Null;
    }
    serde_json::from_str(trimmed).unwrap_or_else(|_| Value::String(trimmed.to_owned()))
}

/// One bodiless POST; the answer's body is read (up to [`MAX_ERROR_BODY`]) only when the
/// status is not a success.
async fn post(uri: Uri, authorization: Option<&str>) -> Result<(StatusCode, Bytes), OpencodeError> {
    exchange(
        Exchange {
            method: Method::POST,
            uri,
            authorization,
            directory: None,
            body: None,
        },
        0,
    )
    .await
}

/// Most bytes of a successful JSON answer read (a long session history is large, but
/// not unbounded).
const MAX_JSON_BODY: usize = 64 * 1024 * 1024;

/// What one call to OpenCode sends.
struct Exchange<'a> {
    method: Method,
    uri: Uri,
    authorization: Option<&'a str>,
    /// `x-opencode-directory`: which project directory OpenCode works in for this call.
    directory: Option<&'a str>,
    /// A JSON body, sent with `content-type: application/json`.
    body: Option<Bytes>,
}

impl OpencodeConnection {
    /// One JSON call on a workspace's behalf: `method <origin><path>?<query>` with the
    /// directory header and Basic auth, within [`REQUEST_TIMEOUT`]. A 2xx answer gives its
    /// raw body (callers validate its shape); any other is [`OpencodeError::Status`].
    pub(crate) async fn call(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        directory: Option<&str>,
        body: Option<&Value>,
    ) -> Result<Bytes, OpencodeError> {
        let base_url = self
            .base_url
            .as_deref()
            .ok_or(OpencodeError::Unconfigured)?;
        let uri = endpoint(base_url, path, query)?;
        let body = body.map(|value| Bytes::from(value.to_string()));
        let (status, bytes) = exchange(
            Exchange {
                method,
                uri,
                authorization: self.authorization.as_deref(),
                directory,
                body,
            },
            MAX_JSON_BODY,
        )
        .await?;
        if status.is_success() {
            return Ok(bytes);
        }
        Err(OpencodeError::Status {
            status: status.as_u16(),
            body: error_body(&bytes),
        })
    }

    /// `GET` of a JSON resource (see [`Self::call`]).
    pub(crate) async fn get_json(
        &self,
        path: &str,
        query: &[(&str, &str)],
        directory: Option<&str>,
    ) -> Result<Bytes, OpencodeError> {
        self.call(Method::GET, path, query, directory, None).await
    }

    /// `DELETE` of a resource (see [`Self::call`]).
    pub(crate) async fn delete(
        &self,
        path: &str,
        directory: Option<&str>,
    ) -> Result<Bytes, OpencodeError> {
        self.call(Method::DELETE, path, &[], directory, None).await
    }

    /// `POST` with an optional JSON body (see [`Self::call`]).
    pub(crate) async fn post_json(
        &self,
        path: &str,
        directory: Option<&str>,
        body: Option<&Value>,
    ) -> Result<Bytes, OpencodeError> {
        self.call(Method::POST, path, &[], directory, body).await
    }
}

/// One segment of an OpenCode path (a session id or MCP name), escaped so it can never
/// add segments or a query.
pub(crate) fn path_segment(text: &str) -> String {
    utf8_percent_encode(text, PATH_SEGMENT).to_string()
}

/// Everything but the unreserved characters of RFC 3986 is escaped in a path segment.
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// One call; a successful answer's body is read up to `success_limit` bytes (more is an
/// error: the answer would be cut), an error answer's up to [`MAX_ERROR_BODY`] (cut).
async fn exchange(
    call: Exchange<'_>,
    success_limit: usize,
) -> Result<(StatusCode, Bytes), OpencodeError> {
    // The whole cause chain goes to the log: hyper's top-level message alone ("client
    // error (Connect)") does not say what went wrong.
    let unreachable = |e: &dyn std::error::Error| {
        let mut cause = e.to_string();
        let mut source = e.source();
        while let Some(inner) = source {
            cause.push_str(": ");
            cause.push_str(&inner.to_string());
            source = inner.source();
        }
        OpencodeError::Unreachable(cause)
    };
    // A client per call: reloads are rare, and no connection pool is shared between
    // servers running in one process. Idle connections are not kept.
    let client: Client<HttpConnector, Full<Bytes>> = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(0)
        .build_http();
    let mut request = Request::builder().method(call.method).uri(call.uri);
    if let Some(value) = call.authorization {
        request = request.header(header::AUTHORIZATION, value);
    }
    if let Some(directory) = call.directory {
        // Raw UTF-8 bytes: a folder name need not be ASCII, and a `&str` header value
        // would refuse it.
        let value =
            http::HeaderValue::from_bytes(directory.as_bytes()).map_err(|e| unreachable(&e))?;
        request = request.header("x-opencode-directory", value);
    }
    let body = match call.body {
        Some(bytes) => {
            request = request.header(header::CONTENT_TYPE, "application/json");
            Full::new(bytes)
        }
        None => Full::new(Bytes::new()),
    };
    let request = request.body(body).map_err(|e| unreachable(&e))?;
    let exchange = async {
        let response = client.request(request).await.map_err(|e| unreachable(&e))?;
        let status = response.status();
        let success = status.is_success();
        let limit = if success {
            success_limit
        } else {
            MAX_ERROR_BODY
        };
        if limit == 0 {
            return Ok((status, Bytes::new()));
        }
        let mut body = response.into_body();
        let mut kept = Vec::new();
        while kept.len() < limit {
            let Some(frame) = body.frame().await else {
                break;
            };
            if let Ok(data) = frame.map_err(|e| unreachable(&e))?.into_data() {
                if success && kept.len() + data.len() > limit {
                    return Err(OpencodeError::Unreachable(format!(
                        "answer larger than {limit} bytes"
                    )));
                }
                let room = limit - kept.len();
                kept.extend_from_slice(&data[..data.len().min(room)]);
            }
        }
        Ok((status, Bytes::from(kept)))
    };
    tokio::time::timeout(REQUEST_TIMEOUT, exchange)
        .await
        .map_err(|_| OpencodeError::Unreachable("no answer within 10 s".to_owned()))?
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::WorkspaceConfig;

    fn workspace(config: WorkspaceConfig) -> Workspace {
        Workspace::from_config(config, "/")
    }

    #[test]
    fn the_endpoint_replaces_path_query_and_fragment_and_encodes_like_url_search_params() {
        let uri = endpoint(
            " http://127.0.0.1:4096/some/base?x=1#frag ",
            "/instance/dispose",
            &[("directory", "/tmp/my ws/ä&b=c+d%")],
        )
        .unwrap();
        assert_eq!(
            uri.to_string(),
            "http://127.0.0.1:4096/instance/dispose?directory=%2Ftmp%2Fmy+ws%2F%C3%A4%26b%3Dc%2Bd%25"
        );
        let uri = endpoint("http://user:pw@[::1]:4096", "/instance/dispose", &[]).unwrap();
        assert_eq!(uri.to_string(), "http://[::1]:4096/instance/dispose");
        assert_eq!(
            endpoint("http://h", "/x", &[("a", "*-._~")])
                .unwrap()
                .to_string(),
            "http://h/x?a=*-._%7E"
        );
        for bad in ["", "not a url", "localhost:4096", "/just/a/path", "http://"] {
            assert_eq!(
                endpoint(bad, "/x", &[]),
                Err(OpencodeError::InvalidUrl),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn settings_fall_back_to_the_server_and_basic_auth_needs_both_parts() {
        let server = OpencodeDefaults {
            base_url: Some(" http://server:1 ".into()),
            directory: None,
            username: Some("srv".into()),
            password: Some("  ".into()),
        };
        let ws = workspace(WorkspaceConfig {
            path: Some("/tmp/ws".into()),
            opencode_password: Some(" pw ".into()),
            ..WorkspaceConfig::default()
        });
        let connection = OpencodeConnection::for_workspace(&ws, &server);
        assert_eq!(connection.base_url.as_deref(), Some("http://server:1"));
        // "srv:pw"
        assert_eq!(connection.authorization.as_deref(), Some("Basic c3J2OnB3"));

        let ws = workspace(WorkspaceConfig {
            path: Some("/tmp/ws".into()),
            base_url: Some("http://own:2".into()),
            ..WorkspaceConfig::default()
        });
        let connection = OpencodeConnection::for_workspace(&ws, &server);
        assert_eq!(connection.base_url.as_deref(), Some("http://own:2"));
        assert_eq!(
            connection.authorization, None,
            "the server password is blank"
        );
        let none = OpencodeConnection::for_workspace(&ws, &OpencodeDefaults::default());
        assert_eq!(none.authorization, None);
    }

    #[test]
    fn error_bodies_are_json_text_or_null() {
        assert_eq!(error_body(b" {\"a\":1} "), serde_json::json!({"a": 1}));
        assert_eq!(error_body(b"  boom \n"), Value::String("boom".into()));
        assert_eq!(error_body(b" \n"), Value::Null);
    }

    #[tokio::test]
    async fn a_missing_base_url_is_unconfigured_and_a_closed_port_unreachable() {
        let unconfigured = OpencodeConnection {
            base_url: None,
            authorization: None,
        };
        assert_eq!(
            unconfigured.dispose_instance(None).await,
            Err(OpencodeError::Unconfigured)
        );
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let closed = OpencodeConnection {
            base_url: Some(format!("http://127.0.0.1:{port}")),
            authorization: None,
        };
        match closed.dispose_instance(Some("/tmp")).await {
            Err(OpencodeError::Unreachable(cause)) => {
                assert!(cause.to_lowercase().contains("connect"), "{cause}");
            }
            other => panic!("expected unreachable, got {other:?}"),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn an_opencode_that_never_answers_times_out() {
        // The kernel accepts the connection; nobody ever reads or answers.
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let connection = OpencodeConnection {
            base_url: Some(format!("http://{}", silent.local_addr().unwrap())),
            authorization: None,
        };
        assert_eq!(
            connection.dispose_instance(None).await,
            Err(OpencodeError::Unreachable(
                "no answer within 10 s".to_owned()
            ))
        );
    }
}
