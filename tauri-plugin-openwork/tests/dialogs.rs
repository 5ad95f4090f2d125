//! Real native dialogs on an X display (run by `scripts/test-desktop` under `xvfb-run`):
//! a write shows the dialog, Return allows, Escape denies, no answer times out, an answer
//! given elsewhere closes it, and several requests are asked one after another. A
//! screenshot of the dialog is saved for a person to look at.
//!
//! These tests need a display and fail without one; they are never skipped.

mod common;

use common::*;
use serde_json::json;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;
use tauri::test::MockRuntime;
use tauri::utils::acl::ExecutionContext;
use tauri_plugin_openwork::{DIALOG_TITLE, OpenworkExt, ServerInfo};

/// Runs GTK's main loop on a thread of its own, as Tauri's event loop does on an app's main
/// thread (the mock runtime has none). Dialogs are then built and closed on that thread, the
/// way they are in an app.
fn start_gtk_main_loop() {
    static STARTED: std::sync::Once = std::sync::Once::new();
    STARTED.call_once(|| {
        let (ready, started) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let init = gtk::init();
            let failed = init.is_err();
            ready.send(init.map_err(|e| e.to_string())).unwrap();
            if !failed {
                gtk::main();
            }
        });
        let init = started.recv().unwrap();
        assert!(init.is_ok(), "GTK starts on the X display: {init:?}");
    });
}

/// A mock app with the dialog plugin and native approvals.
fn dialog_app(folders: &Folders, timeout: Duration) -> tauri::App<MockRuntime> {
    assert!(
        std::env::var_os("DISPLAY").is_some(),
        "these tests show real dialogs and need an X display: run scripts/test-desktop"
    );
    start_gtk_main_loop();
    app_allowing(
        vec![tauri_plugin_dialog::init(), folders.plugin(timeout).build()],
        &COMMANDS,
        ExecutionContext::Local,
    )
    .expect("app builds")
}

/// Runs `xdotool` and returns its standard output.
fn xdotool(args: &[&str]) -> (bool, String) {
    let output = Command::new("xdotool")
        .args(args)
        .output()
        .expect("xdotool is installed (scripts/install-desktop-deps)");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).trim().to_owned(),
    )
}

