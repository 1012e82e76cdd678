//! An official runtime as a host: `hosts/<name>/host.toml` says how to start its
//! driver, and the driver runs the case through the protocol of docs/hosts.md.
//! Drivers are pooled: each cell borrows one (starting it if none is idle) and
//! gives it back unless it broke.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use serde_json::{json, Value};

use super::driver::{b64, expand, program, unb64, Driver};
pub use polyplug_suite_args::HostToml;

use super::{CasePlan, Host, RawCall, RawRun, Session, Skip};
use crate::outcome::CallResult;

/// A driver gets this long beyond the case's own timeout to answer a call.
const SLACK: Duration = Duration::from_secs(5);
/// And this long for `describe`, `load` and `unload` (loading compiles the module).
const LOAD_TIMEOUT: Duration = Duration::from_secs(120);

/// What `describe` said.
#[derive(Debug, Clone)]
pub struct Describe {
    pub version: String,
    pub imports: Vec<String>,
    pub raw_calls: bool,
}

pub struct External {
    pub toml: HostToml,
    dir: PathBuf,
    state: PathBuf,
    idle: Mutex<Vec<Driver>>,
    described: OnceLock<Result<Describe, String>>,
}

impl External {
    pub fn new(toml: HostToml, dir: PathBuf, state: PathBuf) -> External {
        External {
            toml,
            dir,
            state,
            idle: Mutex::new(Vec::new()),
            described: OnceLock::new(),
        }
    }

    fn start(&self) -> Result<Driver, String> {
        let words: Vec<String> = self
            .toml
            .run
            .iter()
            .map(|w| expand(w, &self.state))
            .collect();
        let prog = program(&words[0], &self.dir);
        Driver::start(&self.toml.name, &self.dir, &prog, &words[1..])
    }

    /// Runs `f` on an idle driver (or a new one); a driver that failed is dropped.
    fn with_driver<T>(
        &self,
        f: impl FnOnce(&mut Driver) -> Result<T, String>,
    ) -> Result<T, String> {
        let idle = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let mut driver = match idle {
            Some(d) => d,
            None => self.start()?,
        };
        let result = f(&mut driver);
        if result.is_ok() {
            self.idle
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(driver);
        }
        result
    }

    /// Sends one request to an idle driver (benchmarks use this); no host functions.
    pub fn request(&self, request: &Value, timeout: Duration) -> Result<Value, String> {
        self.with_driver(|d| d.request(request, timeout, &mut no_host_calls))
    }

    /// The driver's `describe`, asked once.
    pub fn describe(&self) -> Result<Describe, String> {
        self.described
            .get_or_init(|| {
                self.with_driver(|d| {
                    let r =
                        d.request(&json!({"op": "describe"}), LOAD_TIMEOUT, &mut no_host_calls)?;
                    if r["ok"] != true {
                        return Err(format!(
                            "the {} driver refused `describe`: {r}",
                            self.toml.name
                        ));
                    }
                    Ok(Describe {
                        version: r["version"].as_str().unwrap_or_default().to_owned(),
                        imports: r["imports"]
                            .as_array()
                            .map(|a| {
                                a.iter()
                                    .filter_map(|v| v.as_str().map(str::to_owned))
                                    .collect()
                            })
                            .unwrap_or_default(),
                        raw_calls: r["raw_calls"] == true,
                    })
                })
            })
            .clone()
    }
}

fn no_host_calls(name: &str, _: Vec<Vec<u8>>) -> Result<Vec<Vec<u8>>, String> {
    Err(format!("no host function `{name}` outside a call"))
}

/// The `load` request for a plan.
fn load_request(plan: &CasePlan) -> Value {
    let host_functions: Vec<Value> = plan
        .kv
        .as_ref()
        .map(|kv| {
            kv.signatures()
                .iter()
                .map(|(name, params, results)| {
                    json!({"namespace": "extism:host/user", "name": name,
                           "params": params, "results": results})
                })
                .collect()
        })
        .unwrap_or_default();
    let allowed_paths: BTreeMap<String, String> = plan
        .allowed_path
        .iter()
        .map(|(dir, guest)| (dir.display().to_string(), guest.clone()))
        .collect();
    json!({
        "op": "load", "wasm": plan.wasm.display().to_string(), "wasi": plan.wasi,
        "config": plan.config, "allowed_hosts": plan.allowed_hosts,
        "allowed_paths": allowed_paths, "timeout_ms": plan.timeout_ms,
        "max_pages": plan.max_pages, "log_level": plan.log_level,
        "host_functions": host_functions,
    })
}

