//! `bench-hosts` (run it with `cargo xtask bench-hosts`): speed per host on the
//! same artifact (the first language's `bytes` plugin, export `echo`), in one run. For each host: a warm call, a fresh instance plus a
//! call, and a 1 MiB echo, measured inside the host (polyplug in process; each
//! official SDK inside its driver, through the protocol's `bench` request) and
//! through the driver's pipe (the runner timing `call` requests); then the whole
//! suite's wall time on that host. Prints a Markdown table with ratios to polyplug.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use base64::Engine as _;
use polyplug_conformance::hosts::{self, External, HostToml};
use polyplug_conformance::{Filter, Suite};
use polyplug_host::{Engine, Manifest, Plugin, Wasm};
use serde_json::json;

const SMALL: &[u8] = b"Hello, bench!";
const WARM: usize = 2000;
const FRESH: usize = 50;
const MIB_CALLS: usize = 30;

struct Row {
    host: String,
    version: String,
    warm_ns: f64,
    fresh_ns: f64,
    mib_ns: f64,
    pipe_warm_ns: Option<f64>,
    pipe_mib_ns: Option<f64>,
    suite_ms: Option<u128>,
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut root = PathBuf::from(".");
    let mut suite = true;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--root" => root = PathBuf::from(args.next().context("--root needs a folder")?),
            "--no-suite" => suite = false,
            other => bail!("unknown argument `{other}`: use --root DIR [--no-suite]"),
        }
    }
    let artifacts = polyplug_conformance::Artifacts::load(&root)?;
    let first = artifacts
        .languages()
        .into_iter()
        .find_map(|l| artifacts.find("bytes", &l).cloned())
        .context(
            "no `bytes` artifact in target/plugins/manifest.json: run `cargo xtask build-all`",
        )?;
    let wasm = artifacts.absolute(&first).canonicalize()?;
    eprintln!(
        "bench-hosts: {} ({}), export echo",
        wasm.display(),
        first.lang
    );
    let mib: Vec<u8> = (0..1 << 20).map(|i| (i * 7 % 251) as u8).collect();

    let mut rows = vec![polyplug(&wasm, &mib)?];
    for found in hosts::discover(&root, hosts::Compiler::Cranelift) {
        if found.name == hosts::IN_PROCESS {
            continue;
        }
        if let Err(why) = &found.host {
            eprintln!("bench-hosts: {} left out: {why}", found.name);
            continue;
        }
        let dir = root.join("hosts").join(&found.name);
        let host = External::new(
            HostToml::load(&dir).map_err(anyhow::Error::msg)?,
            dir,
            root.join("target/hosts").join(&found.name),
        );
        match external(&host, &found.name, &wasm, &mib) {
            Ok(row) => rows.push(row),
            Err(e) => eprintln!("bench-hosts: {}: {e:#}", found.name),
        }
    }
    if suite {
        let s = Suite::load(&root)?;
        for row in &mut rows {
            let filter = Filter {
                hosts: vec![row.host.clone()],
                ..Filter::default()
            };
            let started = Instant::now();
            let results = s.run(&filter)?;
            row.suite_ms = Some(started.elapsed().as_millis());
            eprintln!(
                "bench-hosts: suite on {}: {} cells in {} ms",
                row.host,
                results.cells.len(),
                started.elapsed().as_millis()
            );
        }
    }
    print!("{}", table(&rows));
    Ok(())
}

fn polyplug(wasm: &Path, mib: &[u8]) -> anyhow::Result<Row> {
    let engine = Engine::new()?;
    let build = || Plugin::builder(&engine, Manifest::new(Wasm::file(wasm))).build();
    let mut p = build()?;
    p.call("echo", SMALL)?;
    let warm_ns = mean(WARM, || p.call("echo", SMALL).map(drop))?;
    let fresh_ns = mean(FRESH, || build()?.call("echo", SMALL).map(drop))?;
    p.call("echo", mib)?;
    let mib_ns = mean(MIB_CALLS, || p.call("echo", mib).map(drop))?;
    Ok(Row {
        host: hosts::IN_PROCESS.into(),
        version: format!("polyplug-host {}", env!("CARGO_PKG_VERSION")),
        warm_ns,
        fresh_ns,
        mib_ns,
        pipe_warm_ns: None,
        pipe_mib_ns: None,
        suite_ms: None,
    })
}

