//! `polyplug`: run Extism plugins on the polyplug host from the command line
//! (`call`), over HTTP (`serve`), or under an xtp-test test plugin (`test`).
//!
//! Exit codes: 0 success, 1 the plugin call failed, 2 the module could not be
//! loaded or a flag is wrong (clap uses 2 for usage errors too).

mod call;
mod module_info;
mod serve;
mod test;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "polyplug",
    version,
    about = "Run Extism plugins on the polyplug host"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Call an export of a plugin, like `extism call`
    Call(call::Call),
    /// Serve plugin functions over HTTP: POST /v1/plugins/{name}/{export}
    Serve(serve::Serve),
    /// Run an xtp-test test plugin against a plugin: polyplug test PLUGIN.wasm --with TEST.wasm
    Test(test::Test),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Call(cmd) => cmd.run(),
        Command::Serve(cmd) => cmd.run(),
        Command::Test(cmd) => cmd.run(),
    }
}
