//! `cargo xtask`: builds polyplug's plugins in every language and runs the
//! conformance suite. Commands and flags live in flags.rs; each command in its
//! own file. `--root` / POLYPLUG_ROOT point it at another checkout (tests do).

mod artifact;
mod bench_hosts;
mod build_all;
mod cache;
mod ci_matrix;
mod conformance;
mod doctor;
mod flags;
mod gather;
mod hosts;
mod lang;
mod progress;
mod project;
mod provision;
mod selection;
mod setup;
mod tools;

use std::process::ExitCode;

use flags::XtaskCmd;

fn main() -> ExitCode {
    let flags = flags::Xtask::from_env_or_exit();
    let result = project::Project::locate(flags.root).and_then(|project| match flags.subcommand {
        XtaskCmd::Doctor(cmd) => cmd.run(&project),
        XtaskCmd::Setup(cmd) => cmd.run(&project),
        XtaskCmd::BuildAll(cmd) => cmd.run(&project),
        XtaskCmd::Conformance(cmd) => cmd.run(&project),
        XtaskCmd::BenchHosts(cmd) => cmd.run(&project),
        XtaskCmd::CiMatrix(cmd) => cmd.run(&project),
        XtaskCmd::Gather(cmd) => cmd.run(&project),
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
