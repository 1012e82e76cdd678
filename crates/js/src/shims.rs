//! Turns the pre-initialised engine into the plugin's module: one export per
//! plugin function (a shim that pushes its arguments with the engine's
//! `__arg_*` and calls `__invoke_<result>` with the function's number), and the plugin's `extism:host/user` imports behind a dispatcher
//! that replaces the engine's `polyplug:js-engine.host_call` placeholder.
//!
//! Adding and removing imports renumbers every function, so the module is
//! re-encoded with wasm-encoder's `Reencode`, which routes every function
//! reference (calls, element segments, exports, start) through
//! [`Linking::function_index`].

use wasm_encoder::reencode::{self, Reencode};
use wasm_encoder::{
    BlockType, CodeSection, EntityType, ExportKind, ExportSection, Function, FunctionSection,
    ImportSection, Instruction, Module, TypeSection, ValType,
};
use wasmparser::{Parser, Payload, TypeRef};

use crate::dts::{Export, HostFunction, Interface, WasmType};
use crate::Error;

const PLACEHOLDER_MODULE: &str = "polyplug:js-engine";
const PLACEHOLDER_NAME: &str = "host_call";
/// The engine's entry points; they stay internal to the plugin module.
const ENTRY_PREFIXES: [&str; 2] = ["__invoke_", "__arg_"];
const USER_MODULE: &str = "extism:host/user";

/// What the first pass learns about the engine snapshot.
struct Facts {
    types: u32,
    imported_funcs: u32,
    defined_funcs: u32,
    /// Index and type of the host-call placeholder import.
    placeholder: (u32, u32),
    /// The engine's `__arg_*` and `__invoke_*` exports by name.
    entries: std::collections::BTreeMap<String, u32>,
}

impl Facts {
    fn entry(&self, name: &str) -> Result<u32, Error> {
        self.entries
            .get(name)
            .copied()
            .ok_or_else(|| engine_err(format!("no `{name}` export")))
    }
}

fn is_entry(name: &str) -> bool {
    ENTRY_PREFIXES.iter().any(|p| name.starts_with(p))
}

fn engine_err(e: impl std::fmt::Display) -> Error {
    Error::engine(format!(
        "the JS engine snapshot is not a module polyplug-js can link: {e}"
    ))
}

fn facts(wasm: &[u8]) -> Result<Facts, Error> {
    let mut types = 0;
    let mut imported_funcs = 0;
    let mut defined_funcs = 0;
    let mut placeholder = None;
    let mut entries = std::collections::BTreeMap::new();
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.map_err(engine_err)? {
            Payload::TypeSection(r) => {
                for group in r {
                    types += group.map_err(engine_err)?.types().len() as u32;
                }
            }
            Payload::ImportSection(r) => {
                for import in r.into_imports() {
                    let import = import.map_err(engine_err)?;
                    if let TypeRef::Func(ty) = import.ty {
                        if import.module == PLACEHOLDER_MODULE && import.name == PLACEHOLDER_NAME {
                            placeholder = Some((imported_funcs, ty));
                        }
                        imported_funcs += 1;
                    }
                }
            }
            Payload::FunctionSection(r) => defined_funcs = r.count(),
            Payload::ExportSection(r) => {
                for export in r {
                    let export = export.map_err(engine_err)?;
                    if is_entry(export.name) && export.kind == wasmparser::ExternalKind::Func {
                        entries.insert(export.name.to_string(), export.index);
                    }
                }
            }
            _ => {}
        }
    }
    let placeholder = placeholder.ok_or_else(|| {
        engine_err(format!(
            "no `{PLACEHOLDER_MODULE}.{PLACEHOLDER_NAME}` import"
        ))
    })?;
    Ok(Facts {
        types,
        imported_funcs,
        defined_funcs,
        placeholder,
        entries,
    })
}

struct Linking<'a> {
    facts: Facts,
    iface: &'a Interface,
    /// Export shim bodies, made before re-encoding (it cannot fail midway).
    shims: Vec<Function>,
}

