//! `cargo xtask fuzz`: builds the libFuzzer targets of fuzz/ and runs each on its
//! committed corpus (fuzz/corpus/<target>/) for a few seconds, then prints what
//! libFuzzer measured (executions per second, coverage) and what it found.
//!
//! It needs neither nightly Rust nor cargo-fuzz. cargo-fuzz 0.13 with `-s none`
//! instruments through RUSTFLAGS made of stable options only (the flags below;
//! only its sanitizers need nightly), but RUSTFLAGS reach every crate, so wasmtime
//! and cranelift would be instrumented and built again. Here this very binary is
//! cargo's RUSTC_WORKSPACE_WRAPPER instead: cargo runs it for workspace members
//! only (polyplug-host, the suite, the fuzz crate), where it adds the flags before
//! running rustc. Cargo hashes a workspace wrapper into the members' artifact
//! names, so the instrumented copies live next to the plain ones in target/debug:
//! the dependencies are the ones `cargo test --workspace` built, and neither build
//! undoes the other. The targets need the fuzz crate's `libfuzzer` feature (libFuzzer
//! itself), which the tests never build; `cargo fuzz run --features libfuzzer
//! <target>` still works where cargo-fuzz is.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::flags;
use crate::project::Project;

/// Set for the fuzz build only: this binary, started as a rustc wrapper.
const WRAPPER: &str = "POLYPLUG_FUZZ_RUSTC_WRAPPER";

/// cargo-fuzz 0.13's instrumentation for `--sanitizer none` on Linux
/// (src/project.rs, `cargo()`): SanitizerCoverage's inline 8-bit counters, the PC
/// table and compare tracing libFuzzer feeds on, without branch folding, with
/// stack depth; `--cfg fuzzing`. Debug assertions are on already (dev profile).
const SANCOV: &[&str] = &[
    "-Cpasses=sancov-module",
    "-Cllvm-args=-sanitizer-coverage-level=4",
    "-Cllvm-args=-sanitizer-coverage-inline-8bit-counters",
    "-Cllvm-args=-sanitizer-coverage-pc-table",
    "-Cllvm-args=-sanitizer-coverage-trace-compares",
    "-Cllvm-args=-simplifycfg-branch-fold-threshold=0",
    "-Cllvm-args=-sanitizer-coverage-stack-depth",
    "--cfg",
    "fuzzing",
];

const DEFAULT_SECONDS: u64 = 15;
/// A single input running this long is a hang (libFuzzer's -timeout).
const HANG_SECONDS: u64 = 10;

/// When started as the wrapper: runs rustc with the coverage flags added (not to
/// build scripts, which run on the build machine and have no libFuzzer to link).
pub fn wrap_rustc() -> Option<ExitCode> {
    std::env::var_os(WRAPPER)?;
    let mut args = std::env::args_os().skip(1);
    let Some(rustc) = args.next() else {
        eprintln!("{WRAPPER} is set but no rustc was given: it is for `cargo xtask fuzz` only");
        return Some(ExitCode::FAILURE);
    };
    let args: Vec<OsString> = args.collect();
    let crate_name = args
        .windows(2)
        .find(|w| w[0] == "--crate-name")
        .map(|w| w[1].to_string_lossy().into_owned());
    let mut cmd = Command::new(&rustc);
    cmd.args(&args);
    if crate_name.is_some_and(|n| !n.starts_with("build_script_")) {
        cmd.args(SANCOV);
    }
    match cmd.status() {
        Ok(status) => Some(ExitCode::from(
            status.code().unwrap_or(1).clamp(0, 255) as u8
        )),
        Err(e) => {
            eprintln!("cannot run {}: {e}", Path::new(&rustc).display());
            Some(ExitCode::FAILURE)
        }
    }
}

/// What one target's run measured.
struct Run {
    target: String,
    execs: u64,
    per_second: u64,
    cov: u64,
    ft: u64,
    corpus: u64,
    findings: Vec<String>,
}

