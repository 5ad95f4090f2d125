//! The toy UI routes (contract §10.4, D13): the page and its three assets are served
//! without auth, with their content types and `Cache-Control: no-store`; other asset names
//! are plain 404s; `OPENWORK_TOY_UI` turns the whole UI off with `404 ui_disabled`; `HEAD`
//! answers like `GET` without a body.

use openwork_server_tests::reqwest::Method;
use openwork_server_tests::{Options, Reply, TestServer, error_body, json, send, send_full};

const PAGE_TYPE: &str = "text/html; charset=utf-8";
const ASSETS: [(&str, &str); 3] = [
    ("toy.css", "text/css; charset=utf-8"),
    ("toy.js", "text/javascript; charset=utf-8"),
    ("openwork-mark.svg", "image/svg+xml; charset=utf-8"),
];

async fn start_with_toy_ui(value: &str) -> TestServer {
    TestServer::start_with(Options {
        env: vec![("OPENWORK_TOY_UI".into(), value.into())],
        ..Options::default()
    })
    .await
}

async fn get(server: &TestServer, path: &str) -> Reply {
    send_full(server.request(Method::GET, path)).await
}

fn assert_static(reply: &Reply, content_type: &str, what: &str) {
    assert_eq!(reply.status, 200, "{what}: {}", reply.text);
    assert_eq!(reply.header("content-type"), Some(content_type), "{what}");
    assert_eq!(reply.header("cache-control"), Some("no-store"), "{what}");
    assert!(!reply.text.is_empty(), "{what}: empty body");
}

#[tokio::test]
async fn the_page_is_served_without_auth_at_ui_and_under_a_workspace_mount() {
    let server = TestServer::start().await;
    let page = get(&server, "/ui").await;
    assert_static(&page, PAGE_TYPE, "/ui");
    assert!(page.text.contains("<title>OpenWork Toy UI</title>"));

    // The mounted form serves the same page; the id is the page's business, not the route's.
    let mounted = get(&server, &format!("/w/{}/ui", server.workspace_id())).await;
    assert_static(&mounted, PAGE_TYPE, "/w/:id/ui");
    assert_eq!(mounted.text, page.text);
    let unknown = get(&server, "/w/ws_unknown/ui").await;
    assert_static(&unknown, PAGE_TYPE, "/w/ws_unknown/ui");
}

#[tokio::test]
async fn the_page_may_only_talk_to_its_own_origin_and_is_never_framed() {
    let server = TestServer::start().await;
    let page = get(&server, "/ui").await;
    let policy = page.header("content-security-policy").unwrap_or_default();
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(
            policy.contains(directive),
            "{directive} missing from {policy:?}"
        );
    }
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
}

#[tokio::test]
async fn each_asset_has_its_type_and_the_page_links_all_of_them() {
    let server = TestServer::start().await;
    let page = get(&server, "/ui").await;
    for (name, content_type) in ASSETS {
        let path = format!("/ui/assets/{name}");
        let reply = get(&server, &path).await;
        assert_static(&reply, content_type, &path);
        assert!(page.text.contains(&path), "the page does not load {path}");
    }
    let svg = get(&server, "/ui/assets/openwork-mark.svg").await;
    assert!(svg.text.trim_start().starts_with("<svg"), "{}", svg.text);
}

#[tokio::test]
async fn other_asset_paths_are_not_found() {
    let server = TestServer::start().await;
    for path in [
        "/ui/assets/index.html",
        "/ui/assets/toy.jsx",
        "/ui/assets/",
        "/ui/assets/sub/toy.css",
        "/ui/assets/..%2Fui.rs",
        "/ui/",
        "/ui/index.html",
        "/w/ws_x/ui/",
    ] {
        let (status, body) = send(server.request(Method::GET, path)).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(body, error_body("not_found", "Not found"), "{path}");
    }
}

#[tokio::test]
async fn only_get_and_head_are_routes() {
    let server = TestServer::start().await;
    for method in [Method::POST, Method::PUT, Method::DELETE] {
        let (status, body) = send(server.request(method.clone(), "/ui")).await;
        assert_eq!(status, 404, "{method} /ui");
        assert_eq!(body, error_body("not_found", "Not found"));
    }
}

#[tokio::test]
async fn head_answers_like_get_without_a_body() {
    let server = TestServer::start().await;
    let mounted = format!("/w/{}/ui", server.workspace_id());
    for (path, content_type) in [
        ("/ui", PAGE_TYPE),
        (mounted.as_str(), PAGE_TYPE),
        ("/ui/assets/toy.js", ASSETS[1].1),
    ] {
        let reply = send_full(server.request(Method::HEAD, path)).await;
        assert_eq!(reply.status, 200, "HEAD {path}");
        assert_eq!(reply.header("content-type"), Some(content_type));
        assert_eq!(reply.header("cache-control"), Some("no-store"));
        assert!(reply.text.is_empty(), "HEAD {path} sent a body");
    }
    let missing = send_full(server.request(Method::HEAD, "/ui/assets/nope.css")).await;
    assert_eq!(missing.status, 404);
}

#[tokio::test]
async fn a_falsy_switch_disables_page_and_assets() {
    for value in ["0", "false", "off", "no", "banana"] {
        let server = start_with_toy_ui(value).await;
        let mounted = format!("/w/{}/ui", server.workspace_id());
        for path in [
            "/ui",
            mounted.as_str(),
            "/ui/assets/toy.css",
            "/ui/assets/toy.js",
        ] {
            let reply = get(&server, path).await;
            assert_eq!(reply.status, 404, "OPENWORK_TOY_UI={value} {path}");
            assert_eq!(
                reply.json(),
                error_body("ui_disabled", "Toy UI is disabled"),
                "OPENWORK_TOY_UI={value} {path}"
            );
        }
        // An unknown asset stays an unknown route.
        let (status, body) = send(server.request(Method::GET, "/ui/assets/x.css")).await;
        assert_eq!((status, body), (404, error_body("not_found", "Not found")));
        // And the capability document agrees with the routes.
        let (status, caps) = send(server.client(Method::GET, "/capabilities")).await;
        assert_eq!(status, 200);
        assert_eq!(
            caps["ui"],
            json!({ "toy": false }),
            "OPENWORK_TOY_UI={value}"
        );
    }
}

#[tokio::test]
async fn truthy_or_empty_switch_keeps_the_ui_on() {
    for value in ["", "1", "TRUE", " yes ", "On"] {
        let server = start_with_toy_ui(value).await;
        assert_static(&get(&server, "/ui").await, PAGE_TYPE, value);
        let (_, caps) = send(server.client(Method::GET, "/capabilities")).await;
        assert_eq!(
            caps["ui"],
            json!({ "toy": true }),
            "OPENWORK_TOY_UI={value:?}"
        );
    }
}

#[tokio::test]
async fn ui_routes_get_cors_headers_like_every_route() {
    let server = TestServer::start().await;
    let reply = get(&server, "/ui/assets/toy.css").await;
    assert_eq!(reply.header("access-control-allow-origin"), Some("*"));
}
