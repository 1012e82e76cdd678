//! The hot kernel accessors as wasm: `load_u8`, `load_u64`, `store_u8`,
//! `store_u64`, `input_load_u8` and `input_load_u64`.
//!
//! The PDKs move every byte of input and output through these, 8 bytes a call.
//! As host functions each call pays wasmtime's wasm-to-host transition (about
//! 6.5 ns, which capped the 1 MiB echo at ~600 MB/s); as wasm functions of a tiny
//! module instantiated next to the plugin, importing the kernel memory, the call
//! stays in wasm. Allocation and everything else stays native in `kernel.rs`.
//! By default these bodies are copied into the plugin module itself (inline.rs),
//! so the call does not even leave the plugin's code; the instance here serves
//! plugins that rewrite does not fit, and engines that turn it off.
//!
//! The bounds come from the header at the start of the kernel memory (written by
//! the host whenever the arena or the input changes). An access the one-compare
//! fast path does not cover (outside the arena: past its end, below the header,
//! far out of range; input bytes past the arena) calls the host's slow path,
//! which answers as the official kernel does: the bytes inside kernel memory,
//! 0 (or nothing written) outside it. Nothing here traps.
//!
//! In strict mode (`sanitizer.rs`) the kernel leaves the header's arena bounds
//! at 0, so every load and store of inlined accessors takes the slow path, which
//! checks it against its block (reads inside the input keep their fast path: the
//! sanitizer never records them); a plugin that would use this instance is
//! linked to the native functions of `env_fns.rs` instead, which check the same way.

use std::cell::UnsafeCell;
use std::sync::{Arc, Mutex};

use wasmtime::{
    Engine, Extern, Instance, InstancePre, MemoryType, Module, ModuleExport, SharedMemory, Store,
};

use crate::current_plugin::CurrentPlugin;
use crate::error::{self, Error, ErrorKind};
use crate::inline::KERNEL;
use crate::kernel::{
    ACCESSORS, BASE, SLOT_INPUT_OFFSET, SLOT_INPUT_STARTS_1, SLOT_INPUT_STARTS_8, SLOT_STARTS_1,
    SLOT_STARTS_8,
};
use crate::prepared::{Linked, Prepared};

/// A 32-bit memory's most pages: the arena's size is capped by the kernel's limit
/// (`memory.max_pages`), not by the memory's.
const PAGES: u32 = 1 << 16;

/// Kernel memories that served a dropped store and may serve the next one, so a
/// fresh instance does not map and unmap 4 GiB of address space (about 20 µs).
/// Each keeps the modules linked against it (prepared.rs).
type Pool = Arc<Mutex<Vec<(SharedMemory, Prepared)>>>;

/// At most this many idle kernel memories are kept per engine.
const POOL_MAX: usize = 8;

/// A kernel memory whose arena ever grew past this is unmapped rather than kept,
/// so the pool never pins more than `POOL_MAX` times this in resident pages.
pub(crate) const POOL_MAX_PEAK: u64 = 8 << 20;

/// The kernel memory of one store; back to the pool when the store is dropped.
pub(crate) struct Lease {
    memory: SharedMemory,
    prepared: Prepared,
    pool: Pool,
}

impl Lease {
    /// Gives the memory back for another store, unless it holds too many pages.
    pub fn release(self, peak: u64) {
        if peak > POOL_MAX_PEAK {
            return;
        }
        let mut pool = self.pool.lock().unwrap_or_else(|e| e.into_inner());
        if pool.len() < POOL_MAX {
            pool.push((self.memory, self.prepared));
        }
    }
}

/// The compiled accessor module of one wasmtime engine.
pub(crate) struct Accessor {
    module: Module,
    /// In [`ACCESSORS`] order, which is what [`index`] counts in.
    funcs: Vec<(&'static str, ModuleExport)>,
}

/// The kernel memories of one wasmtime engine: made, leased to stores, pooled.
#[derive(Default)]
pub(crate) struct KernelMemories {
    pool: Pool,
}

impl Accessor {
    pub fn from_module(module: Module) -> Result<Accessor, Error> {
        let funcs = ACCESSORS
            .iter()
            .map(|&(name, ..)| {
                let export = module.get_export_index(name).ok_or_else(|| {
                    Error::new(
                        ErrorKind::InvalidModule,
                        format!("the kernel accessor module lacks `{name}`"),
                    )
                })?;
                Ok((name, export))
            })
            .collect::<Result<_, Error>>()?;
        Ok(Accessor { module, funcs })
    }

