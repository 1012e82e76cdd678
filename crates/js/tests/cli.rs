//! The `polyplug-js` binary as xtask calls it: exit status, messages that
//! point into the plugin folder, and no artifact left behind on failure.

mod common;

use std::path::Path;
use std::process::Command;

/// A copy of the engine in a folder of the test's own (tests run in parallel),
/// removed with the folder.
fn engine_path(test: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = common::temp_dir(&format!("{test}-engine"));
    let path = dir.path().join("engine.wasm");
    std::fs::write(&path, common::engine()).unwrap();
    (dir, path)
}

/// `polyplug-js build DIR -o OUT --engine ENGINE`.
fn build(dir: &Path, out: &Path, engine: &Path) -> std::process::Output {
    polyplug_js(&[
        "build".as_ref(),
        dir.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
        "--engine".as_ref(),
        engine.as_os_str(),
    ])
}

fn polyplug_js(args: &[&std::ffi::OsStr]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_polyplug-js"))
        .args(args)
        .output()
        .expect("runs polyplug-js")
}

#[test]
fn build_writes_the_artifact() {
    let out_dir = common::temp_dir("cli-ok");
    let out = out_dir.path().join("nested/hello.wasm");
    let dir = common::repo().join("plugins-js/hello");
    let (_engine_dir, engine) = engine_path("cli-ok");
    let run = build(&dir, &out, &engine);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let wasm = std::fs::read(&out).expect("artifact written");
    assert_eq!(&wasm[..4], b"\0asm");
}

#[test]
fn syntax_error_points_into_the_plugin_folder_and_writes_nothing() {
    let tmp = common::plugin_dir(
        "cli-bad",
        "function greet() {\n  let = ;\n}\nmodule.exports = { greet };\n",
        "declare module \"main\" { export function greet(): I32; }\n",
    );
    let dir = tmp.path();
    let out = dir.join("out.wasm");
    let (_engine_dir, engine) = engine_path("cli-bad");
    let run = build(dir, &out, &engine);
    assert!(!run.status.success());
    let stderr = String::from_utf8_lossy(&run.stderr);
    let want = format!("error: {}:2:", dir.join("index.js").display());
    assert!(
        stderr.starts_with(&want),
        "expected `{want}...`, got: {stderr}"
    );
    assert!(stderr.contains("SyntaxError"), "{stderr}");
    assert!(
        !out.exists() && !dir.join("out.wasm.tmp").exists(),
        "a failed build left a file"
    );
}

#[test]
fn usage_errors_say_what_is_missing() {
    let run = polyplug_js(&["build".as_ref(), "somewhere".as_ref()]);
    assert!(!run.status.success());
    assert!(String::from_utf8_lossy(&run.stderr).contains("`build` needs `-o <out.wasm>`"));
    let run = polyplug_js(&["frobnicate".as_ref()]);
    assert!(!run.status.success());
    assert!(String::from_utf8_lossy(&run.stderr).contains("unknown command `frobnicate`"));
}

#[test]
fn version_names_the_engine() {
    let run = polyplug_js(&["--version".as_ref()]);
    assert!(run.status.success());
    assert!(String::from_utf8_lossy(&run.stdout).starts_with("polyplug-js "));
}
