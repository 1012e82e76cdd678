//! The GitHub Actions workflow users adopt: it must lint clean with
//! actionlint, its matrix must have the shape the workflow reads, and a
//! workflow that names a language the repo lacks must be caught.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn workflow() -> PathBuf {
    repo().join(".github/workflows/conformance.yml")
}

/// actionlint from PATH, or built once into target/tools from the Go module
/// (its PyPI wrapper downloads a binary at install time, which a machine
/// without general internet cannot do).
fn actionlint() -> PathBuf {
    if let Ok(found) = which_actionlint() {
        return found;
    }
    let tools = Path::new(env!("CARGO_TARGET_TMPDIR")).join("tools");
    let binary = tools.join("actionlint");
    if !binary.is_file() {
        let out = Command::new("go")
            .args([
                "install",
                "github.com/rhysd/actionlint/cmd/actionlint@v1.7.12",
            ])
            .env("GOBIN", &tools)
            .output()
            .expect("run `go install` for actionlint: is Go on PATH?");
        assert!(
            out.status.success(),
            "cannot install actionlint; install it by hand with \
             `go install github.com/rhysd/actionlint/cmd/actionlint@v1.7.12`:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    binary
}

fn which_actionlint() -> Result<PathBuf, ()> {
    let path = std::env::var_os("PATH").ok_or(())?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("actionlint"))
        .find(|p| p.is_file())
        .ok_or(())
}

#[test]
fn workflow_passes_actionlint() {
    let out = Command::new(actionlint())
        .arg("-no-color")
        .arg(workflow())
        .output()
        .expect("run actionlint");
    assert!(
        out.status.success(),
        "actionlint found problems:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn xtask(args: &[&str]) -> common::Run {
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("--root")
        .arg(repo())
        .args(args)
        .env_remove("POLYPLUG_ROOT")
        .output()
        .expect("run xtask");
    common::Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn matrix_has_a_job_per_language_os_and_shard() {
    let run = xtask(&["ci-matrix", "--shards", "3"]);
    assert!(run.ok(), "{}", run.show());
    let matrix: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    let jobs = matrix["include"].as_array().expect("include: [...]");
    for lang in ["rust", "go", "js", "assemblyscript"] {
        let mine: Vec<_> = jobs.iter().filter(|j| j["lang"] == lang).collect();
        let linux: Vec<_> = mine.iter().filter(|j| j["os"] == "ubuntu-latest").collect();
        let shards: Vec<_> = linux.iter().map(|j| j["shard"].as_str().unwrap()).collect();
        assert_eq!(shards, ["1/3", "2/3", "3/3"], "{lang}: {matrix:#}");
        for job in &mine {
            assert!(job["plugins"].as_u64().unwrap() > 0, "{job}");
            assert!(job["apt"].is_string(), "{job}");
        }
    }
    // Only languages whose toolchain runs on macOS get macOS jobs.
    assert!(jobs
        .iter()
        .any(|j| j["lang"] == "go" && j["os"] == "macos-latest"));
    assert!(!jobs
        .iter()
        .any(|j| j["lang"] == "js" && j["os"] == "macos-latest"));
    let assemblyscript = jobs.iter().find(|j| j["lang"] == "assemblyscript").unwrap();
    assert!(
        assemblyscript["node_version"].is_string(),
        "{assemblyscript}"
    );
    let rust = jobs.iter().find(|j| j["lang"] == "rust").unwrap();
    assert!(rust["rust_targets"]
        .as_str()
        .unwrap()
        .contains("wasm32-wasip1"));
}

#[test]
fn the_shipped_workflow_names_only_languages_the_repo_has() {
    let run = xtask(&["ci-matrix", "--check", workflow().to_str().unwrap()]);
    assert!(run.ok(), "{}", run.show());
}

#[test]
fn a_workflow_for_a_missing_language_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("conformance.yml");
    let text = std::fs::read_to_string(workflow())
        .unwrap()
        .replace("if: matrix.lang == 'go'\n", "if: matrix.lang == 'python'\n");
    std::fs::write(&bad, text).unwrap();
    let run = xtask(&["ci-matrix", "--check", bad.to_str().unwrap()]);
    assert!(!run.ok(), "{}", run.show());
    assert!(run.stderr.contains("`python`"), "{}", run.show());
}
