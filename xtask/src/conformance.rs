//! `cargo xtask conformance`: builds the plugins (cached), sets up the official
//! hosts, then runs the suite binary (crates/conformance) over the artifacts with
//! the same flags, and exits with its exit code. The flags are the suite's own,
//! declared once in crates/suite-args and parsed by that crate on both sides.

use anyhow::{bail, Context, Result};
use polyplug_suite_args::SuiteArgs;

use crate::build_all::{build_all, Options};
use crate::project::Project;

/// `args`: everything after `conformance` on the command line.
pub fn run(project: &Project, args: Vec<String>) -> Result<()> {
    let mut args = SuiteArgs::parse(args).map_err(anyhow::Error::msg)?;
    if args.help {
        println!(
            "Build the plugins, set up the hosts, run the conformance suite.\n\n{}",
            polyplug_suite_args::usage("cargo xtask conformance")
        );
        return Ok(());
    }
    if args.root.as_ref().is_some_and(|r| r != &project.root) {
        bail!(
            "give the project with `cargo xtask --root DIR conformance`, not `conformance --root`"
        );
    }
    let options = Options {
        langs: args.langs.clone(),
        specs: args.specs.clone(),
        jobs: None,
        force: false,
    };
    // The official hosts set themselves up while the plugins build (on a bare
    // machine: a Go build, `npm ci` and a pip install, much of it waiting on the
    // network). A host that cannot is left out of the run with its reason; the
    // others still run.
    let (report, hosts) = std::thread::scope(|scope| {
        let hosts = scope.spawn(|| crate::hosts::setup_all(project, &args.hosts));
        let report = (!args.skip_build).then(|| build_all(project, &options));
        (report, hosts.join())
    });
    let report = report.transpose()?;
    let hosts = hosts.map_err(|_| anyhow::anyhow!("setting up the official hosts panicked"))?;
    for failure in hosts? {
        eprintln!("conformance: host left out: {failure}");
    }
    args.root = Some(project.root.clone());
    if let Some(out) = &args.out {
        // The suite runs from the root: make a relative path the user's.
        args.out = Some(
            std::path::absolute(out)
                .with_context(|| format!("cannot resolve --out {}", out.display()))?,
        );
    }
    let tools = crate::tools::build(project)?;
    let status = std::process::Command::new(&tools.conformance)
        .args(args.to_args())
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
