//! [`Plugin`] and its builder: one loaded module, instantiated lazily from an
//! `InstancePre`, called through the Extism ABI or as a plain numeric export.
//!
//! An instance lives across calls (vars persist) until a call unwinds through a
//! trap; then it is dropped and the next call starts from a fresh one, because
//! whatever the guest was doing when it trapped may have left it inconsistent.

use std::any::Any;
use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::{
    Extern, ExternType, Func, Instance, Linker, Module, ModuleExport, SharedMemory, Store, Trap,
    TypedFunc, Val, ValType,
};

use crate::accessor;
use crate::current_plugin::{CurrentPlugin, Shared};
use crate::engine::{Engine, Flavor};
use crate::env_fns::{self, ENV};
use crate::error::{self, Error, ErrorKind};
use crate::host_fns::HostFunction;
use crate::inline::KERNEL;
use crate::limits::{on_epoch, ticks_until, FAR};
use crate::log::{LogLevel, Logger};
use crate::manifest::{Manifest, DEFAULT_MAX_HTTP_RESPONSE_BYTES, DEFAULT_MAX_VAR_BYTES};
use crate::prepared::Linked;
use crate::sanitizer::MemoryDiagnostics;
use crate::wasi;

const WASI: &str = "wasi_snapshot_preview1";

/// Configures a [`Plugin`] before it is loaded.
pub struct PluginBuilder {
    engine: Engine,
    manifest: Manifest,
    wasi: bool,
    host_fns: Vec<HostFunction>,
    level: LogLevel,
    logger: Option<crate::log::LogFn>,
    fuel: Option<u64>,
    user_data: Option<Arc<dyn Any + Send + Sync>>,
    strict_memory: bool,
}

impl PluginBuilder {
    /// The kernel-memory sanitizer: every access outside the block it belongs to
    /// is recorded ([`Plugin::take_memory_diagnostics`]). Results stay the
    /// official runtime's; accesses get slower (native, checked, not wasm).
    pub fn with_strict_memory(mut self, on: bool) -> Self {
        self.strict_memory = on;
        self
    }

    /// Links WASI preview 1 (Go plugins and wasm32-wasip1 builds need it).
    pub fn with_wasi(mut self, on: bool) -> Self {
        self.wasi = on;
        self
    }

    pub fn with_host_function(mut self, f: HostFunction) -> Self {
        self.host_fns.push(f);
        self
    }

    /// Logs below this level are dropped before they reach the logger (default Info).
    pub fn with_log_level(mut self, level: LogLevel) -> Self {
        self.level = level;
        self
    }

    /// Where plugin logs go; stderr when not set.
    pub fn with_logger(mut self, f: impl Fn(LogLevel, &str) + Send + Sync + 'static) -> Self {
        self.logger = Some(Arc::new(f));
        self
    }

    /// Gives each call this much fuel; running out fails the call with `OutOfFuel`.
    pub fn with_fuel(mut self, fuel: u64) -> Self {
        self.fuel = Some(fuel);
        self
    }

    /// A value host functions can read with [`CurrentPlugin::user_data`].
    pub fn with_user_data<T: Any + Send + Sync>(mut self, data: T) -> Self {
        self.user_data = Some(Arc::new(data));
        self
    }

