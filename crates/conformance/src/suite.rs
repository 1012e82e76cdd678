//! The whole run: fixtures x languages -> cells, played in parallel on a small thread
//! pool, each compared with the fixture's expectations and the stored snapshot
//! (read-only), then the cross-language check over the lot.

use anyhow::Context as _;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::artifacts::Artifacts;
use crate::equivalence::{check_equivalence, Equivalence};
use crate::fixture::{Case, Expect, Spec, XtpTest};
use crate::hosts::{self, Host};
use crate::hosts::{Compiler, Skip};
use crate::loader::{load_fixtures, LoadError};
use crate::outcome::{CellResult, CellStatus};
use crate::progress::Progress;
use crate::render::{check_expectations, render_snapshot};
use crate::runner::Runner;
use crate::snapfile::{snapshot_file, SnapFile};

/// `--shard I/N`: case number k (0-based, in load order) runs in shard `k % N + 1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> Result<Shard, String> {
        let bad = || format!("--shard {s:?}: write I/N with 1 <= I <= N, e.g. 1/2");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count): (usize, usize) = (
            i.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        if count == 0 || index == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

/// Which cells to run; empty lists mean all.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub langs: Vec<String>,
    pub specs: Vec<String>,
    pub cases: Vec<String>,
    pub shard: Option<Shard>,
    /// Hosts to run on (`--host`); empty means every ready host.
    pub hosts: Vec<String>,
    /// Memory warnings fail a cell that would otherwise pass (`--deny-warnings`).
    pub deny_warnings: bool,
    /// What compiles the polyplug host's modules (`--compiler`).
    pub compiler: Compiler,
}

impl Filter {
    /// Test plugins run with the first shard, and when no case filter excludes them.
    fn wants_xtp(&self, spec: &Spec, test: &XtpTest) -> bool {
        (self.specs.is_empty() || self.specs.contains(&spec.name))
            && self.shard.is_none_or(|s| s.index == 1)
            && (self.cases.is_empty()
                || self.cases.iter().any(|c| {
                    *c == test.case_name() || *c == format!("{}::{}", spec.name, test.case_name())
                }))
    }

    fn wants_case(&self, spec: &Spec, case: &Case) -> bool {
        (self.specs.is_empty() || self.specs.contains(&spec.name))
            && (self.cases.is_empty()
                || self
                    .cases
                    .iter()
                    .any(|c| *c == case.name || *c == case.id()))
    }
}

pub struct Suite {
    pub root: PathBuf,
    pub specs: Vec<Spec>,
    pub load_errors: Vec<LoadError>,
    pub artifacts: Artifacts,
}

/// Hosts that exist but cannot run: (name, why and what to run).
pub type NotReady = Vec<(String, String)>;

/// Everything a report needs.
#[derive(Debug, Default)]
pub struct Results {
    pub cells: Vec<CellResult>,
    pub load_errors: Vec<LoadError>,
    pub equivalence: Vec<Equivalence>,
    /// Column order for the matrix.
    pub langs: Vec<String>,
    /// The hosts the run covered, in report order, with their versions.
    pub hosts: Vec<(String, String)>,
    /// Hosts that exist but could not run, with the command that fixes that.
    pub not_ready: Vec<(String, String)>,
    pub wall_ms: u64,
}

impl Results {
    /// Nothing failed: no fail or error cell, no fixture error, no disagreement.
    pub fn ok(&self) -> bool {
        self.load_errors.is_empty()
            && self.cells.iter().all(|c| {
                matches!(
                    c.status,
                    CellStatus::Pass
                        | CellStatus::Na
                        | CellStatus::Unsupported
                        | CellStatus::Diverges
                )
            })
            && self.equivalence.iter().all(|e| e.agree)
    }
}

