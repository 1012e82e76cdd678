//! The workspace's own binaries that xtask drives (the suite runner and the
//! built-in JS compiler): `cargo build --workspace --bin ... --bin ...`. With
//! `--workspace`, cargo resolves features over every member, as `cargo test
//! --workspace` does, so wasmtime and its dependencies are the tests' builds
//! (`--package` would resolve fewer and compile wasmtime a second time); naming
//! the two binaries keeps a bare machine from compiling the rest (the CLI's
//! HTTP server, the benchmarks) before its first conformance run.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::{bail, Context, Result};

use crate::project::Project;

#[derive(Clone)]
pub struct Tools {
    pub conformance: PathBuf,
    pub js: PathBuf,
}

/// The workspace holding crates/: the project's own, or else the checkout
/// xtask was built from (a --root holding only plugins, as in tests).
pub fn workspace(project: &Project) -> PathBuf {
    if project.root.join("crates/conformance/Cargo.toml").is_file() {
        project.root.clone()
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .canonicalize()
            .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
    }
}

/// Builds (or finds fresh) polyplug-conformance and polyplug-js with the
/// rustup toolchain's cargo, into the workspace's target/debug. Once per
/// xtask run: `conformance` needs them after build-all's JS batch did.
pub fn build(project: &Project) -> Result<Tools> {
    static BUILT: OnceLock<Result<Tools, String>> = OnceLock::new();
    BUILT
        .get_or_init(|| build_now(project).map_err(|e| format!("{e:#}")))
        .clone()
        .map_err(|e| anyhow::anyhow!(e))
}

fn build_now(project: &Project) -> Result<Tools> {
    let workspace = workspace(project);
    let target = workspace.join("target");
    cargo_with_progress(&workspace, &target)?;
    let bin = |name: &str| {
        target
            .join("debug")
            .join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
    };
    Ok(Tools {
        conformance: bin("polyplug-conformance"),
        js: bin("polyplug-js"),
    })
}

/// `cargo build --workspace --bin polyplug-conformance --bin polyplug-js`,
/// telling the user what it does: cold, it
/// compiles wasmtime and takes minutes. cargo's JSON messages say which crates
/// it compiled; a line goes out every few seconds (redrawn on a terminal).
fn cargo_with_progress(workspace: &Path, target: &Path) -> Result<()> {
    use std::io::BufRead;
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    let shown = "`cargo build --workspace --bin polyplug-conformance --bin polyplug-js`";
    let mut cmd = Command::new("cargo");
    cmd.args([
        "build",
        "--workspace",
        "--bin",
        "polyplug-conformance",
        "--bin",
        "polyplug-js",
        "--message-format=json-render-diagnostics",
    ])
    .current_dir(workspace)
    .env("CARGO_TARGET_DIR", target)
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    for key in crate::lang::leaked_env() {
        cmd.env_remove(key);
    }
    let mut child = cmd
        .spawn()
        .with_context(|| format!("cannot run {shown}: is cargo on PATH?"))?;
    // Drained on its own thread so a chatty compile never blocks on a full pipe.
    let stderr = child.stderr.take().map(|mut e| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = std::io::Read::read_to_string(&mut e, &mut text);
            text
        })
    });
    let bar = crate::progress::bar(None, "tools");
    let started = Instant::now();
    let mut last = started;
    let mut built = 0usize;
    for line in std::io::BufReader::new(child.stdout.take().expect("piped")).lines() {
        let Ok(line) = line else { break };
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        if msg["reason"] != "compiler-artifact" || msg["fresh"] != false {
            continue;
        }
        built += 1;
        let name = msg["target"]["name"].as_str().unwrap_or("?");
        if let Some(bar) = &bar {
            bar.set_message(format!(
                "compiling the workspace's tools (suite runner, JS compiler) with cargo: {built} crates, now {name}"
            ));
            continue;
        }
        if last.elapsed() < Duration::from_secs(10) && built > 1 {
            continue;
        }
        last = Instant::now();
        eprintln!(
            "tools: compiling the workspace's tools (suite runner, JS compiler) with cargo: {built} crates, now {name} ({} s)",
            started.elapsed().as_secs()
        );
    }
    let status = child
        .wait()
        .with_context(|| format!("cannot wait for {shown}"))?;
    let errors = stderr.and_then(|t| t.join().ok()).unwrap_or_default();
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    if built > 0 {
        eprintln!(
            "tools: compiled {built} crates in {} s",
            started.elapsed().as_secs()
        );
    }
    if !status.success() {
        bail!("{shown} failed ({status}):\n{}", errors.trim_end());
    }
    Ok(())
}
