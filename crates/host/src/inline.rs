//! The kernel accessors inlined into each plugin module at load time.
//!
//! The PDKs move input and output through `load_u64`, `store_u64` and
//! `input_load_u64`, 8 bytes a call: 262 144 calls for a 1 MiB echo. Linked to
//! the accessor instance (accessor.rs), each one is a call into another
//! instance. Rewritten here, each call site holds the accessor's body: the
//! PDK's loop loads from one memory and stores to the other, one compare
//! between, and calls nothing (1 MiB echo: 1.07 -> 2.46 GB/s, docs/bench.md).
//! Cranelift's own inlining would do the same for these calls, but it inlines
//! every small function of every module and doubled the Go modules' compile
//! time; this expands only the accessor calls.
//!
//! The rewrite, done before compiling (so the compiled module is cached as
//! rewritten):
//! - the plugin's imports of the accessors go; it imports the kernel memory
//!   ([`KERNEL`].`memory`), which becomes memory 0 (the plugin's own memories
//!   move up by one), and the slow path ([`KERNEL`].`slow`, a host function),
//!   after its other imports;
//! - the accessor module's own function bodies (accessor.rs, the same code)
//!   replace every `call` of an accessor, their arguments in three added
//!   locals, their `return`s branches out of a block; they are also appended
//!   as functions, with their types, for any other reference (a table, an
//!   export, `return_call`);
//! - every function and memory index is renumbered by wasm-encoder's
//!   `Reencode`, the name section included; DWARF sections, which point at
//!   code offsets that no longer hold, are dropped.
//!
//! A module the rewrite does not fit is compiled as it is and links to the
//! accessor instance as before: one that imports no accessor or imports a
//! memory, already imports from [`KERNEL`], or declares an accessor with
//! another type (it then fails to link with the usual message).

use std::sync::OnceLock;

use wasm_encoder::reencode::{self, Reencode};
use wasm_encoder::{
    CodeSection, EntityType, FunctionSection, ImportSection, Instruction, NameMap, NameSection,
    TypeSection, ValType,
};
use wasmparser::{
    BinaryReader, CodeSectionReader, CompositeInnerType, ExternalKind, FuncType, FunctionBody,
    Name, Operator, Parser, Payload, TypeRef,
};

use crate::accessor;
use crate::env_fns::ENV;
use crate::error::{Error, ErrorKind};
use crate::kernel::ACCESSORS;

/// The import module of what a rewritten plugin needs from the host.
pub(crate) const KERNEL: &str = "polyplug:kernel";

/// The accessor module, parsed once: what is copied into every plugin.
struct Template {
    /// The kernel memory's type, as the accessor module imports it.
    memory: wasmparser::MemoryType,
    /// The slow path's type.
    slow: FuncType,
    /// Per accessor, in [`ACCESSORS`] order: its type, and its body's bytes
    /// with their offset in the accessor module.
    funcs: Vec<(FuncType, Vec<u8>, usize)>,
}

fn template() -> Option<&'static Template> {
    static TEMPLATE: OnceLock<Option<Template>> = OnceLock::new();
    TEMPLATE.get_or_init(parse_template).as_ref()
}

fn parse_template() -> Option<Template> {
    let binary = wat::parse_str(accessor::wat()).expect("the accessor module's text is valid");
    let mut types = Vec::new();
    let mut memory = None;
    let mut slow = None;
    let mut declared = Vec::new();
    let mut exports = Vec::new();
    let mut bodies = Vec::new();
    for payload in Parser::new(0).parse_all(&binary) {
        match payload.ok()? {
            Payload::TypeSection(s) => {
                for ty in s.into_iter_err_on_gc_types() {
                    types.push(ty.ok()?);
                }
            }
            Payload::ImportSection(s) => {
                for import in s.into_imports() {
                    match import.ok()?.ty {
                        TypeRef::Memory(m) => memory = Some(m),
                        TypeRef::Func(t) => slow = types.get(t as usize).cloned(),
                        _ => {}
                    }
                }
            }
            Payload::FunctionSection(s) => {
                for t in s {
                    declared.push(t.ok()?);
                }
            }
            Payload::ExportSection(s) => {
                for e in s {
                    let e = e.ok()?;
                    if e.kind == ExternalKind::Func {
                        exports.push((e.name.to_owned(), e.index));
                    }
                }
            }
            Payload::CodeSectionEntry(body) => {
                let range = body.range();
                bodies.push((binary[range.clone()].to_vec(), range.start));
            }
            _ => {}
        }
    }
    let mut funcs = Vec::new();
    for (name, ..) in ACCESSORS {
        // One import (the slow path) comes before the defined functions.
        let (_, index) = exports.iter().find(|(n, _)| n == name)?;
        let defined = (*index as usize).checked_sub(1)?;
        let ty = types.get(*declared.get(defined)? as usize)?.clone();
        let (body, offset) = bodies.get(defined)?.clone();
        funcs.push((ty, body, offset));
    }
    Some(Template {
        memory: memory?,
        slow: slow?,
        funcs,
    })
}

