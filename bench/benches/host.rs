//! polyplug-host against the official Extism runtime on a plugin built with the
//! official Rust PDK (bytes.wasm: `echo`). Results go into docs/bench.md.
//!
//! The plugin defaults to ../target/plugins/rust/bytes.wasm (`cargo xtask
//! build-all` makes it); POLYPLUG_BENCH_WASM points elsewhere.

use std::path::PathBuf;
use std::sync::OnceLock;

use divan::counter::BytesCount;
use divan::{black_box, Bencher};

fn main() {
    divan::main();
}

fn wasm() -> &'static [u8] {
    static WASM: OnceLock<Vec<u8>> = OnceLock::new();
    WASM.get_or_init(|| {
        let path = std::env::var_os("POLYPLUG_BENCH_WASM")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/plugins/rust/bytes.wasm")
            });
        std::fs::read(&path).unwrap_or_else(|e| {
            panic!(
                "cannot read {}: {e}: run `cargo xtask build-all`",
                path.display()
            )
        })
    })
}

const SMALL: &[u8] = b"hello, plugin!";

/// count-vowels built with the official Rust PDK: a loop over every input
/// byte in the plugin's own memory, to show what the bounds checks cost.
fn count_vowels() -> Vec<u8> {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/plugins/rust/count-vowels.wasm");
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e}: run `cargo xtask build-all`",
            path.display()
        )
    })
}

/// 1 MiB of text, a vowel in every few bytes.
fn text() -> Vec<u8> {
    b"the quick brown fox jumps over the lazy dog. "
        .iter()
        .copied()
        .cycle()
        .take(1 << 20)
        .collect()
}

fn mib() -> Vec<u8> {
    (0..1 << 20).map(|i| (i * 7 % 251) as u8).collect()
}

mod polyplug {
    use super::*;
    use polyplug_host::{Engine, EngineConfig, Manifest, Plugin, Wasm};

    fn engine() -> Engine {
        engine_with(EngineConfig::default())
    }

    /// An engine of `config` without the disk cache, so every run compiles alike.
    fn engine_with(config: EngineConfig) -> Engine {
        Engine::with_config(EngineConfig {
            cache_dir: None,
            ..config
        })
        .unwrap()
    }

    fn manifest() -> Manifest {
        Manifest::new(Wasm::data(wasm().to_vec()))
    }

    #[divan::bench]
    fn warm_call(b: Bencher) {
        let mut p = Plugin::builder(&engine(), manifest()).build().unwrap();
        p.call("echo", SMALL).unwrap();
        b.bench_local(|| p.call("echo", black_box(SMALL)).unwrap());
    }

    /// Load from the engine's in-memory module cache, instantiate, call.
    #[divan::bench]
    fn fresh_instance_call(b: Bencher) {
        let engine = engine();
        let manifest = manifest();
        Plugin::builder(&engine, manifest.clone()).build().unwrap();
        b.bench_local(|| {
            let mut p = Plugin::builder(&engine, manifest.clone()).build().unwrap();
            p.call("echo", black_box(SMALL)).unwrap()
        });
    }

    /// The same from a file path: a known, unchanged file is neither read nor hashed.
    #[divan::bench]
    fn fresh_instance_call_file(b: Bencher) {
        fresh_from_file(b, engine());
    }

    /// The same with the pooling instance allocator.
    #[divan::bench]
    fn fresh_instance_call_file_pooling(b: Bencher) {
        fresh_from_file(
            b,
            engine_with(EngineConfig {
                pooling: true,
                ..EngineConfig::default()
            }),
        );
    }

    /// What `polyplug serve` does per request: a fresh copy of a loaded plugin
    /// (shared module, new store and instance from the pool), one call.
    #[divan::bench]
    fn fresh_copy_call_pooling(b: Bencher) {
        fresh_copy(b, EngineConfig::default());
    }

    /// The same with bounds checks compiled in instead of guard pages
    /// (`EngineConfig::guard_pages: false`): no `mprotect` to reuse a slot.
    #[divan::bench]
    fn fresh_copy_call_pooling_bounds_checked(b: Bencher) {
        fresh_copy(
            b,
            EngineConfig {
                guard_pages: false,
                ..EngineConfig::default()
            },
        );
    }

    fn fresh_copy(b: Bencher, config: EngineConfig) {
        let engine = engine_with(EngineConfig {
            pooling: true,
            ..config
        });
        let template = Plugin::builder(&engine, manifest()).build().unwrap();
        b.bench_local(|| template.fresh().call("echo", black_box(SMALL)).unwrap());
    }