/// The host functions a plan provides (the kv store), served for a driver.
fn serve_for(
    plan: &CasePlan,
) -> impl FnMut(&str, Vec<Vec<u8>>) -> Result<Vec<Vec<u8>>, String> + '_ {
    move |name: &str, args: Vec<Vec<u8>>| match &plan.kv {
        Some(kv) => kv.serve(name, args),
        None => Err(format!("this case provides no host function `{name}`")),
    }
}

/// A driver with the plan's plugin loaded; `reset` loads it again.
struct DriverSession<'a> {
    driver: &'a mut Driver,
    plan: &'a CasePlan,
    load: Value,
    host: &'a str,
    /// Why the driver broke, once it has: every later call fails with it.
    broken: Option<String>,
}

impl Session for DriverSession<'_> {
    fn call(&mut self, export: &str, input: &[u8]) -> CallResult {
        if let Some(why) = &self.broken {
            return CallResult::Error {
                category: "trap".into(),
                message: why.clone(),
            };
        }
        let timeout = Duration::from_millis(self.plan.wait_ms) + SLACK;
        let req = json!({"op": "call", "export": export, "input_b64": b64(input)});
        let r = match self
            .driver
            .request(&req, timeout, &mut serve_for(self.plan))
        {
            Ok(r) => r,
            Err(broke) => {
                self.broken = Some(broke.clone());
                return CallResult::Error {
                    category: "trap".into(),
                    message: broke,
                };
            }
        };
        if let Some(what) = unsupported(&r) {
            return CallResult::Error {
                category: "unsupported".into(),
                message: format!("{}: {what}", self.host),
            };
        }
        if r["ok"] != true {
            return failure(&r);
        }
        match unb64(&r["output_b64"]) {
            Ok(out) => CallResult::Output(out),
            Err(e) => CallResult::Error {
                category: "trap".into(),
                message: format!("the {} driver sent a bad output: {e}", self.host),
            },
        }
    }

    fn reset(&mut self) -> Result<(), String> {
        let r = self
            .driver
            .request(&self.load, LOAD_TIMEOUT, &mut serve_for(self.plan));
        match r {
            Ok(r) if r["ok"] == true => Ok(()),
            Ok(r) => Err(format!(
                "the {} driver could not load the plugin again: {r}",
                self.host
            )),
            Err(broke) => {
                self.broken = Some(broke.clone());
                Err(broke)
            }
        }
    }
}

/// A response's failure as a call result: `error` or `unsupported`.
/// What a response says the host cannot do, if it answered `unsupported`.
fn unsupported(r: &Value) -> Option<String> {
    r["unsupported"].as_str().map(str::to_owned)
}