    /// Loads (or takes from the cache) and links the module; no guest code runs yet.
    pub fn build(self) -> Result<Plugin, Error> {
        let flavor = self.engine.flavor(self.fuel.is_some())?;
        let wasm = self.manifest.main_wasm()?;
        // Strict mode runs the same module: its kernel header sends every
        // access to the slow path, where the sanitizer checks it (kernel.rs).
        let inline = self.engine.inlines_accessors();
        let module = self.engine.load(flavor, wasm, inline)?;
        if self.wasi {
            wasi::check_paths(&self.manifest)?;
        }
        check_imports(&module, self.wasi, &self.host_fns, inline)?;
        let base = flavor.linker(self.wasi)?;
        let custom = if self.host_fns.is_empty() {
            None
        } else {
            let mut linker = base.clone();
            for f in &self.host_fns {
                f.define(&mut linker)?;
            }
            Some(Arc::new(linker))
        };
        // Type-checks every import now, so a plugin that cannot link fails to build.
        custom
            .as_deref()
            .unwrap_or(base)
            .instantiate_pre(&module)
            .map_err(|e| {
                Error::new(
                    ErrorKind::UnknownImport,
                    format!("the module's imports do not link: {e:#}"),
                )
            })?;
        let imports: Vec<Slot> = module
            .imports()
            .map(|i| match (i.module(), i.ty()) {
                (KERNEL, ExternType::Memory(_)) => Slot::KernelMemory,
                // Strict mode keeps the linker's native, checking accessors.
                (ENV, _) if !self.strict_memory => {
                    accessor::index(i.name()).map_or(Slot::Linker, Slot::Accessor)
                }
                _ => Slot::Linker,
            })
            .collect();

        let logger = match self.logger {
            Some(sink) => Logger {
                level: self.level,
                sink,
            },
            None => Logger::stderr(self.level),
        };
        let memory = &self.manifest.memory;
        let shared = Shared {
            max_var_bytes: memory.max_var_bytes.unwrap_or(DEFAULT_MAX_VAR_BYTES),
            max_http_response_bytes: memory
                .max_http_response_bytes
                .unwrap_or(DEFAULT_MAX_HTTP_RESPONSE_BYTES),
            memory_budget: memory.max_pages.map(|p| u64::from(p) * 64 * 1024),
            manifest: self.manifest,
            logger,
            user_data: self.user_data,
            ticker: self.engine.ticker().clone(),
        };
        Ok(Plugin {
            init: initialiser(&module),
            engine: self.engine.clone(),
            module,
            custom,
            accessor_instance: imports.iter().any(|s| matches!(s, Slot::Accessor(_))),
            imports,
            shared: Arc::new(shared),
            wasi: self.wasi,
            fuel: self.fuel,
            strict_memory: self.strict_memory,
            diagnostics: MemoryDiagnostics::default(),
            live: None,
        })
    }
}

/// A loaded plugin. Calls take `&mut self`: one call at a time per plugin.
pub struct Plugin {
    /// Also keeps the epoch ticker alive as long as any plugin runs.
    engine: Engine,
    module: Module,
    /// The engine's linker plus the user host functions, when there are any.
    custom: Option<Arc<Linker<CurrentPlugin>>>,
    /// Per import of `module`, where it comes from.
    imports: Vec<Slot>,
    /// Whether an import is a [`Slot::Accessor`]: each instance then needs
    /// the accessor instance beside it (decided once, at build).
    accessor_instance: bool,
    shared: Arc<Shared>,
    wasi: bool,
    fuel: Option<u64>,
    strict_memory: bool,
    /// What the sanitizer recorded since the last `take_memory_diagnostics`.
    diagnostics: MemoryDiagnostics,
    live: Option<Live>,
    /// The module's reactor initialiser (`_initialize` or `__wasm_call_ctors`),
    /// run once per instance, found once per module.
    init: Option<(&'static str, ModuleExport)>,
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin")
            .field("wasi", &self.wasi)
            .field("fuel", &self.fuel)
            .field("live", &self.live.is_some())
            .finish_non_exhaustive()
    }
}

/// Where an import of a plugin's module comes from.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Slot {
    /// The linker: env and WASI functions, host functions, the kernel's slow path.
    Linker,
    /// The store's own kernel memory, for accessors inlined into the module.
    KernelMemory,
    /// The accessor instance's function at this index (accessor.rs).
    Accessor(usize),
}

struct Live {
    store: Store<CurrentPlugin>,
    instance: Instance,
    /// Exports called so far, typed: a plugin has few, and a scan of them
    /// costs less than hashing the name on every call.
    exports: Vec<(String, Export)>,
}

#[derive(Clone)]
enum Export {
    Code(TypedFunc<(), i32>),
    Unit(TypedFunc<(), ()>),
}

impl Plugin {
    pub fn builder(engine: &Engine, manifest: Manifest) -> PluginBuilder {
        PluginBuilder {
            engine: engine.clone(),
            manifest,
            wasi: false,
            host_fns: Vec::new(),
            level: LogLevel::Info,
            logger: None,
            fuel: None,
            user_data: None,
            strict_memory: false,
        }
    }

