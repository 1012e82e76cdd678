//! Tests as plugins in the suite: a fixture's `[[xtp_test]]` names a test
//! plugin in tests-plugins/ (written once with the xtp-test crate); it runs
//! against every language's artifact on every host. The test plugin itself
//! runs on polyplug's harness (`polyplug_host::xtp`); the plugin under test
//! runs on the host, driven call by call through a [`Session`]. Every
//! assertion becomes a cell of its own, named `xtp-<plugin>::<assertion>`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::sync::OnceLock;
use std::time::Instant;

use polyplug_host::xtp::{self, Harness, UnderTest};
use polyplug_host::{Engine, Error, ErrorKind, Wasm};

use crate::fixture::{Spec, XtpTest};
use crate::hosts::{Host, Session, Skip};
use crate::outcome::{CallResult, CellResult, CellStatus};
use crate::runner::Runner;

/// Each call into the plugin under test, and the whole test, are bounded.
const CALL_TIMEOUT_MS: u64 = 30_000;
const TEST_TIMEOUT_MS: u64 = 120_000;

/// The test plugins, built once per process: tests-plugins/ is one cargo
/// workspace for wasm32-unknown-unknown, into target/tests-plugins.
fn build_all(root: &Path) -> Result<PathBuf, String> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let target = root.join("target/tests-plugins");
            // The test plugins' wasm target, added where rustup can (a no-op when
            // present): a job that builds another language's plugins lacks it.
            let _ = Command::new("rustup")
                .args(["target", "add", "wasm32-unknown-unknown"])
                .env_remove("RUSTUP_TOOLCHAIN")
                .output();
            let shown = "`cargo build --release --target wasm32-unknown-unknown` in tests-plugins/";
            let mut cmd = Command::new("cargo");
            cmd.args(["build", "--release", "--target", "wasm32-unknown-unknown", "-q"])
                .current_dir(root.join("tests-plugins"));
            // What an outer cargo (or rustup) sets would point this build elsewhere.
            for key in polyplug_suite_args::leaked_env() {
                cmd.env_remove(key);
            }
            cmd.env("CARGO_TARGET_DIR", &target);
            let out = cmd
                .output()
                .map_err(|e| format!("cannot run {shown}: {e}: is cargo on PATH?"))?;
            if !out.status.success() {
                return Err(format!(
                    "{shown} failed (`rustup target add wasm32-unknown-unknown` if the target is missing):\n{}",
                    String::from_utf8_lossy(&out.stderr).trim_end()
                ));
            }
            Ok(target.join("wasm32-unknown-unknown/release"))
        })
        .clone()
}

/// tests-plugins/<plugin>'s module: its package name, `-` as `_`, `.wasm`.
fn test_wasm(root: &Path, plugin: &str) -> Result<PathBuf, String> {
    let dir = build_all(root)?;
    let manifest = root.join("tests-plugins").join(plugin).join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest)
        .map_err(|e| format!("cannot read {}: {e}", manifest.display()))?;
    let name = text
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("name = \"")?
                .strip_suffix('"')
                .map(str::to_owned)
        })
        .ok_or_else(|| format!("{} has no package name", manifest.display()))?;
    let path = dir.join(format!("{}.wasm", name.replace('-', "_")));
    if !path.is_file() {
        return Err(format!("{} was not built: is tests-plugins/{plugin} a cdylib member of tests-plugins/Cargo.toml?", path.display()));
    }
    Ok(path)
}

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| Engine::new().expect("the wasmtime engine for test plugins starts"))
}

enum Ask {
    Call(String, Vec<u8>),
    Reset,
}

type Answer = Result<Vec<u8>, Error>;

/// The plugin under test as the harness sees it: each request goes to the
/// thread that holds the host's session, and the answer comes back.
struct Remote {
    asks: mpsc::Sender<(Ask, mpsc::Sender<Answer>)>,
    exports: Vec<String>,
}

impl Remote {
    fn ask(&self, ask: Ask) -> Answer {
        let (tx, rx) = mpsc::channel();
        self.asks
            .send((ask, tx))
            .map_err(|_| Error::new(ErrorKind::Trap, "the host session has ended"))?;
        rx.recv()
            .map_err(|_| Error::new(ErrorKind::Trap, "the host session has ended"))?
    }
}

impl UnderTest for Remote {
    fn call(&mut self, export: &str, input: &[u8]) -> Result<Vec<u8>, Error> {
        self.ask(Ask::Call(export.to_owned(), input.to_vec()))
    }

    fn reset(&mut self) -> Result<(), Error> {
        self.ask(Ask::Reset).map(drop)
    }

    fn exports(&self) -> Vec<String> {
        self.exports.clone()
    }
}

