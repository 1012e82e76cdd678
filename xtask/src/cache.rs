//! The build cache: a plugin is rebuilt only when the sha256 of its inputs
//! (sources, lock files such as go.sum that pin a PDK's version, shared packages, the toolchain's
//! version and the build recipe) changed. One small JSON file per plugin under
//! target/plugins/.cache/ holds the key and the manifest entry it produced.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use walkdir::WalkDir;

use crate::artifact::{self, Artifact};
use crate::lang::{Plugin, Toolchain};

/// Bump when a change to build-all changes what a build produces.
const RECIPE: &str = "polyplug-build-all/1";

#[derive(Serialize, Deserialize)]
pub struct Entry {
    pub key: String,
    pub artifact: Artifact,
}

pub fn entry_path(out: &Path, plugin: &Plugin) -> PathBuf {
    out.join(".cache")
        .join(format!("{}-{}.json", plugin.lang, plugin.spec))
}

/// The cached artifact, if its key matches and the file on disk is the one it describes.
pub fn lookup(out: &Path, root: &Path, plugin: &Plugin, key: &str) -> Option<Artifact> {
    let text = std::fs::read(entry_path(out, plugin)).ok()?;
    let entry: Entry = serde_json::from_slice(&text).ok()?;
    if entry.key != key {
        return None;
    }
    let bytes = std::fs::read(root.join(&entry.artifact.path)).ok()?;
    (artifact::sha256_hex(&bytes) == entry.artifact.sha256).then_some(entry.artifact)
}

pub fn store(out: &Path, plugin: &Plugin, key: &str, artifact: &Artifact) -> Result<()> {
    let entry = Entry {
        key: key.to_string(),
        artifact: artifact.clone(),
    };
    let json = serde_json::to_vec_pretty(&entry)?;
    artifact::write_atomic(&entry_path(out, plugin), &json)
}

/// Hash of everything that decides a plugin's output.
pub fn key(toolchain: &Toolchain, plugin: &Plugin) -> Result<String> {
    let mut hasher = Sha256::new();
    let mut field = |name: &str, value: &[u8]| {
        hasher.update(name.as_bytes());
        hasher.update((value.len() as u64).to_le_bytes());
        hasher.update(value);
    };
    field("recipe", RECIPE.as_bytes());
    field("lang", plugin.lang.as_bytes());
    field("spec", plugin.spec.as_bytes());
    field("target", plugin.target.as_bytes());
    field("strategy", toolchain.strategy.as_bytes());
    field("toolchain", toolchain.version_detail.as_bytes());
    field("program", toolchain.program.as_os_str().as_encoded_bytes());
    for arg in &toolchain.args {
        field("arg", arg.as_bytes());
    }
    for (name, value) in &toolchain.env {
        field("env", format!("{name}={value}").as_bytes());
    }
    let mut inputs = plugin.inputs.clone();
    inputs.sort();
    inputs.dedup();
    for input in &inputs {
        hash_tree(input, &mut field)?;
    }
    Ok(artifact::hex(&hasher.finalize()))
}

/// Feeds every file under `path` (or `path` itself) in a stable order, with
/// its path relative to `path` so copies of the project hash alike.
fn hash_tree(path: &Path, field: &mut impl FnMut(&str, &[u8])) -> Result<()> {
    let walk = WalkDir::new(path)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            // Build outputs and VCS data are not inputs.
            let name = e.file_name().to_string_lossy();
            e.depth() == 0
                || !(e.file_type().is_dir()
                    && (name == "target" || (name.starts_with('.') && name != ".cargo")))
        });
    field(
        "input",
        path.file_name().unwrap_or_default().as_encoded_bytes(),
    );
    for entry in walk {
        let entry = entry.with_context(|| format!("cannot read {}", path.display()))?;
        if !entry.file_type().is_file() {
            continue;
        }
        let relative = entry.path().strip_prefix(path).unwrap_or(entry.path());
        let contents = std::fs::read(entry.path())
            .with_context(|| format!("cannot read {}", entry.path().display()))?;
        field("file", relative.as_os_str().as_encoded_bytes());
        field("contents", &contents);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plugin(dir: &Path) -> Plugin {
        Plugin {
            lang: "some-lang",
            spec: "hello".into(),
            dir: dir.join("hello"),
            target: "wasip1".into(),
            inputs: vec![dir.join("hello"), dir.join("deps.lock")],
            id: String::new(),
        }
    }

    fn project(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-cache-{name}-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("hello")).unwrap();
        std::fs::write(dir.join("deps.lock"), "module polyplug.dev/plugins\n").unwrap();
        std::fs::write(dir.join("hello/main.src"), "plugin\n").unwrap();
        dir
    }

    #[test]
    fn key_follows_sources_and_toolchain_only() {
        let (a, b) = (project("a"), project("b"));
        let toolchain = Toolchain {
            version_detail: "go1.26.8".into(),
            ..Toolchain::default()
        };
        let key_a = key(&toolchain, &plugin(&a)).unwrap();
        // Another copy of the same sources, and build outputs, do not matter.
        std::fs::create_dir_all(b.join("hello/target")).unwrap();
        std::fs::write(b.join("hello/target/out.wasm"), "junk").unwrap();
        assert_eq!(key_a, key(&toolchain, &plugin(&b)).unwrap());

        std::fs::write(b.join("deps.lock"), "pinned 2\n").unwrap();
        assert_ne!(
            key_a,
            key(&toolchain, &plugin(&b)).unwrap(),
            "the lock is an input"
        );
        std::fs::write(a.join("hello/extra.src"), "more\n").unwrap();
        let key_a2 = key(&toolchain, &plugin(&a)).unwrap();
        assert_ne!(key_a, key_a2, "a new file is an input");
        let newer = Toolchain {
            version_detail: "go1.26.9".into(),
            ..Toolchain::default()
        };
        assert_ne!(
            key_a2,
            key(&newer, &plugin(&a)).unwrap(),
            "the toolchain version is an input"
        );
        for dir in [a, b] {
            std::fs::remove_dir_all(dir).unwrap();
        }
    }

    #[test]
    fn lookup_rejects_a_tampered_artifact() {
        let dir = project("lookup");
        let out = dir.join("target/plugins");
        let wasm = out.join("some-lang/hello.wasm");
        artifact::write_atomic(&wasm, b"module").unwrap();
        let artifact = Artifact {
            spec: "hello".into(),
            lang: "some-lang".into(),
            path: "target/plugins/some-lang/hello.wasm".into(),
            sha256: artifact::sha256_hex(b"module"),
            bytes: 6,
            toolchain: "some-compiler".into(),
            toolchain_version: "1.26.8".into(),
            wasi: true,
            exports: vec![],
            imports: vec![],
            build_ms: 1,
            cached: false,
        };
        let plugin = plugin(&dir);
        store(&out, &plugin, "k1", &artifact).unwrap();
        assert!(lookup(&out, &dir, &plugin, "k1").is_some());
        assert!(lookup(&out, &dir, &plugin, "k2").is_none(), "another key");
        std::fs::write(&wasm, b"junk!!").unwrap();
        assert!(
            lookup(&out, &dir, &plugin, "k1").is_none(),
            "a changed artifact"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
