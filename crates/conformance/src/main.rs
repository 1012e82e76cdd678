//! `polyplug-conformance`: runs the fixtures on every artifact in
//! target/plugins/manifest.json and prints a report. It compares with the stored
//! snapshots but never writes one (accept new snapshots with `cargo insta review`).
//! Exit status 0 only when nothing fails.

use std::io::{IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context as _};
use polyplug_conformance::{report, Filter, Suite};

const USAGE: &str =
    "usage: polyplug-conformance --root DIR [--lang L]... [--host H]... [--spec S]... [--case C]...
                            [--format human|json|junit|markdown] [--out FILE] [--shard I/N]
                            [--deny-warnings]

  --root DIR     the repository: fixtures/ and target/plugins/manifest.json live there (default .)
  --lang L       only this language (one of target/plugins/manifest.json's); repeatable
  --host H       only this host (polyplug, or a folder of hosts/); repeatable;
                 default: every host that is set up
  --spec S       only this spec; repeatable
  --case C       only this case (`plain` or `hello::plain`); repeatable
  --format F     human (default), json, junit or markdown
  --out FILE     write the report there instead of stdout
  --shard I/N    run the I-th of N deterministic slices of the cases
  --deny-warnings  fail cells with memory warnings (kernel-memory accesses outside a block)";

struct Args {
    root: PathBuf,
    filter: Filter,
    format: String,
    out: Option<PathBuf>,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        root: PathBuf::from("."),
        filter: Filter::default(),
        format: "human".into(),
        out: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "-h" || flag == "--help" {
            println!("{USAGE}");
            std::process::exit(0);
        }
        if flag == "--deny-warnings" {
            args.filter.deny_warnings = true;
            continue;
        }
        let (name, inline) = match flag.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_owned(), Some(v.to_owned())),
            _ => (flag.clone(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| it.next())
                .with_context(|| format!("{name} needs a value\n{USAGE}"))
        };
        match name.as_str() {
            "--root" => args.root = PathBuf::from(value()?),
            "--lang" => args.filter.langs.push(value()?),
            "--host" => args.filter.hosts.push(value()?),
            "--spec" => args.filter.specs.push(value()?),
            "--case" => args.filter.cases.push(value()?),
            "--format" => args.format = value()?,
            "--out" => args.out = Some(PathBuf::from(value()?)),
            "--shard" => args.filter.shard = Some(value()?.parse().map_err(anyhow::Error::msg)?),
            other => bail!("unknown argument `{other}`\n{USAGE}"),
        }
    }
    if !["human", "json", "junit", "markdown"].contains(&args.format.as_str()) {
        bail!(
            "--format {}: use human, json, junit or markdown",
            args.format
        );
    }
    Ok(args)
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
