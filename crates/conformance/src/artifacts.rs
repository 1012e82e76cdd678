//! `target/plugins/manifest.json`, written by `cargo xtask build-all`: which artifact
//! implements which spec in which language, and which builds failed (so a missing
//! cell can say which toolchain or build to fix).

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct Artifact {
    pub spec: String,
    pub lang: String,
    /// Relative to the repository root (absolute paths are kept as they are).
    pub path: PathBuf,
    #[serde(default)]
    pub sha256: String,
    #[serde(default)]
    pub toolchain: String,
    #[serde(default)]
    pub toolchain_version: String,
    /// The module imports `wasi_snapshot_preview1`: the host must link WASI.
    #[serde(default)]
    pub wasi: bool,
    #[serde(default)]
    pub exports: Vec<String>,
    /// Function imports, as build-all read them from the module.
    #[serde(default)]
    pub imports: Vec<Import>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Import {
    pub module: String,
    pub name: String,
}

impl Artifact {
    /// The `extism:host/env` functions the module imports.
    pub fn env_imports(&self) -> Vec<String> {
        self.imports
            .iter()
            .filter(|i| i.module == "extism:host/env")
            .map(|i| i.name.clone())
            .collect()
    }
}

/// One language as build-all knows it (xtask's `Language` trait): the suite
/// learns every language from here and names none itself.
#[derive(Debug, Clone, Deserialize)]
pub struct LanguageInfo {
    pub name: String,
    /// The language's plugin folder, relative to the root.
    #[serde(default)]
    pub source_dir: String,
    /// Folders whose changes make its artifacts stale.
    #[serde(default)]
    pub watch: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ArtifactFailure {
    pub spec: String,
    pub lang: String,
    #[serde(default)]
    pub message: String,
}

/// The manifest, read leniently (unknown keys are the xtask's business).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Artifacts {
    /// Every language build-all knows, in report order.
    #[serde(default)]
    pub languages: Vec<LanguageInfo>,
    #[serde(default)]
    pub artifacts: Vec<Artifact>,
    #[serde(default)]
    pub failures: Vec<ArtifactFailure>,
    /// Set by `load`: artifact paths are relative to it.
    #[serde(skip)]
    pub root: PathBuf,
}

impl Artifacts {
    pub fn manifest_path(root: &Path) -> PathBuf {
        root.join("target/plugins/manifest.json")
    }

    pub fn load(root: &Path) -> anyhow::Result<Artifacts> {
        let path = Self::manifest_path(root);
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "cannot read {}: run `cargo xtask build-all` first",
                path.display()
            )
        })?;
        let mut a: Artifacts = serde_json::from_str(&text).with_context(|| {
            format!(
                "{} is not a build-all manifest: run `cargo xtask build-all` again",
                path.display()
            )
        })?;
        a.root = root.to_owned();
        Ok(a)
    }

    /// Languages with at least one artifact or build failure, in report order
    /// (the manifest's `languages`; ones it does not list follow in the order
    /// the manifest first mentions them).
    pub fn languages(&self) -> Vec<String> {
        let mut langs: Vec<String> = Vec::new();
        for lang in self
            .artifacts
            .iter()
            .map(|a| &a.lang)
            .chain(self.failures.iter().map(|f| &f.lang))
        {
            if !langs.contains(lang) {
                langs.push(lang.clone());
            }
        }
        // A stable sort: unlisted languages keep their first-mention order.
        langs.sort_by_key(|l| {
            self.languages
                .iter()
                .position(|k| k.name == *l)
                .unwrap_or(usize::MAX)
        });
        langs
    }

    /// The languages a fixture's `na` may name: every language build-all
    /// knows (a manifest written by hand without that list: the languages it
    /// has artifacts or failures for).
    pub fn known_languages(&self) -> Vec<String> {
        if self.languages.is_empty() {
            self.languages()
        } else {
            self.languages.iter().map(|l| l.name.clone()).collect()
        }
    }

    pub fn find(&self, spec: &str, lang: &str) -> Option<&Artifact> {
        self.artifacts
            .iter()
            .find(|a| a.spec == spec && a.lang == lang)
    }

    pub fn absolute(&self, a: &Artifact) -> PathBuf {
        self.root.join(&a.path)
    }

    /// Why there is no artifact for this cell, phrased as what to do.
    pub fn missing_reason(&self, spec: &str, lang: &str) -> String {
        if let Some(f) = self
            .failures
            .iter()
            .find(|f| f.spec == spec && f.lang == lang)
        {
            return format!(
                "the {lang} build of `{spec}` failed: {}",
                f.message.trim_end()
            );
        }
        let folder = self
            .languages
            .iter()
            .find(|l| l.name == lang && !l.source_dir.is_empty())
            .map_or_else(
                || format!("the {lang} plugin folder"),
                |l| format!("{}/{spec}", l.source_dir),
            );
        if self.artifacts.iter().any(|a| a.lang == lang) {
            format!("no {lang} artifact for `{spec}` in target/plugins/manifest.json: add the plugin under {folder} and run `cargo xtask build-all`")
        } else {
            format!("no {lang} artifacts at all: check the {lang} toolchain with `cargo xtask doctor`, then run `cargo xtask build-all`")
        }
    }
}
