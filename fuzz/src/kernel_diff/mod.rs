//! The kernel_diff target: an ABI call sequence (program.rs) run on polyplug and
//! on an official Extism runtime through its conformance driver, compared on what
//! the kernel specifies. polyplug is also checked against the program's model,
//! so the target means something where the driver is not set up.
//!
//! Which official host: `fuzz/kernel_diff.toml` names it (data, so no Rust code
//! names a host). Its driver process is started once and kept for every run.

mod program;

pub use program::{Expect, Program, CONFIG};

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use polyplug_conformance::hosts::{self, CasePlan, External, Host, HostToml, PlannedCall};
use polyplug_conformance::{CallResult, Skip};
use polyplug_host::{Manifest, Plugin, Wasm};
use tempfile::TempDir;

const TIMEOUT_MS: u64 = 2_000;

/// Where polyplug and the official runtime differ on purpose, by a kind of call
/// a program makes (`Program::uses`), with the reason: a program using one is
/// compared with polyplug's model only.
pub const DIVERGES: &[(&str, &str)] = &[];

pub fn kernel_diff(data: &[u8]) {
    let program = Program::decode(data);
    let wasm = wat::parse_str(&program.wat).unwrap_or_else(|e| {
        panic!(
            "the generated module does not assemble: {e}\n{}",
            program.wat
        )
    });
    let ours = run_polyplug(&wasm, &program.input);
    if let Err(why) = matches_model(&program.expect, &ours) {
        panic!(
            "polyplug differs from the kernel model: {why}\npolyplug: {}\nprogram:\n{}",
            show(&ours),
            program.wat
        );
    }
    let Some(official) = official() else { return };
    let plan = plan(official.dir(), &wasm, &program.input);
    let theirs = official.run(&plan);
    let _ = std::fs::remove_file(&plan.wasm);
    let theirs = match theirs {
        Ok(r) => r,
        Err(why) => {
            // The official runtime's own trouble, not polyplug's: say so and go on.
            eprintln!("kernel_diff: the official host did not run the program: {why:?}");
            return;
        }
    };
    if let Err(why) = same(&program, &ours, &theirs) {
        if DIVERGES.iter().any(|(u, _)| program.uses.contains(u)) {
            return;
        }
        panic!(
            "polyplug differs from {}: {why}\npolyplug: {}\nofficial: {}\nuses: {:?}\nprogram:\n{}",
            official.name,
            show(&ours),
            show(&theirs),
            program.uses,
            program.wat
        );
    }
}

fn run_polyplug(wasm: &[u8], input: &[u8]) -> CallResult {
    let mut manifest = Manifest::new(Wasm::data(wasm.to_vec())).with_timeout_ms(TIMEOUT_MS);
    for (k, v) in CONFIG {
        manifest = manifest.with_config(*k, *v);
    }
    let result = Plugin::builder(&crate::engine(), manifest)
        .with_logger(|_, _| {})
        // As the suite runs it: the sanitizer records, results stay the official ones.
        .with_strict_memory(true)
        .build()
        .and_then(|mut p| p.call("run", input));
    match result {
        Ok(out) => CallResult::Output(out),
        Err(e) => CallResult::Error {
            category: e.kind().category().to_owned(),
            message: e.message().to_owned(),
        },
    }
}

fn show(r: &CallResult) -> String {
    match r {
        CallResult::Output(o) => {
            format!("output {} bytes {:02x?}", o.len(), &o[..o.len().min(64)])
        }
        CallResult::Error { category, message } => format!("error ({category}) {message:?}"),
        CallResult::Raw(v) => format!("raw {v:?}"),
    }
}

fn matches_model(expect: &Expect, ours: &CallResult) -> Result<(), String> {
    match (expect, ours) {
        (Expect::Output(want), CallResult::Output(got)) if want == got => Ok(()),
        (Expect::Output(_), CallResult::Output(_)) => Err("the trace differs".into()),
        (Expect::PluginError(want), CallResult::Error { category, message })
            if category == "plugin-error" =>
        {
            match want {
                Some(want) if want != message => Err(format!("message {want:?} expected")),
                _ => Ok(()),
            }
        }
        (want, _) => Err(format!("expected {want:?}")),
    }
}

/// What both hosts must agree on: status and category always, the output bytes
/// (the trace holds predictable values only), the message where the model knows it.
fn same(program: &Program, ours: &CallResult, theirs: &CallResult) -> Result<(), String> {
    match (ours, theirs) {
        (CallResult::Output(a), CallResult::Output(b)) if a == b => Ok(()),
        (CallResult::Output(_), CallResult::Output(_)) => Err("the traces differ".into()),
        (
            CallResult::Error {
                category: a,
                message: ma,
            },
            CallResult::Error {
                category: b,
                message: mb,
            },
        ) => {
            if a != b {
                return Err(format!("error category {a} vs {b}"));
            }
            match &program.expect {
                Expect::PluginError(Some(_)) if ma != mb => Err("the messages differ".into()),
                _ => Ok(()),
            }
        }
        _ => Err("one succeeded, the other failed".into()),
    }
}

