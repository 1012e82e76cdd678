//! Soak and concurrency, measured (issue 12): what a long-running host does
//! to memory and to isolation. Prints Markdown tables for docs/bench.md.
//!
//! - RSS after 10^3 and after 10^5 create-call-destroy cycles, on polyplug
//!   (a full build from bytes; a `fresh()` copy, on-demand and pooling) and on
//!   the official runtime (`Plugin::new_from_compiled`, its fastest fresh instance);
//! - 10^6 warm calls on one instance;
//! - 8 threads x 4 plugins x 10^4 calls, every output and every running total
//!   checked, so no var or output crosses between instances; on-demand and pooling.
//!
//! Run: `cd bench && cargo run --release --bin soak` (after `cargo xtask build-all`).
//! The plugin is the first language's count-vowels (`target/plugins/<lang>/count-vowels.wasm`);
//! POLYPLUG_SOAK_WASM points elsewhere.

use std::path::PathBuf;
use std::time::Instant;

use polyplug_host::{Engine, EngineConfig, Manifest, Plugin, Wasm};

const INPUT: &[u8] = b"Hello, World! The quick brown fox";
const INPUT_VOWELS: u64 = 8;

fn main() {
    let path = plugin_path();
    let wasm = std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e}: run `cargo xtask build-all`",
            path.display()
        )
    });
    println!("plugin: {} ({} bytes)\n", path.display(), wasm.len());

    println!("| create-call-destroy cycles | RSS after 10^3 | RSS after 10^5 | growth | time per cycle |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    {
        let engine = engine(false);
        let manifest = Manifest::new(Wasm::data(wasm.clone()));
        row(
            "polyplug, `Plugin::builder(..).build()` from the bytes (hashes them)",
            || {
                let mut p = Plugin::builder(&engine, manifest.clone())
                    .with_wasi(wants_wasi(&wasm))
                    .build()
                    .unwrap();
                check(&p.call("count_vowels", INPUT).unwrap(), INPUT_VOWELS);
            },
        );
    }
    for (label, pooling) in [
        (
            "polyplug, `fresh()` of a loaded plugin, on-demand allocator",
            false,
        ),
        (
            "polyplug, `fresh()` of a loaded plugin, pooling allocator",
            true,
        ),
    ] {
        let engine = engine(pooling);
        let template = Plugin::builder(&engine, Manifest::new(Wasm::data(wasm.clone())))
            .with_wasi(wants_wasi(&wasm))
            .build()
            .unwrap();
        row(label, || {
            check(
                &template.fresh().call("count_vowels", INPUT).unwrap(),
                INPUT_VOWELS,
            )
        });
    }
    {
        let manifest = extism::Manifest::new([extism::Wasm::data(wasm.clone())]);
        let compiled = extism::CompiledPlugin::new(
            extism::PluginBuilder::new(manifest).with_wasi(wants_wasi(&wasm)),
        )
        .unwrap();
        row("official runtime (extism 1.30), new_from_compiled", || {
            let mut p = extism::Plugin::new_from_compiled(&compiled).unwrap();
            let out: Vec<u8> = p.call("count_vowels", INPUT).unwrap();
            check(&out, INPUT_VOWELS);
        });
    }

    println!("\n| warm calls on one instance | calls | RSS before | RSS after | time per call |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    {
        let engine = engine(false);
        let mut p = Plugin::builder(&engine, Manifest::new(Wasm::data(wasm.clone())))
            .with_wasi(wants_wasi(&wasm))
            .build()
            .unwrap();
        p.call("count_vowels", INPUT).unwrap();
        let before = rss_kib();
        let start = Instant::now();
        let calls = 1_000_000u64;
        for i in 1..calls {
            let out = p.call("count_vowels", INPUT).unwrap();
            if i % 100_000 == 0 {
                assert_eq!(total(&out), (i + 1) * INPUT_VOWELS, "the running total");
            }
        }
        let per = start.elapsed().as_secs_f64() / calls as f64;
        println!(
            "| polyplug | 10^6 | {} | {} | {} |",
            mib(before),
            mib(rss_kib()),
            time(per)
        );
    }

    println!("\n| 8 threads x 4 plugins x 10^4 calls | calls | wall time | calls/s | crossings |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    for (label, pooling) in [
        ("polyplug, on-demand allocator", false),
        ("polyplug, pooling allocator", true),
    ] {
        let engine = engine(pooling);
        let start = Instant::now();
        let threads: Vec<_> = (0..8u64)
            .map(|t| {
                let (engine, wasm) = (engine.clone(), wasm.clone());
                std::thread::spawn(move || isolated_calls(&engine, &wasm, t))
            })
            .collect();
        let crossings: u64 = threads.into_iter().map(|t| t.join().unwrap()).sum();
        let wall = start.elapsed().as_secs_f64();
        let calls = 8 * 4 * 10_000;
        println!(
            "| {label} | {calls} | {wall:.2} s | {:.0} | {crossings} |",
            calls as f64 / wall
        );
        assert_eq!(crossings, 0, "an output or a var crossed between instances");
    }
}

