//! `polyplug call` end to end: the real binary on WAT-built modules, checking exit
//! codes (0 ok, 1 plugin failed, 2 cannot load / bad flag), stdout and stderr.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const PLUGIN: &str = r#"(module
  (import "extism:host/env" "input_offset" (func $in (result i64)))
  (import "extism:host/env" "input_length" (func $len (result i64)))
  (import "extism:host/env" "output_set" (func $out (param i64 i64)))
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
  (import "extism:host/env" "length" (func $length (param i64) (result i64)))
  (import "extism:host/env" "error_set" (func $error_set (param i64)))
  (import "extism:host/env" "config_get" (func $config_get (param i64) (result i64)))
  (import "extism:host/env" "var_get" (func $var_get (param i64) (result i64)))
  (import "extism:host/env" "var_set" (func $var_set (param i64 i64)))
  (import "extism:host/env" "log_warn" (func $log_warn (param i64)))
  (import "extism:host/env" "log_debug" (func $log_debug (param i64)))
  (import "extism:host/env" "load_u8" (func $load_u8 (param i64) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 1024) "greeting")
  (data (i32.const 1100) "n")
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
  (func (export "echo") (result i32) (call $out (call $in) (call $len)) (i32.const 0))
  (func (export "fail") (result i32) (call $error_set (call $in)) (i32.const 1))
  (func (export "boom") (result i32) unreachable)
  (func (export "spin") (result i32) (loop $l (br $l)) (i32.const 0))
  (func (export "config") (result i32)
    (local $v i64)
    (local.set $v (call $config_get (call $k (i32.const 1024) (i32.const 8))))
    (call $out (local.get $v) (call $length (local.get $v)))
    (i32.const 0))
  (func (export "log") (result i32)
    (call $log_warn (call $k (i32.const 1024) (i32.const 8)))
    (call $log_debug (call $k (i32.const 1100) (i32.const 1)))
    (i32.const 0))
  ;; counts calls in var "n" (one byte, starting at '0')
  (func (export "count") (result i32)
    (local $v i64) (local $n i32) (local $h i64)
    (local.set $v (call $var_get (call $k (i32.const 1100) (i32.const 1))))
    (local.set $n (if (result i32) (i64.eqz (local.get $v)) (then (i32.const 48)) (else (call $load_u8 (local.get $v)))))
    (local.set $h (call $alloc (i64.const 1)))
    (call $store_u8 (local.get $h) (i32.add (local.get $n) (i32.const 1)))
    (call $var_set (call $k (i32.const 1100) (i32.const 1)) (local.get $h))
    (local.set $h (call $alloc (i64.const 1)))
    (call $store_u8 (local.get $h) (i32.add (local.get $n) (i32.const 1)))
    (call $out (local.get $h) (i64.const 1))
    (i32.const 0))
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  ;; a block of 2 bytes, 3 written and output: past its end, as as-pdk's outputString does
  (func (export "overrun") (result i32)
    (local $h i64)
    (local.set $h (call $alloc (i64.const 2)))
    (call $store_u8 (local.get $h) (i32.const 97))
    (call $store_u8 (i64.add (local.get $h) (i64.const 1)) (i32.const 98))
    (call $store_u8 (i64.add (local.get $h) (i64.const 2)) (i32.const 99))
    (call $out (local.get $h) (i64.const 3))
    (i32.const 0))
)"#;

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("plugin.wasm"),
            wat::parse_str(PLUGIN).unwrap(),
        )
        .unwrap();
        Env { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn run(&self, args: &[&str]) -> Output {
        self.run_with_stdin(args, None)
    }

    fn run_with_stdin(&self, args: &[&str], stdin: Option<&[u8]>) -> Output {
        let mut child = Command::new(env!("CARGO_BIN_EXE_polyplug"))
            .args(args)
            .env("POLYPLUG_CACHE_DIR", self.path("cache"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut pipe = child.stdin.take().unwrap();
        if let Some(bytes) = stdin {
            pipe.write_all(bytes).unwrap();
        }
        drop(pipe);
        child.wait_with_output().unwrap()
    }

    fn call(&self, extra: &[&str]) -> Output {
        let wasm = self.path("plugin.wasm");
        let mut args = vec!["call", wasm.to_str().unwrap()];
        args.extend_from_slice(extra);
        self.run(&args)
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[track_caller]
fn assert_exit(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout: {}\nstderr: {}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

#[test]
fn prints_each_output_with_a_newline() {
    let env = Env::new();
    let out = env.call(&["echo", "--input", "Hello"]);
    assert_exit(&out, 0);
    assert_eq!(text(&out.stdout), "Hello\n");

    let out = env.run_with_stdin(
        &[
            "call",
            env.path("plugin.wasm").to_str().unwrap(),
            "echo",
            "--stdin",
        ],
        Some(b"from\0stdin"),
    );
    assert_exit(&out, 0);
    assert_eq!(out.stdout, b"from\0stdin\n");
}

#[test]
fn loop_calls_one_instance_so_vars_persist() {
    let env = Env::new();
    let out = env.call(&["count", "--loop", "3"]);
    assert_exit(&out, 0);
    assert_eq!(text(&out.stdout), "1\n2\n3\n");
}

#[test]
fn config_and_manifest_flags() {
    let env = Env::new();
    let out = env.call(&["config", "--config", "greeting=Howdy"]);
    assert_exit(&out, 0);
    assert_eq!(text(&out.stdout), "Howdy\n");

    std::fs::write(
        env.path("m.json"),
        r#"{"config":{"greeting":"from manifest"}}"#,
    )
    .unwrap();
    let out = env.call(&["config", "--manifest", env.path("m.json").to_str().unwrap()]);
    assert_exit(&out, 0);
    assert_eq!(text(&out.stdout), "from manifest\n");

    // A manifest given as WASM, with a path relative to the manifest itself.
    std::fs::write(
        env.path("full.json"),
        r#"{"wasm":[{"path":"plugin.wasm"}],"config":{"greeting":"full"}}"#,
    )
    .unwrap();
    let out = env.run(&["call", env.path("full.json").to_str().unwrap(), "config"]);
    assert_exit(&out, 0);
    assert_eq!(text(&out.stdout), "full\n");
}

#[test]
fn plugin_failures_exit_1_with_the_message() {
    let env = Env::new();
    let out = env.call(&["fail", "--input", "failed: x"]);
    assert_exit(&out, 1);
    assert!(
        text(&out.stderr).contains("plugin-error: failed: x"),
        "{}",
        text(&out.stderr)
    );
    assert!(out.stdout.is_empty());

    let out = env.call(&["boom"]);
    assert_exit(&out, 1);
    assert!(text(&out.stderr).contains("trap"), "{}", text(&out.stderr));

    let out = env.call(&["spin", "--timeout", "100"]);
    assert_exit(&out, 1);
    assert!(
        text(&out.stderr).contains("timeout"),
        "{}",
        text(&out.stderr)
    );

    let out = env.call(&["spin", "--fuel", "10000"]);
    assert_exit(&out, 1);
    assert!(
        text(&out.stderr).contains("out-of-fuel"),
        "{}",
        text(&out.stderr)
    );

    let out = env.call(&["nope"]);
    assert_exit(&out, 1);
    assert!(
        text(&out.stderr).contains("missing-export"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn load_failures_and_bad_flags_exit_2() {
    let env = Env::new();
    std::fs::write(env.path("junk.wasm"), b"not wasm at all").unwrap();
    let out = env.run(&["call", env.path("junk.wasm").to_str().unwrap(), "echo"]);
    assert_exit(&out, 2);
    assert!(
        text(&out.stderr).contains("invalid-module")
            && text(&out.stderr).contains("not a wasm module (no \\0asm header)"),
        "{}",
        text(&out.stderr)
    );

    // A truncated real module is reported as wasm that does not compile.
    std::fs::write(env.path("cut.wasm"), b"\0asm\x01\0\0\0\x05").unwrap();
    let out = env.run(&["call", env.path("cut.wasm").to_str().unwrap(), "echo"]);
    assert_exit(&out, 2);
    assert!(
        text(&out.stderr).contains("the wasm module does not compile"),
        "{}",
        text(&out.stderr)
    );

    let out = env.run(&["call", env.path("missing.wasm").to_str().unwrap(), "echo"]);
    assert_exit(&out, 2);
    assert!(
        text(&out.stderr).contains("missing.wasm"),
        "{}",
        text(&out.stderr)
    );

    let out = env.call(&["echo", "--no-such-flag"]);
    assert_exit(&out, 2);

    let out = env.call(&["echo", "--config", "novalue"]);
    assert_exit(&out, 2);
    assert!(
        text(&out.stderr).contains("KEY=VALUE"),
        "{}",
        text(&out.stderr)
    );

    let out = env.call(&["echo", "--log-level", "loud"]);
    assert_exit(&out, 2);

    std::fs::write(env.path("bad.json"), r#"{"wasm":[],"allowed_host":["x"]}"#).unwrap();
    let out = env.call(&["echo", "--manifest", env.path("bad.json").to_str().unwrap()]);
    assert_exit(&out, 2);
    assert!(
        text(&out.stderr).contains("allowed_host"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn logs_go_to_stderr_by_level() {
    let env = Env::new();
    let out = env.call(&["log"]);
    assert_exit(&out, 0);
    assert_eq!(text(&out.stderr), "[warn] greeting\n");
    assert_eq!(text(&out.stdout), "\n");

    let out = env.call(&["log", "--log-level", "debug"]);
    assert_eq!(text(&out.stderr), "[warn] greeting\n[debug] n\n");
    let out = env.call(&["log", "--log-level", "error"]);
    assert_eq!(text(&out.stderr), "");
}

#[test]
fn numeric_exports_take_args() {
    let env = Env::new();
    let out = env.call(&["add", "--args", "1,2"]);
    assert_exit(&out, 0);
    assert_eq!(text(&out.stdout), "3\n");

    let out = env.call(&["add", "--args", "2147483647,1"]);
    assert_eq!(text(&out.stdout), "-2147483648\n");

    let out = env.call(&["add", "--args", "1"]);
    assert_exit(&out, 2);
    let out = env.call(&["add", "--args", "x,1"]);
    assert_exit(&out, 2);
}

#[test]
fn the_disk_cache_is_used_across_runs() {
    let env = Env::new();
    assert_exit(&env.call(&["echo", "--input", "a"]), 0);
    let entries = std::fs::read_dir(env.path("cache")).unwrap().count();
    // Only the plugin's: the kernel accessor module is compiled only for a
    // plugin whose accessors are not inlined.
    assert_eq!(entries, 1, "the plugin's compiled module");
    let out = env.call(&["echo", "--input", "b"]);
    assert_exit(&out, 0);
    assert_eq!(text(&out.stdout), "b\n");
    assert!(Path::new(&env.path("cache")).is_dir());
}

#[test]
fn strict_memory_warns_about_writes_past_a_block_and_keeps_the_result() {
    let env = Env::new();
    // As on the official runtime: the bytes land and the output is what was set.
    let quiet = env.call(&["overrun"]);
    assert_exit(&quiet, 0);
    assert_eq!(text(&quiet.stdout), "abc\n");
    assert!(
        !text(&quiet.stderr).contains("warning"),
        "{}",
        text(&quiet.stderr)
    );

    let strict = env.call(&["overrun", "--strict-memory"]);
    assert_exit(&strict, 0);
    assert_eq!(text(&strict.stdout), "abc\n");
    let err = text(&strict.stderr);
    assert!(
        err.contains("warning: `overrun`: store_u8 at 66 (+1 bytes) starts right after the end of block 64 (2 bytes)"),
        "{err}"
    );
    assert!(
        err.contains(
            "warning: `overrun`: output_set at 64 (+3 bytes) runs 1 bytes past block 64 (2 bytes)"
        ),
        "{err}"
    );
}

#[test]
fn a_corrupt_cache_entry_is_recompiled_with_a_one_line_notice() {
    let env = Env::new();
    assert_exit(&env.call(&["echo", "--input", "first"]), 0);
    // Every entry the first run cached (the plugin's) is cut short.
    let entries: Vec<PathBuf> = std::fs::read_dir(env.path("cache"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "cwasm"))
        .collect();
    assert!(!entries.is_empty(), "the first run cached nothing");
    for entry in &entries {
        let bytes = std::fs::read(entry).unwrap();
        std::fs::write(entry, &bytes[..bytes.len() / 2]).unwrap();
    }
    let out = env.call(&["echo", "--input", "second"]);
    assert_exit(&out, 0);
    assert_eq!(text(&out.stdout), "second\n");
    let notices: Vec<String> = text(&out.stderr)
        .lines()
        .filter(|l| l.contains("ignoring the cached compiled module"))
        .map(str::to_owned)
        .collect();
    assert_eq!(
        notices.len(),
        entries.len(),
        "one line per bad entry: {notices:?}"
    );
    assert!(notices[0].contains("compiling it again"), "{notices:?}");

    // Replaced: the next run loads it quietly.
    let out = env.call(&["echo", "--input", "third"]);
    assert_exit(&out, 0);
    assert!(
        !text(&out.stderr).contains("ignoring"),
        "{}",
        text(&out.stderr)
    );
}