    fn fresh_from_file(b: Bencher, engine: Engine) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plugin.wasm");
        std::fs::write(&path, wasm()).unwrap();
        let manifest = Manifest::new(Wasm::file(&path));
        Plugin::builder(&engine, manifest.clone()).build().unwrap();
        b.bench_local(|| {
            let mut p = Plugin::builder(&engine, manifest.clone()).build().unwrap();
            p.call("echo", black_box(SMALL)).unwrap()
        });
    }

    #[divan::bench]
    fn echo_1mib(b: Bencher) {
        echo_mib(b, engine());
    }

    /// The same with the accessors left in their own instance (not inlined
    /// into the plugin): every 8-byte load or store is a call into it.
    #[divan::bench]
    fn echo_1mib_accessor_instance(b: Bencher) {
        let config = EngineConfig {
            cache_dir: None,
            inline_accessors: false,
            ..EngineConfig::default()
        };
        echo_mib(b, Engine::with_config(config).unwrap());
    }

    fn echo_mib(b: Bencher, engine: Engine) {
        let mut p = Plugin::builder(&engine, manifest()).build().unwrap();
        let input = mib();
        b.counter(BytesCount::new(input.len()))
            .bench_local(|| p.call("echo", black_box(&input)).unwrap());
    }

    /// The same with bounds checks instead of guard pages.
    #[divan::bench]
    fn echo_1mib_bounds_checked(b: Bencher) {
        echo_mib(
            b,
            engine_with(EngineConfig {
                guard_pages: false,
                ..EngineConfig::default()
            }),
        );
    }

    #[divan::bench]
    fn count_vowels_1mib(b: Bencher) {
        let manifest = Manifest::new(Wasm::data(count_vowels()));
        let mut p = Plugin::builder(&engine(), manifest).build().unwrap();
        let input = text();
        b.counter(BytesCount::new(input.len()))
            .bench_local(|| p.call("count_vowels", black_box(&input)).unwrap());
    }

    /// A new engine (as a new `polyplug call` process has) loading from the disk cache.
    #[divan::bench]
    fn load_from_disk_cache(b: Bencher) {
        let dir = tempfile::tempdir().unwrap();
        let config = EngineConfig {
            cache_dir: Some(dir.path().to_path_buf()),
            ..EngineConfig::default()
        };
        let manifest = manifest();
        Plugin::builder(
            &Engine::with_config(config.clone()).unwrap(),
            manifest.clone(),
        )
        .build()
        .unwrap();
        b.bench_local(|| {
            let engine = Engine::with_config(config.clone()).unwrap();
            Plugin::builder(&engine, manifest.clone()).build().unwrap()
        });
    }
}

mod official {
    use super::*;
    use extism::{Manifest, Plugin, Wasm};

    fn manifest() -> Manifest {
        Manifest::new([Wasm::data(wasm().to_vec())])
    }

    #[divan::bench]
    fn warm_call(b: Bencher) {
        let mut p = Plugin::new(manifest(), [], false).unwrap();
        p.call::<&[u8], Vec<u8>>("echo", SMALL).unwrap();
        b.bench_local(|| p.call::<&[u8], Vec<u8>>("echo", black_box(SMALL)).unwrap());
    }

    /// `Plugin::new` + call: what the official runtime does for a fresh instance.
    #[divan::bench(sample_count = 20)]
    fn fresh_instance_call(b: Bencher) {
        let manifest = manifest();
        b.bench_local(|| {
            let mut p = Plugin::new(&manifest, [], false).unwrap();
            p.call::<&[u8], Vec<u8>>("echo", black_box(SMALL)).unwrap()
        });
    }

    /// A fresh instance from a precompiled plugin (extism's fastest path).
    #[divan::bench]
    fn fresh_instance_from_compiled_call(b: Bencher) {
        let compiled = extism::CompiledPlugin::new(extism::PluginBuilder::new(manifest())).unwrap();
        b.bench_local(|| {
            let mut p = Plugin::new_from_compiled(&compiled).unwrap();
            p.call::<&[u8], Vec<u8>>("echo", black_box(SMALL)).unwrap()
        });
    }

    #[divan::bench]
    fn count_vowels_1mib(b: Bencher) {
        let mut p = Plugin::new(Manifest::new([Wasm::data(count_vowels())]), [], false).unwrap();
        let input = text();
        b.counter(BytesCount::new(input.len())).bench_local(|| {
            p.call::<&[u8], Vec<u8>>("count_vowels", black_box(&input))
                .unwrap()
        });
    }

    #[divan::bench]
    fn echo_1mib(b: Bencher) {
        let mut p = Plugin::new(manifest(), [], false).unwrap();
        let input = mib();
        b.counter(BytesCount::new(input.len()))
            .bench_local(|| p.call::<&[u8], Vec<u8>>("echo", black_box(&input)).unwrap());
    }
}
