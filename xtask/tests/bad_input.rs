//! Bad input gets one clear message naming the thing and the fix, a non-zero
//! exit, no panic and no half-written manifest.

mod common;

use common::{Root, ADD_GO, ADD_RS};

fn assert_refused(run: &common::Run, needles: &[&str]) {
    assert_eq!(run.code, Some(1), "{}", run.show());
    assert!(!run.stderr.contains("panicked"), "{}", run.show());
    for needle in needles {
        assert!(
            run.stderr.contains(needle),
            "expected {needle:?}\n{}",
            run.show()
        );
    }
}

fn root_with_plugins() -> Root {
    let root = Root::new();
    root.rust_plugin("add", ADD_RS);
    root.go_plugin("add", ADD_GO);
    root
}

#[test]
fn unknown_lang_and_spec() {
    let root = root_with_plugins();
    assert_refused(
        &root.xtask(&["build-all", "--lang", "cobol"]),
        &["unknown language `cobol`", "rust, go, js, assemblyscript"],
    );
    assert_refused(
        &root.xtask(&["build-all", "--spec", "nope"]),
        &["unknown spec `nope`", "known: add"],
    );
    assert_refused(
        &root.xtask(&["conformance", "--lang", "cobol"]),
        &["unknown language `cobol`"],
    );
    assert!(!root.path().join("target/plugins/manifest.json").exists());
}

#[test]
fn a_plugin_crate_without_metadata() {
    let root = root_with_plugins();
    root.rust_crate("nometa", None, ADD_RS);
    assert_refused(
        &root.xtask(&["build-all"]),
        &[
            "plugin crate `nometa`",
            "[package.metadata.polyplug]",
            "spec = \"nometa\"",
        ],
    );
    assert!(!root.path().join("target/plugins/manifest.json").exists());
}

#[test]
fn a_rust_target_that_is_not_wasm() {
    let root = root_with_plugins();
    root.rust_crate(
        "native",
        Some("spec = \"native\"\ntarget = \"x86_64-unknown-linux-gnu\""),
        ADD_RS,
    );
    assert_refused(
        &root.xtask(&["build-all"]),
        &[
            "plugin crate `native`",
            "wasm32-unknown-unknown, wasm32-wasip1",
        ],
    );
}

#[test]
fn a_go_folder_without_a_main_package() {
    let root = root_with_plugins();
    root.write(
        "plugins-tinygo/helpers/helpers.go",
        "package helpers\n\nfunc Double(x int) int { return 2 * x }\n",
    );
    assert_refused(
        &root.xtask(&["build-all"]),
        &["plugins-tinygo/helpers", "no `package main`"],
    );
    // Shared Go code under internal/ is a library, not a plugin.
    std::fs::rename(
        root.path().join("plugins-tinygo/helpers"),
        root.path().join("plugins-tinygo/internal"),
    )
    .unwrap();
    let run = root.xtask(&["build-all", "--lang", "go"]);
    assert!(run.ok(), "{}", run.show());
}

#[test]
fn an_unwritable_target_dir() {
    let root = root_with_plugins();
    // Root ignores permission bits, so make `target` a file: nothing can go under it.
    root.write("target", "not a folder");
    assert_refused(
        &root.xtask(&["build-all"]),
        &["cannot create", "target", "writable"],
    );
}

#[test]
fn a_root_that_does_not_exist() {
    let root = Root::new();
    let missing = root.path().join("nowhere");
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("--root")
        .arg(&missing)
        .arg("doctor")
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("is not a folder") && stderr.contains("POLYPLUG_ROOT"),
        "{stderr}"
    );
}

#[test]
fn a_missing_toolchain_names_the_fix() {
    let root = root_with_plugins();
    // A PATH without go or tinygo.
    let run = root.xtask_with(&["build-all", "--lang", "go"], |cmd| {
        cmd.env("PATH", "/usr/bin:/bin");
    });
    assert_refused(
        &run,
        &[
            "toolchains missing",
            "go: no `go` or `tinygo` on PATH",
            "Go >= 1.24",
        ],
    );
    assert!(!root.path().join("target/plugins/manifest.json").exists());
}

/// The project's own npm package (exact versions and lock), so the temporary
/// root installs the same compiler as the real one, and common.ts, which
/// holds the abort hook every plugin is built with.
fn assemblyscript_package(root: &Root) {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins-assemblyscript");
    for file in ["package.json", "package-lock.json", "common.ts"] {
        let text = std::fs::read_to_string(repo.join(file)).unwrap();
        root.write(&format!("plugins-assemblyscript/{file}"), &text);
    }
}

/// What every plugin's index.ts needs: the module that holds the abort hook.
const IMPORT_COMMON: &str = "import \"../common\";\n";

#[test]
fn a_missing_node_names_the_fix() {
    let root = Root::new();
    assemblyscript_package(&root);
    root.write(
        "plugins-assemblyscript/add/index.ts",
        &format!(
            "export function add(a: i32, b: i32): i32 {{\n  return a + b;\n}}\n{IMPORT_COMMON}"
        ),
    );
    let run = root.xtask_with(&["build-all", "--lang", "assemblyscript"], |cmd| {
        cmd.env("PATH", "/nonexistent");
    });
    assert_refused(
        &run,
        &[
            "toolchains missing",
            "no `node` and `npm` on PATH",
            "apt-get install -y nodejs npm",
        ],
    );
    assert!(!root.path().join("target/plugins/manifest.json").exists());
    let doctor = root.xtask_with(&["doctor", "--json"], |cmd| {
        cmd.env("PATH", "/nonexistent");
    });
    let report: serde_json::Value = serde_json::from_str(&doctor.stdout).unwrap();
    let entry = &report["languages"]["assemblyscript"];
    assert_eq!(entry["ready"], false, "{entry:#}");
    assert!(
        entry["hint"].as_str().unwrap().contains("nodejs npm"),
        "{entry:#}"
    );
}

#[test]
fn an_assemblyscript_compile_error_fails_that_plugin_only() {
    let root = Root::new();
    assemblyscript_package(&root);
    root.write(
        "plugins-assemblyscript/add/index.ts",
        &format!(
            "export function add(a: i32, b: i32): i32 {{\n  return a + b;\n}}\n{IMPORT_COMMON}"
        ),
    );
    root.write(
        "plugins-assemblyscript/broken/index.ts",
        &format!(
            "export function add(a: i32): i32 {{\n  return \"not a number\";\n}}\n{IMPORT_COMMON}"
        ),
    );
    let run = root.xtask(&["build-all", "--lang", "assemblyscript"]);
    assert_refused(
        &run,
        &[
            "assemblyscript/broken failed",
            "plugins-assemblyscript/broken/index.ts:2:10: ERROR TS2322",
            "is not assignable to type 'i32'",
        ],
    );
    assert!(
        root.artifact("assemblyscript", "add").is_file(),
        "{}",
        run.show()
    );
    assert!(!root.artifact("assemblyscript", "broken").exists());
}
