//! What `bench-serve` measures, made ready: the polyplug binary, the anchor
//! server built as its bench.toml says, and one folder holding copies of the
//! served artifacts (with the wrk scripts and the servers' logs beside them).

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use serde_json::Value;

use super::{Workload, ANCHOR_DIR};
use crate::lang;
use crate::project::Project;

/// bench/serve-go/bench.toml: how to build the anchor, kept as data so no
/// Rust code names its toolchain.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Anchor {
    pub label: String,
    pub about: String,
    needs: String,
    hint: String,
    /// Run in the anchor's folder; `{out}` is the binary to write.
    build: Vec<String>,
}

/// A temporary folder for the served copies, wrk's scripts and the servers'
/// logs: target/bench/serve-run, removed when dropped, and emptied at start in
/// case a run was interrupted (Ctrl-C reaches the servers, which share our
/// process group, but skips every destructor).
pub struct Scratch(pub PathBuf);

impl Scratch {
    /// Where a server's output goes.
    pub fn log(&self, label: &str) -> PathBuf {
        self.0.join(format!("{}.log", label.replace(' ', "-")))
    }

    pub fn new(workspace: &Path) -> Result<Scratch> {
        let dir = workspace.join("target/bench/serve-run");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        Ok(Scratch(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The artifacts both servers load, copied.
pub struct Served {
    /// target/plugins' shape: `<lang>/<spec>.wasm` and a manifest.json.
    pub dir: PathBuf,
    /// Each workload's `<lang>/<spec>` and its copy.
    pub modules: Vec<(String, PathBuf)>,
}

impl Served {
    /// `polyplug serve`'s arguments.
    pub fn polyplug_args(&self, listen: SocketAddr) -> Vec<OsString> {
        let dir = self.dir.clone().into();
        vec![
            "serve".into(),
            dir,
            "--listen".into(),
            listen.to_string().into(),
        ]
    }

    /// The anchor's arguments (bench/serve-go/main.go).
    pub fn anchor_args(&self, listen: SocketAddr) -> Vec<OsString> {
        let mut args: Vec<OsString> = vec!["-listen".into(), listen.to_string().into()];
        for (name, wasm) in &self.modules {
            let mut pair = OsString::from(format!("{name}="));
            pair.push(wasm);
            args.push(pair);
        }
        args
    }
}

/// Copies the workloads' artifacts into `scratch/plugins/<lang>/` with a
/// manifest listing only them (absolute paths), so both servers load the same
/// modules and nothing else counts in their memory.
pub fn copy_artifacts(project: &Project, workloads: &[Workload], scratch: &Path) -> Result<Served> {
    let source = project.plugins_out().join("manifest.json");
    let text = std::fs::read_to_string(&source)
        .with_context(|| format!("cannot read {}", source.display()))?;
    let mut manifest: Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", source.display()))?;
    let dir = scratch.join("plugins");
    let (mut kept, mut modules) = (Vec::new(), Vec::new());
    for w in workloads {
        let found = manifest["artifacts"].as_array().and_then(|all| {
            all.iter()
                .find(|a| a["lang"] == w.lang && a["spec"] == w.spec)
                .cloned()
        });
        let Some(mut artifact) = found else {
            bail!("{} lists no {} artifact", source.display(), w.name());
        };
        let exports = artifact["exports"].as_array().cloned().unwrap_or_default();
        if !exports.iter().any(|e| e == w.export) {
            bail!("{} has no export `{}`", w.name(), w.export);
        }
        let built = project.root.join(
            artifact["path"]
                .as_str()
                .context("an artifact without a path")?,
        );
        let copy = dir.join(w.lang).join(format!("{}.wasm", w.spec));
        std::fs::create_dir_all(dir.join(w.lang))?;
        std::fs::copy(&built, &copy)
            .with_context(|| format!("cannot copy {} to {}", built.display(), copy.display()))?;
        artifact["path"] = Value::String(copy.to_string_lossy().into_owned());
        kept.push(artifact);
        modules.push((w.name(), copy));
    }
    manifest["artifacts"] = Value::Array(kept);
    manifest["failures"] = Value::Array(Vec::new());
    std::fs::write(
        dir.join("manifest.json"),
        serde_json::to_string_pretty(&manifest)?,
    )?;
    Ok(Served { dir, modules })
}

/// `cargo build --release -p polyplug` in the workspace; its binary.
pub fn build_polyplug(workspace: &Path) -> Result<PathBuf> {
    let target = workspace.join("target");
    let mut cmd = Command::new("cargo");
    cmd.args(["build", "--release", "-q", "-p", "polyplug"])
        .env("CARGO_TARGET_DIR", &target)
        .current_dir(workspace);
    run_visible(cmd, "cargo build --release -q -p polyplug")?;
    Ok(target
        .join("release")
        .join(format!("polyplug{}", std::env::consts::EXE_SUFFIX)))
}

/// Builds the anchor as its bench.toml says, into target/bench/<folder name>.
pub fn build_anchor(workspace: &Path) -> Result<(Anchor, PathBuf)> {
    let dir = workspace.join(ANCHOR_DIR);
    let described = dir.join("bench.toml");
    let text = std::fs::read_to_string(&described)
        .with_context(|| format!("cannot read {}", described.display()))?;
    let anchor: Anchor =
        toml::from_str(&text).with_context(|| format!("{} is not valid", described.display()))?;
    if which::which(&anchor.needs).is_err() {
        bail!(
            "the {} server needs `{}` on PATH: {}",
            anchor.label,
            anchor.needs,
            anchor.hint
        );
    }
    let name = dir.file_name().context("the anchor's folder has no name")?;
    let out = workspace.join("target/bench").join(name);
    let words: Vec<String> = anchor
        .build
        .iter()
        .map(|w| w.replace("{out}", &out.to_string_lossy()))
        .collect();
    let (program, args) = words
        .split_first()
        .context("bench.toml's `build` is empty")?;
    let mut cmd = Command::new(program);
    cmd.args(args).current_dir(&dir);
    run_visible(cmd, &words.join(" "))?;
    Ok((anchor, out))
}

/// Runs a build with its output on the terminal (a release build takes
/// minutes) and without the variables the outer cargo set.
fn run_visible(mut cmd: Command, shown: &str) -> Result<()> {
    for key in lang::leaked_env() {
        cmd.env_remove(key);
    }
    eprintln!("bench-serve: {shown}");
    let status = cmd
        .status()
        .with_context(|| format!("cannot run `{shown}`: is it on PATH?"))?;
    if !status.success() {
        bail!("`{shown}` failed ({status}); its output is above");
    }
    Ok(())
}