impl flags::Fuzz {
    pub fn run(self, project: &Project) -> Result<()> {
        let fuzz = project.root.join("fuzz");
        let all = targets(&fuzz)?;
        let chosen: Vec<String> = match &self.target {
            Some(t) if all.contains(t) => vec![t.clone()],
            Some(t) => bail!("no fuzz target `{t}`: the targets are {}", all.join(", ")),
            None => all.clone(),
        };
        let seconds = self.seconds.unwrap_or(DEFAULT_SECONDS);
        check_cxx()?;
        let started = Instant::now();
        let exes = build(project, &all)?;
        println!(
            "fuzz: built the instrumented targets in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        if chosen.iter().any(|t| t == "kernel_diff") {
            check_official(project)?;
        }
        let mut runs = Vec::new();
        for target in &chosen {
            let exe = exes
                .get(target)
                .with_context(|| format!("cargo built no `{target}` binary"))?;
            runs.push(run_target(project, target, exe, seconds)?);
        }
        println!();
        println!("| target | executions | exec/s | cov | ft | corpus | findings |");
        println!("|---|---:|---:|---:|---:|---:|---|");
        for r in &runs {
            println!(
                "| {} | {} | {} | {} | {} | {} | {} |",
                r.target,
                r.execs,
                r.per_second,
                r.cov,
                r.ft,
                r.corpus,
                if r.findings.is_empty() {
                    "none".to_owned()
                } else {
                    r.findings.join(", ")
                }
            );
        }
        println!(
            "fuzz: {} target(s) in {:.0} s",
            runs.len(),
            started.elapsed().as_secs_f64()
        );
        let found: usize = runs.iter().map(|r| r.findings.len()).sum();
        if found > 0 {
            bail!(
                "{found} finding(s): reproduce one with `target/fuzz/bin/<target> <file>`, fix it or \
                 declare it, and copy the input to fuzz/regressions/<target>/ so `cargo test` replays it"
            );
        }
        Ok(())
    }
}

/// The targets: fuzz/fuzz_targets/<name>.rs, as cargo-fuzz lays them out.
fn targets(fuzz: &Path) -> Result<Vec<String>> {
    let dir = fuzz.join("fuzz_targets");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .flatten()
        .filter_map(|e| {
            let p = e.path();
            if p.extension()? != "rs" {
                return None;
            }
            Some(p.file_stem()?.to_string_lossy().into_owned())
        })
        .collect();
    names.sort();
    Ok(names)
}

/// libfuzzer-sys compiles libFuzzer, which is C++.
fn check_cxx() -> Result<()> {
    if std::env::var_os("CXX").is_some() {
        return Ok(());
    }
    if ["c++", "g++", "clang++"]
        .iter()
        .any(|c| which::which(c).is_ok())
    {
        return Ok(());
    }
    bail!("libFuzzer is C++ and no C++ compiler is on PATH (c++, g++, clang++): install one, e.g. `apt-get install g++`")
}

fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    for key in crate::lang::leaked_env() {
        cmd.env_remove(key);
    }
    cmd
}