    /// A plugin that shares this one's compiled module, linker and settings but
    /// has no instance yet: its first call instantiates afresh, so it sees none
    /// of this plugin's vars or memory. Cheap (a few reference counts), so a
    /// server can take one per request.
    pub fn fresh(&self) -> Plugin {
        Plugin {
            engine: self.engine.clone(),
            module: self.module.clone(),
            custom: self.custom.clone(),
            imports: self.imports.clone(),
            accessor_instance: self.accessor_instance,
            shared: self.shared.clone(),
            wasi: self.wasi,
            fuel: self.fuel,
            strict_memory: self.strict_memory,
            diagnostics: MemoryDiagnostics::default(),
            live: None,
            init: self.init,
        }
    }

    /// Whether the kernel accessors were inlined into this plugin's module
    /// (`EngineConfig::inline_accessors`), rather than called in an instance
    /// beside it.
    pub fn accessors_inlined(&self) -> bool {
        self.imports.contains(&Slot::KernelMemory)
    }

    /// The names of the module's exported functions, sorted.
    pub fn functions(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .module
            .exports()
            .filter(|e| matches!(e.ty(), ExternType::Func(_)))
            .map(|e| e.name().to_string())
            .collect();
        names.sort_unstable();
        names
    }

    /// The kernel-memory diagnostics recorded since the last time they were taken
    /// (always empty unless built `with_strict_memory`).
    pub fn take_memory_diagnostics(&mut self) -> MemoryDiagnostics {
        std::mem::take(&mut self.diagnostics)
    }

    /// Moves what the running instance's sanitizer recorded into `diagnostics`.
    fn collect_diagnostics(&mut self, export: &str) {
        let Some(live) = self.live.as_mut() else {
            return;
        };
        if let Some(recorded) = live.store.data_mut().kernel.sanitizer.as_mut() {
            let recorded = std::mem::take(recorded);
            self.diagnostics.absorb(recorded, export);
        }
    }

    /// Whether the module exports a function with this name.
    pub fn function_exists(&self, function: &str) -> bool {
        matches!(self.module.get_export(function), Some(ExternType::Func(_)))
    }

    /// Parameter and result types of an exported function.
    pub fn function_type(&self, function: &str) -> Option<(Vec<ValType>, Vec<ValType>)> {
        match self.module.get_export(function)? {
            ExternType::Func(f) => Some((f.params().collect(), f.results().collect())),
            _ => None,
        }
    }

    /// Extism-ABI call: sets the input, calls the export (`() -> i32` or `() -> ()`),
    /// and returns the output bytes.
    pub fn call(&mut self, function: &str, input: &[u8]) -> Result<Vec<u8>, Error> {
        let result = self.call_abi(function, input);
        self.collect_diagnostics(function);
        result
    }

    fn call_abi(&mut self, function: &str, input: &[u8]) -> Result<Vec<u8>, Error> {
        let deadline = self.deadline();
        let at = self.export(function, deadline)?;
        let live = self.live.as_mut().expect("export() leaves a live instance");
        let (store, export) = (&mut live.store, &live.exports[at].1);
        begin(store, deadline, self.fuel)?;
        let s = store.data_mut();
        let handle = s.memory_new(input)?;
        s.kernel.set_input(handle, input.len() as u64);

        let result = match export {
            Export::Code(f) => f.call(&mut *store, ()),
            Export::Unit(f) => f.call(&mut *store, ()).map(|()| 0),
        };
        store.data_mut().deadline = None;
        let s = store.data();
        let plugin_error = s
            .kernel
            .error_message()
            .map(|m| String::from_utf8_lossy(m).into_owned());
        match result {
            Ok(rc) => {
                if let Some(message) = plugin_error {
                    return Err(Error::new(ErrorKind::PluginError, message));
                }
                if rc != 0 {
                    return Err(Error::new(
                        ErrorKind::PluginError,
                        format!("`{function}` returned non-zero exit code {rc}"),
                    ));
                }
                Ok(s.kernel.output_bytes().to_vec())
            }
            Err(e) => {
                let output = s.kernel.output_bytes().to_vec();
                let err = classify(store, e, function, self.shared.manifest.timeout_ms);
                self.collect_diagnostics(function);
                self.live = None;
                match err {
                    Ok(()) if plugin_error.is_none() => Ok(output),
                    Ok(()) => Err(Error::new(
                        ErrorKind::PluginError,
                        plugin_error.unwrap_or_default(),
                    )),
                    Err(err) => Err(match plugin_error.filter(|m| !m.is_empty()) {
                        Some(m) => Error::new(err.kind(), format!("{}: {m}", err.message()))
                            .with_backtrace(err.wasm_backtrace().map(str::to_string)),
                        None => err,
                    }),
                }
            }
        }
    }

