//! Installing missing toolchains without prompts: rustup targets where rustup
//! can download, otherwise Debian packages when running as root. `setup` runs
//! this for every language; build-all and conformance for the languages they
//! are about to build. Optional npm tools (`tools/<name>/`, e.g. an optimiser a
//! language runs when it is there) are installed into `target/tools/<name>/`.

use std::cell::Cell;
use std::path::Path;

use anyhow::Result;

use crate::lang::{query, scrub_env, Language, Toolchain};
use crate::project::Project;

pub struct Outcome {
    /// Fresh detection, in the order of the languages given.
    pub toolchains: Vec<Toolchain>,
    /// What was installed (empty: nothing was needed or possible).
    pub installed: Vec<String>,
    /// Commands the user has to run, for what could not be installed here.
    pub todo: Vec<String>,
}

/// Detects every language's toolchain, one thread each (they mostly wait on
/// `rustc -vV`, `rustup`, `go env`).
pub fn detect_all(project: &Project, langs: &[&dyn Language]) -> Vec<Toolchain> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = langs
            .iter()
            .map(|lang| scope.spawn(|| lang.detect(project)))
            .collect();
        handles
            .into_iter()
            .zip(langs)
            .map(|(h, lang)| {
                h.join().unwrap_or_else(|_| {
                    Toolchain::missing("", format!("{}: detection crashed", lang.name()))
                })
            })
            .collect()
    })
}

/// Tries to make each language that is not ready ready. Languages marked
/// `unsupported` only get their packages installed.
pub fn ensure(
    project: &Project,
    langs: &[&dyn Language],
    detected: Vec<Toolchain>,
) -> Result<Outcome> {
    let mut outcome = Outcome {
        toolchains: Vec::new(),
        installed: Vec::new(),
        todo: Vec::new(),
    };
    let root = is_root();
    let updated = Cell::new(false);
    for (lang, mut toolchain) in langs.iter().zip(detected) {
        let provision = lang.provision();
        let dir = project.root.join(lang.source_dir());
        let dir = if dir.is_dir() {
            dir
        } else {
            project.root.clone()
        };
        if !toolchain.ready && !provision.rustup_targets.is_empty() {
            if let Ok(rustup) = which::which("rustup") {
                if rustup_add(&rustup, &provision.rustup_targets, &dir) {
                    outcome.installed.push(format!(
                        "rustup targets {}",
                        provision.rustup_targets.join(" ")
                    ));
                    toolchain = lang.detect(project);
                }
            }
        }
        if !toolchain.ready && !provision.apt_packages.is_empty() {
            let missing = apt_missing(&provision.apt_packages);
            if !missing.is_empty() {
                let install = format!("apt-get install -y {}", missing.join(" "));
                if root && which::which("apt-get").is_ok() {
                    apt_install(&missing, &updated)?;
                    outcome
                        .installed
                        .push(format!("{}: {}", lang.name(), missing.join(" ")));
                    toolchain = lang.detect(project);
                } else {
                    outcome
                        .todo
                        .push(format!("sudo apt-get update && sudo {install}"));
                }
            }
        }
        if !toolchain.ready && toolchain.strategy != "unsupported" {
            if let Some(manual) = provision.manual {
                outcome.todo.push(format!("{}: {manual}", lang.name()));
            }
        }
        outcome.toolchains.push(toolchain);
    }
    Ok(outcome)
}

fn rustup_add(rustup: &Path, targets: &[&str], dir: &Path) -> bool {
    eprintln!("$ rustup target add {}", targets.join(" "));
    let Ok(sh) = xshell::Shell::new() else {
        return false;
    };
    sh.change_dir(dir);
    let cmd = scrub_env(sh.cmd(rustup).arg("target").arg("add").args(targets))
        .quiet()
        .ignore_status();
    match cmd.output() {
        Ok(out) if out.status.success() => true,
        Ok(out) => {
            let stderr = String::from_utf8_lossy(&out.stderr);
            eprintln!(
                "rustup cannot install the targets here ({}): {}",
                out.status,
                stderr.trim()
            );
            false
        }
        Err(e) => {
            eprintln!("cannot run rustup: {e}");
            false
        }
    }
}