impl Linking<'_> {
    fn user_imports(&self) -> u32 {
        self.iface.imports.len() as u32
    }
    /// First function index after the imports of the output module.
    fn first_defined(&self) -> u32 {
        self.facts.imported_funcs - 1 + self.user_imports()
    }
    fn dispatcher(&self) -> u32 {
        self.first_defined() + self.facts.defined_funcs
    }
    fn shim(&self, i: u32) -> u32 {
        self.dispatcher() + 1 + i
    }
    fn user_import(&self, i: u32) -> u32 {
        self.facts.imported_funcs - 1 + i
    }
    /// New types: one per export shim, then one per user import.
    fn shim_type(&self, i: u32) -> u32 {
        self.facts.types + i
    }
    fn user_type(&self, i: u32) -> u32 {
        self.facts.types + self.iface.exports.len() as u32 + i
    }
    fn map(&self, old: u32) -> u32 {
        let (k, _) = self.facts.placeholder;
        if old < k {
            old
        } else if old == k {
            self.dispatcher()
        } else if old < self.facts.imported_funcs {
            old - 1
        } else {
            old - 1 + self.user_imports()
        }
    }
}

fn val(ty: WasmType) -> ValType {
    match ty {
        WasmType::I32 => ValType::I32,
        WasmType::I64 => ValType::I64,
        WasmType::F32 => ValType::F32,
        WasmType::F64 => ValType::F64,
    }
}

fn suffix(ty: Option<WasmType>) -> &'static str {
    match ty {
        None => "void",
        Some(WasmType::I32) => "i32",
        Some(WasmType::I64) => "i64",
        Some(WasmType::F32) => "f32",
        Some(WasmType::F64) => "f64",
    }
}

impl Reencode for Linking<'_> {
    type Error = std::convert::Infallible;

    fn function_index(&mut self, func: u32) -> Result<u32, reencode::Error<Self::Error>> {
        Ok(self.map(func))
    }

    fn parse_type_section(
        &mut self,
        types: &mut TypeSection,
        section: wasmparser::TypeSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        reencode::utils::parse_type_section(self, types, section)?;
        for e in &self.iface.exports {
            types
                .ty()
                .function(e.params.iter().copied().map(val), e.result.map(val));
        }
        for f in &self.iface.imports {
            types
                .ty()
                .function(f.params.iter().copied().map(val), f.result.map(val));
        }
        Ok(())
    }

    fn parse_import_section(
        &mut self,
        imports: &mut ImportSection,
        section: wasmparser::ImportSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        for import in section.into_imports() {
            let import = import?;
            if import.module == PLACEHOLDER_MODULE && import.name == PLACEHOLDER_NAME {
                continue;
            }
            let ty = self.entity_type(import.ty)?;
            imports.import(import.module, import.name, ty);
        }
        for (i, f) in self.iface.imports.iter().enumerate() {
            imports.import(
                USER_MODULE,
                &f.name,
                EntityType::Function(self.user_type(i as u32)),
            );
        }
        Ok(())
    }

    fn parse_function_section(
        &mut self,
        functions: &mut FunctionSection,
        section: wasmparser::FunctionSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        reencode::utils::parse_function_section(self, functions, section)?;
        functions.function(self.type_index(self.facts.placeholder.1)?);
        for i in 0..self.iface.exports.len() as u32 {
            functions.function(self.shim_type(i));
        }
        Ok(())
    }

    fn parse_export_section(
        &mut self,
        exports: &mut ExportSection,
        section: wasmparser::ExportSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        for export in section {
            let export = export?;
            // The engine's entry points are reached through the shims only.
            if is_entry(export.name) {
                continue;
            }
            self.parse_export(exports, export)?;
        }
        for (i, e) in self.iface.exports.iter().enumerate() {
            exports.export(&e.name, ExportKind::Func, self.shim(i as u32));
        }
        Ok(())
    }

    fn parse_code_section(
        &mut self,
        code: &mut CodeSection,
        section: wasmparser::CodeSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        reencode::utils::parse_code_section(self, code, section)?;
        code.function(&dispatcher(self));
        for shim in &self.shims {
            code.function(shim);
        }
        Ok(())
    }

    fn parse_custom_section(
        &mut self,
        module: &mut Module,
        section: wasmparser::CustomSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        // Function names would point at the old numbering.
        if section.name() == "name" {
            return Ok(());
        }
        reencode::utils::parse_custom_section(self, module, section)
    }
}

