//! Tidy checks run as tests, so `cargo test --workspace` is the one gate:
//! the workspace, the Rust plugins and the Go plugins are formatted.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn run(cmd: &mut Command, fix: &str) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && listed.trim().is_empty(),
        "{cmd:?} found unformatted code; fix it with `{fix}`:\n{listed}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn workspace_is_formatted() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    run(
        Command::new(&cargo)
            .current_dir(repo())
            .args(["fmt", "--all", "--check"]),
        "cargo fmt --all",
    );
}

#[test]
fn rust_plugins_are_formatted() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    run(
        Command::new(&cargo)
            .current_dir(repo().join("plugins-rust"))
            .args(["fmt", "--all", "--check"]),
        "cd plugins-rust && cargo fmt --all",
    );
}

#[test]
fn go_plugins_are_formatted() {
    run(
        Command::new("gofmt")
            .arg("-l")
            .arg(repo().join("plugins-tinygo")),
        "gofmt -w plugins-tinygo",
    );
}