/// `wasm` with the accessors inlined; None when the rewrite does not fit it
/// (or the bytes do not parse: compiling them says why); an error when the
/// module imports from [`KERNEL`] itself.
pub(crate) fn inline_accessors(wasm: &[u8]) -> Result<Option<Vec<u8>>, Error> {
    let Some(template) = template() else {
        return Ok(None);
    };
    let plan = match Plan::of(wasm, template) {
        Ok(Fit::Rewrite(plan)) => plan,
        Ok(Fit::Reserved) => {
            return Err(Error::new(
                ErrorKind::UnknownImport,
                format!("the module imports from `{KERNEL}`, which polyplug keeps for itself: rename the import (Extism's functions are in `{ENV}`)"),
            ))
        }
        Ok(Fit::AsIs) | Err(_) => return Ok(None),
    };
    let mut rewriter = Rewriter {
        plan,
        template,
        next_body: 0,
    };
    let mut module = wasm_encoder::Module::new();
    match rewriter.parse_core_module(&mut module, Parser::new(0), wasm) {
        Ok(()) => Ok(Some(module.finish())),
        Err(_) => Ok(None),
    }
}

/// Whether and how a module is rewritten.
enum Fit {
    Rewrite(Plan),
    AsIs,
    /// It imports from [`KERNEL`]: refused, so only a rewritten module does.
    Reserved,
}

/// What the rewrite of one module moves where.
struct Plan {
    /// Types the module declares.
    types: u32,
    /// Functions the module imports, before the rewrite.
    imported: u32,
    /// Functions the module defines.
    defined: u32,
    /// Old function index of each accessor import removed, with the accessor's
    /// place in [`ACCESSORS`]; ascending.
    removed: Vec<(u32, usize)>,
    /// Parameters of each defined function, in order.
    params: Vec<u32>,
}

impl Plan {
    fn of(wasm: &[u8], template: &Template) -> wasmparser::Result<Fit> {
        let mut types: Vec<Option<FuncType>> = Vec::new();
        // Read on to the end: a later import may be a reserved one.
        let mut fits = true;
        let mut plan = Plan {
            types: 0,
            imported: 0,
            defined: 0,
            removed: Vec::new(),
            params: Vec::new(),
        };
        for payload in Parser::new(0).parse_all(wasm) {
            match payload? {
                Payload::Version {
                    encoding: wasmparser::Encoding::Component,
                    ..
                } => return Ok(Fit::AsIs),
                Payload::TypeSection(s) => {
                    for group in s {
                        for sub in group?.into_types() {
                            types.push(match sub.composite_type.inner {
                                CompositeInnerType::Func(f) => Some(f),
                                _ => None,
                            });
                        }
                    }
                }
                Payload::ImportSection(s) => {
                    for import in s.into_imports() {
                        let import = import?;
                        if import.module == KERNEL {
                            return Ok(Fit::Reserved);
                        }
                        match import.ty {
                            TypeRef::Func(t) | TypeRef::FuncExact(t) => {
                                let index = plan.imported;
                                plan.imported += 1;
                                if import.module != ENV {
                                    continue;
                                }
                                let Some(at) = accessor::index(import.name) else {
                                    continue;
                                };
                                let declared = types.get(t as usize).cloned().flatten();
                                if declared.as_ref() != Some(&template.funcs[at].0) {
                                    fits = false;
                                }
                                plan.removed.push((index, at));
                            }
                            TypeRef::Memory(_) => fits = false,
                            _ => {}
                        }
                    }
                }
                Payload::FunctionSection(s) => {
                    plan.defined = s.count();
                    for t in s {
                        let ty = types.get(t? as usize).cloned().flatten();
                        plan.params.push(ty.map_or(0, |f| f.params().len() as u32));
                    }
                }
                _ => {}
            }
        }
        if !fits || plan.removed.is_empty() {
            return Ok(Fit::AsIs);
        }
        plan.types = types.len() as u32;
        Ok(Fit::Rewrite(plan))
    }

