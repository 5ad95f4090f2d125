//! A window that shows the in-process OpenWork server's URL and a button that triggers a
//! write, which the plugin asks about in a native dialog.
//!
//! Run it with `cargo run -p openwork-tauri-demo`. The workspace is
//! `$OPENWORK_DEMO_WORKSPACE`, or a folder under the system's temp directory. With
//! `OPENWORK_DEMO_AUTOWRITE=1` the page presses its own button once loaded (for the
//! end-to-end check in `scripts/test-desktop`).

use std::path::PathBuf;
use tauri::webview::PageLoadEvent;
use tauri_plugin_openwork::OpenworkExt;

// `generate_context!` expands to code that exits the process on a broken embedded config.
#[allow(clippy::exit)]
fn main() {
    let workspace = std::env::var_os("OPENWORK_DEMO_WORKSPACE").map_or_else(
        || std::env::temp_dir().join("openwork-demo-workspace"),
        PathBuf::from,
    );
    if let Err(error) = std::fs::create_dir_all(&workspace) {
        eprintln!(
            "cannot create the demo workspace {}: {error}",
            workspace.display()
        );
        return;
    }
    let result = tauri::Builder::default()
        // Native approval dialogs need the dialog plugin, registered first.
        .plugin(tauri_plugin_dialog::init())
        .plugin(
            tauri_plugin_openwork::Builder::new()
                .workspace(workspace.to_string_lossy().into_owned())
                .port(0)
                .build(),
        )
        .on_page_load(|webview, payload| {
            let autowrite = std::env::var_os("OPENWORK_DEMO_AUTOWRITE").is_some_and(|v| v == "1");
            if autowrite && payload.event() == PageLoadEvent::Finished {
                if let Err(error) = webview.eval("window.openworkDemo.autoWrite()") {
                    eprintln!("cannot start the automatic write: {error}");
                }
            }
        })
        .setup(|app| {
            let info = app.openwork().info(false)?;
            // Scripts wait for this line to know the app is up.
            println!("OpenWork demo: server at {}", info.base_url);
            Ok(())
        })
        .run(tauri::generate_context!());
    if let Err(error) = result {
        eprintln!("the OpenWork demo failed: {error}");
    }
}
