//! The `cargo test` gate: one named test per case x language x host
//! (`hello::plain::rust::polyplug`), plus `<spec>::<case>::equivalence` where several
//! languages or hosts run a case and `<spec>::fixture` for a fixture that does not
//! load, so filters and nextest work. Every host that `cargo xtask setup` made ready
//! takes part. Snapshots go through insta proper on polyplug's cells (the only
//! writer): CI runs with `INSTA_UPDATE=no`, people accept new ones with `cargo insta
//! review` (or `INSTA_UPDATE=always` once, then read them). The official hosts'
//! cells are compared with the same snapshots, read-only.
//!
//! Before listing, the artifacts must exist: when target/plugins/manifest.json is
//! missing or older than a plugin source, this runs `cargo xtask build-all` once.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::SystemTime;

use libtest_mimic::{Arguments, Failed, Trial};
use polyplug_conformance::hosts::{self, Host, IN_PROCESS};
use polyplug_conformance::{
    cell_workers, check_equivalence, check_expectations, estimated_cost, evaluate, load_fixtures,
    render_snapshot, snapshot_name, Artifacts, Case, CaseRun, CellResult, CellStatus, Runner, Skip,
    Spec, XtpTest,
};

fn main() -> ExitCode {
    let mut args = Arguments::from_args();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let root = root.canonicalize().unwrap_or(root);
    ensure_artifacts(&root);

    let mut trials = Vec::new();
    let artifacts = match Artifacts::load(&root) {
        Ok(a) => a,
        Err(e) => {
            let msg = format!("{e:#}");
            trials.push(Trial::test("artifacts", move || Err(msg.into())));
            return libtest_mimic::run(&args, trials).exit_code();
        }
    };
    // A fixture's `na` may name any language build-all knows, and no other.
    let known = artifacts.known_languages();
    let loaded = load_fixtures(&root.join("fixtures"), Some(&known));
    for e in &loaded.errors {
        let msg = e.to_string();
        trials.push(Trial::test(format!("{}::fixture", e.spec), move || {
            Err(msg.into())
        }));
    }
    let langs = artifacts.languages();
    let mut found = Vec::new();
    // `POLYPLUG_SUITE_COMPILER=cranelift` checks the code `call` and `serve` run
    // (the runner's `--compiler`; Winch on x86-64 otherwise).
    let compiler = match std::env::var("POLYPLUG_SUITE_COMPILER") {
        Ok(c) if !c.is_empty() => match c.parse() {
            Ok(c) => c,
            Err(e) => {
                trials.push(Trial::test("POLYPLUG_SUITE_COMPILER", move || {
                    Err(format!("POLYPLUG_SUITE_COMPILER: {e}").into())
                }));
                return libtest_mimic::run(&args, trials).exit_code();
            }
        },
        _ => Default::default(),
    };
    for f in hosts::discover(&root, compiler) {
        match f.host {
            Ok(h) => found.push(h),
            Err(why) => eprintln!("suite: host {} is left out: {why}", f.name),
        }
    }
    let host_names: Vec<String> = found.iter().map(|h| h.name().to_owned()).collect();
    // As many cells at once as the hosts allow (suite.rs, cell_workers), unless
    // `--test-threads` says otherwise: two per core with polyplug alone.
    if args.test_threads.is_none() {
        args.test_threads = Some(cell_workers(found.iter().map(|h| h.as_ref())));
    }
    let ctx = Arc::new(Ctx {
        artifacts,
        hosts: found,
        runner: OnceLock::new(),
        runs: Mutex::default(),
        judged: Mutex::default(),
    });
    let mut specs_with_tests = Vec::new();
    // Cells first, the slow ones earliest, then the checks that read them: an
    // equivalence test listed beside its cells would wait, holding a worker,
    // for the slowest of them (10^6 host calls on an official runtime) while
    // the other worker ran out of cells.
    let mut cells: Vec<(u64, Trial)> = Vec::new();
    let mut agreements = Vec::new();
    for spec in loaded.specs {
        let spec = Arc::new(spec);
        if !spec.xtp_tests.is_empty() {
            specs_with_tests.push(spec.clone());
        }
        for case in 0..spec.cases.len() {
            let mut ran = Vec::new();
            for lang in &langs {
                for host in &host_names {
                    let name = format!("{}::{}::{}", spec.cases[case].id(), lang, host);
                    if let Some(reason) = spec.na_reason(&spec.cases[case], lang) {
                        let reason = reason.to_owned();
                        trials.push(
                            Trial::test(name, move || {
                                eprintln!("n/a: {reason}");
                                Ok(())
                            })
                            .with_kind("n/a")
                            .with_ignored_flag(true),
                        );
                        continue;
                    }
                    ran.push((lang.clone(), host.clone()));
                    // The official runtimes are slower than polyplug at everything.
                    let cost =
                        estimated_cost(&spec.cases[case]) * 2 + u64::from(host != IN_PROCESS);
                    let (ctx, spec, lang, host) =
                        (ctx.clone(), spec.clone(), lang.clone(), host.clone());
                    cells.push((
                        cost,
                        Trial::test(name, move || check_cell(&ctx, &spec, case, &lang, &host)),
                    ));
                }
            }
            if ran.len() >= 2 {
                let (ctx, spec) = (ctx.clone(), spec.clone());
                let name = format!("{}::equivalence", spec.cases[case].id());
                agreements.push(Trial::test(name, move || {
                    check_languages_agree(&ctx, &spec, case, &ran)
                }));
            }
        }
    }
    cells.sort_by_key(|(cost, _)| std::cmp::Reverse(*cost));
    trials.extend(cells.into_iter().map(|(_, t)| t));
    trials.extend(agreements);
    {
        let ctx = ctx.clone();
        trials.push(Trial::test("artifacts::accessors_inlined", move || {
            check_accessors_inlined(&ctx)
        }));
    }
    // Test plugins: one trial per test x language x host; it fails with every
    // assertion that failed, by name.
    for spec in &specs_with_tests {
        for test in &spec.xtp_tests {
            for lang in &langs {
                for host in &host_names {
                    let name = format!("{}::{}::{}::{}", spec.name, test.case_name(), lang, host);
                    let (ctx, spec, test, lang, host, root) = (
                        ctx.clone(),
                        spec.clone(),
                        test.clone(),
                        lang.clone(),
                        host.clone(),
                        root.clone(),
                    );
                    trials.push(Trial::test(name, move || {
                        check_xtp(&ctx, &root, &spec, &test, &lang, &host)
                    }));
                }
            }
        }
    }
    libtest_mimic::run(&args, trials).exit_code()
}

