//! Authentication and authorisation (contract §3.1–§3.3, D6): every route of this slice
//! against every kind of credential, the actor `/whoami` reports, bearer parsing, the
//! official client's "bearer + host header on every request" pattern, and the rate limit on
//! failed authentications.

use openwork_server_tests::reqwest::{Method, RequestBuilder};
use openwork_server_tests::{
    CLIENT_TOKEN, HOST_TOKEN, TestServer, Value, json, send, send_full, sha256_hex,
};

// ---------------------------------------------------------------------------------------
// The route × credential matrix
// ---------------------------------------------------------------------------------------

/// How a route authenticates.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    None,
    Client,
    Host,
}

/// A route of this slice, with what it answers once auth has passed.
struct Route {
    method: Method,
    path: String,
    body: Option<Value>,
    mode: Mode,
    ok_status: u16,
    /// For routes whose "auth passed" answer is an error (unknown ids), its code.
    ok_code: Option<&'static str>,
}

fn routes(server: &TestServer) -> Vec<Route> {
    let id = server.workspace_id();
    let route = |method: Method, path: &str, mode: Mode| Route {
        method,
        path: path.to_owned(),
        body: None,
        mode,
        ok_status: 200,
        ok_code: None,
    };
    vec![
        route(Method::GET, "/health", Mode::None),
        route(Method::GET, "/w/x/health", Mode::None),
        route(Method::GET, "/status", Mode::Client),
        route(Method::GET, &format!("/w/{id}/status"), Mode::Client),
        route(Method::GET, "/capabilities", Mode::Client),
        route(Method::GET, &format!("/w/{id}/capabilities"), Mode::Client),
        route(Method::GET, "/whoami", Mode::Client),
        route(Method::GET, "/workspaces", Mode::Client),
        route(Method::GET, &format!("/w/{id}/workspaces"), Mode::Client),
        route(Method::GET, "/tokens", Mode::Host),
        Route {
            body: Some(json!({ "scope": "viewer" })),
            ok_status: 201,
            ..route(Method::POST, "/tokens", Mode::Host)
        },
        Route {
            ok_status: 404,
            ok_code: Some("token_not_found"),
            ..route(Method::DELETE, "/tokens/no-such-token", Mode::Host)
        },
        route(Method::GET, "/approvals", Mode::Host),
        Route {
            body: Some(json!({ "reply": "allow" })),
            ok_status: 404,
            ok_code: Some("approval_not_found"),
            ..route(Method::POST, "/approvals/no-such-request", Mode::Host)
        },
    ]
}

/// A kind of credential a caller may present.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Cred {
    Nothing,
    Viewer,
    Collaborator,
    Owner,
    ClientToken,
    HostHeader,
    HostAsBearer,
    WrongBearer,
}

impl Cred {
    /// Whether a client route accepts it.
    fn passes_client(self) -> bool {
        matches!(
            self,
            Self::Viewer | Self::Collaborator | Self::Owner | Self::ClientToken
        )
    }

    /// Whether a host route accepts it.
    fn passes_host(self) -> bool {
        matches!(self, Self::Owner | Self::HostHeader)
    }
}

/// Prepares `cred` on `server` (issuing a scoped token when needed) and returns a function
/// that attaches it to a request.
async fn credential(server: &TestServer, cred: Cred) -> impl Fn(RequestBuilder) -> RequestBuilder {
    let bearer: Option<String> = match cred {
        Cred::Viewer => Some(server.issue_token("viewer").await),
        Cred::Collaborator => Some(server.issue_token("collaborator").await),
        Cred::Owner => Some(server.issue_token("owner").await),
        Cred::ClientToken => Some(CLIENT_TOKEN.to_owned()),
        Cred::HostAsBearer => Some(HOST_TOKEN.to_owned()),
        Cred::WrongBearer => Some("not-a-token".to_owned()),
        Cred::Nothing | Cred::HostHeader => None,
    };
    let host_header = cred == Cred::HostHeader;
    move |request: RequestBuilder| {
        let request = match &bearer {
            Some(token) => request.bearer_auth(token),
            None => request,
        };
        if host_header {
            request.header("X-OpenWork-Host-Token", HOST_TOKEN)
        } else {
            request
        }
    }
}