impl Suite {
    /// Loads fixtures from `root/fixtures` and artifacts from `root/target/plugins`.
    pub fn load(root: &Path) -> anyhow::Result<Suite> {
        // The official hosts' drivers run in their own folders: every path they
        // are given (their program, their state, each artifact) must not be
        // relative to ours (`--root .`, the default).
        let root = &std::path::absolute(root)
            .with_context(|| format!("cannot resolve --root {}", root.display()))?;
        let artifacts = Artifacts::load(root)?;
        let known = artifacts.known_languages();
        let loaded = load_fixtures(&root.join("fixtures"), Some(&known));
        Ok(Suite {
            root: root.to_owned(),
            specs: loaded.specs,
            load_errors: loaded.errors,
            artifacts,
        })
    }

    /// The languages a run covers: the filter's, else every one the manifest knows.
    pub fn langs(&self, filter: &Filter) -> Vec<String> {
        if filter.langs.is_empty() {
            self.artifacts.languages()
        } else {
            filter.langs.clone()
        }
    }

    /// The selected cases in load order, after the shard cut.
    pub fn selected(&self, filter: &Filter) -> Vec<(&Spec, &Case)> {
        let all = self
            .specs
            .iter()
            .flat_map(|s| s.cases.iter().map(move |c| (s, c)));
        all.filter(|(s, c)| filter.wants_case(s, c))
            .enumerate()
            .filter(|(k, _)| filter.shard.is_none_or(|sh| k % sh.count + 1 == sh.index))
            .map(|(_, sc)| sc)
            .collect()
    }

    /// The hosts a run covers: `--host`'s (every one must exist and be ready), else
    /// every ready one. Returns them with the hosts that are not ready (and why).
    pub fn hosts(&self, filter: &Filter) -> anyhow::Result<(Vec<Box<dyn Host>>, NotReady)> {
        let found = hosts::discover(&self.root, filter.compiler);
        let names: Vec<String> = found.iter().map(|f| f.name.clone()).collect();
        for wanted in &filter.hosts {
            if !names.contains(wanted) {
                anyhow::bail!("unknown host `{wanted}`: choose from {}", names.join(", "));
            }
        }
        let mut ready = Vec::new();
        let mut not_ready = Vec::new();
        for f in found {
            if !filter.hosts.is_empty() && !filter.hosts.contains(&f.name) {
                continue;
            }
            match f.host {
                Ok(h) => ready.push(h),
                Err(why) if filter.hosts.contains(&f.name) => {
                    anyhow::bail!("host `{}` is not ready: {why}", f.name)
                }
                Err(why) => not_ready.push((f.name, why)),
            }
        }
        Ok((ready, not_ready))
    }

    /// Each artifact the jobs run, once, largest first: its path and whether
    /// it links WASI.
    fn modules(&self, jobs: &[(&Spec, &Case, &str, &dyn Host)]) -> Vec<(PathBuf, bool)> {
        let mut seen = std::collections::BTreeSet::new();
        let mut modules: Vec<(PathBuf, bool)> = jobs
            .iter()
            .filter_map(|(spec, _, lang, _)| self.artifacts.find(&spec.name, lang))
            .map(|a| (self.artifacts.absolute(a), a.wasi))
            .filter(|(path, _)| seen.insert(path.clone()) && path.is_file())
            .collect();
        // Largest first: the big modules start early and the cores finish together.
        modules.sort_by_cached_key(|(path, _)| {
            std::cmp::Reverse(std::fs::metadata(path).map_or(0, |m| m.len()))
        });
        modules
    }

