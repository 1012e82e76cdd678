//! The smith target: modules wasm-smith writes, importing any `extism:host/env`
//! function with its real signature and exporting `run`, loaded and called on
//! polyplug-host under small limits. Whatever the module does with its handles,
//! the host answers with a result or a typed error, and the call after a failed
//! one still runs.

use arbitrary::Unstructured;
use polyplug_host::{ErrorKind, Manifest, Plugin, Wasm};

/// Every `extism:host/env` function polyplug provides, as the imports wasm-smith
/// may pick from.
const ENV_IMPORTS: &str = r#"(module
  (import "extism:host/env" "alloc" (func (param i64) (result i64)))
  (import "extism:host/env" "free" (func (param i64)))
  (import "extism:host/env" "length" (func (param i64) (result i64)))
  (import "extism:host/env" "length_unsafe" (func (param i64) (result i64)))
  (import "extism:host/env" "load_u8" (func (param i64) (result i32)))
  (import "extism:host/env" "load_u64" (func (param i64) (result i64)))
  (import "extism:host/env" "store_u8" (func (param i64 i32)))
  (import "extism:host/env" "store_u64" (func (param i64 i64)))
  (import "extism:host/env" "input_length" (func (result i64)))
  (import "extism:host/env" "input_load_u8" (func (param i64) (result i32)))
  (import "extism:host/env" "input_load_u64" (func (param i64) (result i64)))
  (import "extism:host/env" "input_offset" (func (result i64)))
  (import "extism:host/env" "input_set" (func (param i64 i64)))
  (import "extism:host/env" "output_set" (func (param i64 i64)))
  (import "extism:host/env" "output_length" (func (result i64)))
  (import "extism:host/env" "output_offset" (func (result i64)))
  (import "extism:host/env" "error_set" (func (param i64)))
  (import "extism:host/env" "error_get" (func (result i64)))
  (import "extism:host/env" "reset" (func))
  (import "extism:host/env" "memory_bytes" (func (result i64)))
  (import "extism:host/env" "config_get" (func (param i64) (result i64)))
  (import "extism:host/env" "var_get" (func (param i64) (result i64)))
  (import "extism:host/env" "var_set" (func (param i64 i64)))
  (import "extism:host/env" "http_request" (func (param i64 i64) (result i64)))
  (import "extism:host/env" "http_status_code" (func (result i32)))
  (import "extism:host/env" "http_headers" (func (result i64)))
  (import "extism:host/env" "log_trace" (func (param i64)))
  (import "extism:host/env" "log_debug" (func (param i64)))
  (import "extism:host/env" "log_info" (func (param i64)))
  (import "extism:host/env" "log_warn" (func (param i64)))
  (import "extism:host/env" "log_error" (func (param i64)))
  (import "extism:host/env" "get_log_level" (func (result i32)))
)"#;

const EXPORTS: &str = r#"(module (func (export "run") (result i32) unreachable))"#;

/// Pages for the plugin's and the kernel's memory together.
const MAX_PAGES: u32 = 32;
const TIMEOUT_MS: u64 = 100;
/// wasm-smith's own loop counter: loops end in a trap long before the timeout.
const LOOP_FUEL: u32 = 20_000;

fn config(u: &mut Unstructured<'_>) -> arbitrary::Result<wasm_smith::Config> {
    let mut c = wasm_smith::Config {
        available_imports: Some(wat::parse_str(ENV_IMPORTS).expect("the imports module")),
        exports: Some(wat::parse_str(EXPORTS).expect("the exports module")),
        max_imports: 12,
        max_funcs: 8,
        max_instructions: 200,
        max_memories: 1,
        max_tables: 1,
        max_memory32_bytes: u64::from(MAX_PAGES / 2) * 65536,
        max_data_segments: 4,
        max_element_segments: 4,
        // What polyplug's engine validates: the proposals wasmtime enables by
        // default, without threads (a plugin's shared memory is refused on purpose).
        memory64_enabled: false,
        gc_enabled: false,
        exceptions_enabled: false,
        threads_enabled: false,
        shared_everything_threads_enabled: false,
        relaxed_simd_enabled: u.arbitrary()?,
        simd_enabled: u.arbitrary()?,
        // return_call_ref needs typed function references, which polyplug's
        // wasmtime (no `gc` feature) refuses.
        tail_call_enabled: false,
        wide_arithmetic_enabled: false,
        custom_page_sizes_enabled: false,
        ..wasm_smith::Config::default()
    };
    c.min_funcs = 1;
    Ok(c)
}

pub fn smith(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(config) = config(&mut u) else { return };
    let Ok(mut module) = wasm_smith::Module::new(config, &mut u) else {
        return;
    };
    if module.ensure_termination(LOOP_FUEL).is_err() {
        return;
    }
    let strict: bool = u.arbitrary().unwrap_or(false);
    let input: Vec<u8> = u.arbitrary().unwrap_or_default();
    let wasm = module.to_bytes();

    let manifest = Manifest::new(Wasm::data(wasm))
        .with_timeout_ms(TIMEOUT_MS)
        .with_memory_max_pages(MAX_PAGES)
        .with_max_var_bytes(4096)
        .with_config("key", "value");
    let built = Plugin::builder(&crate::engine(), manifest)
        .with_logger(|_, _| {})
        .with_strict_memory(strict)
        .build();
    let mut plugin = match built {
        Ok(p) => p,
        // wasm-smith may still use a proposal polyplug's engine leaves out: that
        // is a typed refusal too. It only imports what polyplug provides.
        Err(e) if e.kind() == ErrorKind::InvalidModule => return,
        Err(e) => {
            check(&e, "load");
            return;
        }
    };
    for _ in 0..2 {
        if let Err(e) = plugin.call("run", &input) {
            check(&e, "call");
        }
    }
}

fn check(e: &polyplug_host::Error, what: &str) {
    use ErrorKind::*;
    let expected = [
        Timeout,
        MemoryLimit,
        StackOverflow,
        Trap,
        PluginError,
        HttpDenied,
        Http,
    ];
    assert!(
        expected.contains(&e.kind()),
        "{what} failed with an unexpected kind {:?}: {e}",
        e.kind()
    );
    if e.kind() != PluginError {
        assert!(
            !e.message().is_empty(),
            "{what}: an error without a message"
        );
    }
}
