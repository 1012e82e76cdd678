//! Winch (wasmtime's baseline compiler) against Cranelift on every artifact
//! build-all made: what a cold compile costs with each, and what the code
//! then costs per call. The suite's cold run is mostly compiling the Go
//! modules (2-3 MB each); this says whether Winch is the better trade there.
//!
//! Run: `cd bench && cargo run --release --bin winch` (after `cargo xtask build-all`).
//!
//! `cargo run --release --bin winch -- bounds-checks` compares, the same way,
//! Cranelift with guard pages (the default) against Cranelift with bounds checks
//! compiled in (`EngineConfig::guard_pages: false`; Winch needs guard pages).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use polyplug_host::{Engine, EngineConfig, Manifest, Plugin, Wasm};

/// The two engines compared: (label, config), the baseline first.
fn configs() -> [(&'static str, EngineConfig); 2] {
    let base = EngineConfig {
        cache_dir: None,
        ..EngineConfig::default()
    };
    let other = if std::env::args().nth(1).as_deref() == Some("bounds-checks") {
        (
            "bounds checks",
            EngineConfig {
                guard_pages: false,
                ..base.clone()
            },
        )
    } else {
        (
            "Winch",
            EngineConfig {
                winch: true,
                ..base.clone()
            },
        )
    };
    [("Cranelift", base), other]
}

fn wants_wasi(wasm: &[u8]) -> bool {
    wasm.windows(b"wasi_snapshot_preview1".len())
        .any(|w| w == b"wasi_snapshot_preview1")
}

fn main() {
    let plugins = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/plugins");
    let mut modules: Vec<(String, String, Vec<u8>)> = Vec::new();
    for lang in std::fs::read_dir(&plugins)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_dir())
    {
        for file in std::fs::read_dir(&lang)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.path())
        {
            if file.extension().is_some_and(|e| e == "wasm") {
                let l = lang.file_name().unwrap().to_string_lossy().into_owned();
                let spec = file.file_stem().unwrap().to_string_lossy().into_owned();
                modules.push((l, spec, std::fs::read(&file).unwrap()));
            }
        }
    }
    modules.sort();

    // Compile: every module once per compiler, one after the other (one core's worth).
    let configs = configs();
    let (a, b) = (configs[0].0, configs[1].0);
    let mut compile: BTreeMap<(String, &str), (f64, usize, u64, usize)> = BTreeMap::new();
    for (label, config) in &configs {
        let engine = Engine::with_config(config.clone()).unwrap();
        for (lang, spec, wasm) in &modules {
            let started = Instant::now();
            let built = Plugin::builder(&engine, Manifest::new(Wasm::data(wasm.clone())))
                .with_wasi(wants_wasi(wasm))
                .build();
            let e = compile.entry((lang.clone(), label)).or_default();
            e.0 += started.elapsed().as_secs_f64();
            e.1 += 1;
            e.2 += wasm.len() as u64;
            if let Err(err) = built {
                e.3 += 1;
                eprintln!("{label}: {lang}/{spec}: {err}");
            }
        }
    }
    println!(
        "| language | modules | bytes | {a} compile | {b} compile | {b} / {a} | failed with {b} |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    let langs: Vec<String> = compile
        .keys()
        .map(|(l, _)| l.clone())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    for lang in &langs {
        let c = compile[&(lang.clone(), a)];
        let w = compile[&(lang.clone(), b)];
        println!(
            "| {lang} | {} | {:.1} MB | {:.2} s | {:.2} s | {:.2}× | {} |",
            c.1,
            c.2 as f64 / 1e6,
            c.0,
            w.0,
            w.0 / c.0,
            w.3
        );
    }

    // Run: count-vowels warm calls and kitchen-sink-free work per language.
    println!("\n| language | count-vowels warm call, {a} | {b} | {b} / {a} | fresh instance + call, {a} | {b} |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    let input = "The quick brown fox jumps over the lazy dog. ".repeat(20);
    for (lang, spec, wasm) in &modules {
        if spec != "count-vowels" {
            continue;
        }
        let mut row = Vec::new();
        for (_, config) in &configs {
            let engine = Engine::with_config(config.clone()).unwrap();
            let Ok(template) = Plugin::builder(&engine, Manifest::new(Wasm::data(wasm.clone())))
                .with_wasi(wants_wasi(wasm))
                .build()
            else {
                row.push((f64::NAN, f64::NAN));
                continue;
            };
            let mut p = template.fresh();
            p.call("count_vowels", input.as_bytes()).unwrap();
            let n = 2_000;
            let started = Instant::now();
            for _ in 0..n {
                p.call("count_vowels", input.as_bytes()).unwrap();
            }
            let warm = started.elapsed().as_secs_f64() / n as f64;
            let n = 200;
            let started = Instant::now();
            for _ in 0..n {
                template
                    .fresh()
                    .call("count_vowels", input.as_bytes())
                    .unwrap();
            }
            let fresh = started.elapsed().as_secs_f64() / n as f64;
            row.push((warm, fresh));
        }
        println!(
            "| {lang} | {:.1} µs | {:.1} µs | {:.2}× | {:.0} µs | {:.0} µs |",
            row[0].0 * 1e6,
            row[1].0 * 1e6,
            row[1].0 / row[0].0,
            row[0].1 * 1e6,
            row[1].1 * 1e6
        );
    }
}
