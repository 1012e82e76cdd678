//! Hand-written WebAssembly text (plugins-wat/<spec>/plugin.wat) for hostile
//! and edge-case plugins: raw ABI calls no PDK makes (forged handles, a
//! million log calls, a stack overflow under a host call). Assembled in
//! process with the `wat` crate, so the toolchain is always ready and there is
//! nothing to install; the same text always gives the same bytes.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use serde_json::{json, Value};

use super::{
    fill, not_implemented, BuildContext, Built, Export, Language, Plugin, Provision, Toolchain,
};
use crate::project::Project;

pub struct Wat;

pub const LANGUAGE: &dyn Language = &Wat;

const DIR: &str = "plugins-wat";
const FILE: &str = "plugin.wat";
/// The `wat` crate xtask links (Cargo.lock pins it): part of every plugin's
/// cache key, so assembling with another one rebuilds.
const ASSEMBLER: &str = "wat 1";

impl Language for Wat {
    fn name(&self) -> &'static str {
        "wat"
    }

    fn source_dir(&self) -> &'static str {
        DIR
    }

    fn order(&self) -> u32 {
        // After the PDK languages: it covers the hostile cases, not the specs.
        90
    }

    /// Nothing beyond the workspace's own Rust, which every job has.
    fn ci_setup(&self) -> Value {
        json!({ "apt": "" })
    }

    fn detect(&self, _project: &Project) -> Toolchain {
        Toolchain {
            ready: true,
            strategy: "in-process".into(),
            name: "wat",
            version: ASSEMBLER.trim_start_matches("wat ").into(),
            version_detail: format!(
                "{ASSEMBLER} (linked into xtask {})",
                env!("CARGO_PKG_VERSION")
            ),
            ..Toolchain::default()
        }
    }

    fn provision(&self) -> Provision {
        Provision::default()
    }

    fn discover(&self, project: &Project, _toolchain: &Toolchain) -> Result<Vec<Plugin>> {
        let mut plugins = Vec::new();
        for (path, name) in super::plugin_dirs(&project.root.join(DIR))? {
            let file = path.join(FILE);
            if !file.is_file() {
                if super::has_files(&path, "wat") {
                    bail!(
                        "{} has .wat files but no {FILE}: name the plugin's module {FILE}",
                        project.display_path(&path)
                    );
                }
                continue;
            }
            plugins.push(Plugin {
                lang: self.name(),
                spec: name,
                inputs: vec![file],
                dir: path,
                target: "wasm32".into(),
                id: String::new(),
            });
        }
        Ok(plugins)
    }

    fn build(&self, ctx: &BuildContext, _toolchain: &Toolchain, batch: &[Plugin]) -> Vec<Built> {
        batch
            .iter()
            .map(|plugin| Built {
                spec: plugin.spec.clone(),
                result: assemble(ctx, plugin),
            })
            .collect()
    }

    /// `plugins-wat/<spec>/plugin.wat`: each ABI export fails through
    /// error_set with its not-implemented message (kept in a data segment),
    /// each raw export traps.
    fn scaffold(&self, spec: &str, exports: &[Export]) -> Result<Vec<(PathBuf, String)>> {
        let mut blocks = Vec::new();
        let mut offset = 0usize;
        for export in exports {
            if export.name.contains(['"', '\\']) || export.name.chars().any(char::is_control) {
                bail!(
                    "export `{}` has a quote, backslash or control character, which a WAT name cannot hold unescaped: pick another name",
                    export.name
                );
            }
            let message = not_implemented(spec, &export.name);
            let block = if export.raw {
                fill(
                    include_str!("wat/template/raw.wat.tmpl"),
                    &[("name", &export.name), ("message", &message)],
                    &[],
                )
            } else {
                let block = fill(
                    include_str!("wat/template/export.wat.tmpl"),
                    &[
                        ("name", &export.name),
                        ("message", &message),
                        ("offset", &offset.to_string()),
                        ("length", &message.len().to_string()),
                    ],
                    &[],
                );
                offset += message.len();
                block
            };
            blocks.push(block);
        }
        let module = fill(
            include_str!("wat/template/module.wat.tmpl"),
            &[("spec", spec), ("exports", blocks.join("\n").trim_end())],
            &[("pdk", exports.iter().any(|e| !e.raw))],
        );
        Ok(vec![(Path::new(DIR).join(spec).join(FILE), module)])
    }
}

/// The module for `plugin`, written where build-all collects every
/// language's output; the assembler's error names the file, line and column.
fn assemble(ctx: &BuildContext, plugin: &Plugin) -> Result<PathBuf, String> {
    let source = plugin.dir.join(FILE);
    let shown = ctx.project.display_path(&source);
    let text = std::fs::read_to_string(&source).map_err(|e| format!("cannot read {shown}: {e}"))?;
    let wasm = wat::parse_str(&text).map_err(|mut e| {
        e.set_path(Path::new(&shown));
        format!("{e}\n\nfix the WAT in {shown}")
    })?;
    let out_dir = ctx.project.wasm_output_dir(plugin.lang);
    std::fs::create_dir_all(&out_dir)
        .map_err(|e| format!("cannot create {}: {e}", out_dir.display()))?;
    let out = out_dir.join(format!("{}.wasm", plugin.spec));
    std::fs::write(&out, wasm).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scaffold_assembles_and_fails_with_its_message() {
        let exports = [
            Export {
                name: "run".into(),
                raw: false,
            },
            Export {
                name: "sum".into(),
                raw: true,
            },
            Export {
                name: "two".into(),
                raw: false,
            },
        ];
        let files = Wat.scaffold("edge", &exports).unwrap();
        let wasm = wat::parse_str(&files[0].1).unwrap();
        assert!(wasmparser::validate(&wasm).is_ok());
        let text = &files[0].1;
        assert!(
            text.contains("(data (i32.const 0) \"not implemented: edge/run\")"),
            "{text}"
        );
        assert!(
            text.contains("(data (i32.const 25) \"not implemented: edge/two\")"),
            "{text}"
        );
    }

    #[test]
    fn a_bad_module_names_the_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let plugin_dir = root.join(DIR).join("broken");
        std::fs::create_dir_all(&plugin_dir).unwrap();
        std::fs::write(
            plugin_dir.join(FILE),
            "(module\n  (func (export \"x\") (nope)))\n",
        )
        .unwrap();
        std::fs::create_dir_all(root.join(DIR).join("empty")).unwrap();
        let ctx = BuildContext {
            project: Project {
                root: root.to_path_buf(),
            },
            jobs: None,
        };
        let plugins = Wat.discover(&ctx.project, &Toolchain::default()).unwrap();
        assert_eq!(plugins.len(), 1);
        let err = assemble(&ctx, &plugins[0]).unwrap_err();
        assert!(err.contains("plugins-wat/broken/plugin.wat:2:"), "{err}");
    }
}