/// Every artifact that imports a kernel accessor gets them inlined by polyplug's
/// engine (the suite's own cells run them too, in strict mode): a plugin the
/// rewrite silently skipped would still pass, only slower.
fn check_accessors_inlined(ctx: &Ctx) -> Result<(), Failed> {
    use polyplug_host::{is_kernel_accessor, Engine, KvStore, Manifest, Plugin, Wasm};
    // After the cells: the modules come from the disk cache they filled.
    ctx.runner()?;
    let engine = Engine::new().map_err(|e| e.to_string())?;
    let mut wrong = Vec::new();
    let kv = KvStore::default();
    for a in &ctx.artifacts.artifacts {
        let imports_one = a
            .imports
            .iter()
            .any(|i| i.module == "extism:host/env" && is_kernel_accessor(&i.name));
        let path = ctx.artifacts.absolute(a);
        let mut builder =
            Plugin::builder(&engine, Manifest::new(Wasm::file(&path))).with_wasi(a.wasi);
        for f in kv.host_functions() {
            builder = builder.with_host_function(f);
        }
        let inlined = builder
            .build()
            .map_err(|e| format!("{}/{}: {e}", a.lang, a.spec))?
            .accessors_inlined();
        if inlined != imports_one {
            wrong.push(format!(
                "{}/{}: imports an accessor: {imports_one}, inlined: {inlined}",
                a.lang, a.spec
            ));
        }
    }
    if wrong.is_empty() {
        Ok(())
    } else {
        Err(wrong.join("\n").into())
    }
}