/// Waits (at most 15 s) for a visible approval dialog and returns its window id.
async fn wait_dialog() -> String {
    for _ in 0..150 {
        if let Some(window) = visible_dialogs().into_iter().next() {
            return window;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, unmapped) = xdotool(&["search", "--name", DIALOG_TITLE]);
    panic!("no approval dialog appeared (windows with that title, mapped or not: {unmapped:?})");
}

/// The visible approval dialogs' window ids.
fn visible_dialogs() -> Vec<String> {
    let (_, out) = xdotool(&["search", "--onlyvisible", "--name", DIALOG_TITLE]);
    out.lines().map(str::to_owned).collect()
}

/// Waits (at most 10 s) until no approval dialog is visible.
async fn wait_no_dialog() {
    for _ in 0..100 {
        if visible_dialogs().is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the approval dialog is still up");
}

/// Presses `key` in the dialog window.
fn press(window: &str, key: &str) {
    let (ok, _) = xdotool(&["windowfocus", "--sync", window, "key", key]);
    assert!(ok, "xdotool pressed {key}");
}

/// The dialog's window title.
fn title_of(window: &str) -> String {
    xdotool(&["getwindowname", window]).1
}

fn spawn_write(
    info: &ServerInfo,
    name: &'static str,
) -> tokio::task::JoinHandle<reqwest::Response> {
    let info = info.clone();
    tokio::spawn(async move { write_skill(&info, name).await })
}

/// Where screenshots go: `OPENWORK_SCREENSHOT_DIR`, else `target/screenshots`.
fn screenshot_dir() -> PathBuf {
    std::env::var_os("OPENWORK_SCREENSHOT_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/screenshots"),
        PathBuf::from,
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn return_allows_the_write_and_the_dialog_is_captured() {
    let folders = Folders::new();
    let app = dialog_app(&folders, Duration::from_secs(30));
    let info = info(&app);
    let write = spawn_write(&info, "allowed");
    let window = wait_dialog().await;
    let pending = wait_pending(&info, 1).await;
    // One title per request.
    let id = pending[0]["id"].as_str().unwrap();
    assert_eq!(title_of(&window), format!("{DIALOG_TITLE} {}", &id[..8]));

    let dir = screenshot_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let shot = dir.join("approval-dialog.png");
    let status = Command::new("import")
        .args(["-window", "root"])
        .arg(&shot)
        .status()
        .expect("ImageMagick's import is installed (scripts/install-desktop-deps)");
    assert!(status.success());
    let bytes = std::fs::read(&shot).unwrap();
    assert!(bytes.starts_with(b"\x89PNG"), "a PNG screenshot");
    println!("approval dialog screenshot: {}", shot.display());

    press(&window, "Return");
    let response = write.await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(skill_file(folders.workspace.path(), "allowed").exists());
    wait_no_dialog().await;
    app.openwork().stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn escape_denies_the_write() {
    let folders = Folders::new();
    let app = dialog_app(&folders, Duration::from_secs(30));
    let info = info(&app);
    let write = spawn_write(&info, "escaped");
    let window = wait_dialog().await;
    press(&window, "Escape");
    assert_denied(write.await.unwrap(), "denied").await;
    assert!(!skill_file(folders.workspace.path(), "escaped").exists());
    wait_no_dialog().await;
    app.openwork().stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn no_answer_denies_at_the_timeout_and_closes_the_dialog() {
    let folders = Folders::new();
    let app = dialog_app(&folders, Duration::from_secs(3));
    let info = info(&app);
    let write = spawn_write(&info, "unanswered");
    wait_dialog().await;
    assert_denied(write.await.unwrap(), "timeout").await;
    assert!(!skill_file(folders.workspace.path(), "unanswered").exists());
    wait_no_dialog().await;
    app.openwork().stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_answer_given_over_http_closes_the_dialog() {
    let folders = Folders::new();
    let app = dialog_app(&folders, Duration::from_secs(30));
    let info = info(&app);
    let write = spawn_write(&info, "remote-yes");
    wait_dialog().await;
    let id = wait_pending(&info, 1).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let reply = http()
        .post(format!("{}/approvals/{id}", info.base_url))
        .header("X-OpenWork-Host-Token", HOST_TOKEN)
        .json(&json!({"reply": "allow"}))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    assert_eq!(write.await.unwrap().status(), 200);
    wait_no_dialog().await;
    app.openwork().stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn several_requests_are_asked_one_after_another() {
    let folders = Folders::new();
    let app = dialog_app(&folders, Duration::from_secs(30));
    let info = info(&app);
    let first = spawn_write(&info, "first");
    let first_window = wait_dialog().await;
    wait_pending(&info, 1).await;
    let second = spawn_write(&info, "second");
    let pending = wait_pending(&info, 2).await;
    let ids: Vec<&str> = pending.iter().map(|p| p["id"].as_str().unwrap()).collect();
    // Only the oldest request's dialog is up.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let up = visible_dialogs();
    assert_eq!(up.len(), 1, "one dialog at a time");
    assert!(title_of(&up[0]).ends_with(&ids[0][..8]));

    press(&first_window, "Return");
    assert_eq!(first.await.unwrap().status(), 200);
    // The second request is asked next, never lost.
    let mut second_window = wait_dialog().await;
    for _ in 0..50 {
        if title_of(&second_window).ends_with(&ids[1][..8]) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        second_window = wait_dialog().await;
    }
    assert!(title_of(&second_window).ends_with(&ids[1][..8]));
    press(&second_window, "Escape");
    assert_denied(second.await.unwrap(), "denied").await;
    assert!(skill_file(folders.workspace.path(), "first").exists());
    assert!(!skill_file(folders.workspace.path(), "second").exists());
    wait_no_dialog().await;
    app.openwork().stop().await;
}