    pub fn run(&self, filter: &Filter) -> anyhow::Result<Results> {
        let started = Instant::now();
        let langs = self.langs(filter);
        let (hosts, not_ready) = self.hosts(filter)?;
        let runner = Runner::new(self.artifacts.clone())?;
        let jobs: Vec<(&Spec, &Case, &str, &dyn Host)> = self
            .selected(filter)
            .into_iter()
            .flat_map(|(s, c)| {
                let hosts = &hosts;
                langs
                    .iter()
                    .flat_map(move |l| hosts.iter().map(move |h| (s, c, l.as_str(), h.as_ref())))
            })
            .collect();
        let modules = self.modules(&jobs);
        for host in &hosts {
            prepare(host.as_ref(), &modules);
        }
        let slots: Vec<Mutex<Option<CellResult>>> = jobs.iter().map(|_| Mutex::new(None)).collect();
        // Longest first, so a slow case does not start last and hold up the whole run;
        // results still come out in fixture order.
        let mut order: Vec<usize> = (0..jobs.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(estimated_cost(jobs[i].1)));
        let next = AtomicUsize::new(0);
        let workers = cell_workers(hosts.iter().map(|h| h.as_ref())).min(jobs.len().max(1));
        let progress = Progress::new(
            format!("running {} cells", jobs.len()),
            "done",
            jobs.len(),
            Duration::from_secs(10),
        );
        std::thread::scope(|scope| {
            for _ in 0..workers {
                scope.spawn(|| {
                    while let Some(&i) = order.get(next.fetch_add(1, Ordering::Relaxed)) {
                        let (spec, case, lang, host) = jobs[i];
                        let cell = evaluate(&runner, spec, case, lang, host);
                        *slots[i].lock().unwrap_or_else(|p| p.into_inner()) = Some(cell);
                        progress.step(|| {
                            format!("{}::{} on {lang} on {}", spec.name, case.name, host.name())
                        });
                    }
                });
            }
        });
        progress.finish();
        let mut cells: Vec<CellResult> = slots
            .into_iter()
            .filter_map(|s| s.into_inner().unwrap_or_else(|p| p.into_inner()))
            .collect();
        for spec in &self.specs {
            for test in spec.xtp_tests.iter().filter(|t| filter.wants_xtp(spec, t)) {
                for lang in &langs {
                    for host in &hosts {
                        cells.extend(crate::xtp::evaluate(
                            &runner,
                            &self.root,
                            spec,
                            test,
                            lang,
                            host.as_ref(),
                        ));
                    }
                }
            }
        }
        // A spec's test-plugin results sit with its cases, in every report.
        cells.sort_by_key(|c| self.specs.iter().position(|s| s.name == c.spec));
        if filter.deny_warnings {
            for cell in &mut cells {
                if cell.status == CellStatus::Pass && !cell.warnings.is_empty() {
                    cell.status = CellStatus::Fail;
                    cell.detail = format!(
                        "memory warnings are denied (--deny-warnings):\n{}",
                        indent(&cell.warnings.join("\n"))
                    );
                }
            }
        }
        let equivalence = check_equivalence(&cells, |spec, case| {
            let dir = self.specs.iter().find(|s| s.name == spec)?.dir.clone();
            let text = std::fs::read_to_string(snapshot_file(&dir, spec, case)).ok()?;
            SnapFile::parse(&text).ok().map(|s| s.body)
        });
        let wanted = |e: &LoadError| filter.specs.is_empty() || filter.specs.contains(&e.spec);
        Ok(Results {
            cells,
            load_errors: self
                .load_errors
                .iter()
                .filter(|e| wanted(e))
                .cloned()
                .collect(),
            equivalence,
            langs,
            hosts: hosts
                .iter()
                .map(|h| (h.name().to_owned(), h.version()))
                .collect(),
            not_ready,
            wall_ms: started.elapsed().as_millis() as u64,
        })
    }
}

