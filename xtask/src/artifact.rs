//! What build-all promises the host and the suite: target/plugins/manifest.json
//! (see /tmp/briefs/artifacts.md), the facts it reads out of each module with
//! wasmparser, and atomic writes so a reader never sees half a file.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use wasmparser::{ExternalKind, Parser, Payload, TypeRef, Validator, WasmFeatures};

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Manifest {
    /// Every language xtask knows, in report order: the suite takes its
    /// column order, missing-artifact hints and the names a fixture's `na`
    /// may use from here, so it never names a language itself.
    #[serde(default)]
    pub languages: Vec<LanguageInfo>,
    pub artifacts: Vec<Artifact>,
    pub failures: Vec<Failure>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LanguageInfo {
    pub name: String,
    /// The plugin folder, relative to the root.
    pub source_dir: String,
    /// Folders whose changes make this language's artifacts stale.
    pub watch: Vec<String>,
}

/// The manifest's `languages`, from the `Language` implementations.
pub fn languages() -> Vec<LanguageInfo> {
    crate::lang::all()
        .into_iter()
        .map(|lang| LanguageInfo {
            name: lang.name().to_string(),
            source_dir: lang.source_dir().to_string(),
            watch: lang.watch().into_iter().map(str::to_string).collect(),
        })
        .collect()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Artifact {
    pub spec: String,
    pub lang: String,
    /// Relative to the project root.
    pub path: String,
    pub sha256: String,
    pub bytes: u64,
    pub toolchain: String,
    pub toolchain_version: String,
    /// The module imports `wasi_snapshot_preview1`: the host must link WASI.
    pub wasi: bool,
    /// Function exports only.
    pub exports: Vec<String>,
    /// Function imports only.
    pub imports: Vec<Import>,
    pub build_ms: u64,
    pub cached: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Import {
    pub module: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Failure {
    pub spec: String,
    pub lang: String,
    pub message: String,
}

/// What the manifest says about a module's interface.
#[derive(Debug, PartialEq, Eq)]
pub struct Interface {
    pub exports: Vec<String>,
    pub imports: Vec<Import>,
    pub wasi: bool,
}

/// Validates a module and lists its function exports and imports; an invalid
/// module is an error, so junk never replaces a good artifact.
pub fn inspect(wasm: &[u8]) -> Result<Interface> {
    Validator::new_with_features(WasmFeatures::all())
        .validate_all(wasm)
        .context("not a valid wasm module")?;
    let mut interface = Interface {
        exports: Vec::new(),
        imports: Vec::new(),
        wasi: false,
    };
    for payload in Parser::new(0).parse_all(wasm) {
        match payload? {
            Payload::ImportSection(section) => {
                for import in section.into_imports() {
                    let import = import?;
                    interface.wasi |= import.module == "wasi_snapshot_preview1";
                    if matches!(import.ty, TypeRef::Func(_)) {
                        interface.imports.push(Import {
                            module: import.module.into(),
                            name: import.name.into(),
                        });
                    }
                }
            }
            Payload::ExportSection(section) => {
                for export in section {
                    let export = export?;
                    if export.kind == ExternalKind::Func {
                        interface.exports.push(export.name.into());
                    }
                }
            }
            _ => {}
        }
    }
    Ok(interface)
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes next to the destination, then renames over it: readers see the old
/// file or the new one, never a mix.
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<()> {
    let dir = path.parent().context("a file to write has no folder")?;
    std::fs::create_dir_all(dir).with_context(|| {
        format!(
            "cannot create {}: make the target folder writable",
            dir.display()
        )
    })?;
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let written = std::fs::File::create(&tmp)
        .and_then(|mut file| file.write_all(contents).and_then(|()| file.sync_all()))
        .and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e).with_context(|| {
            format!(
                "cannot write {}: make the target folder writable",
                path.display()
            )
        });
    }
    Ok(())
}

/// Entries of the previous manifest for plugins this run did not select
/// (another `--lang` or `--spec`), so the manifest keeps describing all of
/// target/plugins. An artifact is kept only while its file is unchanged; a
/// plugin whose source is gone is dropped.
pub fn carry_over(
    project: &crate::project::Project,
    previous: &std::path::Path,
    ran: &BTreeSet<(String, String)>,
    discovered_langs: &BTreeSet<&str>,
    discovered: &BTreeSet<(String, String)>,
) -> (Vec<Artifact>, Vec<Failure>) {
    let Some(previous) = std::fs::read(previous)
        .ok()
        .and_then(|t| serde_json::from_slice::<Manifest>(&t).ok())
    else {
        return (Vec::new(), Vec::new());
    };
    let keep = |lang: &str, spec: &str| {
        let name = (lang.to_string(), spec.to_string());
        !ran.contains(&name) && (!discovered_langs.contains(lang) || discovered.contains(&name))
    };
    let artifacts = previous
        .artifacts
        .into_iter()
        .filter(|a| keep(&a.lang, &a.spec))
        .filter(|a| {
            std::fs::read(project.root.join(&a.path))
                .is_ok_and(|bytes| sha256_hex(&bytes) == a.sha256)
        })
        .map(|a| Artifact { cached: true, ..a })
        .collect();
    let failures = previous
        .failures
        .into_iter()
        .filter(|f| keep(&f.lang, &f.spec))
        .collect();
    (artifacts, failures)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hand-assembled module: imports extism's `alloc` and a WASI function,
    /// exports function `greet` and a memory.
    fn module() -> Vec<u8> {
        let mut m = b"\0asm\x01\0\0\0".to_vec();
        // types: 0 = (i64)->i64, 1 = ()->i32, 2 = (i32)->()
        m.extend([
            1, 14, 3, 0x60, 1, 0x7e, 1, 0x7e, 0x60, 0, 1, 0x7f, 0x60, 1, 0x7f, 0,
        ]);
        let mut imports = vec![2];
        for (module, name, ty) in [
            ("extism:host/env", "alloc", 0u8),
            ("wasi_snapshot_preview1", "proc_exit", 2),
        ] {
            imports.push(module.len() as u8);
            imports.extend(module.as_bytes());
            imports.push(name.len() as u8);
            imports.extend(name.as_bytes());
            imports.extend([0, ty]);
        }
        m.push(2);
        m.push(imports.len() as u8);
        m.extend(imports);
        m.extend([3, 2, 1, 1]); // one function of type 1
        m.extend([5, 3, 1, 0, 1]); // one memory
        let exports = [
            2, 5, b'g', b'r', b'e', b'e', b't', 0, 2, 6, b'm', b'e', b'm', b'o', b'r', b'y', 2, 0,
        ];
        m.extend([7, exports.len() as u8]);
        m.extend(exports);
        m.extend([10, 6, 1, 4, 0, 0x41, 0, 0x0b]); // body: i32.const 0
        m
    }

    #[test]
    fn lists_function_exports_and_imports() {
        let interface = inspect(&module()).unwrap();
        assert_eq!(interface.exports, ["greet"]);
        assert_eq!(
            interface.imports,
            [
                Import {
                    module: "extism:host/env".into(),
                    name: "alloc".into()
                },
                Import {
                    module: "wasi_snapshot_preview1".into(),
                    name: "proc_exit".into()
                },
            ]
        );
        assert!(interface.wasi);
    }

    #[test]
    fn rejects_junk() {
        assert!(inspect(b"not wasm").is_err());
        let mut truncated = module();
        truncated.truncate(truncated.len() - 3);
        assert!(inspect(&truncated).is_err());
    }

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp() {
        let dir = std::env::temp_dir().join(format!("xtask-atomic-{}", std::process::id()));
        let file = dir.join("manifest.json");
        write_atomic(&file, b"one").unwrap();
        write_atomic(&file, b"two").unwrap();
        assert_eq!(std::fs::read(&file).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