fn mean<E: Into<anyhow::Error>>(
    n: usize,
    mut f: impl FnMut() -> Result<(), E>,
) -> anyhow::Result<f64> {
    let started = Instant::now();
    for _ in 0..n {
        f().map_err(Into::into)?;
    }
    Ok(started.elapsed().as_nanos() as f64 / n as f64)
}

fn external(host: &External, name: &str, wasm: &Path, mib: &[u8]) -> anyhow::Result<Row> {
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let long = Duration::from_secs(600);
    let ask = |req: serde_json::Value| -> anyhow::Result<serde_json::Value> {
        let r = host.request(&req, long).map_err(anyhow::Error::msg)?;
        if r["ok"] != true {
            bail!("{name} refused {}: {r}", req["op"]);
        }
        Ok(r)
    };
    let wasm_s = wasm.display().to_string();
    let small = ask(
        json!({"op": "bench", "wasm": wasm_s, "wasi": false, "export": "echo",
        "input_b64": b64(SMALL), "warm": WARM, "fresh": FRESH}),
    )?;
    let big = ask(
        json!({"op": "bench", "wasm": wasm_s, "wasi": false, "export": "echo",
        "input_b64": b64(mib), "warm": MIB_CALLS, "fresh": 0}),
    )?;
    // Through the pipe: load once, then time `call` requests from here.
    ask(
        json!({"op": "load", "wasm": wasm_s, "wasi": false, "config": {}, "allowed_hosts": [],
        "allowed_paths": {}, "timeout_ms": 600_000, "max_pages": null, "log_level": "error",
        "host_functions": []}),
    )?;
    let call = |input: &[u8]| json!({"op": "call", "export": "echo", "input_b64": b64(input)});
    ask(call(SMALL))?;
    let small_req = call(SMALL);
    let pipe_warm_ns = mean(WARM / 4, || ask(small_req.clone()).map(drop))?;
    let big_req = call(mib);
    let pipe_mib_ns = mean(MIB_CALLS, || ask(big_req.clone()).map(drop))?;
    ask(json!({"op": "unload"}))?;
    let version = host.describe().map(|d| d.version).unwrap_or_default();
    Ok(Row {
        host: name.to_owned(),
        version,
        warm_ns: small["warm_ns"].as_f64().unwrap_or(0.0),
        fresh_ns: small["fresh_ns"].as_f64().unwrap_or(0.0),
        mib_ns: big["warm_ns"].as_f64().unwrap_or(0.0),
        pipe_warm_ns: Some(pipe_warm_ns),
        pipe_mib_ns: Some(pipe_mib_ns),
        suite_ms: None,
    })
}

fn time(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.1} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

fn table(rows: &[Row]) -> String {
    let base = &rows[0];
    let ratio = |x: f64, b: f64| {
        if b > 0.0 {
            format!("{:.1}x", x / b)
        } else {
            "-".into()
        }
    };
    let mut out = String::from(
        "| host | warm call | fresh instance + call | 1 MiB echo | warm call via driver pipe | 1 MiB echo via pipe | whole suite |\n|---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        let gbs = |ns: f64| format!("{:.2} GB/s", (1u64 << 20) as f64 / ns);
        let opt = |v: Option<f64>, b: f64| {
            v.map_or("-".into(), |v| format!("{} ({})", time(v), ratio(v, b)))
        };
        out.push_str(&format!(
            "| {} ({}) | {} ({}) | {} ({}) | {} = {} ({}) | {} | {} | {} |\n",
            r.host,
            r.version,
            time(r.warm_ns),
            ratio(r.warm_ns, base.warm_ns),
            time(r.fresh_ns),
            ratio(r.fresh_ns, base.fresh_ns),
            time(r.mib_ns),
            gbs(r.mib_ns),
            ratio(r.mib_ns, base.mib_ns),
            opt(r.pipe_warm_ns, base.warm_ns),
            opt(r.pipe_mib_ns, base.mib_ns),
            r.suite_ms.map_or("-".into(), |ms| format!(
                "{:.1} s ({})",
                ms as f64 / 1000.0,
                ratio(ms as f64, base.suite_ms.unwrap_or(0) as f64)
            )),
        ));
    }
    out
}