    /// The new index of the slow path import: after the kept imports.
    fn slow(&self) -> u32 {
        self.imported - self.removed.len() as u32
    }

    /// The new index of the accessor at `at` in [`ACCESSORS`].
    fn accessor(&self, at: usize) -> u32 {
        self.slow() + 1 + self.defined + at as u32
    }

    /// The new index of old function `func`.
    fn function(&self, func: u32) -> u32 {
        if func >= self.imported {
            return func - self.removed.len() as u32 + 1;
        }
        let before = self.removed.partition_point(|(i, _)| *i < func);
        match self.removed.get(before) {
            Some((i, at)) if *i == func => self.accessor(*at),
            _ => func - before as u32,
        }
    }

    fn is_removed(&self, func: u32) -> bool {
        self.removed_accessor(func).is_some()
    }

    /// The place in [`ACCESSORS`] of old function `func`, if it is a removed import.
    fn removed_accessor(&self, func: u32) -> Option<usize> {
        if func >= self.imported {
            return None;
        }
        let at = self.removed.binary_search_by_key(&func, |(i, _)| *i).ok()?;
        Some(self.removed[at].1)
    }
}

struct Rewriter<'t> {
    plan: Plan,
    template: &'t Template,
    /// The defined function whose body is re-encoded next.
    next_body: usize,
}

impl Rewriter<'_> {
    /// Writes the body of accessor `at` in place of a call to it: the
    /// arguments go to `locals` (an i64 offset, then an i64 or i32 value), a
    /// block with the accessor's result wraps the body, and its `return`s
    /// become branches out of that block. No call is left to make.
    fn expand(
        &self,
        f: &mut wasm_encoder::Function,
        at: usize,
        locals: [u32; 3],
    ) -> Result<(), reencode::Error<std::convert::Infallible>> {
        let (ty, bytes, offset) = &self.template.funcs[at];
        let params = ty.params();
        let local = |i: u32| match (i, params.get(i as usize)) {
            (0, _) => locals[0],
            (_, Some(wasmparser::ValType::I32)) => locals[2],
            _ => locals[1],
        };
        for i in (0..params.len() as u32).rev() {
            f.instruction(&Instruction::LocalSet(local(i)));
        }
        let mut bodies = Bodies {
            slow: self.plan.slow(),
        };
        let block = match ty.results() {
            [] => wasm_encoder::BlockType::Empty,
            [r] => wasm_encoder::BlockType::Result(bodies.val_type(*r)?),
            _ => unreachable!("an accessor returns at most one value"),
        };
        f.instruction(&Instruction::Block(block));
        let body = FunctionBody::new(BinaryReader::new(bytes, *offset));
        let mut reader = body.get_operators_reader()?;
        let mut depth = 0;
        while !reader.eof() {
            let op = reader.read()?;
            let instruction = match op {
                Operator::LocalGet { local_index } => Instruction::LocalGet(local(local_index)),
                Operator::LocalSet { local_index } => Instruction::LocalSet(local(local_index)),
                Operator::LocalTee { local_index } => Instruction::LocalTee(local(local_index)),
                Operator::Return => Instruction::Br(depth),
                Operator::Block { .. } | Operator::Loop { .. } | Operator::If { .. } => {
                    depth += 1;
                    bodies.instruction(op)?
                }
                // The function's own `end` closes the block.
                Operator::End => {
                    depth = depth.saturating_sub(1);
                    Instruction::End
                }
                op => bodies.instruction(op)?,
            };
            f.instruction(&instruction);
        }
        Ok(())
    }
}

