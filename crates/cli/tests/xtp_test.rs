//! `polyplug test`: xtp-test test plugins against plugins. The count-vowels
//! test (tests-plugins/, written with the xtp-test crate) runs against every
//! language's artifact; small WAT tests cover what a test can get wrong.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn polyplug(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_polyplug"))
        .arg("test")
        .args(args)
        .output()
        .expect("cannot run polyplug")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn cargo(dir: &Path, args: &[&str]) {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", root().join("target/tests-plugins"))
        .env_remove("RUSTFLAGS")
        .status()
        .expect("cannot run cargo");
    assert!(
        status.success(),
        "cargo {args:?} failed in {}",
        dir.display()
    );
}

/// The xtp-test count-vowels test plugin, built from tests-plugins/.
fn count_vowels_test() -> PathBuf {
    cargo(
        &root().join("tests-plugins"),
        &[
            "build",
            "--release",
            "--target",
            "wasm32-unknown-unknown",
            "-q",
        ],
    );
    root().join("target/tests-plugins/wasm32-unknown-unknown/release/count_vowels_test.wasm")
}

#[test]
fn the_count_vowels_test_passes_for_every_language_and_a_wrong_assertion_fails() {
    let test = count_vowels_test();
    let status = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(["xtask", "build-all"])
        .current_dir(root())
        .status()
        .unwrap();
    assert!(status.success(), "cargo xtask build-all failed");
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(root().join("target/plugins/manifest.json")).unwrap(),
    )
    .unwrap();
    let mut tested = 0;
    for a in manifest["artifacts"].as_array().unwrap() {
        if a["spec"] != "count-vowels" {
            continue;
        }
        let plugin = root().join(a["path"].as_str().unwrap());
        let out = polyplug(&[plugin.to_str().unwrap(), "--with", test.to_str().unwrap()]);
        let shown = text(&out);
        assert_eq!(out.status.code(), Some(0), "{}: {shown}", a["lang"]);
        assert!(
            shown.contains("PASS  [the running total grows across calls] call 3 total"),
            "{shown}"
        );
        assert!(shown.contains("11 passed, 0 failed"), "{shown}");
        tested += 1;
    }
    assert_eq!(
        tested,
        common::languages_implementing(&root(), &manifest, "count-vowels")
    );

    let plugin = root().join(manifest["artifacts"][0]["path"].as_str().unwrap());
    let plugin = plugin.with_file_name("count-vowels.wasm");
    let args = [
        plugin.to_str().unwrap(),
        "--with",
        test.to_str().unwrap(),
        "--mock-input-data",
        "education=9",
    ];
    let out = polyplug(&args);
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(1), "{shown}");
    assert!(
        shown.contains("FAIL  mock input: \"education\" has 9 vowels: Expected 5 == 9"),
        "{shown}"
    );
    assert!(shown.contains("11 passed, 1 failed"), "{shown}");

    let mut junit_args = args.to_vec();
    junit_args.extend(["--format", "junit"]);
    let out = polyplug(&junit_args);
    let xml = String::from_utf8_lossy(&out.stdout);
    assert!(xml.contains(r#"failures="1""#), "{xml}");
    assert!(
        xml.contains(r#"<failure message="Expected 5 == 9"/>"#),
        "{xml}"
    );
}

const HARNESS: &str = r#"
  (import "xtp:test/harness" "call" (func $call (param i64 i64) (result i64)))
  (import "xtp:test/harness" "assert" (func $assert (param i64 i64 i64)))
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
  (import "extism:host/env" "length" (func $length (param i64) (result i64)))
  (import "extism:host/env" "load_u8" (func $load_u8 (param i64) (result i32)))
  (memory (export "memory") 1)
  (func $str (param $ptr i32) (param $len i32) (result i64)
    (local $h i64) (local $i i32)
    (local.set $h (call $alloc (i64.extend_i32_u (local.get $len))))
    (block $done (loop $copy
      (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
      (call $store_u8 (i64.add (local.get $h) (i64.extend_i32_u (local.get $i)))
                      (i32.load8_u (i32.add (local.get $ptr) (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $copy)))
    (local.get $h))
"#;

/// A module with the harness imports, a `$str` helper and `body`.
fn wat_file(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(format!("{name}.wasm"));
    let wat = format!("(module {HARNESS} {body})");
    std::fs::write(&path, wat::parse_str(&wat).unwrap()).unwrap();
    path
}

/// A plugin under test: `greet` asks the host for a greeting; `spin` loops.
fn plugin_under_test(dir: &Path) -> PathBuf {
    let wat = r#"(module
      (import "extism:host/env" "input_offset" (func $in (result i64)))
      (import "extism:host/env" "input_length" (func $len (result i64)))
      (import "extism:host/env" "output_set" (func $out (param i64 i64)))
      (import "extism:host/env" "length" (func $length (param i64) (result i64)))
      (import "extism:host/user" "greeting" (func $greeting (param i64) (result i64)))
      (memory (export "memory") 1)
      (func (export "greet") (result i32)
        (local $h i64)
        (local.set $h (call $greeting (call $in)))
        (call $out (local.get $h) (call $length (local.get $h)))
        (i32.const 0))
      (func (export "spin") (result i32) (loop $l (br $l)) (i32.const 0)))"#;
    let path = dir.join("plugin.wasm");
    std::fs::write(&path, wat::parse_str(wat).unwrap()).unwrap();
    path
}

/// A mock host whose `greeting` answers its input back.
fn mock_host(dir: &Path, export: &str) -> PathBuf {
    let wat = format!(
        r#"(module
      (import "extism:host/env" "input_offset" (func $in (result i64)))
      (import "extism:host/env" "input_length" (func $len (result i64)))
      (import "extism:host/env" "output_set" (func $out (param i64 i64)))
      (memory (export "memory") 1)
      (func (export "{export}") (result i32) (call $out (call $in) (call $len)) (i32.const 0)))"#
    );
    let path = dir.join(format!("host-{export}.wasm"));
    std::fs::write(&path, wat::parse_str(wat).unwrap()).unwrap();
    path
}

#[test]
fn a_mock_host_stands_in_for_host_functions() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = plugin_under_test(dir.path());
    // call("greet", "hi") and assert its output is 2 bytes long.
    let test = wat_file(
        dir.path(),
        "test",
        r#"(data (i32.const 0) "greet") (data (i32.const 8) "hi") (data (i32.const 16) "echoes") (data (i32.const 32) "why")
        (func (export "test") (result i32)
          (local $out i64)
          (local.set $out (call $call (call $str (i32.const 0) (i32.const 5)) (call $str (i32.const 8) (i32.const 2))))
          (call $assert (call $str (i32.const 16) (i32.const 6))
                        (i64.extend_i32_u (i64.eq (call $length (local.get $out)) (i64.const 2)))
                        (call $str (i32.const 32) (i32.const 3)))
          (i32.const 0))"#,
    );
    let host = mock_host(dir.path(), "greeting");
    let args = [
        plugin.to_str().unwrap(),
        "--with",
        test.to_str().unwrap(),
        "--mock-host",
        host.to_str().unwrap(),
    ];
    let out = polyplug(&args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("PASS  echoes"), "{}", text(&out));

    // Without a mock host, or with one that lacks the import: named, exit 2.
    let out = polyplug(&args[..3]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("`extism:host/user`.`greeting`") && text(&out).contains("--mock-host"),
        "{}",
        text(&out)
    );
    let wrong = mock_host(dir.path(), "salutation");
    let out = polyplug(&[
        args[0],
        args[1],
        args[2],
        "--mock-host",
        wrong.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("imports `extism:host/user`.`greeting`, which the mock host")
            && text(&out).contains("salutation"),
        "{}",
        text(&out)
    );
}

#[test]
fn bad_tests_say_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = plugin_under_test(dir.path());
    let host = mock_host(dir.path(), "greeting");
    let run = |test: &Path, extra: &[&str]| {
        let mut args = vec![plugin.to_str().unwrap(), "--with", test.to_str().unwrap()];
        args.extend(["--mock-host", host.to_str().unwrap()]);
        args.extend(extra);
        let out = polyplug(&args);
        (out.status.code(), text(&out))
    };

    let no_test = wat_file(
        dir.path(),
        "no-test",
        r#"(func (export "check") (result i32) (i32.const 0))"#,
    );
    let (code, shown) = run(&no_test, &[]);
    assert_eq!(code, Some(2), "{shown}");
    assert!(
        shown.contains("has no export `test`") && shown.contains("check"),
        "{shown}"
    );

    let calls_missing = wat_file(
        dir.path(),
        "calls-missing",
        r#"(data (i32.const 0) "shout")
        (func (export "test") (result i32)
          (drop (call $call (call $str (i32.const 0) (i32.const 5)) (call $str (i32.const 0) (i32.const 0))))
          (i32.const 0))"#,
    );
    let (code, shown) = run(&calls_missing, &[]);
    assert_eq!(code, Some(1), "{shown}");
    assert!(
        shown.contains("the test calls `shout`, which the plugin under test does not export"),
        "{shown}"
    );

    let loops = wat_file(
        dir.path(),
        "loops",
        r#"(func (export "test") (result i32) (loop $l (br $l)) (i32.const 0))"#,
    );
    let (code, shown) = run(&loops, &["--test-timeout", "300"]);
    assert_eq!(code, Some(1), "{shown}");
    assert!(shown.contains("timeout"), "{shown}");

    // The plugin under test loops: its call times out, the test goes on and fails.
    let calls_spin = wat_file(
        dir.path(),
        "calls-spin",
        r#"(data (i32.const 0) "spin") (data (i32.const 8) "went on")
        (func (export "test") (result i32)
          (drop (call $call (call $str (i32.const 0) (i32.const 4)) (call $str (i32.const 0) (i32.const 0))))
          (call $assert (call $str (i32.const 8) (i32.const 7)) (i64.const 1) (call $str (i32.const 0) (i32.const 0)))
          (i32.const 0))"#,
    );
    let (code, shown) = run(&calls_spin, &["--timeout", "300"]);
    assert_eq!(code, Some(1), "{shown}");
    assert!(
        shown.contains("PASS  went on") && shown.contains("call `spin` failed: timeout"),
        "{shown}"
    );

    let asserts_nothing = wat_file(
        dir.path(),
        "nothing",
        r#"(func (export "test") (result i32) (i32.const 0))"#,
    );
    let (code, shown) = run(&asserts_nothing, &[]);
    assert_eq!(code, Some(1), "{shown}");
    assert!(shown.contains("the test made no assertions"), "{shown}");
}