/// Runs every route with `cred` on a fresh server and checks the exact answer.
async fn check_matrix(cred: Cred) {
    let server = TestServer::start().await;
    let attach = credential(&server, cred).await;
    for route in routes(&server) {
        let mut request = attach(server.request(route.method.clone(), &route.path));
        if let Some(body) = &route.body {
            request = request.json(body);
        }
        let (status, body) = send(request).await;
        let what = format!("{cred:?} {} {}", route.method, route.path);
        let allowed = match route.mode {
            Mode::None => true,
            Mode::Client => cred.passes_client(),
            Mode::Host => cred.passes_host(),
        };
        if allowed {
            assert_eq!(status, route.ok_status, "{what}: {body}");
            if let Some(code) = route.ok_code {
                assert_eq!(body["code"], code, "{what}");
            }
        } else {
            let message = match route.mode {
                Mode::Host => "Invalid host token",
                _ => "Invalid bearer token",
            };
            assert_eq!(status, 401, "{what}: {body}");
            assert_eq!(
                body,
                json!({ "code": "unauthorized", "message": message }),
                "{what}"
            );
        }
    }
}

#[tokio::test]
async fn matrix_without_credentials() {
    check_matrix(Cred::Nothing).await;
}

#[tokio::test]
async fn matrix_viewer_token() {
    check_matrix(Cred::Viewer).await;
}

#[tokio::test]
async fn matrix_collaborator_token() {
    check_matrix(Cred::Collaborator).await;
}

#[tokio::test]
async fn matrix_owner_token() {
    check_matrix(Cred::Owner).await;
}

#[tokio::test]
async fn matrix_client_token() {
    check_matrix(Cred::ClientToken).await;
}

#[tokio::test]
async fn matrix_host_token_header() {
    check_matrix(Cred::HostHeader).await;
}

#[tokio::test]
async fn matrix_host_token_as_bearer_is_refused() {
    check_matrix(Cred::HostAsBearer).await;
}

#[tokio::test]
async fn matrix_wrong_token() {
    check_matrix(Cred::WrongBearer).await;
}

