//! Plugin modules linked once per kernel memory, so a fresh instance skips
//! resolving its imports by name.
//!
//! Every import of a module whose accessors are inlined comes from the linker
//! except `polyplug:kernel`.`memory`, which is the store's leased kernel memory.
//! A wasmtime `InstancePre` fixes every import, so one is kept per (module,
//! linker) on each pooled kernel memory, and travels with it in and out of the
//! pool ([`crate::accessor::KernelMemories`]). Resolving a Rust PDK plugin's
//! imports by name took about 1.3 µs of a 12 µs fresh instance (docs/bench.md).
//!
//! The cache lives on the memory, not on the module, so a kernel memory that
//! leaves the pool takes its linked modules with it; each memory keeps at most
//! [`KEEP`] of them.

use std::sync::Arc;

use wasmtime::{InstancePre, Linker, Module, SharedMemory, Store};

use crate::current_plugin::CurrentPlugin;
use crate::error::{Error, ErrorKind};
use crate::inline::KERNEL;

/// At most this many modules stay linked against one kernel memory; the one
/// linked first goes when another comes.
const KEEP: usize = 16;

/// Which linker a module is linked with: the engine's own (with or without
/// WASI), or a plugin's, with its host functions.
#[derive(Clone, Copy)]
pub(crate) enum Linked<'a> {
    Engine {
        wasi: bool,
        linker: &'a Linker<CurrentPlugin>,
    },
    Custom(&'a Arc<Linker<CurrentPlugin>>),
}

enum LinkerId {
    /// The engine's linkers live as long as the pool that holds this cache.
    Engine { wasi: bool },
    /// Kept alive here, so its address is never another linker's.
    Custom(Arc<Linker<CurrentPlugin>>),
}

impl Linked<'_> {
    pub fn linker(&self) -> &Linker<CurrentPlugin> {
        match self {
            Linked::Engine { linker, .. } => linker,
            Linked::Custom(l) => l,
        }
    }

    fn is(&self, id: &LinkerId) -> bool {
        match (self, id) {
            (Linked::Engine { wasi, .. }, LinkerId::Engine { wasi: w }) => wasi == w,
            (Linked::Custom(a), LinkerId::Custom(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }

    fn id(&self) -> LinkerId {
        match self {
            Linked::Engine { wasi, .. } => LinkerId::Engine { wasi: *wasi },
            Linked::Custom(l) => LinkerId::Custom(Arc::clone(l)),
        }
    }
}

struct Entry {
    module: Module,
    linker: LinkerId,
    pre: InstancePre<CurrentPlugin>,
}

/// The modules linked against one kernel memory.
#[derive(Default)]
pub(crate) struct Prepared(Vec<Entry>);

impl Prepared {
    /// `module` linked with `linked` and `memory` (this cache's kernel memory):
    /// found, or linked now.
    pub fn get(
        &mut self,
        store: &Store<CurrentPlugin>,
        memory: &SharedMemory,
        module: &Module,
        linked: Linked<'_>,
    ) -> Result<InstancePre<CurrentPlugin>, Error> {
        if let Some(e) = self
            .0
            .iter()
            .find(|e| Module::same(&e.module, module) && linked.is(&e.linker))
        {
            return Ok(e.pre.clone());
        }
        let mut linker = linked.linker().clone();
        // The engine's linker holds a stand-in for the kernel memory (env_fns.rs).
        linker.allow_shadowing(true);
        let pre = linker
            .define(store, KERNEL, "memory", memory.clone())
            .and_then(|l| l.instantiate_pre(module))
            .map_err(|e| {
                Error::new(
                    ErrorKind::UnknownImport,
                    format!("the module's imports do not link: {e:#}"),
                )
            })?;
        if self.0.len() == KEEP {
            self.0.remove(0);
        }
        self.0.push(Entry {
            module: module.clone(),
            linker: linked.id(),
            pre: pre.clone(),
        });
        Ok(pre)
    }
}