    /// Calls a plain numeric export (no Extism ABI), e.g. `add(i32, i32) -> i32`.
    pub fn call_raw(&mut self, function: &str, args: &[Val]) -> Result<Vec<Val>, Error> {
        let deadline = self.deadline();
        let timeout_ms = self.shared.manifest.timeout_ms;
        let fuel = self.fuel;
        let func = self.live_func(function, deadline)?;
        let live = self.live.as_mut().expect("live_func made the instance");
        let ty = func.ty(&live.store);
        let want: Vec<ValType> = ty.params().collect();
        let types_match = want.len() == args.len()
            && want
                .iter()
                .zip(args)
                .all(|(t, a)| a.ty(&live.store).is_ok_and(|at| ValType::eq(t, &at)));
        if !types_match {
            return Err(Error::new(
                ErrorKind::MissingExport,
                format!(
                    "export `{function}` has type {}, but was given {} argument(s): pass values of the parameter types",
                    describe_func(&ty),
                    args.len()
                ),
            ));
        }
        let mut results = vec![Val::I32(0); ty.results().len()];
        begin(&mut live.store, deadline, fuel)?;
        let result = func.call(&mut live.store, args, &mut results);
        live.store.data_mut().deadline = None;
        match result {
            Ok(()) => Ok(results),
            Err(e) => {
                let err = classify(&mut live.store, e, function, timeout_ms);
                self.live = None;
                err.map(|()| results)
            }
        }
    }

    fn deadline(&self) -> Option<Instant> {
        self.shared
            .manifest
            .timeout_ms
            .map(|ms| Instant::now() + Duration::from_millis(ms))
    }

    /// The live instance, made (and initialised) now if there is none.
    fn live(&mut self, deadline: Option<Instant>) -> Result<&mut Live, Error> {
        if self.live.is_none() {
            self.live = Some(self.instantiate(deadline)?);
        }
        Ok(self.live.as_mut().expect("just set"))
    }

    /// Export `function` of the live instance (made now if there is none).
    fn live_func(&mut self, function: &str, deadline: Option<Instant>) -> Result<Func, Error> {
        // By index: `Module::get_export` would build the export's type first.
        let Some(export) = self.module.get_export_index(function) else {
            return Err(missing(self, function));
        };
        let live = self.live(deadline)?;
        let func = live
            .instance
            .get_module_export(&mut live.store, &export)
            .and_then(Extern::into_func);
        func.ok_or_else(|| missing(self, function))
    }

    /// Where `function` is in the live instance's exports, typed for the ABI
    /// (looked up and type-checked on its first call only).
    fn export(&mut self, function: &str, deadline: Option<Instant>) -> Result<usize, Error> {
        let known = self
            .live
            .as_ref()
            .and_then(|l| l.exports.iter().position(|(name, _)| name == function));
        if let Some(at) = known {
            return Ok(at);
        }
        let func = self.live_func(function, deadline)?;
        let live = self.live.as_mut().expect("live_func made the instance");
        let export = if let Ok(f) = func.typed::<(), i32>(&live.store) {
            Export::Code(f)
        } else if let Ok(f) = func.typed::<(), ()>(&live.store) {
            Export::Unit(f)
        } else {
            return Err(Error::new(
                ErrorKind::MissingExport,
                format!(
                    "export `{function}` has type {}, not () -> i32 or () -> (): call it as a numeric export (call_raw, `--args`)",
                    describe_func(&func.ty(&live.store))
                ),
            ));
        };
        live.exports.push((function.to_string(), export));
        Ok(live.exports.len() - 1)
    }