/// Debian packages of `packages` that are not installed.
fn apt_missing(packages: &[&'static str]) -> Vec<&'static str> {
    let Ok(dpkg) = which::which("dpkg-query") else {
        return packages.to_vec();
    };
    packages
        .iter()
        .copied()
        .filter(|p| {
            query(&dpkg, &["-W", "-f=${db:Status-Status}", p], None).as_deref() != Some("installed")
        })
        .collect()
}

fn apt_install(packages: &[&str], updated: &Cell<bool>) -> Result<()> {
    let sh = xshell::Shell::new()?;
    let _frontend = sh.push_env("DEBIAN_FRONTEND", "noninteractive");
    if !updated.replace(true) {
        xshell::cmd!(sh, "apt-get -q update")
            .run()
            .map_err(|e| anyhow::anyhow!("`apt-get update` failed: {e}"))?;
    }
    // -q and no dpkg pty: a line per step, not a progress meter redrawn into a log.
    xshell::cmd!(sh, "apt-get install -y -q -o Dpkg::Use-Pty=0 {packages...}")
        .run()
        .map_err(|e| {
            anyhow::anyhow!(
                "installing {} failed: {e}: check the apt sources and run the command again",
                packages.join(" ")
            )
        })?;
    Ok(())
}

/// Folder of the optional npm tools, each `tools/<name>/package.json` with its
/// package-lock.json, discovered as hosts are, never named here.
const TOOLS: &str = "tools";
/// Written into `target/tools/<name>/` after `npm ci`: the lock's hash.
const TOOL_STAMP: &str = ".ready";

fn tool_state(project: &Project, name: &str) -> std::path::PathBuf {
    project.root.join("target").join(TOOLS).join(name)
}

fn lock_hash(project: &Project, name: &str) -> Option<String> {
    let lock = project
        .root
        .join(TOOLS)
        .join(name)
        .join("package-lock.json");
    std::fs::read(lock)
        .ok()
        .map(|bytes| crate::artifact::sha256_hex(&bytes))
}

/// The `node_modules` folder of the npm tool `tools/<name>/`, when it is
/// installed for its current lock; otherwise why not, with the fix.
pub fn npm_tool(project: &Project, name: &str) -> Result<std::path::PathBuf, String> {
    let state = tool_state(project, name);
    let shown = project.display_path(&state);
    let Some(lock) = lock_hash(project, name) else {
        return Err(format!("{TOOLS}/{name}/package-lock.json is missing"));
    };
    match std::fs::read_to_string(state.join(TOOL_STAMP)) {
        Ok(stamp) if stamp.trim() == lock => Ok(state.join("node_modules")),
        Ok(_) => Err(format!(
            "{shown} is older than {TOOLS}/{name}/package-lock.json: run `cargo xtask setup`"
        )),
        Err(_) => Err(format!(
            "{name} is not installed in {shown}: run `cargo xtask setup`"
        )),
    }
}

/// Installs every npm tool under `tools/` whose lock changed since its last
/// install (`npm ci` into `target/tools/<name>/`, as hosts are set up); the
/// names installed. The tools are optional: without node and npm nothing is
/// installed (the language using one says so when it builds), and a failed
/// install is a one-line notice, never an error.
pub fn npm_tools(project: &Project) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(project.root.join(TOOLS)) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .flatten()
        .filter(|e| e.path().join("package.json").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut installed = Vec::new();
    for name in names {
        if npm_tool(project, &name).is_ok() {
            continue;
        }
        let (Ok(npm), Ok(_)) = (which::which("npm"), which::which("node")) else {
            continue;
        };
        match install_tool(project, &name, &npm) {
            Ok(()) => installed.push(format!("{TOOLS}/{name}")),
            Err(e) => eprintln!("notice: {TOOLS}/{name} not installed: {e}"),
        }
    }
    installed
}

fn install_tool(project: &Project, name: &str, npm: &Path) -> Result<(), String> {
    let source = project.root.join(TOOLS).join(name);
    let state = tool_state(project, name);
    std::fs::create_dir_all(&state)
        .map_err(|e| format!("cannot create {}: {e}", state.display()))?;
    let _ = std::fs::remove_file(state.join(TOOL_STAMP));
    // npm ci needs package.json and the lock side by side; the source tree
    // never gets a node_modules.
    for file in ["package.json", "package-lock.json"] {
        std::fs::copy(source.join(file), state.join(file))
            .map_err(|e| format!("cannot copy {TOOLS}/{name}/{file}: {e}"))?;
    }
    let args = ["ci", "--no-audit", "--no-fund", "--loglevel=error"];
    let shown = format!(
        "`npm {} --prefix {}`",
        args.join(" "),
        project.display_path(&state)
    );
    eprintln!("$ {}", shown.trim_matches('`'));
    let sh = xshell::Shell::new().map_err(|e| format!("cannot start npm: {e}"))?;
    let out = scrub_env(sh.cmd(npm).args(args).arg("--prefix").arg(&state))
        .quiet()
        .ignore_status()
        .output()
        .map_err(|e| format!("cannot run {shown}: {e}"))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let first = stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        return Err(format!("{shown} failed ({}): {first}", out.status));
    }
    let lock = lock_hash(project, name).unwrap_or_default();
    std::fs::write(state.join(TOOL_STAMP), format!("{lock}\n"))
        .map_err(|e| format!("cannot write {}: {e}", state.join(TOOL_STAMP).display()))
}

pub fn is_root() -> bool {
    query(Path::new("id"), &["-u"], None).as_deref() == Some("0")
}
