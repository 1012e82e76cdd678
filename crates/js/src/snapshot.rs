//! Pre-initialises the engine with the plugin's JS under Wizer: the engine's
//! `wizer-initialize` reads a build request and the source from stdin and
//! evaluates it, and the snapshot keeps the resulting heap.
//!
//! Clocks and randomness are fixed so the same source always snapshots to the
//! same bytes (QuickJS seeds Math.random from the clock at start-up).

use std::time::Duration;

use rand::SeedableRng;
use wasmtime::{Engine, Instance, Linker, Module, Store, Val};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p2::pipe::{MemoryInputPipe, MemoryOutputPipe};
use wasmtime_wasi::{HostMonotonicClock, HostWallClock, WasiCtxBuilder};
use wasmtime_wizer::{InstanceState, SnapshotVal, Wizer};

use crate::dts::Interface;
use crate::Error;

/// Everything the engine writes to stderr during initialisation is an error
/// report; more than this is truncated.
const STDERR_CAPACITY: usize = 1 << 20;

struct FixedClock;

impl HostWallClock for FixedClock {
    fn resolution(&self) -> Duration {
        Duration::from_millis(1)
    }
    fn now(&self) -> Duration {
        Duration::ZERO
    }
}

impl HostMonotonicClock for FixedClock {
    fn resolution(&self) -> u64 {
        1
    }
    fn now(&self) -> u64 {
        0
    }
}

pub fn request(iface: &Interface, file: &str, source: &[u8]) -> Vec<u8> {
    let mut req = format!("polyplug-js-engine 1\nfile {file}\n");
    for export in &iface.exports {
        req.push_str(&format!("export {}\n", export.name));
    }
    for f in &iface.imports {
        req.push_str(&format!(
            "import {} {}\n",
            f.name,
            u8::from(f.result.is_some())
        ));
    }
    req.push('\n');
    let mut bytes = req.into_bytes();
    bytes.extend_from_slice(source);
    bytes
}

pub fn preinitialize(
    engine_wasm: &[u8],
    iface: &Interface,
    file: &str,
    source: &[u8],
) -> Result<Vec<u8>, Error> {
    let stderr = MemoryOutputPipe::new(STDERR_CAPACITY);
    let wasi = WasiCtxBuilder::new()
        .stdin(MemoryInputPipe::new(request(iface, file, source)))
        .stderr(stderr.clone())
        .wall_clock(FixedClock)
        .monotonic_clock(FixedClock)
        .secure_random(rand::rngs::StdRng::seed_from_u64(0))
        .insecure_random(rand::rngs::StdRng::seed_from_u64(0))
        .insecure_random_seed(0)
        .build_p1();

    // The engine runs once, briefly: compiling it fast beats compiling it well.
    let mut config = wasmtime::Config::new();
    config.cranelift_opt_level(wasmtime::OptLevel::None);
    let engine = Engine::new(&config)
        .map_err(|e| Error::engine(format!("cannot set up wasmtime for Wizer: {e}")))?;
    let mut store: Store<WasiP1Ctx> = Store::new(&engine, wasi);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(|e| Error::engine(format!("cannot start the async runtime for Wizer: {e}")))?;
    let result = runtime.block_on(wizen(&mut store, engine_wasm));
    match result {
        Ok(wasm) => Ok(wasm),
        Err(err) => {
            let report = String::from_utf8_lossy(&stderr.contents())
                .trim_end()
                .to_string();
            if report.is_empty() {
                Err(Error::engine(format!(
                    "pre-initialising the JS engine failed: {err:?}"
                )))
            } else {
                Err(Error::source(report))
            }
        }
    }
}

/// Wizer's own steps, on this crate's wasmtime: instrument the engine, run its
/// `wizer-initialize` (after `_initialize`, as a reactor's start), and snapshot
/// the instance. Wizer's `run` does the same, but needs its `wasmtime` feature,
/// which turns on wasmtime's cache (zstd's C), GC and WIT parser for every crate
/// of the workspace: compile time that buys polyplug nothing.
async fn wizen(store: &mut Store<WasiP1Ctx>, engine_wasm: &[u8]) -> wasmtime::Result<Vec<u8>> {
    let wizer = Wizer::new();
    let (cx, instrumented) = wizer.instrument(engine_wasm)?;
    let module = Module::new(store.engine(), &instrumented)?;
    let mut linker: Linker<WasiP1Ctx> = Linker::new(store.engine());
    wasmtime_wasi::p1::add_to_linker_async(&mut linker, |cx| cx)?;
    // The Extism imports are only called at run time; at build time a call to
    // one is a bug, and trapping says so.
    linker.define_unknown_imports_as_traps(&module)?;
    let instance = linker.instantiate_async(&mut *store, &module).await?;
    if let Ok(start) = instance.get_typed_func::<(), ()>(&mut *store, "_initialize") {
        start.call_async(&mut *store, ()).await?;
    }
    let init = wizer.get_init_func();
    instance
        .get_typed_func::<(), ()>(&mut *store, init)
        .map_err(|e| wasmtime::format_err!("the JS engine has no `{init}` export: {e}"))?
        .call_async(&mut *store, ())
        .await?;
    wizer
        .snapshot(&cx, &mut Initialised { store, instance })
        .await
}

/// The initialised instance, as Wizer's snapshot reads it.
struct Initialised<'a> {
    store: &'a mut Store<WasiP1Ctx>,
    instance: Instance,
}

impl InstanceState for Initialised<'_> {
    async fn global_get(&mut self, name: &str, _: wasmparser::ValType) -> SnapshotVal {
        let global = self
            .instance
            .get_global(&mut *self.store, name)
            .expect("Wizer asks only for globals its instrumentation exported");
        match global.get(&mut *self.store) {
            Val::I32(x) => SnapshotVal::I32(x),
            Val::I64(x) => SnapshotVal::I64(x),
            Val::F32(x) => SnapshotVal::F32(x),
            Val::F64(x) => SnapshotVal::F64(x),
            Val::V128(x) => SnapshotVal::V128(x.as_u128()),
            _ => panic!("global `{name}` holds a reference, which a snapshot cannot keep"),
        }
    }

    async fn memory_contents(&mut self, name: &str, contents: impl FnOnce(&[u8]) + Send) {
        let memory = self
            .instance
            .get_memory(&mut *self.store, name)
            .expect("Wizer asks only for memories its instrumentation exported");
        contents(memory.data(&*self.store));
    }
}
