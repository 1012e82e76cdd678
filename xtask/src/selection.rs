//! Which plugins a build-all run builds: each language's toolchain and
//! plugins (detected and discovered in parallel), narrowed by `--lang` and
//! `--spec`, with missing toolchains provisioned when that needs no prompt.

use std::collections::BTreeSet;

use anyhow::{bail, Result};

use crate::lang::{Language, Plugin, Toolchain};
use crate::project::Project;
use crate::provision;

/// One language with the plugins selected for it.
pub struct Selected {
    pub lang: &'static dyn Language,
    pub toolchain: Toolchain,
    pub plugins: Vec<Plugin>,
}

/// `(lang, spec)` of every selected plugin.
pub fn plugin_names(selected: &[Selected]) -> BTreeSet<(String, String)> {
    selected
        .iter()
        .flat_map(|s| {
            s.plugins
                .iter()
                .map(|p| (p.lang.to_string(), p.spec.clone()))
        })
        .collect()
}

/// Detects and discovers each language. Unsupported languages are skipped
/// unless named with `--lang`.
pub fn discover(
    project: &Project,
    langs: &[&'static dyn Language],
    explicit: bool,
) -> Result<Vec<Selected>> {
    // Each language detects and discovers on its own thread: both mostly wait
    // on child processes (rustup, rustc -vV, cargo metadata).
    let found: Vec<Result<Option<Selected>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = langs
            .iter()
            .map(|lang| {
                scope.spawn(move || {
                    let toolchain = lang.detect(project);
                    if toolchain.strategy == "unsupported" {
                        if explicit {
                            bail!("{}: {}", lang.name(), toolchain.hint);
                        }
                        let skipped = lang
                            .discover(project, &toolchain)
                            .map(|p| p.len())
                            .unwrap_or(0);
                        if skipped > 0 {
                            eprintln!(
                                "build-all: skipping {skipped} {} plugin(s): {}",
                                lang.name(),
                                toolchain.hint
                            );
                        }
                        return Ok(None);
                    }
                    let plugins = lang.discover(project, &toolchain)?;
                    Ok(Some(Selected {
                        lang: *lang,
                        toolchain,
                        plugins,
                    }))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("plugin discovery crashed")))
            })
            .collect()
    });
    found.into_iter().filter_map(Result::transpose).collect()
}

pub fn filter_specs(selected: &mut [Selected], specs: &[String]) -> Result<()> {
    if specs.is_empty() {
        return Ok(());
    }
    let known: BTreeSet<&str> = selected
        .iter()
        .flat_map(|s| s.plugins.iter().map(|p| p.spec.as_str()))
        .collect();
    for spec in specs {
        if !known.contains(spec.as_str()) {
            let dirs: Vec<_> = selected
                .iter()
                .map(|s| format!("{}/", s.lang.source_dir()))
                .collect();
            bail!(
                "unknown spec `{spec}`: no plugin implements it under {} (known: {})",
                dirs.join(" or "),
                known.into_iter().collect::<Vec<_>>().join(", ")
            );
        }
    }
    for sel in selected.iter_mut() {
        sel.plugins.retain(|p| specs.contains(&p.spec));
    }
    Ok(())
}

/// Provisions the languages about to build when that needs no prompt (root
/// for apt, or a rustup that can download); otherwise names the command.
pub fn make_ready(project: &Project, selected: &mut [Selected]) -> Result<()> {
    // An optional tool changes what a language builds (and its cache key).
    if !provision::npm_tools(project).is_empty() {
        for sel in selected.iter_mut() {
            sel.toolchain = sel.lang.detect(project);
        }
    }
    if selected.iter().all(|s| s.toolchain.ready) {
        return Ok(());
    }
    let unready: Vec<&'static dyn Language> = selected
        .iter()
        .filter(|s| !s.toolchain.ready)
        .map(|s| s.lang)
        .collect();
    let detected = selected
        .iter()
        .filter(|s| !s.toolchain.ready)
        .map(|s| s.toolchain.clone())
        .collect();
    let can_install = provision::is_root() || which::which("rustup").is_ok();
    let outcome = if can_install {
        Some(provision::ensure(project, &unready, detected)?)
    } else {
        None
    };
    let mut missing = Vec::new();
    for sel in selected.iter_mut().filter(|s| !s.toolchain.ready) {
        if let Some(outcome) = &outcome {
            let i = unready
                .iter()
                .position(|l| l.name() == sel.lang.name())
                .unwrap_or_default();
            sel.toolchain = outcome.toolchains[i].clone();
        }
        if !sel.toolchain.ready {
            missing.push(format!("{}: {}", sel.lang.name(), sel.toolchain.hint));
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    let todo = outcome.map(|o| o.todo).unwrap_or_default();
    let run = if todo.is_empty() {
        String::new()
    } else {
        format!("\nrun:\n  {}", todo.join("\n  "))
    };
    bail!(
        "cannot build: toolchains missing\n  {}{run}",
        missing.join("\n  ")
    )
}
