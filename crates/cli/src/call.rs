//! `polyplug call`: load a plugin from flags (and optionally a manifest), call one
//! export N times on one instance, print each output followed by a newline.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use polyplug_host::{Engine, LogLevel, Manifest, Plugin, Val, ValType, Wasm};

/// Arguments of `polyplug call`.
#[derive(clap::Args)]
pub struct Call {
    /// The wasm module; a path ending in `.json` is read as an Extism manifest
    wasm: PathBuf,
    /// The export to call
    function: String,
    /// Input text for the call
    #[arg(long, conflicts_with = "stdin")]
    input: Option<String>,
    /// Read the input from standard input
    #[arg(long)]
    stdin: bool,
    /// Call this many times on one instance (vars persist between calls)
    #[arg(long = "loop", default_value_t = 1, value_name = "N")]
    times: u32,
    /// A config value the plugin reads with config_get
    #[arg(long = "config", value_name = "K=V", value_parser = parse_config)]
    config: Vec<(String, String)>,
    /// Extism manifest JSON with config, limits, hosts and paths (flags add to it)
    #[arg(long, value_name = "FILE")]
    manifest: Option<PathBuf>,
    /// Link WASI preview 1 (Go plugins need it)
    #[arg(long)]
    wasi: bool,
    /// A host glob http_request may reach (e.g. `*.example.com`)
    #[arg(long = "allow-host", value_name = "H")]
    allow_host: Vec<String>,
    /// A directory mapped into the guest, at GUEST or at the same path
    #[arg(long = "allow-path", value_name = "HOST[:GUEST]")]
    allow_path: Vec<String>,
    /// Stop a call after this many milliseconds
    #[arg(long, value_name = "MS")]
    timeout: Option<u64>,
    /// Most 64 KiB pages of memory (plugin and kernel memory together)
    #[arg(long = "memory-max", value_name = "PAGES")]
    memory_max: Option<u32>,
    /// Most bytes of vars (default 1 MiB)
    #[arg(long = "var-max", value_name = "BYTES")]
    var_max: Option<u64>,
    /// Most bytes of one HTTP response (default 50 MiB)
    #[arg(long = "http-response-max", value_name = "BYTES")]
    http_response_max: Option<u64>,
    /// Lowest plugin log level shown on stderr: trace, debug, info, warn, error
    #[arg(long = "log-level", default_value = "info", value_parser = parse_level)]
    log_level: LogLevel,
    /// Fuel for each call (instructions, roughly)
    #[arg(long)]
    fuel: Option<u64>,
    /// Report every kernel-memory access outside the block it belongs to
    /// (stderr, `warning:` lines); results stay the official runtime's
    #[arg(long = "strict-memory")]
    strict_memory: bool,
    /// Call a numeric export with these comma-separated arguments and print its results
    #[arg(
        long,
        value_name = "A,B,...",
        allow_hyphen_values = true,
        value_delimiter = ','
    )]
    args: Option<Vec<String>>,
}

fn parse_config(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("`{s}` is not KEY=VALUE"))
}

pub(crate) fn parse_level(s: &str) -> Result<LogLevel, String> {
    s.parse::<LogLevel>().map_err(|e| e.message().to_string())
}

