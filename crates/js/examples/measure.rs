//! Prints the numbers the JS pipeline is judged by, for one plugin: artifact
//! size, build time, the first call on a module the host has cached, and a
//! warm call. Measured, never asserted (see DESIGN.md).
//!
//! ```text
//! cargo run --release -p polyplug-js --example measure -- <engine.wasm> [plugins-js/hello]
//! ```

use std::path::PathBuf;
use std::time::{Duration, Instant};

use polyplug_host::{Engine, EngineConfig, Manifest, Plugin, Wasm};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let engine_path = PathBuf::from(
        args.next()
            .expect("usage: measure <engine.wasm> [plugin dir]"),
    );
    let dir = PathBuf::from(args.next().unwrap_or_else(|| "plugins-js/hello".into()));
    let engine_wasm = std::fs::read(&engine_path)?;

    let t = Instant::now();
    let wasm = polyplug_js::build(&dir, &engine_wasm)?;
    let build = t.elapsed();
    println!("artifact: {} bytes; build: {:.0} ms", wasm.len(), ms(build));

    let cache = std::env::temp_dir().join(format!("polyplug-js-measure-{}", std::process::id()));
    let config = || EngineConfig {
        cache_dir: Some(cache.clone()),
        ..EngineConfig::default()
    };
    let manifest = || Manifest::new(Wasm::data(wasm.clone()));

    // Compile once so the disk cache holds the module, as after a first run.
    let t = Instant::now();
    let warmup = Engine::with_config(config())?;
    Plugin::builder(&warmup, manifest())
        .with_wasi(true)
        .build()?
        .call("greet", b"x")?;
    println!(
        "cold (compile + instantiate + call): {:.1} ms",
        ms(t.elapsed())
    );

    // A new engine reads the module from disk: the cost a new process pays.
    let host = Engine::with_config(config())?;
    let t = Instant::now();
    let mut plugin = Plugin::builder(&host, manifest()).with_wasi(true).build()?;
    plugin.call("greet", b"Bob")?;
    println!(
        "first call, module from disk cache: {:.2} ms",
        ms(t.elapsed())
    );

    // Same engine again: the module is in memory.
    let t = Instant::now();
    let mut plugin2 = Plugin::builder(&host, manifest()).with_wasi(true).build()?;
    plugin2.call("greet", b"Bob")?;
    println!("first call, module in memory: {:.2} ms", ms(t.elapsed()));

    // The artifact alone on bare wasmtime (InstancePre, copy-on-write memory
    // image): what instantiation costs before any host overhead.
    let bare = wasmtime::Engine::default();
    let module = wasmtime::Module::new(&bare, &wasm)?;
    let mut linker = wasmtime::Linker::<wasmtime_wasi::p1::WasiP1Ctx>::new(&bare);
    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |cx| cx)?;
    linker.define_unknown_imports_as_traps(&module)?;
    let pre = linker.instantiate_pre(&module)?;
    let rounds = 200;
    let t = Instant::now();
    for _ in 0..rounds {
        let mut store =
            wasmtime::Store::new(&bare, wasmtime_wasi::WasiCtxBuilder::new().build_p1());
        pre.instantiate(&mut store)?;
    }
    println!(
        "bare wasmtime instantiate: {:.3} ms",
        ms(t.elapsed()) / rounds as f64
    );

    let n = 2000;
    let t = Instant::now();
    for _ in 0..n {
        plugin.call("greet", b"Bob")?;
    }
    println!(
        "warm call: {:.1} us",
        t.elapsed().as_secs_f64() * 1e6 / n as f64
    );
    let _ = std::fs::remove_dir_all(&cache);
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