fn answer(result: CallResult) -> Answer {
    match result {
        CallResult::Output(out) => Ok(out),
        CallResult::Error { category, message } => {
            let kind = ErrorKind::from_category(&category).unwrap_or(ErrorKind::Trap);
            Err(Error::new(kind, format!("{category}: {message}")))
        }
        other => Err(Error::new(
            ErrorKind::Trap,
            format!("unexpected result {other:?}"),
        )),
    }
}

/// Runs `test` against `lang`'s artifact of `spec` on `host`: one cell per
/// assertion, plus one for the test itself when it failed or asserted nothing.
pub fn evaluate(
    runner: &Runner,
    root: &Path,
    spec: &Spec,
    test: &XtpTest,
    lang: &str,
    host: &dyn Host,
) -> Vec<CellResult> {
    let started = Instant::now();
    let cell = |case: String, status: CellStatus, detail: String| CellResult {
        spec: spec.name.clone(),
        case,
        lang: lang.to_owned(),
        host: host.name().to_owned(),
        status,
        detail,
        reason: None,
        ms: started.elapsed().as_millis() as u64,
        rendered: None,
        warnings: Vec::new(),
    };
    let whole = test.case_name();
    if let Some(reason) = spec.na.get(lang) {
        let mut c = cell(whole, CellStatus::Na, String::new());
        c.reason = Some(reason.clone());
        return vec![c];
    }
    let (plan, exports) = match runner.plan_for_export_calls(spec, lang, host, CALL_TIMEOUT_MS) {
        Ok(p) => p,
        Err(Skip::Unsupported(why)) => {
            let mut c = cell(whole, CellStatus::Unsupported, String::new());
            c.reason = Some(why);
            return vec![c];
        }
        Err(Skip::Cannot(why)) => return vec![cell(whole, CellStatus::Error, why)],
    };
    let wasm = match test_wasm(root, &test.plugin) {
        Ok(w) => w,
        Err(why) => return vec![cell(whole, CellStatus::Error, why)],
    };

    let (asks, served) = mpsc::channel::<(Ask, mpsc::Sender<Answer>)>();
    let remote = Remote { asks, exports };
    let harness = Harness::new(
        Box::new(remote),
        test.mock_input.clone().map(String::into_bytes),
    );
    let mut outcome = None;
    let session = host.session(&plan, &mut |session: &mut dyn Session| {
        let harness = harness.clone();
        let wasm = wasm.clone();
        let runner = std::thread::spawn(move || {
            let result = xtp::run_test(
                engine(),
                Wasm::file(&wasm),
                false,
                TEST_TIMEOUT_MS,
                &harness,
            );
            (result, harness.take_record())
        });
        // Serves the harness's asks until the test plugin's thread is done.
        loop {
            match served.recv_timeout(std::time::Duration::from_millis(20)) {
                Ok((Ask::Call(export, input), reply)) => {
                    let _ = reply.send(answer(session.call(&export, &input)));
                }
                Ok((Ask::Reset, reply)) => {
                    let result = session
                        .reset()
                        .map(|()| Vec::new())
                        .map_err(|e| Error::new(ErrorKind::Trap, e));
                    let _ = reply.send(result);
                }
                Err(mpsc::RecvTimeoutError::Timeout) if !runner.is_finished() => {}
                Err(_) => break,
            }
        }
        outcome = Some(runner.join());
    });
    drop(harness);
    if let Err(skip) = session {
        return vec![match skip {
            Skip::Unsupported(why) => {
                let mut c = cell(whole, CellStatus::Unsupported, String::new());
                c.reason = Some(why);
                c
            }
            Skip::Cannot(why) => cell(whole, CellStatus::Error, why),
        }];
    }
    let (result, record) = match outcome {
        Some(Ok(done)) => done,
        _ => {
            return vec![cell(
                whole,
                CellStatus::Error,
                "the test plugin's thread panicked".into(),
            )]
        }
    };
    let mut cells: Vec<CellResult> = record
        .assertions
        .iter()
        .map(|a| {
            let name = match &a.group {
                Some(g) => format!("{whole}::{g}::{}", a.name),
                None => format!("{whole}::{}", a.name),
            };
            if a.passed {
                cell(name, CellStatus::Pass, String::new())
            } else {
                cell(name, CellStatus::Fail, a.reason.clone())
            }
        })
        .collect();
    let mut problems: Vec<String> = record.failed_calls.clone();
    match result {
        Err(e) => problems.push(format!("cannot run {}: {e}", wasm.display())),
        Ok(Some(why)) => problems.push(format!("the test failed: {why}")),
        Ok(None) => {}
    }
    if record.assertions.is_empty() {
        problems.push("the test made no assertions".into());
    }
    if !problems.is_empty() {
        cells.push(cell(whole, CellStatus::Fail, problems.join("\n")));
    }
    cells
}
