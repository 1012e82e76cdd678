//! Shared by the integration tests: the engine module (built once per test
//! binary with the real wasm toolchain), plugin builds, and a host engine.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The engine at `$POLYPLUG_JS_ENGINE`, else crates/js-engine built into
/// target/ (a no-op when it is up to date).
pub fn engine() -> &'static [u8] {
    static ENGINE: OnceLock<Vec<u8>> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let path = match std::env::var_os("POLYPLUG_JS_ENGINE") {
            Some(p) => PathBuf::from(p),
            None => {
                polyplug_js::engine::build(&repo().join("crates/js-engine"), &repo().join("target"))
                    .unwrap_or_else(|e| panic!("{e:#}"))
            }
        };
        std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
    })
}

pub fn build_spec(spec: &str) -> Vec<u8> {
    let dir = repo().join("plugins-js").join(spec);
    polyplug_js::build(&dir, engine()).unwrap_or_else(|e| panic!("building {}: {e}", dir.display()))
}

pub fn host() -> &'static polyplug_host::Engine {
    static HOST: OnceLock<polyplug_host::Engine> = OnceLock::new();
    HOST.get_or_init(|| {
        polyplug_host::Engine::with_config(polyplug_host::EngineConfig {
            cache_dir: None,
            ..Default::default()
        })
        .expect("host engine")
    })
}

/// A fresh, empty folder under the system temp dir, removed when dropped.
pub fn temp_dir(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("polyplug-js-test-{name}-"))
        .tempdir()
        .expect("temp dir")
}

/// Writes a plugin folder from its two sources (removed when dropped).
pub fn plugin_dir(name: &str, js: &str, dts: &str) -> tempfile::TempDir {
    let dir = temp_dir(name);
    std::fs::write(dir.path().join("index.js"), js).unwrap();
    std::fs::write(dir.path().join("index.d.ts"), dts).unwrap();
    dir
}