/// Starts the official host's driver (a fuzz target's initialisation).
pub fn kernel_diff_init() {
    let _ = official();
}

/// The official host, once per process: `None` (said once) when its driver is
/// not set up; under CI that is a failure instead.
fn official() -> Option<&'static Official> {
    static OFFICIAL: OnceLock<Option<Official>> = OnceLock::new();
    OFFICIAL
        .get_or_init(|| match Official::start() {
            Ok(o) => Some(o),
            Err(why) if std::env::var_os("CI").is_some() => {
                panic!("kernel_diff needs the official host under CI: {why}")
            }
            Err(why) => {
                eprintln!("kernel_diff: {why}; comparing polyplug with the kernel model only");
                None
            }
        })
        .as_ref()
}

struct Official {
    name: String,
    host: External,
    /// Holds the module files the driver loads, one per program.
    dir: TempDir,
}

impl Official {
    fn dir(&self) -> &Path {
        self.dir.path()
    }

    fn run(&self, plan: &CasePlan) -> Result<CallResult, Skip> {
        let mut run = self.host.run(plan)?;
        match run.calls.pop() {
            Some(call) => Ok(call.result),
            None => Err(Skip::Cannot("the driver answered no call".into())),
        }
    }

    fn start() -> Result<Official, String> {
        let root = root();
        let which = root.join("fuzz/kernel_diff.toml");
        let text = std::fs::read_to_string(&which)
            .map_err(|e| format!("cannot read {}: {e}", which.display()))?;
        #[derive(serde::Deserialize)]
        struct Choice {
            host: String,
        }
        let name = toml::from_str::<Choice>(&text)
            .map_err(|e| format!("{}: {e}", which.display()))?
            .host;
        let dir = root.join("hosts").join(&name);
        let state = root.join("target/hosts").join(&name);
        if !state.join(hosts::READY).is_file() {
            return Err(format!(
                "the official host {name} is not set up: run `cargo xtask setup`"
            ));
        }
        let toml = HostToml::load(&dir)?;
        let host = External::new(toml, dir, fuzz_state(&root, &name, &state)?);
        let official = Official {
            name,
            host,
            dir: tempfile::tempdir().map_err(|e| format!("a temporary folder: {e}"))?,
        };
        // Starts the driver now, so a broken one is said once, up front.
        official.host.describe()?;
        Ok(official)
    }
}

/// The driver's state folder for fuzzing: the real one's entries linked, except
/// its compiled-module cache, which would fill with every program: this one has
/// its own (wasmtime's cache trims itself to its size limit).
fn fuzz_state(root: &Path, name: &str, state: &Path) -> Result<PathBuf, String> {
    let fuzz = root.join("target/fuzz/host-state").join(name);
    std::fs::create_dir_all(&fuzz).map_err(|e| format!("{}: {e}", fuzz.display()))?;
    let entries = std::fs::read_dir(state).map_err(|e| format!("{}: {e}", state.display()))?;
    for entry in entries.flatten() {
        let link = fuzz.join(entry.file_name());
        if entry.file_name() == "cache" || link.symlink_metadata().is_ok() {
            continue;
        }
        match std::os::unix::fs::symlink(entry.path(), &link) {
            // Another fuzzing process linked it meanwhile.
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
                return Err(format!("{}: {e}", link.display()))
            }
            _ => {}
        }
    }
    Ok(fuzz)
}

fn plan(dir: &Path, wasm: &[u8], input: &[u8]) -> CasePlan {
    // One file per program: the regression tests run programs side by side.
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let path = dir.join(format!("{}.wasm", NEXT.fetch_add(1, Ordering::Relaxed)));
    std::fs::write(&path, wasm).expect("writing the program's module");
    CasePlan {
        wasm: path,
        wasi: false,
        config: CONFIG
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        allowed_hosts: Vec::new(),
        allowed_path: None,
        timeout_ms: Some(TIMEOUT_MS),
        wait_ms: TIMEOUT_MS,
        // None: under memory.max_pages an allocation past it is 0 on polyplug (and
        // the Go SDK) but fails the call on libextism (docs/reliability.md, alloc_loop).
        max_pages: None,
        log_level: "error".into(),
        kv: None,
        calls: vec![PlannedCall {
            export: "run".into(),
            input: input.to_vec(),
            args: None,
        }],
    }
}

/// The repository: POLYPLUG_ROOT, or the checkout this crate was built in.
pub fn root() -> PathBuf {
    std::env::var_os("POLYPLUG_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
}