impl Reencode for Rewriter<'_> {
    type Error = std::convert::Infallible;

    fn function_index(&mut self, func: u32) -> Result<u32, reencode::Error<Self::Error>> {
        Ok(self.plan.function(func))
    }

    fn memory_index(&mut self, memory: u32) -> Result<u32, reencode::Error<Self::Error>> {
        Ok(memory + 1)
    }

    fn parse_type_section(
        &mut self,
        types: &mut TypeSection,
        section: wasmparser::TypeSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        reencode::utils::parse_type_section(self, types, section)?;
        // New types: each accessor's, then the slow path's.
        let template = self.template;
        for ty in template
            .funcs
            .iter()
            .map(|(ty, ..)| ty)
            .chain([&template.slow])
        {
            let ty = self.func_type(ty.clone())?;
            types.ty().func_type(&ty);
        }
        Ok(())
    }

    fn parse_import_section(
        &mut self,
        imports: &mut ImportSection,
        section: wasmparser::ImportSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        let mut func = 0;
        for import in section.into_imports() {
            let import = import?;
            if matches!(import.ty, TypeRef::Func(_) | TypeRef::FuncExact(_)) {
                func += 1;
                if self.plan.is_removed(func - 1) {
                    continue;
                }
            }
            let ty = self.entity_type(import.ty)?;
            imports.import(import.module, import.name, ty);
        }
        let memory = self.memory_type(self.template.memory)?;
        imports.import(KERNEL, "memory", memory);
        let slow_type = self.plan.types + self.template.funcs.len() as u32;
        imports.import(KERNEL, "slow", EntityType::Function(slow_type));
        Ok(())
    }

    fn parse_function_section(
        &mut self,
        functions: &mut FunctionSection,
        section: wasmparser::FunctionSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        reencode::utils::parse_function_section(self, functions, section)?;
        for at in 0..self.template.funcs.len() {
            functions.function(self.plan.types + at as u32);
        }
        Ok(())
    }

    fn parse_function_body(
        &mut self,
        code: &mut CodeSection,
        func: FunctionBody<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        let params = self.plan.params.get(self.next_body).copied().unwrap_or(0);
        self.next_body += 1;
        let mut calls = false;
        let mut reader = func.get_operators_reader()?;
        while !reader.eof() {
            if let Operator::Call { function_index } = reader.read()? {
                calls |= self.plan.is_removed(function_index);
            }
        }
        if !calls {
            return reencode::utils::parse_function_body(self, code, func);
        }
        // Three more locals take the accessors' arguments.
        let mut locals = Vec::new();
        let mut count = params;
        for pair in func.get_locals_reader()? {
            let (n, ty) = pair?;
            // Saturating: a count past u32 is invalid, and compiling says so.
            count = count.saturating_add(n);
            locals.push((n, self.val_type(ty)?));
        }
        locals.extend([(2, ValType::I64), (1, ValType::I32)]);
        let extra = [count, count.saturating_add(1), count.saturating_add(2)];
        let mut f = wasm_encoder::Function::new(locals);
        let mut reader = func.get_operators_reader()?;
        while !reader.eof() {
            let op = reader.read()?;
            if let Operator::Call { function_index } = op {
                if let Some(at) = self.plan.removed_accessor(function_index) {
                    self.expand(&mut f, at, extra)?;
                    continue;
                }
            }
            f.instruction(&self.instruction(op)?);
        }
        code.function(&f);
        Ok(())
    }

    fn parse_code_section(
        &mut self,
        code: &mut CodeSection,
        section: CodeSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        reencode::utils::parse_code_section(self, code, section)?;
        let mut bodies = Bodies {
            slow: self.plan.slow(),
        };
        for (_, bytes, offset) in &self.template.funcs {
            let body = FunctionBody::new(BinaryReader::new(bytes, *offset));
            bodies.parse_function_body(code, body)?;
        }
        Ok(())
    }

    fn parse_custom_section(
        &mut self,
        module: &mut wasm_encoder::Module,
        section: wasmparser::CustomSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        if section.name().starts_with(".debug_") {
            return Ok(());
        }
        reencode::utils::parse_custom_section(self, module, section)
    }

    fn parse_custom_name_subsection(
        &mut self,
        names: &mut NameSection,
        section: Name<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        // Maps keyed by function index lose the removed imports' entries (the
        // renumbering keeps the rest in order); the accessors get their names.
        let label = matches!(section, Name::Label(_));
        match section {
            Name::Function(map) => {
                let mut named = vec![(self.plan.slow(), "polyplug_kernel_slow".to_owned())];
                for naming in map {
                    let naming = naming?;
                    if !self.plan.is_removed(naming.index) {
                        named.push((self.plan.function(naming.index), naming.name.to_owned()));
                    }
                }
                for (at, (name, ..)) in ACCESSORS.iter().enumerate() {
                    named.push((self.plan.accessor(at), format!("polyplug_kernel_{name}")));
                }
                named.sort_unstable_by_key(|(i, _)| *i);
                let mut out = NameMap::new();
                for (i, name) in &named {
                    out.append(*i, name);
                }
                names.functions(&out);
            }
            Name::Local(map) | Name::Label(map) => {
                let mut out = wasm_encoder::IndirectNameMap::new();
                for naming in map {
                    let naming = naming?;
                    if self.plan.is_removed(naming.index) {
                        continue;
                    }
                    let mut inner = NameMap::new();
                    for n in naming.names {
                        let n = n?;
                        inner.append(n.index, n.name);
                    }
                    out.append(self.plan.function(naming.index), &inner);
                }
                if label {
                    names.labels(&out);
                } else {
                    names.locals(&out);
                }
            }
            other => reencode::utils::parse_custom_name_subsection(self, names, other)?,
        }
        Ok(())
    }
}

