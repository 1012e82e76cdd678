//! The bodies of polyplug's fuzz targets, one function per surface that takes
//! untrusted input: the manifest JSON, a fixture's spec.toml, modules wasm-smith
//! writes against `extism:host/env`, and ABI call sequences run on polyplug and on
//! the official runtime side by side. `fuzz_targets/*.rs` call these; so does
//! tests/regressions.rs, which replays every file of `fuzz/regressions/<target>/`
//! under `cargo test --workspace`.
//!
//! The invariant every body checks: no panic, no hang (every call runs under a
//! small timeout), and every failure a typed error of an expected kind. A
//! violation panics, which is what libFuzzer records as a crash.

mod kernel_diff;
mod manifest;
mod smith;
mod spec_toml;

pub use kernel_diff::{kernel_diff, kernel_diff_init, Program, DIVERGES};
pub use manifest::manifest;
pub use smith::smith;
pub use spec_toml::spec_toml;

use std::sync::Mutex;

use polyplug_host::{Engine, EngineConfig};

/// A fuzz target: takes libFuzzer's bytes, panics on a finding.
pub type Target = fn(&[u8]);

/// Every target, by the name its `fuzz_targets/<name>.rs` has.
pub const TARGETS: &[(&str, Target)] = &[
    ("manifest", manifest),
    ("spec_toml", spec_toml),
    ("smith", smith),
    ("kernel_diff", kernel_diff),
];

/// The engine keeps every module it compiled (by sha256) for the life of the
/// engine, which suits a server's fixed catalog but not a fuzzer's endless new
/// modules: a fresh engine every this many modules keeps the memory flat.
const MODULES_PER_ENGINE: u32 = 256;

static ENGINE: Mutex<Option<(Engine, u32)>> = Mutex::new(None);

/// The shared engine, without the disk cache (a fuzzer would fill it).
pub(crate) fn engine() -> Engine {
    let mut slot = ENGINE.lock().unwrap_or_else(|p| p.into_inner());
    match slot.as_mut() {
        Some((engine, used)) if *used < MODULES_PER_ENGINE => {
            *used += 1;
            engine.clone()
        }
        _ => {
            let engine = Engine::with_config(EngineConfig {
                cache_dir: None,
                ..EngineConfig::default()
            })
            .expect("a wasmtime engine");
            *slot = Some((engine.clone(), 1));
            engine
        }
    }
}