/// Four plugins on this thread, each fed its own input: every output must
/// count that input's vowels, and every running total only its own calls.
/// Returns how many answers were someone else's.
fn isolated_calls(engine: &Engine, wasm: &[u8], thread: u64) -> u64 {
    let mut plugins: Vec<(Plugin, Vec<u8>, u64)> = (0..4u64)
        .map(|k| {
            let vowels = 1 + (thread * 4 + k) % 23;
            let input: Vec<u8> = std::iter::repeat_n(b'a', vowels as usize)
                .chain(*b"xyz")
                .collect();
            let p = Plugin::builder(engine, Manifest::new(Wasm::data(wasm.to_vec())))
                .with_wasi(wants_wasi(wasm))
                .build()
                .unwrap();
            (p, input, vowels)
        })
        .collect();
    let mut crossings = 0;
    for i in 1..=10_000u64 {
        for (p, input, vowels) in &mut plugins {
            let out = p.call("count_vowels", input).unwrap();
            if count(&out) != *vowels || total(&out) != i * *vowels {
                crossings += 1;
            }
        }
    }
    crossings
}

fn row(label: &str, mut cycle: impl FnMut()) {
    for _ in 0..1_000 {
        cycle();
    }
    let after_thousand = rss_kib();
    let start = Instant::now();
    for _ in 1_000..100_000 {
        cycle();
    }
    let per = start.elapsed().as_secs_f64() / 99_000.0;
    let after = rss_kib();
    println!(
        "| {label} | {} | {} | {:+.1} MiB | {} |",
        mib(after_thousand),
        mib(after),
        (after as f64 - after_thousand as f64) / 1024.0,
        time(per)
    );
}

fn engine(pooling: bool) -> Engine {
    Engine::with_config(EngineConfig {
        cache_dir: None,
        pooling,
        ..EngineConfig::default()
    })
    .unwrap()
}

fn plugin_path() -> PathBuf {
    if let Some(p) = std::env::var_os("POLYPLUG_SOAK_WASM") {
        return PathBuf::from(p);
    }
    let plugins = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/plugins");
    let manifest = std::fs::read_to_string(plugins.join("manifest.json")).unwrap_or_default();
    // The first language build-all lists: no language is named here.
    let first = manifest
        .split("\"name\": \"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_default()
        .to_string();
    plugins.join(first).join("count-vowels.wasm")
}

/// Go plugins import WASI; a module that does not is linked without it.
fn wants_wasi(wasm: &[u8]) -> bool {
    wasm.windows(b"wasi_snapshot_preview1".len())
        .any(|w| w == b"wasi_snapshot_preview1")
}

fn field(out: &[u8], key: &str) -> u64 {
    let text = String::from_utf8_lossy(out);
    let pattern = format!("\"{key}\":");
    text.split(&pattern)
        .nth(1)
        .map(|rest| {
            rest.chars()
                .take_while(|c| c.is_ascii_digit())
                .collect::<String>()
        })
        .and_then(|n| n.parse().ok())
        .unwrap_or(u64::MAX)
}

fn count(out: &[u8]) -> u64 {
    field(out, "count")
}

fn total(out: &[u8]) -> u64 {
    field(out, "total")
}

fn check(out: &[u8], vowels: u64) {
    assert_eq!(count(out), vowels, "{}", String::from_utf8_lossy(out));
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

fn time(seconds: f64) -> String {
    if seconds < 1e-6 {
        format!("{:.0} ns", seconds * 1e9)
    } else {
        format!("{:.1} µs", seconds * 1e6)
    }
}
