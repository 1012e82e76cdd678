//! `polyplug-js`: the command-line face of the JS compiler.
//!
//! ```text
//! polyplug-js build <dir> -o <out.wasm> [--engine <engine.wasm>]
//! polyplug-js engine [--target-dir <dir>]     builds crates/js-engine, prints its path
//! ```

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};

const USAGE: &str = "usage:
  polyplug-js build <plugin dir with index.js + index.d.ts> -o <out.wasm> [--engine <engine.wasm>]
  polyplug-js engine [--target-dir <dir>]
  polyplug-js --version

Without --engine, `build` uses $POLYPLUG_JS_ENGINE, else builds crates/js-engine
into <repo>/target (needs Debian's rustc-web, clang-19 and wasi-libc).";

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Vec<String>) -> Result<()> {
    let mut args = args.into_iter();
    let cmd = args.next();
    let mut positional = Vec::new();
    let (mut out, mut engine, mut target_dir) = (None, None, None);
    while let Some(arg) = args.next() {
        let mut value = |flag: &str| {
            args.next()
                .with_context(|| format!("{flag} needs a value\n\n{USAGE}"))
        };
        match arg.as_str() {
            "-o" | "--output" => out = Some(PathBuf::from(value(&arg)?)),
            "--engine" => engine = Some(PathBuf::from(value(&arg)?)),
            "--target-dir" => target_dir = Some(PathBuf::from(value(&arg)?)),
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            "-V" | "--version" => {
                println!("{}", polyplug_js::VERSION);
                return Ok(());
            }
            flag if flag.starts_with('-') => bail!("unknown flag `{flag}`\n\n{USAGE}"),
            _ => positional.push(PathBuf::from(arg)),
        }
    }
    match cmd.as_deref() {
        Some("build") => {
            let [dir] = positional.as_slice() else {
                bail!("`build` takes one plugin folder\n\n{USAGE}");
            };
            let out = out.with_context(|| format!("`build` needs `-o <out.wasm>`\n\n{USAGE}"))?;
            build(dir, &out, engine, target_dir)
        }
        Some("engine") => {
            let path = polyplug_js::engine::build(
                &engine_dir(),
                &target_dir.unwrap_or_else(default_target_dir),
            )?;
            println!("{}", path.display());
            Ok(())
        }
        Some("-h" | "--help") => {
            println!("{USAGE}");
            Ok(())
        }
        Some("-V" | "--version") => {
            println!("{}", polyplug_js::VERSION);
            Ok(())
        }
        Some(other) => bail!("unknown command `{other}`\n\n{USAGE}"),
        None => bail!("no command given\n\n{USAGE}"),
    }
}

fn build(
    dir: &Path,
    out: &Path,
    engine: Option<PathBuf>,
    target_dir: Option<PathBuf>,
) -> Result<()> {
    let engine = match engine.or_else(|| std::env::var_os("POLYPLUG_JS_ENGINE").map(PathBuf::from))
    {
        Some(path) => path,
        None => polyplug_js::engine::build(
            &engine_dir(),
            &target_dir.unwrap_or_else(default_target_dir),
        )?,
    };
    let engine_wasm = std::fs::read(&engine).with_context(|| {
        format!(
            "cannot read the JS engine {}: build it with `polyplug-js engine`",
            engine.display()
        )
    })?;
    let wasm = polyplug_js::build(dir, &engine_wasm).map_err(|e| match e.kind() {
        // "index.js:2:5: ..." becomes "plugins-js/hello/index.js:2:5: ...".
        polyplug_js::ErrorKind::Source if e.message().starts_with("index.") => {
            anyhow::anyhow!("{}", dir.join(e.message()).display())
        }
        polyplug_js::ErrorKind::Source => anyhow::anyhow!("{}: {e}", dir.display()),
        _ => anyhow::Error::new(e),
    })?;
    // Written beside the target and renamed, so a failed write never leaves
    // a truncated artifact where a good one was.
    let tmp = out.with_extension("wasm.tmp");
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    std::fs::write(&tmp, &wasm).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, out)
        .with_context(|| format!("cannot move {} to {}", tmp.display(), out.display()))?;
    Ok(())
}

/// crates/js-engine, found from this crate's own location at build time.
fn engine_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../js-engine")
}

fn default_target_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target")
}
