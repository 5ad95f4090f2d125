//! Fuzzes path confinement (D1): whatever a client sends, the normaliser yields plain
//! segments only, and the resolver never hands out a path that leads out of the root,
//! however the root is booby-trapped with symlinks.

#![no_main]

use std::os::unix::fs::symlink;
use std::path::{Component, Path, PathBuf};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use openwork_server_core::__fuzz::{normalize, resolve};

/// `base/root` (the workspace) next to `base/outside`, planted with links of every kind.
/// Built once per process; the fuzzer only reads it.
struct Planted {
    _base: tempfile::TempDir,
    root: PathBuf,
    real_root: PathBuf,
}

fn planted() -> &'static Planted {
    static PLANTED: OnceLock<Planted> = OnceLock::new();
    PLANTED.get_or_init(|| {
        let base = tempfile::tempdir().expect("temp dir");
        let root = base.path().join("root");
        let outside = base.path().join("outside");
        std::fs::create_dir_all(root.join("in/deeper")).expect("mkdir");
        std::fs::create_dir_all(&outside).expect("mkdir");
        std::fs::write(root.join("file.txt"), "inside").expect("write");
        std::fs::write(outside.join("secret.txt"), "secret").expect("write");
        let links: [(&str, PathBuf); 12] = [
            ("out-dir", outside.clone()),
            ("out-file", outside.join("secret.txt")),
            ("in-link", root.join("in")),
            ("rel-out", "../outside".into()),
            ("dangling", base.path().join("nowhere")),
            ("chain1", "chain2".into()),
            ("chain2", "out-dir".into()),
            ("self", ".".into()),
            ("loop1", "loop2".into()),
            ("loop2", "loop1".into()),
            ("in/up", "..".into()),
            ("in/upup", "../..".into()),
        ];
        for (name, to) in links {
            symlink(to, root.join(name)).expect("symlink");
        }
        let real_root = root.canonicalize().expect("canonical root");
        Planted {
            _base: base,
            root,
            real_root,
        }
    })
}

/// The deepest part of `path` that exists (links not followed), resolved.
fn existing_prefix(path: &Path) -> Option<PathBuf> {
    path.ancestors()
        .find(|p| std::fs::symlink_metadata(p).is_ok())
        .and_then(|p| p.canonicalize().ok())
}

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let planted = planted();
    for allow_subdirs in [true, false] {
        let Ok(relative) = normalize(input, allow_subdirs) else {
            continue;
        };
        assert!(!relative.is_empty() && !relative.starts_with('/'));
        assert!(allow_subdirs || !relative.contains('/'));
        assert!(
            relative.split('/').all(|s| !matches!(s, "" | "." | "..")),
            "{relative:?}"
        );
        assert!(
            Path::new(&relative)
                .components()
                .all(|c| matches!(c, Component::Normal(_)))
        );
    }
    // Raw input goes to the resolver too: it must hold even for callers that forgot
    // to normalise.
    for relative in [normalize(input, true).ok(), Some(input.to_owned())]
        .into_iter()
        .flatten()
    {
        let Ok(target) = resolve(&planted.root, &relative) else {
            continue;
        };
        assert!(target.starts_with(&planted.root), "{relative:?}");
        if let Some(real) = existing_prefix(&target) {
            assert!(
                real.starts_with(&planted.real_root),
                "{relative:?} -> {real:?}"
            );
        }
    }
});
