//! `polyplug-conformance`: runs the fixtures on every artifact in
//! target/plugins/manifest.json and prints a report. It compares with the stored
//! snapshots but never writes one (accept new snapshots with `cargo insta review`).
//! Exit status 0 only when nothing fails.

use std::io::{IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context as _};
use polyplug_conformance::{report, Filter, Suite};
use polyplug_suite_args::SuiteArgs;

struct Args {
    root: PathBuf,
    filter: Filter,
    format: String,
    out: Option<PathBuf>,
}

/// The flags, parsed by the crate that declares them (shared with `cargo xtask conformance`).
fn parse_args() -> anyhow::Result<Args> {
    let parsed = SuiteArgs::parse(std::env::args().skip(1)).map_err(anyhow::Error::msg)?;
    if parsed.help {
        println!("{}", polyplug_suite_args::usage("polyplug-conformance"));
        std::process::exit(0);
    }
    let shard = match &parsed.shard {
        Some(s) => Some(s.parse().map_err(anyhow::Error::msg)?),
        None => None,
    };
    Ok(Args {
        root: parsed.root.unwrap_or_else(|| PathBuf::from(".")),
        filter: Filter {
            langs: parsed.langs,
            hosts: parsed.hosts,
            specs: parsed.specs,
            cases: parsed.cases,
            shard,
            deny_warnings: parsed.deny_warnings,
            compiler: match &parsed.compiler {
                Some(c) => c.parse().map_err(anyhow::Error::msg)?,
                None => Default::default(),
            },
        },
        format: parsed.format.unwrap_or_else(|| "human".into()),
        out: parsed.out,
    })
}

fn run() -> anyhow::Result<bool> {
    let args = parse_args()?;
    let suite = Suite::load(&args.root)?;
    for spec in &args.filter.specs {
        if !suite.specs.iter().any(|s| s.name == *spec)
            && !suite.load_errors.iter().any(|e| e.spec == *spec)
        {
            bail!(
                "--spec {spec}: no fixtures/{spec}/spec.toml under {}",
                args.root.display()
            );
        }
    }
    let results = suite.run(&args.filter)?;
    if results.cells.is_empty() && results.load_errors.is_empty() {
        bail!("nothing to run: the filters select no case (or the manifest lists no language)");
    }
    let color = args.out.is_none()
        && std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none();
    let text = match args.format.as_str() {
        "json" => report::json(&results),
        "junit" => report::junit(&results),
        "markdown" => report::markdown(&results),
        _ => report::human(&results, color),
    };
    match &args.out {
        Some(path) => {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("cannot create {}", parent.display()))?;
            }
            std::fs::write(path, &text)
                .with_context(|| format!("cannot write the report to {}", path.display()))?
        }
        None => std::io::stdout()
            .write_all(text.as_bytes())
            .context("cannot write the report to stdout")?,
    }
    Ok(results.ok())
}

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("polyplug-conformance: {e:#}");
            ExitCode::from(2)
        }
    }
}