/// How many cells of these hosts run at once: per core, what the strictest
/// host allows ([`Host::cells_per_core`]). Two per core on the official
/// runtimes made libextism miss a 10 s deadline it meets in 2-4 s alone.
pub fn cell_workers<'a>(hosts: impl IntoIterator<Item = &'a dyn Host>) -> usize {
    let per_core = hosts
        .into_iter()
        .map(|h| h.cells_per_core())
        .min()
        .unwrap_or(1)
        .max(1);
    per_core * std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// A rough guess of a case's run time in ms, to start the slow cases first:
/// calls that must time out take their timeout, big inputs take time to copy
/// through the ABI, and a case that declares a timeout at all (10^6 host calls,
/// a recursion the official runtimes take seconds to overflow) is one its author
/// expects to run long.
pub fn estimated_cost(case: &Case) -> u64 {
    let calls: u64 = case
        .all_calls()
        .map(|call| {
            let waits = matches!(&call.expect, Expect::Error { accepted, .. } if accepted.iter().any(|a| a == "timeout"));
            let wait = if waits { case.timeout_ms.unwrap_or(0) } else { 0 };
            wait + call.input.bytes.len() as u64 / 4096 + 1
        })
        .sum();
    // A declared timeout or wait (not the 30 s every case gets) marks a long case.
    calls + case.timeout_ms.max(case.wait_ms).unwrap_or(0) / 10
}

/// Runs and judges one cell against the fixture and the stored snapshot.
pub fn evaluate(
    runner: &Runner,
    spec: &Spec,
    case: &Case,
    lang: &str,
    host: &dyn Host,
) -> CellResult {
    let started = Instant::now();
    let mut cell = CellResult {
        spec: spec.name.clone(),
        case: case.name.clone(),
        lang: lang.to_owned(),
        host: host.name().to_owned(),
        status: CellStatus::Pass,
        detail: String::new(),
        reason: None,
        ms: 0,
        rendered: None,
        warnings: Vec::new(),
    };
    if let Some(reason) = spec.na_reason(case, lang) {
        cell.status = CellStatus::Na;
        cell.reason = Some(reason.to_owned());
        return cell;
    }
    let run = runner.run_case(spec, case, lang, host);
    cell.ms = started.elapsed().as_millis() as u64;
    let run = match run {
        Ok(run) => run,
        Err(Skip::Unsupported(why)) => {
            cell.status = CellStatus::Unsupported;
            cell.reason = Some(why);
            return cell;
        }
        Err(Skip::Cannot(e)) => {
            // A host known to hang or crash on this case (its driver stops
            // answering) declares it like any divergence: `observed` is then
            // matched against what the runner could say about the failure.
            match case
                .diverges
                .get(host.name())
                .filter(|d| d.applies_to(lang))
            {
                Some(d) if d.seen_in(&e) => {
                    cell.status = CellStatus::Diverges;
                    cell.reason = Some(d.reason.clone());
                }
                _ => cell.status = CellStatus::Error,
            }
            cell.detail = e;
            return cell;
        }
    };

    cell.warnings = run.memory_warnings.clone();
    let rendered = render_snapshot(case, &run);
    let mut problems = check_expectations(case, &run);
    let file = snapshot_file(&spec.dir, &spec.name, &case.name);
    match std::fs::read_to_string(&file) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => problems.push(format!(
            "no snapshot {}: run `cargo test -p polyplug-conformance` and accept it with `cargo insta review`\n{}",
            file.display(),
            indent(&rendered)
        )),
        // There but not readable: a broken checkout, not a new case; it is
        // neither compared nor replaced.
        Err(e) => {
            cell.status = CellStatus::Error;
            cell.detail = format!(
                "cannot read the snapshot {}: {e}: make it a readable UTF-8 file again (`git checkout -- {}`)",
                file.display(),
                file.display()
            );
            return cell;
        }
        Ok(text) => match SnapFile::parse(&text) {
            Err(e) => problems.push(format!("{}: {e}", file.display())),
            Ok(snap) if !snap.matches(&rendered) => problems.push(format!(
                "{} no longer matches:\n{}",
                file.display(),
                crate::report::diff(&snap.body, &rendered, "snapshot", lang)
            )),
            Ok(_) => {}
        },
    }
    let divergence = case
        .diverges
        .get(host.name())
        .filter(|d| d.applies_to(lang));
    match (divergence, problems.is_empty()) {
        (None, true) => {}
        (None, false) => {
            cell.status = CellStatus::Fail;
            cell.detail = problems.join("\n");
        }
        (Some(d), true) => {
            cell.status = CellStatus::Fail;
            cell.detail = format!(
                "{}:{}: the declared divergence on {} ({}) no longer happens: the host now \
                 matches the spec, so remove `diverges.{}` from the case",
                spec.file.display(),
                case.line,
                host.name(),
                d.reason,
                host.name()
            );
        }
        (Some(d), false) if d.seen_in(&rendered) => {
            cell.status = CellStatus::Diverges;
            cell.reason = Some(d.reason.clone());
        }
        (Some(d), false) => {
            cell.status = CellStatus::Fail;
            cell.detail = format!(
                "declared to diverge on {} with `{}`, but it did something else:\n{}",
                host.name(),
                d.observed.join("` or `"),
                problems.join("\n")
            );
        }
    }
    cell.rendered = Some(rendered);
    cell
}

