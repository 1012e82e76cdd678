//! Installing missing toolchains without prompts: rustup targets where rustup
//! can download, otherwise Debian packages when running as root. `setup` runs
//! this for every language; build-all and conformance for the languages they
//! are about to build.

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
        xshell::cmd!(sh, "apt-get update")
            .run()
            .map_err(|e| anyhow::anyhow!("`apt-get update` failed: {e}"))?;
    }
    xshell::cmd!(sh, "apt-get install -y {packages...}")
        .run()
        .map_err(|e| {
            anyhow::anyhow!(
                "installing {} failed: {e}: check the apt sources and run the command again",
                packages.join(" ")
            )
        })?;
    Ok(())
}

pub fn is_root() -> bool {
    query(Path::new("id"), &["-u"], None).as_deref() == Some("0")
}
