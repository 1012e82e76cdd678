//! Plays one case on one artifact through polyplug-host: a fresh Plugin per case on
//! one shared Engine, with the services the case asks for (HTTP server, kv host
//! functions, a temporary folder at a guest path, limits), logs captured by level, and
//! everything run-specific (port, temp path) masked before it reaches a snapshot.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use polyplug_host::{Engine, LogLevel, Manifest, Plugin, Val, Wasm};

use crate::artifacts::Artifacts;
use crate::fixture::{Call, Case, Spec};
use crate::http_server::HttpServer;
use crate::kv::KvStore;
use crate::outcome::{CallOutcome, CallResult, CaseRun};

/// Services shared by every case of a run.
pub struct Services {
    pub http: HttpServer,
}

impl Services {
    pub fn start() -> anyhow::Result<Services> {
        use anyhow::Context as _;
        Ok(Services {
            http: HttpServer::start()
                .context("cannot start the conformance HTTP server on 127.0.0.1")?,
        })
    }
}

pub struct Runner {
    engine: Engine,
    services: Services,
    artifacts: Artifacts,
    /// One gate per artifact: the first case to need a module compiles it while
    /// the others wait, instead of every thread compiling the same module at once.
    compiled: Mutex<HashMap<PathBuf, Arc<OnceLock<()>>>>,
}

/// A case without `timeout_ms` still cannot hang the suite: a plugin stuck in a loop
/// fails its cell with `timeout` after this long.
const DEFAULT_TIMEOUT_MS: u64 = 30_000;

/// Outputs above this size are not scanned for run-specific strings to mask.
const MASK_LIMIT: usize = 64 * 1024;

impl Runner {
    pub fn new(artifacts: Artifacts) -> anyhow::Result<Runner> {
        let engine =
            Engine::new().map_err(|e| anyhow::anyhow!("cannot create the wasmtime engine: {e}"))?;
        Ok(Runner {
            engine,
            services: Services::start()?,
            artifacts,
            compiled: Mutex::default(),
        })
    }

    pub fn artifacts(&self) -> &Artifacts {
        &self.artifacts
    }

    /// Runs `case` on `lang`'s artifact. `Err` means the case could not run at all
    /// (missing artifact or export, the plugin did not load), phrased as what to fix.
    pub fn run_case(&self, spec: &Spec, case: &Case, lang: &str) -> Result<CaseRun, String> {
        let artifact = self
            .artifacts
            .find(&spec.name, lang)
            .ok_or_else(|| self.artifacts.missing_reason(&spec.name, lang))?;
        let path = self.artifacts.absolute(artifact);
        if !path.exists() {
            return Err(format!(
                "{} is listed in target/plugins/manifest.json but missing: run `cargo xtask build-all`",
                path.display()
            ));
        }
        self.compile_once(&path, artifact.wasi);
        let data_dir = match &case.allowed_path {
            Some(_) => Some(
                make_data_dir(case)
                    .map_err(|e| format!("cannot prepare the case's data folder: {e}"))?,
            ),
            None => None,
        };
        let masker = Masker::new(&self.services.http, data_dir.as_ref().map(|d| d.path()));

        let mut manifest = Manifest::new(Wasm::file(&path));
        for (k, v) in &case.config {
            manifest = manifest.with_config(k.clone(), masker.unmask(v));
        }
        for h in &case.allowed_hosts {
            manifest = manifest.with_allowed_host(h.clone());
        }
        if let (Some(dir), Some(guest)) = (&data_dir, &case.allowed_path) {
            manifest = manifest.with_allowed_path(dir.path().to_path_buf(), guest.clone());
        }
        manifest = manifest.with_timeout_ms(case.timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS));
        if let Some(pages) = case.max_pages {
            manifest = manifest.with_memory_max_pages(pages);
        }

        let logs: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
        let sink = logs.clone();
        let level: LogLevel = case.log_level.parse().map_err(|_| {
            format!(
                "log level {:?} is not one polyplug-host knows",
                case.log_level
            )
        })?;
        let mut builder = Plugin::builder(&self.engine, manifest)
            // Go's reactors import WASI whatever they do; the manifest says who else does.
            .with_wasi(artifact.wasi || data_dir.is_some())
            .with_log_level(level)
            // The sanitizer: results stay the official ones, stray accesses are warnings.
            .with_strict_memory(true)
            .with_logger(move |level, msg| {
                sink.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push((level.to_string().to_lowercase(), msg.to_owned()));
            });
        let kv = case.kv.as_ref().map(KvStore::seeded);
        if let Some(kv) = &kv {
            for f in kv.host_functions() {
                builder = builder.with_host_function(f);
            }
        }
        let mut plugin = builder
            .build()
            .map_err(|e| format!("cannot load {} ({lang}): {e}", path.display()))?;