    fn instantiate(&self, deadline: Option<Instant>) -> Result<Live, Error> {
        let wasi = if self.wasi {
            Some(wasi::ctx(&self.shared.manifest)?)
        } else {
            None
        };
        let flavor = self.engine.flavor(self.fuel.is_some())?;
        let mut store = Store::new(
            &flavor.engine,
            CurrentPlugin::new(self.shared.clone(), wasi),
        );
        if self.strict_memory {
            store.data_mut().kernel.sanitizer = Some(MemoryDiagnostics::default());
        }
        let linker = match &self.custom {
            Some(l) => Linked::Custom(l),
            None => Linked::Engine {
                wasi: self.wasi,
                linker: flavor.linker(self.wasi)?,
            },
        };
        // A module that needs the accessor instance links per store (below).
        let link = (!self.accessor_instance).then_some((&self.module, linker));
        let (kernel_memory, pre) = flavor.kernel.lease(&mut store, link)?;
        store.limiter(|s| s as &mut dyn wasmtime::ResourceLimiter);
        store.epoch_deadline_callback(|mut ctx| on_epoch(ctx.data_mut()));
        begin(&mut store, deadline, self.fuel)?;
        let made = match pre {
            Some(pre) => pre.instantiate(&mut store),
            None => self.link_per_store(&mut store, flavor, linker, &kernel_memory)?,
        };
        let timeout_ms = self.shared.manifest.timeout_ms;
        let instance = match made {
            Ok(i) => i,
            Err(e) if e.is::<wasmtime::PoolConcurrencyLimitError>() => {
                return Err(error::instantiation(&e, "the plugin"));
            }
            Err(e) => {
                classify(&mut store, e, "instantiation", timeout_ms)?;
                return Err(Error::new(
                    ErrorKind::Trap,
                    "the plugin exited while it was instantiated",
                ));
            }
        };
        // Reactors (Go's c-shared, wasip1 cdylibs) need their runtime started once.
        if let Some((name, export)) = &self.init {
            let f = instance
                .get_module_export(&mut store, export)
                .and_then(Extern::into_func);
            if let Some(Ok(f)) = f.map(|f| f.typed::<(), ()>(&store)) {
                if let Err(e) = f.call(&mut store, ()) {
                    classify(&mut store, e, name, timeout_ms)?;
                }
            }
        }
        store.data_mut().deadline = None;
        Ok(Live {
            store,
            instance,
            exports: Vec::new(),
        })
    }

    /// Instantiates with imports resolved by name in this store: for a module
    /// that imports kernel accessors, which come from an accessor instance of the
    /// store's own.
    fn link_per_store(
        &self,
        store: &mut Store<CurrentPlugin>,
        flavor: &Flavor,
        linker: Linked<'_>,
        kernel_memory: &SharedMemory,
    ) -> Result<wasmtime::Result<Instance>, Error> {
        let linker = linker.linker();
        let accessors = if self.accessor_instance {
            let slow = linker.get(&mut *store, KERNEL, "slow").map_err(|e| {
                Error::new(
                    ErrorKind::UnknownImport,
                    format!("the linker lacks the kernel's slow path: {e:#}"),
                )
            })?;
            self.engine
                .accessor(flavor)?
                .functions(store, kernel_memory, slow)?
        } else {
            Vec::new()
        };
        let mut imports: Vec<Extern> = Vec::with_capacity(self.imports.len());
        for (import, slot) in self.module.imports().zip(&self.imports) {
            let item = match slot {
                Slot::Accessor(i) => accessors.get(*i).cloned(),
                Slot::KernelMemory => Some(kernel_memory.clone().into()),
                Slot::Linker => linker.get_by_import(&mut *store, &import),
            };
            imports.push(item.ok_or_else(|| {
                Error::new(
                    ErrorKind::UnknownImport,
                    format!(
                        "the module imports `{}`.`{}`, which this host does not provide",
                        import.module(),
                        import.name()
                    ),
                )
            })?);
        }
        Ok(Instance::new(store, &self.module, &imports))
    }
}

/// The export a reactor module (Go's c-shared, a wasip1 cdylib) starts its
/// runtime with, if it has one that takes and returns nothing.
fn initialiser(module: &Module) -> Option<(&'static str, ModuleExport)> {
    ["_initialize", "__wasm_call_ctors"]
        .into_iter()
        .find_map(|name| match module.get_export(name) {
            Some(ExternType::Func(f)) if f.params().len() == 0 && f.results().len() == 0 => {
                module.get_export_index(name).map(|e| (name, e))
            }
            _ => None,
        })
}