/// `(index: i32, a0..a4: i64) -> i64`: a `br_table` over the user imports,
/// each called with its own arity and types.
fn dispatcher(l: &Linking<'_>) -> Function {
    let imports = &l.iface.imports;
    let mut f = Function::new([]);
    let n = imports.len() as u32;
    // One block per import plus the default, innermost first.
    for _ in 0..=n {
        f.instruction(&Instruction::Block(BlockType::Empty));
    }
    f.instruction(&Instruction::LocalGet(0));
    f.instruction(&Instruction::BrTable((0..n).collect::<Vec<_>>().into(), n));
    f.instruction(&Instruction::End);
    for (i, import) in imports.iter().enumerate() {
        call_import(&mut f, import, l.user_import(i as u32));
        f.instruction(&Instruction::Return);
        f.instruction(&Instruction::End);
    }
    f.instruction(&Instruction::Unreachable);
    f.instruction(&Instruction::End);
    f
}

fn call_import(f: &mut Function, import: &HostFunction, index: u32) {
    for (p, ty) in import.params.iter().enumerate() {
        f.instruction(&Instruction::LocalGet(p as u32 + 1));
        // The engine passes every argument as an i64; dts.rs refuses floats,
        // so the float arms only keep this total.
        match ty {
            WasmType::I32 => f.instruction(&Instruction::I32WrapI64),
            WasmType::I64 => &mut *f,
            WasmType::F32 => f.instruction(&Instruction::F32ConvertI64S),
            WasmType::F64 => f.instruction(&Instruction::F64ConvertI64S),
        };
    }
    f.instruction(&Instruction::Call(index));
    match import.result {
        None => f.instruction(&Instruction::I64Const(0)),
        Some(WasmType::I32) => f.instruction(&Instruction::I64ExtendI32S),
        Some(WasmType::I64) => f,
        Some(WasmType::F32) => f.instruction(&Instruction::I64TruncSatF32S),
        Some(WasmType::F64) => f.instruction(&Instruction::I64TruncSatF64S),
    };
}

/// `(params) -> result`: `__arg_start`, one `__arg_<type>` per parameter,
/// then `__invoke_<result>(index)`, whose result is the shim's.
fn shim(l: &Linking<'_>, index: u32, export: &Export) -> Result<Function, Error> {
    let entry = |name: &str| l.facts.entry(name).map(|old| l.map(old));
    let mut f = Function::new([]);
    f.instruction(&Instruction::Call(entry("__arg_start")?));
    for (p, ty) in export.params.iter().enumerate() {
        f.instruction(&Instruction::LocalGet(p as u32));
        f.instruction(&Instruction::Call(entry(&format!(
            "__arg_{}",
            suffix(Some(*ty))
        ))?));
    }
    f.instruction(&Instruction::I32Const(index as i32));
    f.instruction(&Instruction::Call(entry(&format!(
        "__invoke_{}",
        suffix(export.result)
    ))?));
    f.instruction(&Instruction::End);
    Ok(f)
}

pub fn link(snapshot: &[u8], iface: &Interface) -> Result<Vec<u8>, Error> {
    let facts = facts(snapshot)?;
    let mut linking = Linking {
        facts,
        iface,
        shims: Vec::new(),
    };
    linking.shims = (iface.exports.iter().enumerate())
        .map(|(i, e)| shim(&linking, i as u32, e))
        .collect::<Result<_, _>>()?;
    let mut module = Module::new();
    linking
        .parse_core_module(&mut module, Parser::new(0), snapshot)
        .map_err(engine_err)?;
    let wasm = module.finish();
    wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
        .validate_all(&wasm)
        .map_err(|e| {
            Error::engine(format!(
                "polyplug-js produced an invalid module (a polyplug-js bug): {e}"
            ))
        })?;
    Ok(wasm)
}
