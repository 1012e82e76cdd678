//! What a module imports, read with wasmparser before it is loaded: which
//! optional namespaces it needs, and the user host functions it expects.

use anyhow::{Context, Result};
use polyplug_host::ValType;

pub const WASI: &str = "wasi_snapshot_preview1";
pub const ENV: &str = "extism:host/env";

/// A function the module imports from outside the Extism kernel and WASI.
pub struct HostImport {
    pub namespace: String,
    pub name: String,
    pub params: Vec<ValType>,
    pub results: Vec<ValType>,
}

#[derive(Default)]
pub struct Imports {
    /// WASI preview 1 (Go plugins and wasip1 builds).
    pub wasi: bool,
    /// Host functions (`extism:host/user` and any other namespace).
    pub host: Vec<HostImport>,
}

/// The module's imports; an error when the bytes are not a wasm module.
pub fn imports(bytes: &[u8]) -> Result<Imports> {
    let mut out = Imports::default();
    let mut types: Vec<Option<wasmparser::FuncType>> = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        match payload.context("not a wasm module")? {
            wasmparser::Payload::TypeSection(section) => {
                for group in section {
                    for ty in group?.into_types() {
                        types.push(match ty.composite_type.inner {
                            wasmparser::CompositeInnerType::Func(f) => Some(f),
                            _ => None,
                        });
                    }
                }
            }
            wasmparser::Payload::ImportSection(section) => {
                for import in section.into_imports() {
                    let import = import?;
                    match import.module {
                        WASI => out.wasi = true,
                        ENV => {}
                        namespace => {
                            let ty = match import.ty {
                                wasmparser::TypeRef::Func(i) => {
                                    types.get(i as usize).cloned().flatten()
                                }
                                _ => None,
                            };
                            let (params, results) = ty.map_or((Vec::new(), Vec::new()), |f| {
                                (
                                    f.params().iter().map(val_type).collect(),
                                    f.results().iter().map(val_type).collect(),
                                )
                            });
                            out.host.push(HostImport {
                                namespace: namespace.to_string(),
                                name: import.name.to_string(),
                                params,
                                results,
                            });
                        }
                    }
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

fn val_type(t: &wasmparser::ValType) -> ValType {
    match t {
        wasmparser::ValType::I32 => ValType::I32,
        wasmparser::ValType::I64 => ValType::I64,
        wasmparser::ValType::F32 => ValType::F32,
        wasmparser::ValType::F64 => ValType::F64,
        wasmparser::ValType::V128 => ValType::V128,
        // Reference types never cross the Extism ABI; a host function
        // declared with them fails to link with a message naming it.
        wasmparser::ValType::Ref(_) => ValType::EXTERNREF,
    }
}
