//! polyplug-host as a host, in process: a fresh Plugin per case on one shared
//! Engine, logs captured by level, the kernel-memory sanitizer always on, the
//! modules compiled by the chosen [`Compiler`].

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use polyplug_host::xtp::{PluginUnderTest, UnderTest};
use polyplug_host::{Engine, EngineConfig, LogLevel, Manifest, Plugin, Val, Wasm};

use super::{CasePlan, Host, RawCall, RawRun, Session, Skip};
use crate::outcome::CallResult;

/// Which of wasmtime's compilers makes the suite's code.
///
/// A conformance run compiles most of its modules afresh (each build-all makes
/// new ones) and calls each a few times, so compiling is most of a cold run:
/// Winch, the baseline compiler, compiles the 51 modules about 4x quicker than
/// Cranelift (docs/bench.md). What the cells check does not depend on the
/// compiler: the runtime, the traps, the limits, the host functions and the
/// kernel are the same code either way; only the speed of the plugin's own code
/// differs. `polyplug call` and `serve` keep Cranelift, since they run code for
/// long; `--compiler cranelift` checks exactly their code (and shares their
/// compiled-module cache). Winch is a tier-1 compiler on x86-64 only, so other
/// machines use Cranelift.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compiler {
    Cranelift,
    Winch,
}

impl Default for Compiler {
    fn default() -> Compiler {
        if cfg!(target_arch = "x86_64") {
            Compiler::Winch
        } else {
            Compiler::Cranelift
        }
    }
}

impl std::str::FromStr for Compiler {
    type Err = String;
    fn from_str(s: &str) -> Result<Compiler, String> {
        match s {
            "cranelift" => Ok(Compiler::Cranelift),
            "winch" => Ok(Compiler::Winch),
            _ => Err(format!(
                "--compiler {s}: use {}",
                polyplug_suite_args::COMPILERS.join(" or ")
            )),
        }
    }
}

impl std::fmt::Display for Compiler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Compiler::Cranelift => "cranelift",
            Compiler::Winch => "winch",
        })
    }
}

/// The engine compiles each module once, however many cases ask for it at the
/// same time (the others wait for that compile).
pub struct Polyplug {
    engine: Engine,
    compiler: Compiler,
}

impl Polyplug {
    pub fn new(compiler: Compiler) -> anyhow::Result<Polyplug> {
        let engine = Engine::with_config(EngineConfig {
            winch: compiler == Compiler::Winch,
            ..EngineConfig::default()
        })
        .map_err(|e| anyhow::anyhow!("cannot create the wasmtime engine ({compiler}): {e}"))?;
        Ok(Polyplug { engine, compiler })
    }

    /// The plan's plugin, with its logs collected by level.
    fn load(&self, plan: &CasePlan) -> Result<(Plugin, Logs), Skip> {
        let mut manifest = Manifest::new(Wasm::file(&plan.wasm));
        for (k, v) in &plan.config {
            manifest = manifest.with_config(k.clone(), v.clone());
        }
        for h in &plan.allowed_hosts {
            manifest = manifest.with_allowed_host(h.clone());
        }
        if let Some((dir, guest)) = &plan.allowed_path {
            manifest = manifest.with_allowed_path(dir.clone(), guest.clone());
        }
        // In process, a timeout is the only way to stop a runaway plugin, and
        // one costs nothing per call: a case without one waits `wait_ms`.
        manifest = manifest.with_timeout_ms(plan.timeout_ms.unwrap_or(plan.wait_ms));
        if let Some(pages) = plan.max_pages {
            manifest = manifest.with_memory_max_pages(pages);
        }
        let level: LogLevel = plan.log_level.parse().map_err(|_| {
            Skip::Cannot(format!(
                "log level {:?} is not one polyplug-host knows",
                plan.log_level
            ))
        })?;
        let logs: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
        let sink = logs.clone();
        let mut builder = Plugin::builder(&self.engine, manifest)
            .with_wasi(plan.wasi)
            .with_log_level(level)
            // The sanitizer: results stay the official ones, stray accesses are warnings.
            .with_strict_memory(true)
            .with_logger(move |level, msg| {
                sink.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push((level.to_string().to_lowercase(), msg.to_owned()));
            });
        if let Some(kv) = &plan.kv {
            for f in kv.host_functions() {
                builder = builder.with_host_function(f);
            }
        }
        let plugin = builder
            .build()
            .map_err(|e| Skip::Cannot(format!("cannot load {}: {e}", plan.wasm.display())))?;
        Ok((plugin, logs))
    }
}

