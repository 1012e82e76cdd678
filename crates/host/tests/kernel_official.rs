//! Replays on polyplug the kernel-memory probes measured on the official runtime
//! (tests/kernel/official.toml, written by bench/measure-kernel.py on extism 1.1.1 /
//! libextism 1.41): the same success or error everywhere, and the same bytes
//! wherever the official result does not depend on its allocator's layout.
//! docs/kernel-memory.md is the same data as a table.

use std::collections::BTreeMap;

use polyplug_host::{ErrorKind, LogLevel, Manifest, Plugin, Wasm};
use serde::Deserialize;

mod common;

#[derive(Deserialize)]
struct Probes {
    probe: Vec<Probe>,
}

#[derive(Deserialize)]
struct Probe {
    name: String,
    export: String,
    #[serde(default)]
    input: String,
    #[serde(default)]
    config: BTreeMap<String, String>,
    /// The official host had a log sink at this level (none when absent).
    log_level: Option<String>,
    layout_dependent: bool,
    status: String,
    output: Option<String>,
    output_hex: Option<String>,
    /// Set where the official output length is larger than the memory.
    output_length: Option<String>,
    error_kind: Option<String>,
    error: Option<String>,
    error_hex: Option<String>,
    wat: String,
}

/// Where polyplug deliberately differs from the official runtime, with the reason.
/// The traps come from the official kernel's own bounds check accepting an offset
/// equal to its memory size (`p <= end`): the kernel then faults inside itself.
/// polyplug treats that offset like every other one outside kernel memory.
const DIFFERENT: &[(&str, &str)] = &[
    (
        "output_set_huge_len_keeps_previous",
        "output_set(h, memory_bytes()) fits exactly when h is the first block: polyplug's \
         first block starts right after the 64-byte header, the official one after its \
         12-byte block header as well (allocator layout)",
    ),
    (
        "load_u8_at_memory_size",
        "official off-by-one bounds check traps",
    ),
    (
        "load_u64_ending_at_memory_size",
        "official off-by-one bounds check traps",
    ),
    (
        "store_u8_at_memory_size",
        "official off-by-one bounds check traps",
    ),
    (
        "store_u64_ending_at_memory_size",
        "official off-by-one bounds check traps",
    ),
];

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex in official.toml"))
        .collect()
}

fn run(probe: &Probe, strict: bool) -> Result<Vec<u8>, polyplug_host::Error> {
    let mut manifest =
        Manifest::new(Wasm::data(probe.wat.as_bytes().to_vec())).with_timeout_ms(5_000);
    for (k, v) in &probe.config {
        manifest = manifest.with_config(k, v);
    }
    // No sink on the official side means nothing is logged: the closest here is
    // a level above every message the probes log.
    let level = match probe.log_level.as_deref() {
        Some(l) => l.parse::<LogLevel>().expect("log_level in official.toml"),
        None => LogLevel::Error,
    };
    let mut plugin = Plugin::builder(&common::engine(), manifest)
        .with_log_level(level)
        .with_logger(|_, _| {})
        .with_strict_memory(strict)
        .build()?;
    plugin.call(&probe.export, probe.input.as_bytes())
}

fn check(probe: &Probe) -> Result<(), String> {
    let result = run(probe, false);
    // The sanitizer only records: the result is the official one either way.
    let strict = run(probe, true);
    let same = match (&result, &strict) {
        (Ok(a), Ok(b)) => a == b,
        (Err(a), Err(b)) => a.kind() == b.kind() && a.message() == b.message(),
        _ => false,
    };
    if !same {
        return Err(format!(
            "strict mode changed the result: {result:?} vs {strict:?}"
        ));
    }
    let status = if result.is_ok() { "ok" } else { "error" };
    if status != probe.status {
        return Err(format!("official: {}, polyplug: {result:?}", probe.status));
    }
    match result {
        Ok(output) => {
            if probe.layout_dependent || probe.output_length.is_some() {
                return Ok(());
            }
            let want = match (&probe.output, &probe.output_hex) {
                (Some(text), _) => text.as_bytes().to_vec(),
                (None, Some(h)) => hex(h),
                (None, None) => Vec::new(),
            };
            if output != want {
                let show = |b: &[u8]| format!("{} bytes {:02x?}", b.len(), &b[..b.len().min(48)]);
                return Err(format!(
                    "official output {}, polyplug {}",
                    show(&want),
                    show(&output)
                ));
            }
        }
        Err(e) => {
            let kind = probe.error_kind.as_deref().unwrap_or("trap");
            let ours = if e.kind() == ErrorKind::PluginError {
                "plugin-error"
            } else {
                "trap"
            };
            if kind != ours {
                return Err(format!(
                    "official error kind {kind}, polyplug {:?}: {e}",
                    e.kind()
                ));
            }
            if kind == "plugin-error" && !probe.layout_dependent {
                let want = match (&probe.error, &probe.error_hex) {
                    (Some(text), _) => text.clone(),
                    (None, Some(h)) => String::from_utf8_lossy(&hex(h)).into_owned(),
                    (None, None) => String::new(),
                };
                // The official runtime's message for a non-zero return carries its own wording.
                if !want.is_empty() && e.message() != want {
                    return Err(format!(
                        "official message {want:?}, polyplug {:?}",
                        e.message()
                    ));
                }
            }
        }
    }
    Ok(())
}

#[test]
fn polyplug_matches_the_official_kernel() {
    let text = include_str!("kernel/official.toml");
    let probes: Probes = toml::from_str(text).expect("official.toml parses");
    assert!(probes.probe.len() > 80, "the probe file lost its probes");
    let mut failures = Vec::new();
    for probe in &probes.probe {
        let declared = DIFFERENT.iter().find(|(n, _)| *n == probe.name);
        match (check(probe), declared) {
            (Ok(()), None) | (Err(_), Some(_)) => {}
            (Err(why), None) => failures.push(format!("{}: {why}", probe.name)),
            (Ok(()), Some((_, reason))) => failures.push(format!(
                "{}: declared different ({reason}) but now matches: remove it from DIFFERENT",
                probe.name
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "{} probe(s) differ from the official runtime:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