impl Call {
    pub fn run(self) -> ExitCode {
        let mut plugin = match self.load() {
            Ok(p) => p,
            Err(e) => {
                eprintln!("error: {e:#}");
                return ExitCode::from(2);
            }
        };
        let result = match &self.args {
            Some(args) => self.call_raw(&mut plugin, args),
            None => self.call_abi(&mut plugin),
        };
        match result {
            Ok(code) => code,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::from(2)
            }
        }
    }

    fn load(&self) -> anyhow::Result<Plugin> {
        let mut manifest = if self.wasm.extension().is_some_and(|e| e == "json") {
            read_manifest(&self.wasm)?
        } else {
            Manifest::new(Wasm::file(&self.wasm))
        };
        if let Some(path) = &self.manifest {
            let extra = read_manifest(path)?;
            if !extra.wasm.is_empty() {
                bail!(
                    "manifest {} lists wasm modules: pass it as WASM instead of --manifest, or drop its `wasm`",
                    path.display()
                );
            }
            manifest = Manifest {
                wasm: manifest.wasm,
                ..extra
            };
        }
        for (k, v) in &self.config {
            manifest = manifest.with_config(k, v);
        }
        for h in &self.allow_host {
            manifest = manifest.with_allowed_host(h);
        }
        for p in &self.allow_path {
            let (host, guest) = split_path(p);
            manifest = manifest.with_allowed_path(host, guest);
        }
        if let Some(ms) = self.timeout {
            manifest = manifest.with_timeout_ms(ms);
        }
        if let Some(pages) = self.memory_max {
            manifest = manifest.with_memory_max_pages(pages);
        }
        if let Some(n) = self.var_max {
            manifest = manifest.with_max_var_bytes(n);
        }
        if let Some(n) = self.http_response_max {
            manifest = manifest.with_max_http_response_bytes(n);
        }

        let engine = Engine::new().context("cannot start the polyplug engine")?;
        let mut builder = Plugin::builder(&engine, manifest)
            .with_wasi(self.wasi)
            .with_log_level(self.log_level)
            .with_logger(|level, msg| eprintln!("[{level}] {msg}"))
            .with_strict_memory(self.strict_memory);
        if let Some(fuel) = self.fuel {
            builder = builder.with_fuel(fuel);
        }
        builder
            .build()
            .with_context(|| format!("cannot load {}", self.wasm.display()))
    }

    fn input(&self) -> anyhow::Result<Vec<u8>> {
        if self.stdin {
            let mut buf = Vec::new();
            std::io::stdin()
                .read_to_end(&mut buf)
                .context("cannot read the input from stdin")?;
            return Ok(buf);
        }
        Ok(self.input.clone().unwrap_or_default().into_bytes())
    }

    fn call_abi(&self, plugin: &mut Plugin) -> anyhow::Result<ExitCode> {
        let input = self.input()?;
        let mut stdout = std::io::stdout().lock();
        for _ in 0..self.times {
            let result = plugin.call(&self.function, &input);
            warn_memory(plugin);
            match result {
                Ok(output) => {
                    stdout
                        .write_all(&output)
                        .and_then(|()| stdout.write_all(b"\n"))
                        .context("cannot write to stdout")?;
                }
                Err(e) => {
                    stdout.flush().ok();
                    eprintln!("error: {e:#}");
                    return Ok(ExitCode::from(1));
                }
            }
        }
        stdout.flush().context("cannot write to stdout")?;
        Ok(ExitCode::SUCCESS)
    }

    fn call_raw(&self, plugin: &mut Plugin, args: &[String]) -> anyhow::Result<ExitCode> {
        let Some((params, _)) = plugin.function_type(&self.function) else {
            bail!(
                "{} has no exported function `{}`",
                self.wasm.display(),
                self.function
            );
        };
        let args: Vec<&String> = args.iter().filter(|a| !a.is_empty()).collect();
        if params.len() != args.len() {
            bail!(
                "`{}` takes {} argument(s), --args gave {}",
                self.function,
                params.len(),
                args.len()
            );
        }
        let vals = params
            .iter()
            .zip(&args)
            .map(|(t, a)| parse_val(t, a))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let mut stdout = std::io::stdout().lock();
        for _ in 0..self.times {
            match plugin.call_raw(&self.function, &vals) {
                Ok(results) => {
                    let text: Vec<String> = results.iter().map(show_val).collect();
                    writeln!(stdout, "{}", text.join(" ")).context("cannot write to stdout")?;
                }
                Err(e) => {
                    stdout.flush().ok();
                    eprintln!("error: {e:#}");
                    return Ok(ExitCode::from(1));
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    }
}

pub(crate) fn read_manifest(path: &Path) -> anyhow::Result<Manifest> {
    let json = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read manifest {}", path.display()))?;
    let mut m =
        Manifest::from_json(&json).with_context(|| format!("in manifest {}", path.display()))?;
    // Relative paths in a manifest are relative to the manifest, not to the shell.
    let base = path.parent().unwrap_or(Path::new(""));
    for w in &mut m.wasm {
        if let Wasm::File { path, .. } = w {
            if path.is_relative() {
                *path = base.join(&*path);
            }
        }
    }
    Ok(m)
}

/// `HOST[:GUEST]`, keeping Extism's `ro:` read-only prefix on the host side.
fn split_path(spec: &str) -> (String, String) {
    let (ro, rest) = match spec.strip_prefix("ro:") {
        Some(rest) => ("ro:", rest),
        None => ("", spec),
    };
    match rest.split_once(':') {
        Some((host, guest)) => (format!("{ro}{host}"), guest.to_string()),
        None => (format!("{ro}{rest}"), rest.to_string()),
    }
}

fn parse_val(ty: &ValType, text: &str) -> anyhow::Result<Val> {
    let text = text.trim();
    let bad = || format!("`{text}` is not a valid {ty} argument");
    Ok(match ty {
        ValType::I32 => Val::I32(
            text.parse::<i32>()
                .or_else(|_| text.parse::<u32>().map(|u| u as i32))
                .with_context(bad)?,
        ),
        ValType::I64 => Val::I64(
            text.parse::<i64>()
                .or_else(|_| text.parse::<u64>().map(|u| u as i64))
                .with_context(bad)?,
        ),
        ValType::F32 => Val::F32(text.parse::<f32>().with_context(bad)?.to_bits()),
        ValType::F64 => Val::F64(text.parse::<f64>().with_context(bad)?.to_bits()),
        other => bail!("--args cannot pass a {other} argument"),
    })
}

fn show_val(v: &Val) -> String {
    match v {
        Val::I32(x) => x.to_string(),
        Val::I64(x) => x.to_string(),
        Val::F32(x) => f32::from_bits(*x).to_string(),
        Val::F64(x) => f64::from_bits(*x).to_string(),
        other => format!("{other:?}"),
    }
}

/// The sanitizer's findings of the last call, one `warning:` line each.
fn warn_memory(plugin: &mut Plugin) {
    let found = plugin.take_memory_diagnostics();
    for d in &found.kept {
        eprintln!("warning: {d}");
    }
    if found.dropped > 0 {
        eprintln!(
            "warning: ... and {} more kernel-memory accesses outside their block",
            found.dropped
        );
    }
}