type Logs = Arc<Mutex<Vec<(String, String)>>>;

/// A loaded plugin driven call by call: the harness's own plugin under test
/// (a reset is a fresh copy), with its errors as call results.
struct PluginSession(PluginUnderTest);

impl Session for PluginSession {
    fn call(&mut self, export: &str, input: &[u8]) -> CallResult {
        match self.0.call(export, input) {
            Ok(out) => CallResult::Output(out),
            Err(e) => CallResult::Error {
                category: e.kind().category().to_owned(),
                message: e.message().to_owned(),
            },
        }
    }

    fn reset(&mut self) -> Result<(), String> {
        self.0.reset().map_err(|e| e.to_string())
    }
}

impl Host for Polyplug {
    fn name(&self) -> &str {
        super::IN_PROCESS
    }

    fn version(&self) -> String {
        format!(
            "polyplug-host {}, {}",
            env!("CARGO_PKG_VERSION"),
            self.compiler
        )
    }

    fn unsupported(&self, _imports: &[String], _raw: bool) -> Option<String> {
        None
    }

    /// Two: in process, a cell that takes long is mostly a call spinning to
    /// its wall-clock deadline (it ends on time however little of a core it
    /// gets) or a request to a server that never answers (a sleep). The warm
    /// run took 7.8 s with two cells per core, 10.5 s with one (docs/bench.md).
    fn cells_per_core(&self) -> usize {
        2
    }

    /// Compiles every module up front on every core (or loads it from the
    /// disk cache), so cases start with their modules ready.
    fn prepare(&self, modules: &[(PathBuf, bool)], done: &(dyn Fn(&Path) + Sync)) {
        let next = AtomicUsize::new(0);
        let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
        std::thread::scope(|scope| {
            for _ in 0..workers.min(modules.len()) {
                scope.spawn(|| {
                    while let Some((path, wasi)) = modules.get(next.fetch_add(1, Ordering::Relaxed))
                    {
                        let manifest = Manifest::new(Wasm::file(path));
                        let _ = Plugin::builder(&self.engine, manifest)
                            .with_wasi(*wasi)
                            .build();
                        done(path);
                    }
                });
            }
        });
    }

    fn session(
        &self,
        plan: &CasePlan,
        drive: &mut dyn FnMut(&mut dyn Session),
    ) -> Result<(), Skip> {
        let (plugin, _logs) = self.load(plan)?;
        drive(&mut PluginSession(PluginUnderTest::new(plugin)));
        Ok(())
    }

    fn run(&self, plan: &CasePlan) -> Result<RawRun, Skip> {
        let (mut plugin, logs) = self.load(plan)?;
        let take_logs = || std::mem::take(&mut *logs.lock().unwrap_or_else(|p| p.into_inner()));
        let mut run = RawRun::default();
        for call in &plan.calls {
            // Whatever a language's start-up code logs before the first call is its own business.
            if run.calls.is_empty() {
                take_logs();
            }
            let error = |e: polyplug_host::Error| CallResult::Error {
                category: e.kind().category().to_owned(),
                message: e.message().to_owned(),
            };
            let result = match &call.args {
                Some(args) => {
                    let args: Vec<Val> = args.iter().map(|a| Val::I32(*a)).collect();
                    match plugin.call_raw(&call.export, &args) {
                        Ok(vals) => CallResult::Raw(vals.iter().map(render_val).collect()),
                        Err(e) => error(e),
                    }
                }
                None => match plugin.call(&call.export, &call.input) {
                    Ok(out) => CallResult::Output(out),
                    Err(e) => error(e),
                },
            };
            run.calls.push(RawCall {
                result,
                logs: take_logs(),
            });
        }
        let memory = plugin.take_memory_diagnostics();
        run.memory_warnings = memory.kept.iter().map(ToString::to_string).collect();
        if memory.dropped > 0 {
            run.memory_warnings.push(format!(
                "... and {} more accesses outside their block",
                memory.dropped
            ));
        }
        Ok(run)
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

#[cfg(test)]
mod tests {
    use super::Compiler;

    #[test]
    fn every_compiler_flag_value_names_a_compiler() {
        for name in polyplug_suite_args::COMPILERS {
            let c: Compiler = name.parse().unwrap();
            assert_eq!(c.to_string(), *name);
        }
        assert!("llvm"
            .parse::<Compiler>()
            .unwrap_err()
            .contains("use cranelift or winch"));
    }
}
