//! `cargo xtask ci-matrix`: the GitHub Actions matrix, derived from the same
//! discovery build-all uses, so a new language or plugin folder gets its CI job
//! without editing the workflow. `--check WORKFLOW` catches the reverse drift:
//! a workflow step written for a language the repo no longer has.

use std::path::Path;

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use crate::lang::{self, Language};
use crate::project::Project;
use crate::{flags, provision};

impl flags::CiMatrix {
    pub fn run(self, project: &Project) -> Result<()> {
        let shards = self.shards.unwrap_or(1);
        if shards == 0 {
            bail!("--shards 0: give at least 1 (the number of jobs per language and OS)");
        }
        let matrix = matrix(project, shards, !self.no_macos)?;
        if let Some(workflow) = &self.check {
            let langs: Vec<&str> = matrix["include"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|job| job["lang"].as_str())
                .collect();
            check_workflow(workflow, &langs)?;
            eprintln!(
                "{}: every language it names has plugins here",
                workflow.display()
            );
            return Ok(());
        }
        println!("{matrix}");
        Ok(())
    }
}

/// `{"include": [{lang, os, shard, setup...}]}`: one job per language that has
/// plugins (on Linux, and on macOS where its toolchain runs there), times shards.
pub fn matrix(project: &Project, shards: usize, macos: bool) -> Result<Value> {
    let langs = lang::all();
    let toolchains = provision::detect_all(project, &langs);
    let mut include = Vec::new();
    for (lang, toolchain) in langs.iter().zip(&toolchains) {
        let plugins = lang.discover(project, toolchain).with_context(|| {
            format!("cannot list the {} plugins for the CI matrix", lang.name())
        })?;
        if plugins.is_empty() {
            continue;
        }
        let mut oses = vec!["ubuntu-latest"];
        if macos && lang.ci_macos() {
            oses.push("macos-latest");
        }
        for os in oses {
            for shard in 1..=shards {
                let mut job = setup(*lang);
                job["lang"] = json!(lang.name());
                job["os"] = json!(os);
                // The official hosts run once, in the gathering job (the workflow
                // says why); a language job proves its artifacts on polyplug.
                job["host"] = json!(crate::hosts::IN_PROCESS);
                job["plugins"] = json!(plugins.len());
                if shards > 1 {
                    job["shard"] = json!(format!("{shard}/{shards}"));
                }
                include.push(job);
            }
        }
    }
    Ok(json!({ "include": include }))
}

/// The toolchain a language's job installs, as the workflow's setup steps read
/// it: the language's own [`Language::ci_setup`], so a new language never
/// silently gets another language's setup.
fn setup(lang: &dyn Language) -> Value {
    let mut job = lang.ci_setup();
    if !job.is_object() {
        job = json!({});
    }
    if job.get("apt").is_none() {
        job["apt"] = json!("");
    }
    job
}

/// Every `matrix.lang == '<name>'` in the workflow must name a language that
/// has plugins here: a step for a language that is gone would silently never run.
pub fn check_workflow(workflow: &Path, langs: &[&str]) -> Result<()> {
    let text = std::fs::read_to_string(workflow)
        .with_context(|| format!("cannot read workflow {}", workflow.display()))?;
    if !text.contains("cargo xtask ci-matrix") {
        bail!(
            "{} never runs `cargo xtask ci-matrix`: generate the matrix with it so new languages get jobs",
            workflow.display()
        );
    }
    let mut unknown = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let mut rest = line;
        while let Some(at) = rest.find("matrix.lang") {
            rest = &rest[at + "matrix.lang".len()..];
            let Some(tail) = rest.trim_start().strip_prefix("==") else {
                continue;
            };
            let tail = tail.trim_start();
            let Some(quote) = tail.chars().next().filter(|c| *c == '\'' || *c == '"') else {
                continue;
            };
            let name: String = tail[1..].chars().take_while(|c| *c != quote).collect();
            if !langs.contains(&name.as_str()) {
                unknown.push(format!("line {}: `{name}`", number + 1));
            }
        }
    }
    if !unknown.is_empty() {
        bail!(
            "{} names languages this repo has no plugins for ({}): the repo has {}; remove those steps or add the plugins",
            workflow.display(),
            unknown.join(", "),
            langs.join(", ")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_workflow;

    fn check(text: &str) -> anyhow::Result<()> {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("w.yml");
        std::fs::write(&file, text).unwrap();
        check_workflow(&file, &["alpha", "beta"])
    }

    #[test]
    fn accepts_known_languages() {
        check(
            "run: cargo xtask ci-matrix\nif: matrix.lang == 'beta' && matrix.lang == \"alpha\"\n",
        )
        .unwrap();
    }

    #[test]
    fn names_the_unknown_language_and_line() {
        let err = check("run: cargo xtask ci-matrix\n\nif: matrix.lang == 'python'\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 3: `python`"), "{err}");
        assert!(err.contains("the repo has alpha, beta"), "{err}");
    }

    #[test]
    fn requires_the_generated_matrix() {
        let err = check("if: matrix.lang == 'beta'\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("never runs `cargo xtask ci-matrix`"), "{err}");
    }
}
