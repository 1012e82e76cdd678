//! `cargo xtask bench-hosts`: every host's speed on the same artifact, in one
//! run (crates/conformance/src/bin/bench-hosts.rs does the measuring; this builds
//! it in release mode, with the artifacts and hosts it needs, and runs it).

use anyhow::{bail, Context, Result};

use crate::build_all::{build_all, Options};
use crate::flags;
use crate::project::Project;

impl flags::BenchHosts {
    pub fn run(self, project: &Project) -> Result<()> {
        let options = Options {
            langs: Vec::new(),
            specs: Vec::new(),
            jobs: None,
            force: false,
        };
        build_all(project, &options)?.check()?;
        for failure in crate::hosts::setup_all(project, &[])? {
            eprintln!("bench-hosts: host left out: {failure}");
        }
        let workspace = crate::tools::workspace(project);
        let mut cmd = std::process::Command::new("cargo");
        cmd.args([
            "run",
            "--release",
            "-q",
            "-p",
            "polyplug-conformance",
            "--bin",
            "bench-hosts",
            "--",
        ])
        .arg("--root")
        .arg(&project.root)
        .current_dir(&workspace);
        if self.no_suite {
            cmd.arg("--no-suite");
        }
        for key in crate::lang::leaked_env() {
            cmd.env_remove(key);
        }
        let status = cmd.status().context("cannot run cargo: is it on PATH?")?;
        if !status.success() {
            bail!("bench-hosts failed ({status})");
        }
        Ok(())
    }
}
