//! `cargo xtask conformance`: builds the plugins (cached), then runs the suite
//! binary (crates/conformance) over the artifacts with the same filters, and
//! exits with its exit code.

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
            ("--host", &self.host),
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
        if self.deny_warnings {
            args.push("--deny-warnings".into());
        }

        // Official hosts set themselves up here too (a host that cannot is left
        // out of the run with its reason; the others still run).
        for failure in crate::hosts::setup_all(project, &self.host)? {
            eprintln!("conformance: host left out: {failure}");
        }
        let tools = crate::tools::build(project)?;
        let status = std::process::Command::new(&tools.conformance)
            .args(&args)
            .current_dir(&project.root)
            .status()
            .with_context(|| format!("cannot run {}", tools.conformance.display()))?;
        let code = status.code().unwrap_or(1);
        if code != 0 {
            std::process::exit(code);
        }
        // A plugin that did not build is a failure even if every cell that ran passed.
        report.map_or(Ok(()), |r| r.check())
    }
}
