//! Shared by the host's integration tests: an engine without a disk cache, and a
//! WAT prelude importing every `extism:host/env` function plus small helpers to
//! move bytes between linear memory and kernel memory.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use polyplug_host::{Engine, EngineConfig, LogLevel, Manifest, Plugin, PluginBuilder, Wasm};

pub fn engine() -> Engine {
    Engine::with_config(EngineConfig {
        cache_dir: None,
        ..EngineConfig::default()
    })
    .unwrap()
}

pub const PRELUDE: &str = r#"
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "free" (func $free (param i64)))
  (import "extism:host/env" "length" (func $length (param i64) (result i64)))
  (import "extism:host/env" "length_unsafe" (func $length_unsafe (param i64) (result i64)))
  (import "extism:host/env" "load_u8" (func $load_u8 (param i64) (result i32)))
  (import "extism:host/env" "load_u64" (func $load_u64 (param i64) (result i64)))
  (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
  (import "extism:host/env" "store_u64" (func $store_u64 (param i64 i64)))
  (import "extism:host/env" "input_length" (func $input_length (result i64)))
  (import "extism:host/env" "input_load_u8" (func $input_load_u8 (param i64) (result i32)))
  (import "extism:host/env" "input_load_u64" (func $input_load_u64 (param i64) (result i64)))
  (import "extism:host/env" "input_offset" (func $input_offset (result i64)))
  (import "extism:host/env" "input_set" (func $input_set (param i64 i64)))
  (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
  (import "extism:host/env" "output_length" (func $output_length (result i64)))
  (import "extism:host/env" "output_offset" (func $output_offset (result i64)))
  (import "extism:host/env" "error_set" (func $error_set (param i64)))
  (import "extism:host/env" "error_get" (func $error_get (result i64)))
  (import "extism:host/env" "reset" (func $reset))
  (import "extism:host/env" "memory_bytes" (func $memory_bytes (result i64)))
  (import "extism:host/env" "config_get" (func $config_get (param i64) (result i64)))
  (import "extism:host/env" "var_get" (func $var_get (param i64) (result i64)))
  (import "extism:host/env" "var_set" (func $var_set (param i64 i64)))
  (import "extism:host/env" "http_request" (func $http_request (param i64 i64) (result i64)))
  (import "extism:host/env" "http_status_code" (func $http_status_code (result i32)))
  (import "extism:host/env" "http_headers" (func $http_headers (result i64)))
  (import "extism:host/env" "log_trace" (func $log_trace (param i64)))
  (import "extism:host/env" "log_debug" (func $log_debug (param i64)))
  (import "extism:host/env" "log_info" (func $log_info (param i64)))
  (import "extism:host/env" "log_warn" (func $log_warn (param i64)))
  (import "extism:host/env" "log_error" (func $log_error (param i64)))
  (import "extism:host/env" "get_log_level" (func $get_log_level (result i32)))
  (memory (export "memory") 1)

  ;; linear [ptr, ptr+len) -> a new kernel block
  (func $k (param $ptr i32) (param $len i32) (result i64)
    (local $h i64) (local $i i32)
    (local.set $h (call $alloc (i64.extend_i32_u (local.get $len))))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
      (call $store_u8 (i64.add (local.get $h) (i64.extend_i32_u (local.get $i)))
                      (i32.load8_u (i32.add (local.get $ptr) (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (local.get $h))

  ;; output a kernel block
  (func $out (param $h i64) (call $output_set (local.get $h) (call $length (local.get $h))))

  ;; the input, copied with input_load_u64/_u8 into a block made with store_u64/_u8
  (func $copy_input (result i64)
    (local $h i64) (local $len i64) (local $i i64)
    (local.set $len (call $input_length))
    (local.set $h (call $alloc (local.get $len)))
    (block $done (loop $next
      (br_if $done (i64.gt_u (i64.add (local.get $i) (i64.const 8)) (local.get $len)))
      (call $store_u64 (i64.add (local.get $h) (local.get $i)) (call $input_load_u64 (local.get $i)))
      (local.set $i (i64.add (local.get $i) (i64.const 8)))
      (br $next)))
    (block $done (loop $next
      (br_if $done (i64.ge_u (local.get $i) (local.get $len)))
      (call $store_u8 (i64.add (local.get $h) (local.get $i)) (call $input_load_u8 (local.get $i)))
      (local.set $i (i64.add (local.get $i) (i64.const 1)))
      (br $next)))
    (local.get $h))

  ;; a fresh block holding the input (input_offset is a real block)
  (func $input_block (result i64) (call $copy_input))
"#;

/// A module made of the prelude and `body`; `(import` lines of `body` are moved
/// first, as wasm requires imports before functions.
pub fn module(body: &str) -> Vec<u8> {
    wat::parse_str(source(body)).unwrap()
}

pub fn source(body: &str) -> String {
    let (imports, rest): (Vec<&str>, Vec<&str>) = body
        .lines()
        .partition(|l| l.trim_start().starts_with("(import"));
    format!(
        "(module {} {PRELUDE} {})",
        imports.join("\n"),
        rest.join("\n")
    )
}

pub fn builder(
    engine: &Engine,
    body: &str,
    manifest: impl FnOnce(Manifest) -> Manifest,
) -> PluginBuilder {
    Plugin::builder(engine, manifest(Manifest::new(Wasm::data(module(body)))))
}

pub fn plugin(body: &str) -> Plugin {
    builder(&engine(), body, |m| m.with_timeout_ms(5_000))
        .build()
        .unwrap()
}

pub type Logs = Arc<Mutex<Vec<(LogLevel, String)>>>;

/// A logger that keeps what it is given.
pub fn capture() -> (Logs, impl Fn(LogLevel, &str) + Send + Sync + 'static) {
    let logs = Logs::default();
    let sink = logs.clone();
    (logs, move |level: LogLevel, msg: &str| {
        sink.lock().unwrap().push((level, msg.to_string()))
    })
}