fn failure(r: &Value) -> CallResult {
    CallResult::Error {
        category: r["error"]["category"].as_str().unwrap_or("trap").to_owned(),
        message: r["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    }
}

fn logs(r: &Value) -> Vec<(String, String)> {
    r["logs"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|l| {
                    (
                        l["level"].as_str().unwrap_or_default().to_owned(),
                        l["message"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

impl Host for External {
    fn name(&self) -> &str {
        &self.toml.name
    }

    fn version(&self) -> String {
        self.describe().map(|d| d.version).unwrap_or_default()
    }

    fn unsupported(&self, imports: &[String], raw: bool) -> Option<String> {
        let d = match self.describe() {
            Ok(d) => d,
            Err(e) => return Some(e),
        };
        let missing: Vec<&str> = imports
            .iter()
            .filter(|i| !d.imports.iter().any(|have| have == *i))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            return Some(format!(
                "{} lacks extism:host/env {}",
                self.toml.name,
                missing.join(", ")
            ));
        }
        if raw && !d.raw_calls {
            return Some(format!(
                "{} cannot call a plain numeric export",
                self.toml.name
            ));
        }
        None
    }

    fn session(
        &self,
        plan: &CasePlan,
        drive: &mut dyn FnMut(&mut dyn Session),
    ) -> Result<(), Skip> {
        let name = self.toml.name.clone();
        let outcome = self.with_driver(|d| {
            let load = load_request(plan);
            let r = d.request(&load, LOAD_TIMEOUT, &mut serve_for(plan))?;
            if let Some(what) = unsupported(&r) {
                return Ok(Err(Skip::Unsupported(format!("{name}: {what}"))));
            }
            if r["ok"] != true {
                return Ok(Err(Skip::Cannot(format!(
                    "{name} could not load {}: {r}",
                    plan.wasm.display()
                ))));
            }
            let mut session = DriverSession {
                driver: d,
                plan,
                load,
                host: &name,
                broken: None,
            };
            drive(&mut session);
            if let Some(broke) = session.broken {
                return Err(broke);
            }
            d.request(&json!({"op": "unload"}), LOAD_TIMEOUT, &mut serve_for(plan))?;
            Ok(Ok(()))
        });
        match outcome {
            Ok(result) => result,
            Err(broke) => Err(Skip::Cannot(broke)),
        }
    }

    fn run(&self, plan: &CasePlan) -> Result<RawRun, Skip> {
        // The outer error: the driver broke (it is dropped); the inner one: it
        // answered `unsupported` (it stays in the pool).
        let outcome = self.with_driver(|d| {
            let load = load_request(plan);
            let mut serve = serve_for(plan);
            let r = d.request(&load, LOAD_TIMEOUT, &mut serve)?;
            if let Some(what) = unsupported(&r) {
                return Ok(Err(what));
            }
            let mut run = RawRun::default();
            if r["ok"] != true {
                // The plugin did not load: every call reports why, as polyplug's would.
                let why = failure(&r);
                for _ in &plan.calls {
                    run.calls.push(RawCall {
                        result: why.clone(),
                        logs: Vec::new(),
                    });
                }
                return Ok(Ok(run));
            }
            let timeout = Duration::from_millis(plan.wait_ms) + SLACK;
            for call in &plan.calls {
                let req = match &call.args {
                    Some(args) => json!({"op": "call_raw", "export": call.export,
                        "args": args.iter().map(|a| json!({"i32": a})).collect::<Vec<_>>()}),
                    None => {
                        json!({"op": "call", "export": call.export, "input_b64": b64(&call.input)})
                    }
                };
                let r = d.request(&req, timeout, &mut serve)?;
                if let Some(what) = unsupported(&r) {
                    d.request(&json!({"op": "unload"}), LOAD_TIMEOUT, &mut serve)?;
                    return Ok(Err(what));
                }
                let result = if r["ok"] != true {
                    failure(&r)
                } else if call.args.is_some() {
                    CallResult::Raw(
                        r["results"]
                            .as_array()
                            .map(|a| a.iter().map(render_raw).collect())
                            .unwrap_or_default(),
                    )
                } else {
                    CallResult::Output(unb64(&r["output_b64"]).map_err(|e| {
                        format!("the {} driver sent a bad output: {e}", self.toml.name)
                    })?)
                };
                run.calls.push(RawCall {
                    result,
                    logs: logs(&r),
                });
            }
            d.request(&json!({"op": "unload"}), LOAD_TIMEOUT, &mut serve)?;
            Ok(Ok(run))
        });
        match outcome {
            Ok(Ok(run)) => Ok(run),
            Ok(Err(what)) => Err(Skip::Unsupported(format!("{}: {what}", self.toml.name))),
            Err(broke) => Err(Skip::Cannot(broke)),
        }
    }
}

/// `{"i32": 3}` as polyplug renders a raw result (`3`, `5i64`).
fn render_raw(v: &Value) -> String {
    if let Some(x) = v.get("i32").and_then(Value::as_i64) {
        return x.to_string();
    }
    if let Some(x) = v.get("i64").and_then(Value::as_i64) {
        return format!("{x}i64");
    }
    v.to_string()
}
