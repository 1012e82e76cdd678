//! The long-lived [`Engine`]: wasmtime engines, the linkers with the Extism env
//! functions (built once), the compiled-module caches and the epoch ticker that
//! makes timeouts work.
//!
//! Fuel metering changes the generated code, so an engine with fuel is a second
//! wasmtime engine, made only when a plugin first asks for fuel.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use sha2::{Digest, Sha256};
use wasmtime::{Linker, Module};

use crate::accessor::{self, Accessor, KernelMemories};
use crate::cache::{self, DiskCache};
use crate::current_plugin::CurrentPlugin;
use crate::env_fns;
use crate::error::{Error, ErrorKind};
use crate::inline;
use crate::manifest::Wasm;
use crate::module_map::ModuleMap;
use crate::ticker::Ticker;

/// How often the epoch advances: the granularity of timeouts.
pub(crate) const TICK: Duration = Duration::from_millis(2);

/// Plugin instances alive at once in a pooled engine (each may also hold a
/// kernel accessor instance, when its accessors are not inlined). Each memory slot reserves 4 GiB of address
/// space plus guard pages: about 1 TiB in all, of the 128 TiB a 64-bit
/// process has.
pub const POOLED_INSTANCES: u32 = 256;
/// Bytes of each pooled memory kept resident and restored in place where the
/// kernel can tell which pages were dirtied (PAGEMAP_SCAN, Linux 6.7+);
/// elsewhere every kept byte is zeroed on each reset, so far fewer are kept.
fn keep_resident() -> usize {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mut numbers = release
        .split(['.', '-'])
        .map(|n| n.parse::<u32>().unwrap_or(0));
    let version = (numbers.next().unwrap_or(0), numbers.next().unwrap_or(0));
    if version >= (6, 7) {
        2 << 20
    } else {
        64 << 10
    }
}

/// Settings that shape every plugin of an [`Engine`].
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// Where compiled modules are kept between runs; None turns the disk cache off.
    pub cache_dir: Option<PathBuf>,
    /// The largest wasm call stack, in bytes (wasmtime's `max_wasm_stack`).
    pub max_wasm_stack: usize,
    /// Reuse instance slots from a pool (on by default): a fresh instance costs
    /// about a third, but at most [`POOLED_INSTANCES`] plugin instances can be
    /// alive at once, and their address space is reserved up front.
    pub pooling: bool,
    /// Compile with Winch, wasmtime's baseline compiler, instead of Cranelift:
    /// quicker to compile, slower code (docs/bench.md has the trade, measured).
    /// Needs the crate's `winch` feature.
    pub winch: bool,
    /// Copy the kernel accessors into each plugin module before compiling it
    /// (inline.rs; on by default): the PDKs' byte loops stay inside the
    /// plugin's own code (a 1 MiB echo about twice as fast), but trap
    /// backtraces give offsets into the rewritten module, not the file. Off,
    /// plugins call the accessors in an instance beside them. Strict memory
    /// mode never inlines.
    pub inline_accessors: bool,
    /// Catch out-of-bounds memory accesses with guard pages (on by default)
    /// rather than with a bounds check compiled into every load and store.
    /// Guard pages make plugin code faster (a 1 MiB echo 25-30% faster) and
    /// quicker to compile, but a pooled slot whose memory the last plugin grew
    /// costs two `mprotect` calls to reuse: off, a pooled fresh instance + call
    /// takes about half the time (10.3 -> 5.6 us). Turn it off where fresh
    /// instances of small calls dominate (docs/bench.md has the trade).
    pub guard_pages: bool,
}

impl Default for EngineConfig {
    fn default() -> EngineConfig {
        EngineConfig {
            cache_dir: cache::default_dir(),
            max_wasm_stack: 512 * 1024,
            pooling: true,
            winch: false,
            inline_accessors: true,
            guard_pages: true,
        }
    }
}

/// One wasmtime engine with its linkers and caches.
pub(crate) struct Flavor {
    pub engine: wasmtime::Engine,
    linker: Linker<CurrentPlugin>,
    /// Made on first use: linking WASI costs a new engine time most plugins never need.
    wasi_linker: OnceLock<Result<Linker<CurrentPlugin>, Error>>,
    /// Compiled modules by [`key`] (or why they failed), bounded.
    modules: ModuleMap<Result<Module, Error>>,
    /// The kernel accessor module, compiled (or loaded from the disk cache) when
    /// the first instance of a plugin whose accessors are not inlined is made.
    accessor: OnceLock<Result<Accessor, Error>>,
    /// Every store's kernel memory comes from here.
    pub kernel: KernelMemories,
    fingerprint: String,
}

