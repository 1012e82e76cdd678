//! JavaScript plugins (plugins-js/<spec>/index.js): discovered, but not built
//! yet. The JS compiler (crates/js) fills in `detect` and `build` here.

use std::path::PathBuf;

use anyhow::{Context, Result};

use super::{BuildContext, Built, Language, Plugin, Provision, Toolchain};
use crate::project::Project;

pub struct Js;

const NOT_YET: &str =
    "not yet supported: the JavaScript compiler (crates/js) is not wired into build-all yet";

impl Language for Js {
    fn name(&self) -> &'static str {
        "js"
    }

    fn source_dir(&self) -> &'static str {
        "plugins-js"
    }

    fn detect(&self, _project: &Project) -> Toolchain {
        Toolchain {
            strategy: "unsupported".into(),
            ..Toolchain::missing("js", NOT_YET)
        }
    }

    fn provision(&self) -> Provision {
        // What the QuickJS engine's C needs when it is built for wasm32-wasip1 (DESIGN.md).
        Provision {
            apt_packages: vec![
                "clang-19",
                "llvm-19",
                "libclang-rt-19-dev-wasm32",
                "wasi-libc",
            ],
            ..Provision::default()
        }
    }

    fn discover(&self, project: &Project, _toolchain: &Toolchain) -> Result<Vec<Plugin>> {
        let dir = project.root.join(self.source_dir());
        if !dir.is_dir() {
            return Ok(Vec::new());
        }
        let mut plugins = Vec::new();
        for entry in
            std::fs::read_dir(&dir).with_context(|| format!("cannot read {}", dir.display()))?
        {
            let path: PathBuf = entry?.path();
            if path.join("index.js").is_file() {
                plugins.push(Plugin {
                    lang: self.name(),
                    spec: path
                        .file_name()
                        .unwrap_or_default()
                        .to_string_lossy()
                        .into_owned(),
                    dir: path.clone(),
                    target: "wasm32-wasip1".into(),
                    inputs: vec![path],
                    id: String::new(),
                });
            }
        }
        plugins.sort_by(|a, b| a.spec.cmp(&b.spec));
        Ok(plugins)
    }

    fn build(&self, _ctx: &BuildContext, _toolchain: &Toolchain, batch: &[Plugin]) -> Vec<Built> {
        batch
            .iter()
            .map(|p| Built {
                spec: p.spec.clone(),
                result: Err(NOT_YET.to_string()),
            })
            .collect()
    }
}
