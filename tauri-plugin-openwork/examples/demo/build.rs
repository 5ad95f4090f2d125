//! Embeds the demo's config, frontend and capabilities (with the plugins' permissions).

fn main() {
    tauri_build::build();
}
