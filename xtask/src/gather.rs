//! `cargo xtask gather DIR...`: merges the artifacts that separate CI jobs
//! built (one language each, uploaded as `target/plugins/{<lang>/, manifest.json}`)
//! into this checkout's target/plugins, so one suite run can compare every
//! language with every other. Each file is checked against its manifest's
//! sha256 before it is taken; nothing is half-written.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::artifact::{self, Manifest};
use crate::flags;
use crate::project::Project;

impl flags::Gather {
    pub fn run(self, project: &Project) -> Result<()> {
        if self.dirs.is_empty() {
            bail!("gather needs at least one folder holding a manifest.json (a downloaded CI artifact)");
        }
        let mut manifests = Vec::new();
        for dir in &self.dirs {
            find_manifests(dir, &mut manifests)?;
        }
        if manifests.is_empty() {
            bail!(
                "no manifest.json under {}: download the language jobs' artifacts there first",
                self.dirs
                    .iter()
                    .map(|d| d.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        let merged = merge(project, &manifests)?;
        let out = project.plugins_out().join("manifest.json");
        artifact::write_atomic(&out, serde_json::to_string_pretty(&merged)?.as_bytes())?;
        println!(
            "gather: {} artifacts from {} manifest(s) -> {}",
            merged.artifacts.len(),
            manifests.len(),
            project.display_path(&out)
        );
        Ok(())
    }
}

fn find_manifests(dir: &Path, found: &mut Vec<PathBuf>) -> Result<()> {
    for entry in walkdir::WalkDir::new(dir).follow_links(false) {
        let entry = entry.with_context(|| format!("cannot read {}", dir.display()))?;
        if entry.file_type().is_file() && entry.file_name() == "manifest.json" {
            found.push(entry.into_path());
        }
    }
    found.sort();
    Ok(())
}

/// Copies every artifact whose file came along (a job uploads only its own
/// language's folder) and keeps one entry per (lang, spec): two jobs that
/// built the same plugin differently is an error, not a silent pick.
fn merge(project: &Project, manifests: &[PathBuf]) -> Result<Manifest> {
    let mut merged = Manifest::default();
    for path in manifests {
        let text =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let manifest: Manifest = serde_json::from_slice(&text).with_context(|| {
            format!(
                "{} is not a build-all manifest: was it written by `cargo xtask build-all`?",
                path.display()
            )
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        for entry in manifest.artifacts {
            // The manifest names target/plugins/<lang>/<spec>.wasm; the
            // artifact keeps what is below target/plugins/.
            let relative = Path::new(&entry.path);
            let below = relative.strip_prefix("target/plugins").unwrap_or(relative);
            let source = base.join(below);
            if !source.is_file() {
                continue;
            }
            let bytes = std::fs::read(&source)
                .with_context(|| format!("cannot read {}", source.display()))?;
            if artifact::sha256_hex(&bytes) != entry.sha256 {
                bail!(
                    "{} does not match the sha256 in {}: the download is damaged, fetch it again",
                    source.display(),
                    path.display()
                );
            }
            if let Some(seen) = merged
                .artifacts
                .iter()
                .find(|a| a.lang == entry.lang && a.spec == entry.spec)
            {
                if seen.sha256 != entry.sha256 {
                    bail!(
                        "{}/{} was built twice with different results ({} in {}): gather one OS at a time",
                        entry.lang,
                        entry.spec,
                        source.display(),
                        path.display()
                    );
                }
                continue;
            }
            let dest = project.root.join(relative);
            artifact::write_atomic(&dest, &bytes)?;
            merged.artifacts.push(entry);
        }
        merged.failures.extend(manifest.failures);
    }
    merged.languages = artifact::languages();
    merged
        .artifacts
        .sort_by(|a, b| (&a.lang, &a.spec).cmp(&(&b.lang, &b.spec)));
    Ok(merged)
}
