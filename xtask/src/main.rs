//! `cargo xtask`: builds polyplug's plugins in every language and runs the
//! conformance suite. Commands and flags live in flags.rs; each command in its
//! own file. `--root` / POLYPLUG_ROOT point it at another checkout (tests do).

mod artifact;
mod bench_hosts;
mod bench_serve;
mod build_all;
mod cache;
mod ci_matrix;
mod conformance;
mod dir_lock;
mod doctor;
mod flags;
mod fuzz;
mod gather;
mod hosts;
mod lang;
mod new;
mod progress;
mod project;
mod provision;
mod selection;
mod setup;
mod tools;

use std::process::ExitCode;

use flags::XtaskCmd;

fn main() -> ExitCode {
    // `cargo xtask fuzz` builds the fuzz targets with this binary as rustc's
    // workspace wrapper: it adds the coverage flags to polyplug's own crates.
    if let Some(code) = fuzz::wrap_rustc() {
        return code;
    }
    // `conformance` takes the suite's own flags (crates/suite-args), which xflags
    // cannot declare a second time: everything after the word goes to that parser.
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let suite = match argv.as_slice() {
        [word, rest @ ..] if word == "conformance" => Some((None, rest)),
        [flag, dir, word, rest @ ..] if flag == "--root" && word == "conformance" => {
            Some((Some(std::path::PathBuf::from(dir)), rest))
        }
        _ => None,
    };
    if let Some((root, rest)) = suite {
        let rest = rest.to_vec();
        return exit(project::Project::locate(root).and_then(|p| conformance::run(&p, rest)));
    }
    let flags = flags::Xtask::from_env_or_exit();
    let result = project::Project::locate(flags.root).and_then(|project| match flags.subcommand {
        XtaskCmd::Doctor(cmd) => cmd.run(&project),
        XtaskCmd::Setup(cmd) => cmd.run(&project),
        XtaskCmd::BuildAll(cmd) => cmd.run(&project),
        XtaskCmd::Conformance(_) => conformance::run(&project, Vec::new()),
        XtaskCmd::BenchHosts(cmd) => cmd.run(&project),
        XtaskCmd::BenchServe(cmd) => cmd.run(&project),
        XtaskCmd::CiMatrix(cmd) => cmd.run(&project),
        XtaskCmd::Gather(cmd) => cmd.run(&project),
        XtaskCmd::Fuzz(cmd) => cmd.run(&project),
        XtaskCmd::New(cmd) => cmd.run(&project),
    });
    exit(result)
}

fn exit(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