#[tokio::test]
async fn a_wrong_host_header_is_refused_on_host_routes() {
    let server = TestServer::start().await;
    let (status, body) = send(
        server
            .request(Method::GET, "/tokens")
            .header("X-OpenWork-Host-Token", "wrong"),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(
        body,
        json!({ "code": "unauthorized", "message": "Invalid host token" })
    );
    // The client token in the host header is not the host token either.
    let (status, _) = send(
        server
            .request(Method::GET, "/approvals")
            .header("X-OpenWork-Host-Token", CLIENT_TOKEN),
    )
    .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn a_revoked_owner_token_loses_host_access() {
    let server = TestServer::start().await;
    let owner = server.issue_token("owner").await;
    let (status, body) = send(server.with_bearer(Method::GET, "/tokens", &owner)).await;
    assert_eq!(status, 200);
    let id = body["items"][0]["id"].as_str().unwrap().to_owned();
    let (status, _) =
        send(server.with_bearer(Method::DELETE, &format!("/tokens/{id}"), &owner)).await;
    assert_eq!(status, 200);
    let (status, body) = send(server.with_bearer(Method::GET, "/tokens", &owner)).await;
    assert_eq!(status, 401);
    assert_eq!(body["message"], "Invalid host token");
    let (status, body) = send(server.with_bearer(Method::GET, "/status", &owner)).await;
    assert_eq!(status, 401);
    assert_eq!(body["message"], "Invalid bearer token");
}

// ---------------------------------------------------------------------------------------
// §3.2 actor, /whoami
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn whoami_reports_the_client_token_actor() {
    let server = TestServer::start().await;
    let response = send_full(server.client(Method::GET, "/whoami")).await;
    assert_eq!(response.status, 200);
    let body = response.json();
    assert_eq!(
        body,
        json!({
            "ok": true,
            "actor": {
                "type": "remote",
                "tokenHash": "17486dc1e1c02c2a3e6f24deb3775461f585a1d8a412a72d36de1286af1a0828",
                "scope": "collaborator",
            },
        })
    );
    assert_eq!(
        body["actor"]["tokenHash"],
        sha256_hex(CLIENT_TOKEN).as_str()
    );
}

#[tokio::test]
async fn whoami_carries_the_client_id_in_key_order() {
    let server = TestServer::start().await;
    let response = send_full(
        server
            .client(Method::GET, "/whoami")
            .header("X-OpenWork-Client-Id", "abc"),
    )
    .await;
    assert_eq!(response.status, 200);
    let body = response.json();
    let keys: Vec<&String> = body["actor"].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["type", "clientId", "tokenHash", "scope"]);
    assert_eq!(body["actor"]["clientId"], "abc");
}

#[tokio::test]
async fn whoami_reports_scoped_tokens_with_their_scope_and_hash() {
    let server = TestServer::start().await;
    for scope in ["viewer", "collaborator", "owner"] {
        let token = server.issue_token(scope).await;
        assert!(token.starts_with("owt_"), "{token}");
        let (status, body) = send(server.with_bearer(Method::GET, "/whoami", &token)).await;
        assert_eq!(status, 200);
        assert_eq!(
            body["actor"],
            json!({ "type": "remote", "tokenHash": sha256_hex(&token), "scope": scope })
        );
    }
}

#[tokio::test]
async fn whoami_looks_only_at_the_bearer_even_with_the_host_header() {
    let server = TestServer::start().await;
    let (status, body) = send(
        server
            .client(Method::GET, "/whoami")
            .header("X-OpenWork-Host-Token", HOST_TOKEN),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["actor"]["type"], "remote");
    assert_eq!(body["actor"]["scope"], "collaborator");

    let (status, body) = send(server.host(Method::GET, "/whoami")).await;
    assert_eq!(status, 401);
    assert_eq!(
        body,
        json!({ "code": "unauthorized", "message": "Invalid bearer token" })
    );
}

// ---------------------------------------------------------------------------------------
// Bearer parsing
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn bearer_scheme_is_case_insensitive_and_the_token_is_trimmed() {
    let server = TestServer::start().await;
    for header in [
        "Bearer client-tok",
        "bearer client-tok",
        "BEARER client-tok",
        "Bearer    client-tok",
        "Bearer client-tok   ",
        "Bearer\tclient-tok",
    ] {
        let (status, body) = send(
            server
                .request(Method::GET, "/whoami")
                .header("Authorization", header),
        )
        .await;
        assert_eq!(status, 200, "Authorization: {header:?}: {body}");
        assert_eq!(
            body["actor"]["tokenHash"],
            sha256_hex(CLIENT_TOKEN).as_str()
        );
    }
}

#[tokio::test]
async fn malformed_authorization_headers_are_refused() {
    let server = TestServer::start().await;
    for header in [
        "Bearerclient-tok",
        "Basic client-tok",
        "client-tok",
        "Token client-tok",
        "Bearer",
        "Bearer client",
    ] {
        let (status, body) = send(
            server
                .request(Method::GET, "/status")
                .header("Authorization", header),
        )
        .await;
        assert_eq!(status, 401, "Authorization: {header:?}");
        assert_eq!(body["message"], "Invalid bearer token");
    }
}

// ---------------------------------------------------------------------------------------
// The official client: bearer + host header on every request
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn official_client_pattern_works_on_every_route() {
    let server = TestServer::start().await;
    let both = |method: Method, path: &str| {
        server
            .client(method, path)
            .header("X-OpenWork-Host-Token", HOST_TOKEN)
            .header("Content-Type", "application/json")
    };
    for route in routes(&server) {
        let mut request = both(route.method.clone(), &route.path);
        if let Some(body) = &route.body {
            request = request.body(body.to_string());
        }
        let (status, body) = send(request).await;
        assert_eq!(
            status, route.ok_status,
            "{} {}: {body}",
            route.method, route.path
        );
    }
    // Client routes see the bearer's actor, not the host.
    let (_, body) = send(both(Method::GET, "/whoami")).await;
    assert_eq!(body["actor"]["type"], "remote");
}

#[tokio::test]
async fn host_routes_fall_back_to_an_owner_bearer_when_the_host_header_is_wrong() {
    let server = TestServer::start().await;
    let owner = server.issue_token("owner").await;
    let (status, body) = send(
        server
            .with_bearer(Method::GET, "/approvals", &owner)
            .header("X-OpenWork-Host-Token", "stale-host-token"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({ "items": [] }));
}

#[tokio::test]
async fn host_routes_accept_the_host_header_next_to_a_collaborator_bearer() {
    let server = TestServer::start().await;
    let (status, body) = send(
        server
            .client(Method::GET, "/tokens")
            .header("X-OpenWork-Host-Token", HOST_TOKEN),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

// ---------------------------------------------------------------------------------------
// D6: rate limit on failed authentications
// ---------------------------------------------------------------------------------------

async fn fail_times(times: usize, make: impl Fn() -> RequestBuilder) {
    for attempt in 1..=times {
        let (status, body) = send(make()).await;
        assert_eq!(status, 401, "attempt {attempt}: {body}");
    }
}

async fn assert_rate_limited(request: RequestBuilder, what: &str) {
    let response = send_full(request).await;
    assert_eq!(response.status, 429, "{what}: {}", response.text);
    assert_eq!(
        response.json(),
        json!({ "code": "rate_limited", "message": "Too many failed authentication attempts" }),
        "{what}"
    );
    let retry: u64 = response
        .header("retry-after")
        .unwrap_or_else(|| panic!("{what}: Retry-After missing"))
        .parse()
        .expect("Retry-After in seconds");
    assert!((1..=60).contains(&retry), "{what}: Retry-After {retry}");
}

#[tokio::test]
async fn twenty_wrong_bearers_then_everything_with_credentials_is_rate_limited() {
    let server = TestServer::start().await;
    fail_times(20, || server.with_bearer(Method::GET, "/status", "guess")).await;
    assert_rate_limited(
        server.with_bearer(Method::GET, "/status", "guess"),
        "21st wrong bearer",
    )
    .await;
    assert_rate_limited(server.client(Method::GET, "/status"), "valid client token").await;
    assert_rate_limited(server.host(Method::GET, "/tokens"), "valid host token").await;

    // Routes without auth stay open.
    let (status, body) = send(server.request(Method::GET, "/health")).await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = send(server.request(Method::GET, "/w/any/health")).await;
    assert_eq!(status, 200);
    let (status, _) = send(server.client(Method::GET, "/health")).await;
    assert_eq!(status, 200, "/health with credentials stays open");
    let (status, _) = send(server.request(Method::OPTIONS, "/status")).await;
    assert_eq!(status, 204);
    // A request without credentials is not blocked, just unauthorised.
    let (status, body) = send(server.request(Method::GET, "/status")).await;
    assert_eq!(status, 401);
    assert_eq!(body["code"], "unauthorized");
}

#[tokio::test]
async fn nineteen_failures_do_not_block() {
    let server = TestServer::start().await;
    fail_times(19, || server.with_bearer(Method::GET, "/whoami", "guess")).await;
    let (status, _) = send(server.client(Method::GET, "/whoami")).await;
    assert_eq!(status, 200);
    let (status, _) = send(server.with_bearer(Method::GET, "/whoami", "guess")).await;
    assert_eq!(status, 401, "the 20th failure itself is still a 401");
}

#[tokio::test]
async fn wrong_host_tokens_count_towards_the_limit() {
    let server = TestServer::start().await;
    fail_times(20, || {
        server
            .request(Method::GET, "/approvals")
            .header("X-OpenWork-Host-Token", "guess")
    })
    .await;
    assert_rate_limited(server.host(Method::GET, "/approvals"), "valid host token").await;
    assert_rate_limited(server.client(Method::GET, "/whoami"), "valid client token").await;
}

#[tokio::test]
async fn host_token_guesses_next_to_a_valid_client_bearer_count_towards_the_limit() {
    // A collaborator who knows the client token must not be able to guess the host token
    // without limit by sending both headers.
    let server = TestServer::start().await;
    fail_times(20, || {
        server
            .client(Method::GET, "/tokens")
            .header("X-OpenWork-Host-Token", "guess")
    })
    .await;
    assert_rate_limited(
        server.host(Method::GET, "/tokens"),
        "correct host token after 20 guesses",
    )
    .await;
}