fn indent(s: &str) -> String {
    s.lines().map(|l| format!("    {l}\n")).collect()
}

/// Lets `host` get its modules ready before the cases start, saying how far
/// it is (progress.rs).
fn prepare(host: &dyn Host, modules: &[(PathBuf, bool)]) {
    let started = Instant::now();
    let total = modules.len();
    let name = host.name().to_string();
    let progress = Progress::new(
        format!("compiling {total} modules for {name}"),
        "ready",
        total,
        Duration::from_secs(2),
    );
    host.prepare(modules, &|path: &Path| progress.step(|| module_label(path)));
    progress.finish();
    if started.elapsed().as_secs() >= 2 {
        eprintln!(
            "suite: {total} modules ready for {name} in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
}

/// `<lang>/<spec>.wasm` of an artifact path.
fn module_label(path: &Path) -> String {
    let file = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    match path.parent().and_then(|p| p.file_name()) {
        Some(dir) => format!("{}/{file}", dir.to_string_lossy()),
        None => file,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A host that only says how many of its cells may share a core.
    struct PerCore(usize);

    impl Host for PerCore {
        fn name(&self) -> &str {
            "per-core"
        }
        fn version(&self) -> String {
            String::new()
        }
        fn unsupported(&self, _: &[String], _: bool) -> Option<String> {
            None
        }
        fn run(&self, _: &crate::hosts::CasePlan) -> Result<crate::hosts::RawRun, Skip> {
            Err(Skip::Cannot("not a real host".into()))
        }
        fn session(
            &self,
            _: &crate::hosts::CasePlan,
            _: &mut dyn FnMut(&mut dyn crate::hosts::Session),
        ) -> Result<(), Skip> {
            Err(Skip::Cannot("not a real host".into()))
        }
        fn cells_per_core(&self) -> usize {
            self.0
        }
    }

    #[test]
    fn the_strictest_host_sets_how_many_cells_run_at_once() {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let (two, one, zero) = (PerCore(2), PerCore(1), PerCore(0));
        assert_eq!(cell_workers([&two as &dyn Host]), 2 * cores);
        assert_eq!(cell_workers([&two as &dyn Host, &one]), cores);
        assert_eq!(cell_workers([&zero as &dyn Host]), cores, "never none");
        assert_eq!(cell_workers(std::iter::empty::<&dyn Host>()), cores);
    }

    #[test]
    fn shard_parses_and_refuses_nonsense() {
        assert_eq!(
            "2/3".parse::<Shard>().unwrap(),
            Shard { index: 2, count: 3 }
        );
        for bad in ["0/2", "3/2", "1/0", "x", "1-2"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }

    /// On the project's real fixtures: for every N, the shards 1/N..N/N
    /// together select every case exactly once.
    #[test]
    fn shards_cover_every_real_case_exactly_once() {
        // Fixtures only: which cases a shard selects does not depend on artifacts.
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let loaded = load_fixtures(&root.join("fixtures"), None);
        assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
        let suite = Suite {
            root: root.clone(),
            specs: loaded.specs,
            load_errors: loaded.errors,
            artifacts: Artifacts::default(),
        };
        let id = |(spec, case): (&Spec, &Case)| format!("{}::{}", spec.name, case.name);
        let all: Vec<String> = suite
            .selected(&Filter::default())
            .into_iter()
            .map(id)
            .collect();
        assert!(all.len() > 50, "{all:?}");
        for count in 1..=7 {
            let mut seen: Vec<String> = (1..=count)
                .flat_map(|index| {
                    let filter = Filter {
                        shard: Some(Shard { index, count }),
                        ..Filter::default()
                    };
                    suite
                        .selected(&filter)
                        .into_iter()
                        .map(id)
                        .collect::<Vec<_>>()
                })
                .collect();
            seen.sort();
            let mut expected = all.clone();
            expected.sort();
            assert_eq!(seen, expected, "{count} shards");
        }
    }
}