fn check_xtp(
    ctx: &Ctx,
    root: &Path,
    spec: &Spec,
    test: &XtpTest,
    lang: &str,
    host: &str,
) -> Result<(), Failed> {
    let runner = ctx.runner()?;
    let cells = polyplug_conformance::xtp::evaluate(runner, root, spec, test, lang, ctx.host(host));
    let mut failed = Vec::new();
    for cell in &cells {
        match cell.status {
            CellStatus::Pass => {}
            CellStatus::Na | CellStatus::Unsupported | CellStatus::Diverges => {
                eprintln!(
                    "{}: {}",
                    cell.status.as_str(),
                    cell.reason.clone().unwrap_or_default()
                );
            }
            CellStatus::Fail | CellStatus::Error => {
                failed.push(format!("{}: {}", cell.case, cell.detail));
            }
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(failed.join("\n").into())
    }
}

/// spec, case, language, host.
type Key = (String, String, String, String);
type Once<T> = Mutex<HashMap<Key, Arc<OnceLock<T>>>>;

/// Shared by every test in this process: one HTTP server and the hosts (made on
/// first use, so listing tests costs nothing), and each cell's run, made once even
/// when both its own test and the equivalence test ask for it.
struct Ctx {
    artifacts: Artifacts,
    hosts: Vec<Box<dyn Host>>,
    runner: OnceLock<Result<Runner, String>>,
    /// polyplug's cells: the run, which its test snapshots through insta.
    runs: Once<Result<CaseRun, String>>,
    /// The official hosts' cells, judged as the report judges them.
    judged: Once<Result<CellResult, String>>,
}

impl Ctx {
    fn runner(&self) -> Result<&Runner, String> {
        self.runner
            .get_or_init(|| Runner::new(self.artifacts.clone()).map_err(|e| format!("{e:#}")))
            .as_ref()
            .map_err(Clone::clone)
    }

    fn host(&self, name: &str) -> &dyn Host {
        self.hosts
            .iter()
            .find(|h| h.name() == name)
            .map(|h| h.as_ref())
            .expect("trials are made from these hosts")
    }

    fn run(&self, spec: &Spec, case: &Case, lang: &str, host: &str) -> Result<CaseRun, String> {
        once(&self.runs, spec, case, lang, host, || {
            match self.runner()?.run_case(spec, case, lang, self.host(host)) {
                Ok(run) => Ok(run),
                Err(Skip::Unsupported(why)) => Err(format!("unsupported: {why}")),
                Err(Skip::Cannot(e)) => Err(e),
            }
        })
    }

    fn judged(
        &self,
        spec: &Spec,
        case: &Case,
        lang: &str,
        host: &str,
    ) -> Result<CellResult, String> {
        once(&self.judged, spec, case, lang, host, || {
            Ok(evaluate(self.runner()?, spec, case, lang, self.host(host)))
        })
    }
}

/// The value for this cell, made by the first test that asks; the others wait
/// for it rather than run the cell again.
fn once<T: Clone>(
    map: &Once<T>,
    spec: &Spec,
    case: &Case,
    lang: &str,
    host: &str,
    make: impl FnOnce() -> T,
) -> T {
    let key = (
        spec.name.clone(),
        case.name.clone(),
        lang.to_owned(),
        host.to_owned(),
    );
    let slot = map
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .entry(key)
        .or_default()
        .clone();
    slot.get_or_init(make).clone()
}

fn check_cell(ctx: &Ctx, spec: &Spec, case: usize, lang: &str, host: &str) -> Result<(), Failed> {
    if host != IN_PROCESS {
        // The official hosts: judged like the report judges them (snapshot read-only,
        // declared divergences, unsupported imports).
        let cell = ctx.judged(spec, &spec.cases[case], lang, host)?;
        return match cell.status {
            CellStatus::Pass | CellStatus::Na => Ok(()),
            CellStatus::Unsupported | CellStatus::Diverges => {
                eprintln!(
                    "{}: {}",
                    cell.status.as_str(),
                    cell.reason.unwrap_or_default()
                );
                Ok(())
            }
            CellStatus::Fail | CellStatus::Error => Err(cell.detail.into()),
        };
    }
    let case = &spec.cases[case];
    let run = ctx
        .run(spec, case, lang, host)
        .map_err(|e| format!("{}::{lang} could not run: {e}", case.id()))?;
    let rendered = render_snapshot(case, &run);
    let problems = check_expectations(case, &run);
    if !problems.is_empty() {
        // The snapshot is left alone: a run that breaks the fixture's own rules is junk.
        return Err(format!(
            "{}:{}: {}\n\nthis run rendered:\n{rendered}",
            spec.file.display(),
            case.line,
            problems.join("\n")
        )
        .into());
    }
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(spec.dir.join("snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.set_description(case.description.clone().unwrap_or_else(|| case.id()));
    settings.bind(|| insta::assert_snapshot!(snapshot_name(&spec.name, &case.name), rendered));
    Ok(())
}

fn check_languages_agree(
    ctx: &Ctx,
    spec: &Spec,
    case: usize,
    ran: &[(String, String)],
) -> Result<(), Failed> {
    let case = &spec.cases[case];
    let cells: Vec<CellResult> = ran
        .iter()
        .filter(|(lang, host)| {
            // A declared divergence is judged by its own cell.
            !case.diverges.get(host).is_some_and(|d| d.applies_to(lang))
        })
        .filter_map(|(lang, host)| {
            if host != IN_PROCESS {
                // Judged once, by its own test or here.
                return ctx.judged(spec, case, lang, host).ok();
            }
            let run = ctx.run(spec, case, lang, host).ok()?;
            Some(CellResult {
                spec: spec.name.clone(),
                case: case.name.clone(),
                lang: lang.clone(),
                host: host.clone(),
                warnings: Vec::new(),
                status: CellStatus::Pass,
                detail: String::new(),
                reason: None,
                ms: 0,
                rendered: Some(render_snapshot(case, &run)),
            })
        })
        .collect();
    let snapshot = |s: &str, c: &str| {
        let text =
            std::fs::read_to_string(polyplug_conformance::snapshot_file(&spec.dir, s, c)).ok()?;
        polyplug_conformance::SnapFile::parse(&text)
            .ok()
            .map(|s| s.body)
    };
    match check_equivalence(&cells, snapshot)
        .into_iter()
        .find(|e| !e.agree)
    {
        None => Ok(()),
        Some(e) => Err(format!(
            "disagreement on {} (odd one out: {}{}):\n{}",
            case.id(),
            if e.odd.is_empty() {
                "unclear".into()
            } else {
                e.odd.join(", ")
            },
            e.culprit
                .map_or(String::new(), |c| format!("; that is {c}")),
            e.detail
        )
        .into()),
    }
}

/// Runs `cargo xtask build-all` when the manifest is missing, lists a file that is
/// gone, or is older than a plugin source. A failed build is reported, not fatal:
/// the cells it could not build fail with the build's message.
fn ensure_artifacts(root: &Path) {
    let manifest = Artifacts::manifest_path(root);
    let reason = match stale_reason(root, &manifest) {
        Some(r) => r,
        None => return,
    };
    eprintln!("suite: {reason}: running `cargo xtask build-all` once");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| env!("CARGO").into());
    match Command::new(&cargo)
        .args(["xtask", "build-all"])
        .current_dir(root)
        .status()
    {
        Ok(s) if s.success() => {}
        Ok(s) => eprintln!(
            "suite: `cargo xtask build-all` exited with {s}: cells without an artifact will fail"
        ),
        Err(e) => eprintln!(
            "suite: cannot run {} xtask build-all: {e}",
            PathBuf::from(cargo).display()
        ),
    }
}

fn stale_reason(root: &Path, manifest: &Path) -> Option<String> {
    let built = match std::fs::metadata(manifest).and_then(|m| m.modified()) {
        Ok(t) => t,
        Err(_) => return Some("target/plugins/manifest.json is missing".into()),
    };
    let artifacts = match Artifacts::load(root) {
        Err(e) => return Some(format!("{e:#}")),
        Ok(a) => a,
    };
    if let Some(gone) = artifacts
        .artifacts
        .iter()
        .find(|x| !artifacts.absolute(x).exists())
    {
        return Some(format!("{} is listed but missing", gone.path.display()));
    }
    if artifacts.languages.is_empty() {
        return Some(
            "target/plugins/manifest.json lists no languages (an older build-all wrote it)".into(),
        );
    }
    // Each language's folders, as build-all wrote them into the manifest, and
    // the orchestrator itself (a new language is a new file there).
    let watched = artifacts
        .languages
        .iter()
        .flat_map(|l| l.watch.iter().map(String::as_str))
        .chain(["xtask/src"]);
    for dir in watched {
        if let Some(newer) = newest_after(&root.join(dir), built) {
            return Some(format!(
                "{} is newer than target/plugins/manifest.json",
                newer.display()
            ));
        }
    }
    None
}

/// A source file under `dir` modified after `t` (build outputs are skipped).
fn newest_after(dir: &Path, t: SystemTime) -> Option<PathBuf> {
    let entries = std::fs::read_dir(dir).ok()?;
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || name == "target" || name == "node_modules" {
            continue;
        }
        let Ok(meta) = entry.metadata() else { continue };
        if meta.is_dir() {
            if let Some(p) = newest_after(&path, t) {
                return Some(p);
            }
        } else if meta.modified().is_ok_and(|m| m > t) {
            return Some(path);
        }
    }
    None
}
