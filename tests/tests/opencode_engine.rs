//! The real OpenCode the proxy tests use starts, answers its API and stops.

use openwork_server_tests::opencode::OpenCode;
use openwork_server_tests::{Value, json};

#[tokio::test]
async fn a_real_engine_answers_health_and_sessions() {
    let engine = OpenCode::start().await;
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let health: Value = http
        .get(format!("{}/global/health", engine.base_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["healthy"], true);
    let created: Value = http
        .post(format!("{}/session", engine.base_url))
        .json(&json!({"title": "from the test"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(created["title"], "from the test");
    engine.stop().await;
}