/// Arms the deadline and fuel and clears the kernel for a new call.
fn begin(
    store: &mut Store<CurrentPlugin>,
    deadline: Option<Instant>,
    fuel: Option<u64>,
) -> Result<(), Error> {
    let s = store.data_mut();
    s.deadline = deadline.map(|at| s.shared.ticker.arm(at));
    s.pending = None;
    s.kernel.reset();
    s.http_status = 0;
    s.http_headers = None;
    store.set_epoch_deadline(deadline.map_or(FAR, ticks_until));
    if let Some(fuel) = fuel {
        store.set_fuel(fuel).map_err(|e| {
            Error::new(
                ErrorKind::InvalidManifest,
                format!("cannot set fuel: {e:#}"),
            )
        })?;
    }
    Ok(())
}

/// Turns the error that ended a wasm call into a typed [`Error`]; `Ok(())` for a
/// WASI `proc_exit(0)`, which is a normal end.
fn classify(
    store: &mut Store<CurrentPlugin>,
    e: wasmtime::Error,
    function: &str,
    timeout_ms: Option<u64>,
) -> Result<(), Error> {
    let backtrace = e
        .downcast_ref::<wasmtime::WasmBacktrace>()
        .map(|b| b.to_string());
    if let Some(err) = store.data_mut().pending.take() {
        return Err(err.with_backtrace(backtrace));
    }
    if let Some(exit) = e.downcast_ref::<wasmtime_wasi::I32Exit>() {
        if exit.0 == 0 {
            return Ok(());
        }
        return Err(Error::new(
            ErrorKind::Exit,
            format!("`{function}` called proc_exit({})", exit.0),
        ));
    }
    let (kind, message) = match e.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => (
            ErrorKind::Timeout,
            format!(
                "`{function}` ran past timeout_ms = {}",
                timeout_ms.unwrap_or_default()
            ),
        ),
        Some(Trap::OutOfFuel) => (
            ErrorKind::OutOfFuel,
            format!("`{function}` ran out of fuel: give it more with with_fuel / --fuel"),
        ),
        Some(Trap::StackOverflow) => (
            ErrorKind::StackOverflow,
            format!("`{function}` exhausted the wasm call stack (unbounded recursion?)"),
        ),
        Some(trap) => (ErrorKind::Trap, format!("`{function}` trapped: {trap}")),
        None => (ErrorKind::Trap, format!("`{function}` failed: {e:#}")),
    };
    Err(Error::new(kind, message).with_backtrace(backtrace))
}

fn missing(plugin: &Plugin, function: &str) -> Error {
    let names = plugin.functions();
    Error::new(
        ErrorKind::MissingExport,
        format!(
            "the plugin has no export `{function}`: it exports {}",
            names.join(", ")
        ),
    )
}

fn describe_func(ty: &wasmtime::FuncType) -> String {
    let list = |it: &mut dyn Iterator<Item = ValType>| {
        it.map(|t| t.to_string()).collect::<Vec<_>>().join(", ")
    };
    format!(
        "({}) -> ({})",
        list(&mut ty.params()),
        list(&mut ty.results())
    )
}

/// Every import must be something this host defines; say which one is not.
fn check_imports(
    module: &wasmtime::Module,
    wasi: bool,
    host_fns: &[HostFunction],
    inline: bool,
) -> Result<(), Error> {
    for import in module.imports() {
        let (m, n) = (import.module(), import.name());
        // Only a module the engine rewrote imports from KERNEL (inline.rs):
        // with inlining on, it refuses any other that does.
        let provided = (m == ENV && env_fns::NAMES.contains(&n))
            || (m == KERNEL && inline)
            || (wasi && m == WASI)
            || host_fns.iter().any(|f| f.namespace == m && f.name == n);
        if provided {
            continue;
        }
        let what = match import.ty() {
            ExternType::Func(f) => format!("function {}", describe_func(&f)),
            ExternType::Memory(_) => "a memory".to_string(),
            ExternType::Table(_) => "a table".to_string(),
            ExternType::Global(_) => "a global".to_string(),
            _ => "an item".to_string(),
        };
        let fix = if m == WASI {
            "enable WASI (PluginBuilder::with_wasi(true), `polyplug call --wasi`)"
        } else if m == ENV {
            "it is not an Extism env function; rebuild the plugin with a current PDK"
        } else {
            "register it with PluginBuilder::with_host_function"
        };
        return Err(Error::new(
            ErrorKind::UnknownImport,
            format!(
                "the module imports `{m}`.`{n}` ({what}), which this host does not provide: {fix}"
            ),
        ));
    }
    Ok(())
}