    /// The accessor functions over `memory`, for a plugin that imports them
    /// (one the rewrite left as it was): an instance of the accessor module,
    /// its slow path (`slow`) the linker's.
    pub fn functions(
        &self,
        store: &mut Store<CurrentPlugin>,
        memory: &SharedMemory,
        slow: Extern,
    ) -> Result<Vec<Extern>, Error> {
        let imports = [memory.clone().into(), slow];
        let instance = Instance::new(&mut *store, &self.module, &imports)
            .map_err(|e| error::instantiation(&e, "the kernel accessor module"))?;
        self.funcs
            .iter()
            .map(|(name, export)| {
                instance
                    .get_module_export(&mut *store, export)
                    .ok_or_else(|| {
                        Error::new(
                            ErrorKind::InvalidModule,
                            format!("the kernel accessor instance lacks `{name}`"),
                        )
                    })
            })
            .collect()
    }
}

impl KernelMemories {
    /// Gives `store` a kernel memory (4 GiB of address space, never grown; pages
    /// are only backed once used): the plugin's `polyplug:kernel`.`memory` when
    /// its accessors are inlined (inline.rs), else the accessor instance's.
    ///
    /// The memory is a wasm shared memory only because those outlive a store and
    /// so can be pooled; one store at a time uses it. It is not the store's own,
    /// so `memory.max_pages` counts it through the bytes the kernel hands out.
    ///
    /// With `link`, also that module linked against the memory, ready to
    /// instantiate (prepared.rs).
    pub fn lease(
        &self,
        store: &mut Store<CurrentPlugin>,
        link: Option<(&Module, Linked<'_>)>,
    ) -> Result<(SharedMemory, Option<InstancePre<CurrentPlugin>>), Error> {
        let pooled = self.pool.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let (memory, mut prepared) = match pooled {
            Some(m) => m,
            None => (new_memory(store.engine())?, Prepared::default()),
        };
        let pre = match link {
            Some((module, linked)) => Some(prepared.get(store, &memory, module, linked)?),
            None => None,
        };
        let data = memory.data();
        let (ptr, len) = (UnsafeCell::raw_get(data.as_ptr()), data.len());
        // SAFETY: the lease keeps the memory mapped as long as the kernel that holds
        // it, it never grows or moves (its minimum is its maximum), and only this
        // store uses it until the lease is released.
        unsafe {
            store.data_mut().kernel.attach(
                ptr,
                len,
                Lease {
                    memory: memory.clone(),
                    prepared,
                    pool: self.pool.clone(),
                },
            )
        };
        Ok((memory, pre))
    }
}

/// A new kernel memory: for a store ([`KernelMemories::lease`]), or the linker's
/// stand-in for `polyplug:kernel`.`memory` (env_fns.rs).
pub(crate) fn new_memory(engine: &Engine) -> Result<SharedMemory, Error> {
    SharedMemory::new(engine, MemoryType::shared(PAGES, PAGES)).map_err(|e| {
        Error::new(
            ErrorKind::MemoryLimit,
            format!("cannot make the kernel memory: {e:#}"),
        )
    })
}

/// The index into [`Accessor::functions`]'s result of the env function `name`, if it
/// is one of the accessors.
pub(crate) fn index(name: &str) -> Option<usize> {
    ACCESSORS.iter().position(|(n, ..)| *n == name)
}

/// The accessor module's text; the header is at fixed addresses (see `kernel.rs`).
pub(crate) fn wat() -> String {
    let starts = |n: u64| if n == 1 { SLOT_STARTS_1 } else { SLOT_STARTS_8 };
    let input_starts = |n: u64| {
        if n == 1 {
            SLOT_INPUT_STARTS_1
        } else {
            SLOT_INPUT_STARTS_8
        }
    };
    let p = "(local.get $p)";
    let code = |name: &str| index(name).map_or(0, |i| i + 1);
    // `p - BASE` wraps to a huge number for p < BASE, so one compare covers both ends.
    let memory_fn = |name: &str, n: u64, sig: &str, slow: &str, body: &str| {
        format!(
            r#"  (func (export "{name}") (param $p i64) {sig}
    (if (i64.ge_u (i64.sub {p} (i64.const {BASE})) (i64.load (i32.const {slot})))
      (then (return {slow})))
    {body})
"#,
            slot = starts(n),
        )
    };
    let slow =
        |name: &str, value: &str| format!("(call $slow (i64.const {}) {p} {value})", code(name));
    // The fast path covers input bytes inside the arena, so a valid index is a valid offset.
    let input_fn = |name: &str, n: u64, load: &str| {
        let call = format!(
            "(call $slow (i64.const {}) (local.get $i) (i64.const 0))",
            code(name)
        );
        let (ty, slow) = if n == 1 {
            ("i32", format!("(i32.wrap_i64 {call})"))
        } else {
            ("i64", call)
        };
        format!(
            r#"  (func (export "{name}") (param $i i64) (result {ty})
    (if (i64.ge_u (local.get $i) (i64.load (i32.const {slot})))
      (then (return {slow})))
    ({load} (i32.wrap_i64 (i64.add (i64.load (i32.const {SLOT_INPUT_OFFSET})) (local.get $i)))))
"#,
            slot = input_starts(n),
        )
    };
    let mut wat = format!(
        r#"(module $polyplug_kernel
  (import "{KERNEL}" "memory" (memory {PAGES} {PAGES} shared))
  (import "{KERNEL}" "slow" (func $slow (param i64 i64 i64) (result i64)))
"#
    );
    wat += &memory_fn(
        "load_u8",
        1,
        "(result i32)",
        &format!("(i32.wrap_i64 {})", slow("load_u8", "(i64.const 0)")),
        &format!("(i32.load8_u (i32.wrap_i64 {p}))"),
    );
    wat += &memory_fn(
        "load_u64",
        8,
        "(result i64)",
        &slow("load_u64", "(i64.const 0)"),
        &format!("(i64.load (i32.wrap_i64 {p}))"),
    );
    wat += &memory_fn(
        "store_u8",
        1,
        "(param $v i32)",
        &format!(
            "(drop {})",
            slow("store_u8", "(i64.extend_i32_u (local.get $v))")
        ),
        &format!("(i32.store8 (i32.wrap_i64 {p}) (local.get $v))"),
    );
    wat += &memory_fn(
        "store_u64",
        8,
        "(param $v i64)",
        &format!("(drop {})", slow("store_u64", "(local.get $v)")),
        &format!("(i64.store (i32.wrap_i64 {p}) (local.get $v))"),
    );
    wat += &input_fn("input_load_u8", 1, "i32.load8_u");
    wat += &input_fn("input_load_u64", 8, "i64.load");
    wat += ")\n";
    wat
}