/// Builds the targets; returns each one's executable, linked into
/// target/fuzz/bin/. The binaries need the fuzz crate's `libfuzzer` feature, so
/// `cargo test --workspace` never builds them: the one at target/debug/<name> is
/// this build's, and it must carry SanitizerCoverage's counters.
fn build(project: &Project, targets: &[String]) -> Result<BTreeMap<String, PathBuf>> {
    let me = std::env::current_exe().context("cannot find the xtask binary")?;
    // `--workspace` with the targets named: cargo resolves features over every
    // member, as `cargo test --workspace` does, so wasmtime and the other
    // dependencies are the tests' builds. `--package polyplug-fuzz` alone resolves
    // fewer features and compiles wasmtime and cranelift a second time.
    let mut args = vec![
        "build".to_owned(),
        "--workspace".to_owned(),
        "--features".to_owned(),
        "polyplug-fuzz/libfuzzer".to_owned(),
        "--message-format=json-render-diagnostics".to_owned(),
    ];
    for t in targets {
        args.extend(["--bin".to_owned(), t.clone()]);
    }
    let output = cargo()
        .args(&args)
        .env("CARGO_TARGET_DIR", project.root.join("target"))
        .env("RUSTC_WORKSPACE_WRAPPER", &me)
        .env(WRAPPER, "1")
        .current_dir(&project.root)
        .stderr(Stdio::inherit())
        .output()
        .context("cannot run cargo: is it on PATH?")?;
    if !output.status.success() {
        bail!(
            "building the fuzz targets failed ({}); the compiler's messages are above",
            output.status
        );
    }
    let bin = project.root.join("target/fuzz/bin");
    std::fs::create_dir_all(&bin).with_context(|| format!("cannot create {}", bin.display()))?;
    let mut exes = BTreeMap::new();
    let mut rebuilt = Vec::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if msg["reason"] != "compiler-artifact" {
            continue;
        }
        if let Some(package) = rebuilt_dependency(&msg) {
            if !rebuilt.contains(&package) {
                rebuilt.push(package);
            }
        }
        if msg["target"]["kind"][0] != "bin" {
            continue;
        }
        let (Some(name), Some(exe)) = (msg["target"]["name"].as_str(), msg["executable"].as_str())
        else {
            continue;
        };
        let exe = Path::new(exe);
        if !std::fs::read(exe)
            .is_ok_and(|b| b.windows(SANCOV_SECTION.len()).any(|w| w == SANCOV_SECTION))
        {
            bail!(
                "cargo built `{name}` without coverage counters ({}): another cargo building \
                 polyplug-fuzz with `--features libfuzzer` may have replaced it; run again",
                exe.display()
            );
        }
        // Our own link: a later build replaces target/debug/<name>, not this.
        let link = bin.join(name);
        let _ = std::fs::remove_file(&link);
        std::fs::hard_link(exe, &link)
            .or_else(|_| std::fs::copy(exe, &link).map(drop))
            .with_context(|| format!("cannot link {} to {}", exe.display(), link.display()))?;
        exes.insert(name.to_owned(), link);
    }
    if !rebuilt.is_empty() {
        eprintln!(
            "fuzz: compiled {} dependencies that `cargo test --workspace` builds differently \
             ({}): a member turns on features the other build does not; see xtask/src/fuzz.rs",
            rebuilt.len(),
            rebuilt.join(", ")
        );
    }
    Ok(exes)
}

/// A registry crate this build compiled (`name@version`), libFuzzer itself
/// aside: one the tests' build did not make, because some member turns on a
/// feature of it (or of a crate below it) only here.
fn rebuilt_dependency(msg: &serde_json::Value) -> Option<String> {
    // The id is `registry+<index>#<name>@<version>`.
    let id = msg["package_id"].as_str()?;
    let package = id.rsplit_once('#')?.1;
    (msg["fresh"] == false && id.starts_with("registry+") && !package.starts_with("libfuzzer-sys@"))
        .then(|| package.to_owned())
}

/// The section SanitizerCoverage's inline 8-bit counters live in.
const SANCOV_SECTION: &[u8] = b"__sancov_cntrs";

/// kernel_diff compares with the official host fuzz/kernel_diff.toml names:
/// without its driver it checks polyplug against its model only, which CI must not.
fn check_official(project: &Project) -> Result<()> {
    let file = project.root.join("fuzz/kernel_diff.toml");
    let text = std::fs::read_to_string(&file)
        .with_context(|| format!("cannot read {}", file.display()))?;
    let table: toml::Table =
        toml::from_str(&text).with_context(|| format!("{} is not TOML", file.display()))?;
    let Some(host) = table.get("host").and_then(|h| h.as_str()) else {
        bail!("{} names no `host`", file.display());
    };
    let hosts = crate::hosts::select(project, &[host.to_owned()])?;
    if hosts.iter().any(|h| h.ready().is_none()) {
        let why = format!("the {host} driver is not set up: run `cargo xtask setup --host {host}`");
        if std::env::var_os("CI").is_some() {
            bail!("kernel_diff needs it under CI: {why}");
        }
        println!("fuzz: {why}; kernel_diff checks polyplug against its model only");
    }
    Ok(())
}

