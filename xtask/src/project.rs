//! Where things live: the project root every command works on and the
//! folders under it that build-all writes. Tests point this at a temporary
//! copy of the plugins through `--root` or POLYPLUG_ROOT.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// Overrides the root when `--root` is not given.
pub const ROOT_ENV: &str = "POLYPLUG_ROOT";
/// Overrides the compilers' intermediate folder (default ROOT/target/wasm-build);
/// tests share one so each temporary copy does not rebuild std and the PDKs.
pub const WASM_BUILD_ENV: &str = "POLYPLUG_WASM_BUILD_DIR";

#[derive(Debug, Clone)]
pub struct Project {
    pub root: PathBuf,
}

impl Project {
    pub fn locate(flag: Option<PathBuf>) -> Result<Project> {
        let (root, origin) = match (flag, std::env::var_os(ROOT_ENV)) {
            (Some(root), _) => (root, "--root"),
            (None, Some(root)) if !root.is_empty() => (PathBuf::from(root), ROOT_ENV),
            // xtask/ sits directly under the root it was compiled in.
            _ => (
                Path::new(env!("CARGO_MANIFEST_DIR")).join(".."),
                "the xtask checkout",
            ),
        };
        if !root.is_dir() {
            bail!(
                "project root {} (from {origin}) is not a folder: pass --root or set {ROOT_ENV} to a polyplug checkout",
                root.display()
            );
        }
        let root = root
            .canonicalize()
            .with_context(|| format!("cannot resolve project root {}", root.display()))?;
        Ok(Project { root })
    }

    /// target/plugins: the artifacts, manifest.json and the build cache.
    pub fn plugins_out(&self) -> PathBuf {
        self.root.join("target").join("plugins")
    }

    /// A native compiler's build cache (one per language), which
    /// `POLYPLUG_WASM_BUILD_DIR` may share between projects (the tests share
    /// cargo's target dir this way). Outputs do not stay here: see
    /// [`Project::wasm_output_dir`] (cargo's are copied there under a lock).
    pub fn wasm_build_dir(&self, lang: &str) -> PathBuf {
        match std::env::var_os(WASM_BUILD_ENV) {
            Some(dir) if !dir.is_empty() => PathBuf::from(dir).join(lang),
            _ => self.wasm_output_dir(lang),
        }
    }

    /// Where a compiler writes a plugin's module before build-all takes it:
    /// always this project's own, so two projects building a plugin of the same
    /// name at once never take each other's file.
    pub fn wasm_output_dir(&self, lang: &str) -> PathBuf {
        self.root.join("target").join("wasm-build").join(lang)
    }

    /// A path as the manifest writes it: relative to the root when inside it.
    pub fn display_path(&self, path: &Path) -> String {
        let shown = path.strip_prefix(&self.root).unwrap_or(path);
        shown.to_string_lossy().replace('\\', "/")
    }
}
