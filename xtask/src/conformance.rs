//! `cargo xtask conformance`: builds the plugins (cached), then runs the suite
//! binary (crates/conformance) over the artifacts with the same filters, and
//! exits with its exit code.

use std::path::Path;

use anyhow::{Context, Result};

use crate::build_all::{build_all, Options};
use crate::flags;
use crate::project::Project;

impl flags::Conformance {
    pub fn run(self, project: &Project) -> Result<()> {
        let options = Options {
            langs: self.lang.clone(),
            specs: self.spec.clone(),
            jobs: None,
            force: false,
        };
        let report = if self.skip_build {
            None
        } else {
            Some(build_all(project, &options)?)
        };

        let mut args: Vec<String> =
            vec!["--root".into(), project.root.to_string_lossy().into_owned()];
        let repeated = [
            ("--lang", &self.lang),
            ("--spec", &self.spec),
            ("--case", &self.case),
        ];
        for (flag, values) in repeated {
            for value in values {
                args.extend([flag.to_string(), value.clone()]);
            }
        }
        if let Some(format) = &self.format {
            args.extend(["--format".into(), format.clone()]);
        }
        if let Some(out) = &self.out {
            // The suite runs from the root: make a relative path the user's.
            let out = std::path::absolute(out)
                .with_context(|| format!("cannot resolve --out {}", out.display()))?;
            args.extend(["--out".into(), out.to_string_lossy().into_owned()]);
        }
        if let Some(shard) = &self.shard {
            args.extend(["--shard".into(), shard.clone()]);
        }

        // The workspace's own cargo and toolchain (the ones running xtask, so
        // the environment is kept as is), not the wasm one.
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let sh = xshell::Shell::new()?;
        sh.change_dir(&project.root);
        // The suite of the checkout under test, or else of the one xtask was
        // built from (a --root holding only plugins, as in tests).
        let workspace = if project.root.join("crates/conformance/Cargo.toml").is_file() {
            project.root.clone()
        } else {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
        };
        let cmd = sh
            .cmd(&cargo)
            .arg("run")
            .arg("-q")
            .arg("--manifest-path")
            .arg(workspace.join("Cargo.toml"))
            .args(["-p", "polyplug-conformance", "--"])
            .args(&args);
        let status = std::process::Command::from(cmd)
            .status()
            .context("cannot run the conformance suite with cargo")?;
        let code = status.code().unwrap_or(1);
        if code != 0 {
            std::process::exit(code);
        }
        // A plugin that did not build is a failure even if every cell that ran passed.
        report.map_or(Ok(()), |r| r.check())
    }
}