fn run_target(project: &Project, target: &str, exe: &Path, seconds: u64) -> Result<Run> {
    let fuzz = project.root.join("fuzz");
    let out = project.root.join("target/fuzz");
    // New inputs go to the first folder; the committed seeds are only read.
    let corpus = out.join("corpus").join(target);
    let artifacts = out.join("artifacts").join(target);
    for dir in [&corpus, &artifacts] {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let before = listing(&artifacts);
    let log_path = out.join(format!("{target}.log"));
    let log = std::fs::File::create(&log_path)
        .with_context(|| format!("cannot create {}", log_path.display()))?;
    let mut cmd = Command::new(exe);
    cmd.arg(format!("-max_total_time={seconds}"))
        .arg("-print_final_stats=1")
        .arg(format!("-timeout={HANG_SECONDS}"))
        .arg("-rss_limit_mb=3072")
        .arg(format!("-artifact_prefix={}/", artifacts.display()));
    let dict = fuzz.join(format!("{target}.dict"));
    if dict.is_file() {
        cmd.arg(format!("-dict={}", dict.display()));
    }
    cmd.arg(&corpus)
        .arg(fuzz.join("corpus").join(target))
        .env("POLYPLUG_ROOT", &project.root)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    println!("fuzz: {target} for {seconds} s (log: target/fuzz/{target}.log)");
    let started = Instant::now();
    let status = cmd
        .status()
        .with_context(|| format!("cannot run {}", exe.display()))?;
    let text = std::fs::read_to_string(&log_path).unwrap_or_default();
    let mut run = parse(target, &text);
    let new: Vec<PathBuf> = listing(&artifacts)
        .into_iter()
        .filter(|p| !before.contains(p))
        .collect();
    for p in &new {
        run.findings.push(project.display_path(p));
    }
    if !status.success() && new.is_empty() {
        run.findings.push(format!("exit {status}"));
    }
    if !run.findings.is_empty() {
        println!("{}", why(&text));
    }
    if run.per_second == 0 && run.execs > 0 {
        let took = started.elapsed().max(Duration::from_secs(1)).as_secs();
        run.per_second = run.execs / took;
    }
    Ok(run)
}

fn listing(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default()
}

/// libFuzzer's final stats and its last status line (`#N ... cov: C ft: F corp: K/..`).
fn parse(target: &str, log: &str) -> Run {
    let stat = |name: &str| -> u64 {
        log.lines()
            .filter_map(|l| l.strip_prefix(&format!("stat::{name}:")))
            .filter_map(|v| v.trim().parse().ok())
            .next_back()
            .unwrap_or(0)
    };
    let field = |line: &str, name: &str| -> Option<u64> {
        let mut words = line.split_whitespace();
        words.find(|w| *w == name)?;
        words.next()?.split('/').next()?.parse().ok()
    };
    let last = log
        .lines()
        .rfind(|l| l.starts_with('#') && l.contains("cov: "))
        .unwrap_or_default();
    Run {
        target: target.to_owned(),
        execs: stat("number_of_executed_units"),
        per_second: stat("average_exec_per_sec"),
        cov: field(last, "cov:").unwrap_or(0),
        ft: field(last, "ft:").unwrap_or(0),
        corpus: field(last, "corp:").unwrap_or(0),
        findings: Vec::new(),
    }
}

/// The lines of a log that say what went wrong: the panic and libFuzzer's verdict.
fn why(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.contains("panicked at") || l.starts_with("==") || l.contains("ERROR:"))
        .unwrap_or(lines.len().saturating_sub(30));
    lines[start..lines.len().min(start + 40)].join("\n")
}

#[cfg(test)]
mod tests {
    use super::rebuilt_dependency;

    fn artifact(id: &str, fresh: bool) -> serde_json::Value {
        serde_json::json!({"reason": "compiler-artifact", "package_id": id, "fresh": fresh})
    }

    #[test]
    fn names_registry_crates_compiled_again_but_not_libfuzzer_or_members() {
        let index = "registry+https://example.invalid/index";
        assert_eq!(
            rebuilt_dependency(&artifact(&format!("{index}#ring@0.17.14"), false)).as_deref(),
            Some("ring@0.17.14")
        );
        assert_eq!(
            rebuilt_dependency(&artifact(&format!("{index}#ring@0.17.14"), true)),
            None
        );
        assert_eq!(
            rebuilt_dependency(&artifact(&format!("{index}#libfuzzer-sys@0.4.13"), false)),
            None
        );
        assert_eq!(
            rebuilt_dependency(&artifact(
                "path+file:///work/crates/host#polyplug-host@0.1.0",
                false
            )),
            None
        );
    }
}