pub(crate) struct EngineInner {
    config: EngineConfig,
    plain: Flavor,
    fueled: OnceLock<Result<Flavor, Error>>,
    disk: Option<DiskCache>,
    /// sha256 of wasm files by path, valid while the file's stamp is unchanged:
    /// loading a known, unchanged file skips reading and hashing it.
    files: Mutex<HashMap<PathBuf, (FileStamp, [u8; 32])>>,
    ticker: Arc<Ticker>,
}

impl Drop for EngineInner {
    fn drop(&mut self) {
        // A resting ticker wakes to find its engine gone, and ends.
        self.ticker.wake();
    }
}

/// What changes when a file is rewritten: length, modification time, inode.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct FileStamp {
    len: u64,
    modified: Option<std::time::SystemTime>,
    inode: u64,
}

impl FileStamp {
    /// The file's stamp now; None when it cannot be read.
    pub fn of(path: &std::path::Path) -> Option<FileStamp> {
        let meta = std::fs::metadata(path).ok()?;
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(&meta);
        #[cfg(not(unix))]
        let inode = 0;
        Some(FileStamp {
            len: meta.len(),
            modified: meta.modified().ok(),
            inode,
        })
    }
}

/// The shared host: cheap to clone, `Send + Sync`.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<EngineInner>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// An engine with the default configuration.
    pub fn new() -> Result<Engine, Error> {
        Engine::with_config(EngineConfig::default())
    }

    pub fn with_config(config: EngineConfig) -> Result<Engine, Error> {
        let plain = Flavor::new(&config, false)?;
        let disk = config.cache_dir.clone().map(DiskCache::new);
        let inner = Arc::new(EngineInner {
            config,
            plain,
            fueled: OnceLock::new(),
            disk,
            files: Mutex::new(HashMap::new()),
            ticker: Arc::new(Ticker::default()),
        });
        let engine = Arc::downgrade(&inner);
        let tick = move || {
            let Some(inner) = engine.upgrade() else {
                return false;
            };
            inner.plain.engine.increment_epoch();
            if let Some(Ok(f)) = inner.fueled.get() {
                f.engine.increment_epoch();
            }
            true
        };
        inner.ticker.spawn(tick).map_err(|e| {
            crate::error::io("cannot start the epoch thread that enforces timeouts", e)
        })?;
        Ok(Engine { inner })
    }

    /// The epoch ticker that deadlines arm.
    pub(crate) fn ticker(&self) -> &Arc<Ticker> {
        &self.inner.ticker
    }

    /// Whether plugins get the kernel accessors inlined when they may.
    pub(crate) fn inlines_accessors(&self) -> bool {
        self.inner.config.inline_accessors
    }

    pub(crate) fn flavor(&self, fuel: bool) -> Result<&Flavor, Error> {
        if !fuel {
            return Ok(&self.inner.plain);
        }
        self.inner
            .fueled
            .get_or_init(|| Flavor::new(&self.inner.config, true))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The compiled module for a manifest's wasm, checked against its hash; with
    /// the kernel accessors inlined (inline.rs) when `inline` is on and the
    /// rewrite fits the module.
    pub(crate) fn load(&self, flavor: &Flavor, wasm: &Wasm, inline: bool) -> Result<Module, Error> {
        let file = match wasm {
            Wasm::File { path, .. } => FileStamp::of(path).map(|stamp| (path, stamp)),
            Wasm::Data { .. } => None,
        };
        if let Some((path, stamp)) = &file {
            let files = self.inner.files.lock().unwrap_or_else(|e| e.into_inner());
            let known = files
                .get(*path)
                .filter(|(s, _)| s == stamp)
                .map(|(_, sha)| *sha);
            drop(files);
            if let Some(sha) = known {
                wasm.check_hash(&sha)?;
                if let Some(Ok(m)) = flavor.modules.get(&key(sha, inline)) {
                    return Ok(m);
                }
            }
        }
        let bytes = wasm.load()?;
        let sha = sha256(&bytes);
        wasm.check_hash(&sha)?;
        if let Some((path, stamp)) = file {
            // Only trust the stamp if the file did not change while it was read.
            if FileStamp::of(path) == Some(stamp) {
                let mut files = self.inner.files.lock().unwrap_or_else(|e| e.into_inner());
                files.insert(path.clone(), (stamp, sha));
            }
        }
        self.module(flavor, &bytes, key(sha, inline), inline)
    }

    /// The kernel accessor module of `flavor`, through the same caches as plugins.
    pub(crate) fn accessor<'f>(&self, flavor: &'f Flavor) -> Result<&'f Accessor, Error> {
        flavor
            .accessor
            .get_or_init(|| {
                let wat = accessor::wat();
                let module = self.module(flavor, wat.as_bytes(), sha256(wat.as_bytes()), false)?;
                Accessor::from_module(module)
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Compiles `wasm` (binary or WAT text), or takes it from the memory or disk
    /// cache, where it is kept under `key` ([`key`]); `inline` as in [`Engine::load`].
    fn module(
        &self,
        flavor: &Flavor,
        wasm: &[u8],
        key: [u8; 32],
        inline: bool,
    ) -> Result<Module, Error> {
        let cell = flavor.modules.cell(key);
        let result = cell
            .get_or_init(|| self.compile(flavor, wasm, key, inline))
            .clone();
        if result.is_err() {
            // A failure is not kept: the same bytes fail again with a fresh message.
            flavor.modules.remove(&key);
        }
        result
    }

    /// Deserializes `wasm` from the disk cache, or compiles it and stores it there.
    fn compile(
        &self,
        flavor: &Flavor,
        wasm: &[u8],
        key: [u8; 32],
        inline: bool,
    ) -> Result<Module, Error> {
        let key = format!("{}-{}", hex(&key), flavor.fingerprint);
        let cached = self.inner.disk.as_ref().and_then(|d| {
            let bytes = d.load(&key)?;
            // SAFETY: the payload is one this cache serialized with an engine of the
            // same fingerprint, checked against the sha256 written next to it.
            match unsafe { Module::deserialize(&flavor.engine, bytes) } {
                Ok(m) => Some(m),
                Err(_) => {
                    cache::reject(
                        &d.path(&key),
                        "wasmtime refuses it: another engine version or configuration",
                    );
                    None
                }
            }
        });
        let module = match cached {
            Some(m) => m,
            None => {
                // Module::new would also take WAT text, so junk would get a
                // WAT parse error: say first what the bytes are not.
                let binary = wat::parse_bytes(wasm).map_err(|e| {
                    Error::new(
                        ErrorKind::InvalidModule,
                        format!(
                            "not a wasm module (no \\0asm header) and not valid WAT text: check the file is a .wasm build output: {e:#}"
                        ),
                    )
                })?;
                refuse_shared_memory(&binary)?;
                let inlined = if inline {
                    inline::inline_accessors(&binary)?
                } else {
                    None
                };
                // Should the rewrite ever not compile, the module as built does
                // (linked to the accessor instance), or says why it does not.
                let rewritten = inlined.and_then(|b| Module::from_binary(&flavor.engine, &b).ok());
                let m = match rewritten {
                    Some(m) => m,
                    None => Module::from_binary(&flavor.engine, &binary).map_err(|e| {
                        Error::new(
                            ErrorKind::InvalidModule,
                            format!("the wasm module does not compile: {e:#}"),
                        )
                    })?,
                };
                if let (Some(disk), Ok(bytes)) = (&self.inner.disk, m.serialize()) {
                    disk.store(&key, &bytes);
                }
                m
            }
        };
        Ok(module)
    }
}

/// The engine enables shared memories for the kernel memory (accessor.rs),
/// but plugins get no threads, so a shared memory of theirs is a mistake (and
/// one the pooling allocator cannot hold).
fn refuse_shared_memory(binary: &[u8]) -> Result<(), Error> {
    for payload in wasmparser::Parser::new(0).parse_all(binary) {
        let Ok(wasmparser::Payload::MemorySection(memories)) = payload else {
            continue;
        };
        if memories.into_iter().any(|m| m.is_ok_and(|m| m.shared)) {
            return Err(Error::new(
                ErrorKind::InvalidModule,
                "the module defines a shared memory: Extism plugins run single-threaded, rebuild it without threads",
            ));
        }
    }
    Ok(())
}

impl Flavor {
    fn new(config: &EngineConfig, fuel: bool) -> Result<Flavor, Error> {
        let mut wt = wasmtime::Config::new();
        wt.epoch_interruption(true)
            .consume_fuel(fuel)
            .max_wasm_stack(config.max_wasm_stack)
            // The kernel memory is a shared memory so it can be pooled (accessor.rs).
            .wasm_threads(true)
            .shared_memory(true)
            .parallel_compilation(true);
        if config.winch {
            #[cfg(feature = "winch")]
            wt.strategy(wasmtime::Strategy::Winch);
            #[cfg(not(feature = "winch"))]
            return Err(Error::new(
                ErrorKind::InvalidManifest,
                "this polyplug-host was built without its `winch` feature: build with `--features winch`, or leave EngineConfig::winch off",
            ));
        }
        if !config.guard_pages {
            if config.winch {
                return Err(Error::new(
                    ErrorKind::InvalidManifest,
                    "Winch needs guard pages: leave EngineConfig::guard_pages on, or turn EngineConfig::winch off",
                ));
            }
            // Bounds checks in the code; the 4 GiB reservation stays, so a
            // pooled slot is mapped read-write once and never protected again.
            wt.signals_based_traps(false).memory_guard_size(0);
        }
        if config.pooling {
            let mut pool = wasmtime::PoolingAllocationConfig::default();
            // A plugin instance may come with a kernel accessor instance.
            pool.total_core_instances(2 * POOLED_INSTANCES)
                .total_memories(POOLED_INSTANCES)
                .total_tables(POOLED_INSTANCES);
            pool.table_elements(100_000);
            // Plugins run synchronously: no async stacks (1000 by default,
            // each with a guard page: 2 ms of mprotect at every engine start).
            pool.total_stacks(0);
            // Memory is reset by finding the pages a plugin dirtied
            // (PAGEMAP_SCAN, Linux 6.7+) and restoring just those in place:
            // no madvise, no page faults on the next instance. Older kernels
            // zero the first 64 KiB in place and decommit the rest in batches.
            pool.linear_memory_keep_resident(keep_resident())
                .table_keep_resident(1 << 16)
                .pagemap_scan(wasmtime::Enabled::Auto)
                .decommit_batch_size(16);
            wt.allocation_strategy(wasmtime::InstanceAllocationStrategy::Pooling(pool));
        }
        let engine = wasmtime::Engine::new(&wt).map_err(|e| {
            Error::new(
                ErrorKind::InvalidManifest,
                format!("cannot start wasmtime: {e:#}"),
            )
        })?;
        let linker = env_fns::linker(&engine)?;
        let fingerprint = fingerprint(&engine, config, fuel);
        Ok(Flavor {
            engine,
            linker,
            wasi_linker: OnceLock::new(),
            modules: ModuleMap::new(),
            accessor: OnceLock::new(),
            kernel: KernelMemories::default(),
            fingerprint,
        })
    }
}

impl Flavor {
    /// The base linker, with WASI preview 1 added when `wasi` is on.
    pub fn linker(&self, wasi: bool) -> Result<&Linker<CurrentPlugin>, Error> {
        if !wasi {
            return Ok(&self.linker);
        }
        self.wasi_linker
            .get_or_init(|| {
                let mut l = self.linker.clone();
                wasmtime_wasi::p1::add_to_linker_sync(&mut l, |s: &mut CurrentPlugin| s.wasi_ctx())
                    .map_err(|e| {
                        Error::new(
                            ErrorKind::InvalidManifest,
                            format!("cannot link WASI: {e:#}"),
                        )
                    })?;
                Ok(l)
            })
            .as_ref()
            .map_err(Clone::clone)
    }
}

/// Distinguishes cache entries of engines whose compiled code differs. The
/// instance allocator (pooling or on demand) is left out: it does not change
/// the code, so `polyplug serve` (pooled) and the suite share compiled modules,
/// and `Module::deserialize` checks compatibility again anyway.
fn fingerprint(engine: &wasmtime::Engine, config: &EngineConfig, fuel: bool) -> String {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut h);
    (
        fuel,
        config.max_wasm_stack,
        config.winch,
        config.guard_pages,
        env!("CARGO_PKG_VERSION"),
    )
        .hash(&mut h);
    format!("{:016x}", h.finish())
}

/// The key of a module's compiled form: its sha256, or for the form with the
/// accessors inlined, a hash of that and the rewrite's version.
fn key(sha: [u8; 32], inline: bool) -> [u8; 32] {
    if !inline {
        return sha;
    }
    let mut h = Sha256::new();
    h.update(sha);
    h.update(b"polyplug: kernel accessors inlined, v1");
    h.finalize().into()
}

pub(crate) fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
