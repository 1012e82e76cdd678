//! polyplug-host runs Extism plugins on wasmtime, with the Extism ABI
//! (`extism:host/env`) implemented natively in Rust; the kernel memory is a wasm
//! memory so the hot byte accessors run as wasm.
//!
//! ```
//! use polyplug_host::{Engine, EngineConfig, Manifest, Plugin, Wasm};
//!
//! // A plugin that echoes its input: output = input.
//! let wat = r#"(module
//!   (import "extism:host/env" "input_offset" (func $in (result i64)))
//!   (import "extism:host/env" "input_length" (func $len (result i64)))
//!   (import "extism:host/env" "output_set" (func $out (param i64 i64)))
//!   (memory (export "memory") 1)
//!   (func (export "echo") (result i32)
//!     (call $out (call $in) (call $len))
//!     (i32.const 0)))"#;
//! let engine = Engine::with_config(EngineConfig { cache_dir: None, ..EngineConfig::default() })?;
//! let manifest = Manifest::new(Wasm::data(wat)).with_timeout_ms(1_000);
//! let mut plugin = Plugin::builder(&engine, manifest).build()?;
//! assert_eq!(plugin.call("echo", b"hi")?, b"hi");
//! # Ok::<(), polyplug_host::Error>(())
//! ```
//!
//! Errors carry an [`ErrorKind`] to branch on (timeout, trap, plugin-error, ...).
//! After a trap-like failure the next call runs on a fresh instance.

mod accessor;
mod blocks;
mod cache;
mod current_plugin;
mod engine;
mod env_fns;
mod error;
mod host_fns;
mod http;
mod inline;
mod kernel;
mod kv;
mod limits;
mod log;
mod manifest;
mod module_map;
mod plugin;
mod prepared;
mod sanitizer;
mod ticker;
mod wasi;
pub mod xtp;

pub use current_plugin::CurrentPlugin;
pub use engine::{Engine, EngineConfig, FileStamp, POOLED_INSTANCES};
pub use error::{Error, ErrorKind};
pub use host_fns::HostFunction;
pub use kv::KvStore;
pub use log::LogLevel;
pub use manifest::{Manifest, MemoryLimits, Wasm};
pub use plugin::{Plugin, PluginBuilder};
pub use sanitizer::{MemoryDiagnostic, MemoryDiagnostics, Problem};
pub use wasmtime::{Val, ValType};

/// Whether `name` is one of the `extism:host/env` kernel accessors
/// (`load_u8` .. `input_load_u64`) that [`EngineConfig::inline_accessors`]
/// writes into a plugin's own code.
pub fn is_kernel_accessor(name: &str) -> bool {
    accessor::index(name).is_some()
}
