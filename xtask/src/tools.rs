//! The workspace's own binaries that xtask drives (the suite runner and the
//! built-in JS compiler), built with every workspace binary in one cargo
//! invocation: cargo unifies features over the packages it builds, so building
//! just these two would give wasmtime's dependencies (serde_json, semver) a
//! feature set different from `cargo test --workspace`'s, and wasmtime would be
//! compiled a second time.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::{bail, Context, Result};

use crate::lang::{command_failure, scrub_env};
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
    let sh = xshell::Shell::new()?;
    sh.change_dir(&workspace);
    let shown = "`cargo build --workspace --bins`";
    let out = scrub_env(
        sh.cmd("cargo")
            .args(["build", "-q", "--workspace", "--bins"]),
    )
    .env("CARGO_TARGET_DIR", &target)
    .quiet()
    .ignore_status()
    .output()
    .with_context(|| format!("cannot run {shown}: is cargo on PATH?"))?;
    if !out.status.success() {
        bail!("{}", command_failure(shown, &out));
    }
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
