//! The hosts a case runs on, behind one trait: polyplug-host in process
//! (`polyplug.rs`), and every official runtime with a folder under `hosts/`
//! (`external.rs`, a driver speaking the protocol of docs/hosts.md). Nothing here
//! names an official runtime: they are discovered from their folders.

pub mod driver;
mod external;
mod polyplug;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use external::{Describe, External, HostToml};
pub use polyplug::{Compiler, Polyplug};

use crate::outcome::CallResult;
use polyplug_host::KvStore;

/// Everything a host needs to run one case on one artifact: the manifest, the
/// calls, and the services (run-specific values already filled in).
pub struct CasePlan {
    pub wasm: PathBuf,
    pub wasi: bool,
    pub config: BTreeMap<String, String>,
    pub allowed_hosts: Vec<String>,
    /// (folder on this machine, guest path)
    pub allowed_path: Option<(PathBuf, String)>,
    /// The manifest's timeout: the case's own, if it sets one.
    pub timeout_ms: Option<u64>,
    /// How long to wait for each call before calling the host hung
    /// ([`crate::Case::wait_ms`]); a host with no other way to stop a runaway
    /// plugin takes it as the timeout.
    pub wait_ms: u64,
    pub max_pages: Option<u32>,
    pub log_level: String,
    pub kv: Option<KvStore>,
    pub calls: Vec<PlannedCall>,
}

pub struct PlannedCall {
    pub export: String,
    pub input: Vec<u8>,
    /// Raw numeric arguments: a plain export, not the Extism ABI.
    pub args: Option<Vec<i32>>,
}

/// One call as the host saw it, before masking.
pub struct RawCall {
    pub result: CallResult,
    pub logs: Vec<(String, String)>,
}

#[derive(Default)]
pub struct RawRun {
    pub calls: Vec<RawCall>,
    /// The sanitizer's findings (polyplug only).
    pub memory_warnings: Vec<String>,
}

/// Why a cell did not run.
#[derive(Debug)]
pub enum Skip {
    /// The host lacks what the artifact or the case needs; says what.
    Unsupported(String),
    /// It could not run at all (missing artifact or export, the plugin did not
    /// load, a driver crashed), phrased as what to fix.
    Cannot(String),
}

pub trait Host: Send + Sync {
    fn name(&self) -> &str;

    /// The runtime and SDK versions, for reports.
    fn version(&self) -> String;

    /// Why this host cannot run an artifact importing these `extism:host/env`
    /// functions (and needing raw numeric calls), if it cannot.
    fn unsupported(&self, imports: &[String], raw: bool) -> Option<String>;

    /// Runs the case, or says why it did not.
    fn run(&self, plan: &CasePlan) -> Result<RawRun, Skip>;

    /// Loads the plan's plugin (its `calls` are ignored) and lets `drive` call
    /// it as it likes: tests as plugins decide their calls as they run.
    fn session(&self, plan: &CasePlan, drive: &mut dyn FnMut(&mut dyn Session))
        -> Result<(), Skip>;

    /// How many of this host's cells may run at once per core. One, unless
    /// its cells mostly wait on clocks rather than work: then more of them
    /// overlap their waits. A host whose driver computes in its own process
    /// keeps one, or its cells' deadlines start to pass while they queue
    /// for a core.
    fn cells_per_core(&self) -> usize {
        1
    }

    /// Gets ready to run these modules (path, whether it links WASI) before any
    /// case starts, e.g. compiles them, calling `done` with each module's label
    /// as it is ready. Errors are left for the cases to report.
    fn prepare(&self, _modules: &[(PathBuf, bool)], _done: &(dyn Fn(&Path) + Sync)) {}
}

/// One loaded plugin on a host, called one call at a time.
pub trait Session {
    fn call(&mut self, export: &str, input: &[u8]) -> CallResult;
    /// Loads the plugin afresh: no vars, no memory of the calls before.
    fn reset(&mut self) -> Result<(), String>;
}

/// A host found in `hosts/`, ready or not.
pub struct Found {
    pub name: String,
    pub about: String,
    /// The host, or why it is not ready and what to run.
    pub host: Result<Box<dyn Host>, String>,
}

/// The in-process host's name.
pub const IN_PROCESS: &str = "polyplug";

/// Every host: polyplug first, then each `hosts/<name>/` in name order. A host
/// whose driver is not set up is found but not ready, with the command to run.
pub fn discover(root: &Path, compiler: Compiler) -> Vec<Found> {
    let mut found = vec![Found {
        name: IN_PROCESS.into(),
        about: "polyplug-host, in process (wasmtime)".into(),
        host: Polyplug::new(compiler)
            .map(|p| Box::new(p) as Box<dyn Host>)
            .map_err(|e| format!("{e:#}")),
    }];
    let Ok(entries) = std::fs::read_dir(root.join("hosts")) else {
        return found;
    };
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("host.toml").is_file())
        .collect();
    dirs.sort();
    for dir in dirs {
        let name = dir
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let state = root.join("target/hosts").join(&name);
        let (about, host) = match HostToml::load(&dir) {
            Err(e) => (String::new(), Err(e)),
            Ok(toml) if !state.join(READY).is_file() => (
                toml.about,
                Err(format!(
                    "not set up: run `cargo xtask setup` (it runs the setup of hosts/{name}/host.toml)"
                )),
            ),
            Ok(toml) => (
                toml.about.clone(),
                Ok(Box::new(External::new(toml, dir.clone(), state)) as Box<dyn Host>),
            ),
        };
        found.push(Found { name, about, host });
    }
    found
}

/// Written in a host's state folder by `cargo xtask setup` once its setup succeeded.
pub const READY: &str = ".ready";