/// Re-encodes the accessor module's bodies for the plugin: its one imported
/// function, the slow path, moves to `slow`; its memory 0 stays memory 0.
struct Bodies {
    slow: u32,
}

impl Reencode for Bodies {
    type Error = std::convert::Infallible;

    fn function_index(&mut self, _func: u32) -> Result<u32, reencode::Error<Self::Error>> {
        Ok(self.slow)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn imports(wasm: &[u8]) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for payload in Parser::new(0).parse_all(wasm) {
            if let Ok(Payload::ImportSection(s)) = payload {
                for i in s.into_imports() {
                    let i = i.unwrap();
                    out.push((i.module.to_owned(), i.name.to_owned()));
                }
            }
        }
        out
    }

    const PLUGIN: &str = r#"(module
        (import "extism:host/env" "input_length" (func $len (result i64)))
        (import "extism:host/env" "load_u64" (func $load (param i64) (result i64)))
        (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
        (import "extism:host/env" "store_u8" (func $store (param i64 i32)))
        (memory (export "memory") 1)
        (data (i32.const 16) "hi")
        (func $helper (result i32) (i32.load8_u (i32.const 16)))
        (func (export "run") (result i32)
          (call $store (call $alloc (i64.const 1)) (call $helper))
          (drop (call $load (call $len)))
          (i32.const 0))
        (elem declare func $helper))"#;

    #[test]
    fn accessor_imports_become_functions_of_the_module() {
        let wasm = wat::parse_str(PLUGIN).unwrap();
        let out = inline_accessors(&wasm).unwrap().expect("rewritten");
        wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
            .validate_all(&out)
            .expect("the rewritten module validates");
        assert_eq!(
            imports(&out),
            [
                ("extism:host/env", "input_length"),
                ("extism:host/env", "alloc"),
                (KERNEL, "memory"),
                (KERNEL, "slow"),
            ]
            .map(|(m, n)| (m.to_owned(), n.to_owned()))
        );
        let text = wasmprinter::print_bytes(&out).unwrap();
        // The plugin's own memory and data moved to memory 1; calls renumbered.
        assert!(text.contains("(memory (;1;) 1)"), "{text}");
        assert!(text.contains("(data (;0;) (memory 1)"), "{text}");
        // Each accessor call became the accessor's body, its slow path a call.
        let run = &text[text.find("(func (;4;)").unwrap()
            ..text.find("(func $polyplug_kernel_load_u8").unwrap()];
        assert!(!run.contains("call $polyplug_kernel_load"), "{run}");
        assert!(!run.contains("call $polyplug_kernel_store"), "{run}");
        assert_eq!(
            run.matches("call $polyplug_kernel_slow").count(),
            2,
            "{run}"
        );
        assert!(run.contains("i32.store8\n"), "{run}");
        assert!(run.contains("br 1 (;@1;)"), "{run}");
        assert!(text.contains("call $helper"), "{text}");
    }

    #[test]
    fn modules_the_rewrite_does_not_fit_are_left_alone() {
        let none = |wat: &str| inline_accessors(&wat::parse_str(wat).unwrap()).unwrap();
        assert!(
            none("(module (memory 1))").is_none(),
            "no accessor imported"
        );
        assert!(
            none(
                r#"(module (import "env" "memory" (memory 1))
                (import "extism:host/env" "load_u8" (func (param i64) (result i32))))"#
            )
            .is_none(),
            "a memory import"
        );
        assert!(
            none(
                r#"(module (import "extism:host/env" "load_u8" (func (param i32) (result i32))))"#
            )
            .is_none(),
            "an accessor of another type"
        );
        assert!(inline_accessors(b"\0asm junk").unwrap().is_none());
    }

    #[test]
    fn a_module_may_not_import_from_the_kernel_namespace() {
        let wasm = wat::parse_str(
            r#"(module (import "extism:host/env" "load_u8" (func (param i64) (result i32)))
                (import "polyplug:kernel" "memory" (memory 1)))"#,
        )
        .unwrap();
        let e = inline_accessors(&wasm).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UnknownImport);
        assert!(e.to_string().contains("polyplug:kernel"), "{e}");
    }
}