        for call in &case.calls {
            if !plugin.function_exists(&call.export) {
                return Err(format!(
                    "{} ({lang}) has no export `{}`, which {}:{} calls: implement it in the plugin or fix the case",
                    path.display(),
                    call.export,
                    spec.file.display(),
                    case.line
                ));
            }
        }

        // Whatever a language's start-up code logs is its own business, not the case's.
        logs.lock().unwrap_or_else(|p| p.into_inner()).clear();
        let mut run = CaseRun::default();
        for call in case.all_calls() {
            let result = self.call(&mut plugin, call, &masker);
            let logs = std::mem::take(&mut *logs.lock().unwrap_or_else(|p| p.into_inner()));
            let logs = logs
                .into_iter()
                .map(|(l, m)| (l, masker.mask(&m)))
                .collect();
            run.calls.push(CallOutcome {
                export: call.export.clone(),
                result,
                logs,
            });
        }
        run.kv = kv.map(|kv| kv.snapshot());
        let memory = plugin.take_memory_diagnostics();
        run.memory_warnings = memory.kept.iter().map(|d| masker.mask(&d.to_string())).collect();
        if memory.dropped > 0 {
            run.memory_warnings
                .push(format!("... and {} more accesses outside their block", memory.dropped));
        }
        Ok(run)
    }

    /// Puts the artifact's compiled module in the engine's cache. Errors are left
    /// for the case's own build to report.
    fn compile_once(&self, path: &Path, wasi: bool) {
        let gate = self
            .compiled
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(path.to_owned())
            .or_default()
            .clone();
        gate.get_or_init(|| {
            let manifest = Manifest::new(Wasm::file(path));
            let _ = Plugin::builder(&self.engine, manifest)
                .with_wasi(wasi)
                .build();
        });
    }

    fn call(&self, plugin: &mut Plugin, call: &Call, masker: &Masker) -> CallResult {
        let error = |e: polyplug_host::Error| CallResult::Error {
            category: e.kind().category().to_owned(),
            message: masker.mask(e.message()),
        };
        if let Some(args) = &call.args {
            let args: Vec<Val> = args.iter().map(|a| Val::I32(*a)).collect();
            return match plugin.call_raw(&call.export, &args) {
                Ok(vals) => CallResult::Raw(vals.iter().map(render_val).collect()),
                Err(e) => error(e),
            };
        }
        let input = if call.input.template {
            masker
                .unmask(&String::from_utf8_lossy(&call.input.bytes))
                .into_bytes()
        } else {
            call.input.bytes.clone()
        };
        match plugin.call(&call.export, &input) {
            Ok(out) => CallResult::Output(masker.mask_bytes(out)),
            Err(e) => error(e),
        }
    }
}

fn render_val(v: &Val) -> String {
    match v {
        Val::I32(x) => x.to_string(),
        Val::I64(x) => format!("{x}i64"),
        Val::F32(x) => format!("{}f32", f32::from_bits(*x)),
        Val::F64(x) => format!("{}f64", f64::from_bits(*x)),
        other => format!("{other:?}"),
    }
}

fn make_data_dir(case: &Case) -> std::io::Result<tempfile::TempDir> {
    let dir = tempfile::Builder::new()
        .prefix("polyplug-conformance-")
        .tempdir()?;
    for (name, bytes) in &case.files {
        let path = dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, bytes)?;
    }
    Ok(dir)
}

/// Swaps run-specific strings for stable placeholders (and back, for inputs).
struct Masker {
    base_url: String,
    localhost: String,
    tmp: Option<String>,
}

impl Masker {
    fn new(http: &HttpServer, tmp: Option<&Path>) -> Masker {
        Masker {
            base_url: http.base_url(),
            localhost: format!("localhost:{}", http.port()),
            tmp: tmp.map(|t| t.display().to_string()),
        }
    }

    fn unmask(&self, s: &str) -> String {
        s.replace("{{http}}", &self.base_url)
    }

    fn mask(&self, s: &str) -> String {
        let mut s = s
            .replace(&self.base_url, "{{http}}")
            .replace(&self.localhost, "localhost:{{port}}");
        if let Some(t) = &self.tmp {
            s = s.replace(t.as_str(), "{{tmp}}");
        }
        s
    }

    fn mask_bytes(&self, bytes: Vec<u8>) -> Vec<u8> {
        if bytes.len() > MASK_LIMIT {
            return bytes;
        }
        match String::from_utf8(bytes) {
            Ok(s) => self.mask(&s).into_bytes(),
            Err(e) => e.into_bytes(),
        }
    }
}
