//! The streaming reverse proxies of contract §9: to OpenCode (`/opencode/*`, [`opencode`])
//! and to the OpenCode router (`/opencode-router/*`, [`router`]). This file owns what both
//! share: the pooled upstream client, header hygiene, and streaming a response back until
//! the server shuts down.

pub(crate) mod opencode;
pub(crate) mod router;

use axum::body::Body;
use axum::response::Response;
use futures_util::StreamExt;
use http::header::{self, HeaderMap, HeaderName};
use http::{Request, Uri};
use http_body_util::{BodyStream, StreamBody};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

use crate::auth::extract::{CLIENT_ID_HEADER, HOST_TOKEN_HEADER};

/// How long connecting to an upstream may take; the exchange itself has no limit
/// (event streams stay open for hours).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Idle pooled connections are closed after this long.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// Headers a client sends that never reach the upstream: our own credentials, and what
/// describes the hop to us rather than the request.
const DROPPED_REQUEST_HEADERS: [&str; 5] = [
    "authorization",
    HOST_TOKEN_HEADER,
    CLIENT_ID_HEADER,
    "host",
    "origin",
];

/// Hop-by-hop headers (RFC 9110 §7.6.1): they describe one connection, not the message.
const HOP_BY_HOP: [&str; 6] = [
    "connection",
    "keep-alive",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
];

/// The upstream HTTP client: one connection pool per server, shared by both proxies.
#[derive(Clone, Debug)]
pub(crate) struct ProxyClient(Client<HttpConnector, Body>);

impl ProxyClient {
    /// A client with keep-alive pooling. It never decodes bodies: `content-encoding`
    /// and the compressed bytes pass through untouched.
    pub(crate) fn new() -> Self {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(CONNECT_TIMEOUT));
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .build(connector);
        Self(client)
    }

    /// Sends `request` and gives the upstream's response as it comes (the body not read
    /// yet); the error is the whole cause chain as text. For callers that read a small
    /// answer themselves, under their own time limit.
    pub(crate) async fn send(
        &self,
        request: Request<Body>,
    ) -> Result<http::Response<hyper::body::Incoming>, String> {
        self.0.request(request).await.map_err(|e| cause_chain(&e))
    }

    /// Sends `request` and answers the upstream's response with its body streamed; the
    /// error is the whole cause chain as text.
    pub(crate) async fn forward(
        &self,
        request: Request<Body>,
        shutdown: &CancellationToken,
    ) -> Result<Response, String> {
        let response = self.0.request(request).await.map_err(|e| cause_chain(&e))?;
        let (mut parts, body) = response.into_parts();
        strip_hop_by_hop(&mut parts.headers);
        // Frames are passed on as they arrive (no buffering), so event streams keep their
        // timing; the stream ends when shutdown starts so the server can drain.
        let frames = BodyStream::new(body).take_until(shutdown.clone().cancelled_owned());
        Ok(Response::from_parts(
            parts,
            Body::new(StreamBody::new(frames)),
        ))
    }
}

/// The error and every source under it, joined by `: ` (hyper's top-level message alone,
/// "client error (Connect)", does not say what went wrong).
fn cause_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

/// Removes hop-by-hop headers, including every header the `Connection` header names.
pub(crate) fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::try_from(name.trim()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
    let proxy_headers: Vec<HeaderName> = headers
        .keys()
        .filter(|name| name.as_str().starts_with("proxy-"))
        .cloned()
        .collect();
    for name in proxy_headers {
        headers.remove(name);
    }
}

/// The client's headers as the upstream may see them.
pub(crate) fn upstream_headers(mut headers: HeaderMap) -> HeaderMap {
    // SECURITY: our bearer and host token authenticate the client to us only; forwarding
    // them would hand the secrets to whatever the base URL points at.
    for name in DROPPED_REQUEST_HEADERS {
        headers.remove(name);
    }
    strip_hop_by_hop(&mut headers);
    headers
}

/// `<scheme>://<host><path>[?<query>]` from a base URL's origin; `None` when the base URL
/// is not absolute. Any path, query or credentials in the base URL are discarded (QUIRK of
/// the reference: a path prefix is dropped).
pub(crate) fn target_uri(base_url: &str, path: &str, query: Option<&str>) -> Option<Uri> {
    let base: Uri = base_url.trim().parse().ok()?;
    let (scheme, authority) = (base.scheme()?, base.authority()?);
    // SECURITY: userinfo in the URL is never sent; credentials come from configuration.
    let host = authority
        .as_str()
        .rsplit_once('@')
        .map_or(authority.as_str(), |(_, host)| host);
    let text = match query {
        Some(query) => format!("{scheme}://{host}{path}?{query}"),
        None => format!("{scheme}://{host}{path}"),
    };
    text.parse().ok()
}

/// The request for the upstream. GET and HEAD go without a body (as the reference sends
/// them), so a `content-length` the client sent with one is dropped too, or the upstream
/// would wait for bytes that never come.
pub(crate) fn upstream_request(
    method: http::Method,
    uri: Uri,
    mut headers: HeaderMap,
    body: Body,
) -> Request<Body> {
    let body = if is_read_method(&method) {
        headers.remove(header::CONTENT_LENGTH);
        Body::empty()
    } else {
        body
    };
    let mut request = Request::new(body);
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    *request.headers_mut() = headers;
    request
}

/// Whether a method carries no body and changes nothing (the viewer and permission
/// checks let these through).
pub(crate) fn is_read_method(method: &http::Method) -> bool {
    method == http::Method::GET || method == http::Method::HEAD
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn client_credentials_and_hop_by_hop_headers_are_dropped() {
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("authorization", "Bearer secret"),
            ("x-openwork-host-token", "host"),
            ("x-openwork-client-id", "me"),
            ("host", "example"),
            ("origin", "http://x"),
            ("connection", "keep-alive, x-custom-hop"),
            ("x-custom-hop", "1"),
            ("keep-alive", "timeout=5"),
            ("te", "trailers"),
            ("upgrade", "websocket"),
            ("proxy-authorization", "Basic abc"),
            ("accept-encoding", "gzip"),
            ("x-opencode-directory", "/tmp/ws"),
        ] {
            headers.append(name, HeaderValue::from_static(value));
        }
        let kept = upstream_headers(headers);
        let mut names: Vec<&str> = kept.keys().map(HeaderName::as_str).collect();
        names.sort_unstable();
        assert_eq!(names, ["accept-encoding", "x-opencode-directory"]);
    }

    #[test]
    fn the_target_keeps_the_origin_only_and_the_query_verbatim() {
        let uri = target_uri(
            " http://u:p@127.0.0.1:4096/ignored?x=1 ",
            "/a%20b",
            Some("q=%2F&r"),
        )
        .unwrap();
        assert_eq!(uri.to_string(), "http://127.0.0.1:4096/a%20b?q=%2F&r");
        assert_eq!(
            target_uri("http://h:1", "/", None).unwrap().to_string(),
            "http://h:1/"
        );
        for bad in ["", "localhost:4096", "/path", "not a url"] {
            assert!(target_uri(bad, "/", None).is_none(), "{bad:?}");
        }
    }
}
