//! `cargo xtask build-all`: every plugin of every language, built with its
//! own toolchain into target/plugins/<lang>/<spec>.wasm, plus the manifest the
//! host and the suite read. Unchanged plugins are taken from the cache; a
//! failing plugin is reported without stopping the others.

use std::collections::BTreeSet;
use std::time::Instant;

use anyhow::{bail, Context, Result};

use crate::artifact::{self, Artifact, Failure, Manifest};
use crate::lang::{self, BuildContext, Plugin, Toolchain};
use crate::progress::{elapsed_ms, run_pool, Progress};
use crate::project::Project;
use crate::selection::{discover, filter_specs, make_ready, plugin_names, Selected};
use crate::{cache, flags};

pub struct Options {
    pub langs: Vec<String>,
    pub specs: Vec<String>,
    pub jobs: Option<usize>,
    pub force: bool,
}

impl flags::BuildAll {
    pub fn run(self, project: &Project) -> Result<()> {
        let options = Options {
            langs: self.lang,
            specs: self.spec,
            jobs: self.jobs,
            force: self.force,
        };
        build_all(project, &options)?.check()
    }
}

/// What one build-all run did.
pub struct Report {
    /// `lang/spec` of the plugins this run failed to build.
    pub failed: Vec<String>,
}

impl Report {
    /// Non-zero exit naming the plugins that did not build.
    pub fn check(&self) -> Result<()> {
        if self.failed.is_empty() {
            return Ok(());
        }
        bail!(
            "{} plugin(s) failed to build: {} (their compiler output is above)",
            self.failed.len(),
            self.failed.join(", ")
        )
    }
}

pub fn build_all(project: &Project, options: &Options) -> Result<Report> {
    let started = Instant::now();
    let _lock = lock(&project.plugins_out())?;
    let langs = lang::select(&options.langs)?;
    let explicit = !options.langs.is_empty();
    let mut selected = discover(project, &langs, explicit)?;
    let discovered: BTreeSet<(String, String)> = plugin_names(&selected);
    let discovered_langs: BTreeSet<&str> = selected.iter().map(|s| s.lang.name()).collect();
    filter_specs(&mut selected, &options.specs)?;
    selected.retain(|s| !s.plugins.is_empty());
    make_ready(project, &mut selected)?;

    let out = project.plugins_out();
    for dir in
        std::iter::once(out.join(".cache")).chain(selected.iter().map(|s| out.join(s.lang.name())))
    {
        std::fs::create_dir_all(&dir).with_context(|| {
            format!(
                "cannot create {}: make {} writable (or pass --root)",
                dir.display(),
                project.root.join("target").display()
            )
        })?;
    }

    // Cache hits first (hashing sources and artifacts on the pool); what is
    // left is built on the pool too.
    let jobs = options
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
        .max(1);
    let all: Vec<(usize, &Plugin)> = selected
        .iter()
        .enumerate()
        .flat_map(|(i, sel)| sel.plugins.iter().map(move |p| (i, p)))
        .collect();
    let looked_up = run_pool(
        jobs,
        &all,
        |(index, plugin)| -> Result<(String, Option<Artifact>)> {
            let key = cache::key(&selected[*index].toolchain, plugin)
                .with_context(|| format!("cannot hash the inputs of {}", plugin.label()))?;
            let hit = if options.force {
                None
            } else {
                cache::lookup(&out, &project.root, plugin, &key)
            };
            Ok((key, hit))
        },
    );
    let mut artifacts = Vec::new();
    let mut todo: Vec<Vec<(Plugin, String)>> = selected.iter().map(|_| Vec::new()).collect();
    for ((index, plugin), looked_up) in all.iter().zip(looked_up) {
        match looked_up? {
            (_, Some(mut hit)) => {
                hit.cached = true;
                artifacts.push(hit);
            }
            (key, None) => todo[*index].push(((*plugin).clone(), key)),
        }
    }
    let pending_total: usize = todo.iter().map(Vec::len).sum();
    let mut units: Vec<Unit> = Vec::new();
    for (index, todo) in todo.into_iter().enumerate() {
        let keys: std::collections::HashMap<String, String> = todo
            .iter()
            .map(|(p, k)| (p.spec.clone(), k.clone()))
            .collect();
        for batch in selected[index]
            .lang
            .batches(todo.into_iter().map(|(p, _)| p).collect())
        {
            units.push((
                index,
                batch
                    .into_iter()
                    .map(|p| {
                        let key = keys.get(&p.spec).cloned().unwrap_or_default();
                        (p, key)
                    })
                    .collect(),
            ));
        }
    }
    let total: usize = selected.iter().map(|s| s.plugins.len()).sum();
    eprintln!(
        "build-all: {total} plugin(s), {} cached, {pending_total} to build ({})",
        artifacts.len(),
        selected
            .iter()
            .map(|s| format!(
                "{} via {} {}",
                s.lang.name(),
                s.toolchain.strategy,
                s.toolchain.version
            ))
            .collect::<Vec<_>>()
            .join(", ")
    );

    let ctx = BuildContext {
        project: project.clone(),
        jobs: options.jobs,
    };
    let progress = Progress::new(pending_total);
    let results = build_units(project, &ctx, &selected, &units, jobs, &progress);
    progress.clear();

    let mut failures = Vec::new();
    for outcome in results.into_iter().flatten() {
        match outcome {
            Ok(artifact) => artifacts.push(artifact),
            Err(failure) => failures.push(failure),
        }
    }
    let manifest_path = out.join("manifest.json");
    let built_now = plugin_names(&selected);
    let cached_now = artifacts.iter().filter(|a| a.cached).count();
    let (kept, kept_failures) = artifact::carry_over(
        project,
        &manifest_path,
        &built_now,
        &discovered_langs,
        &discovered,
    );
    artifacts.extend(kept);
    failures.extend(kept_failures);
    let all_langs = lang::all();
    let order = |lang: &str| all_langs.iter().position(|l| l.name() == lang);
    artifacts.sort_by(|a, b| (order(&a.lang), &a.spec).cmp(&(order(&b.lang), &b.spec)));
    failures.sort_by(|a, b| (order(&a.lang), &a.spec).cmp(&(order(&b.lang), &b.spec)));
    let manifest = Manifest {
        languages: artifact::languages(),
        artifacts,
        failures,
    };
    let json = serde_json::to_vec_pretty(&manifest)?;
    artifact::write_atomic(&manifest_path, &json)?;

    for failure in manifest
        .failures
        .iter()
        .filter(|f| built_now.contains(&(f.lang.clone(), f.spec.clone())))
    {
        eprintln!(
            "\n--- {}/{} failed ---\n{}",
            failure.lang,
            failure.spec,
            failure.message.trim_end()
        );
    }
    let built = manifest.artifacts.iter().filter(|a| !a.cached).count();
    let failed: Vec<String> = manifest
        .failures
        .iter()
        .filter(|f| built_now.contains(&(f.lang.clone(), f.spec.clone())))
        .map(|f| format!("{}/{}", f.lang, f.spec))
        .collect();
    eprintln!(
        "{}build-all: {built} built, {} cached, {} failed in {:.2}s -> {}",
        if failed.is_empty() { "" } else { "\n" },
        cached_now,
        failed.len(),
        started.elapsed().as_secs_f64(),
        project.display_path(&manifest_path)
    );
    Ok(Report { failed })
}

type Unit = (usize, Vec<(Plugin, String)>);

/// Runs the units of work on the pool, each checked and installed as it finishes.
fn build_units(
    project: &Project,
    ctx: &BuildContext,
    selected: &[Selected],
    units: &[Unit],
    jobs: usize,
    progress: &Progress,
) -> Vec<Vec<Result<Artifact, Failure>>> {
    run_pool(jobs, units, |(index, batch)| {
        let sel = &selected[*index];
        let label = batch
            .iter()
            .map(|(p, _)| p.label())
            .collect::<Vec<_>>()
            .join(" ");
        progress.start(&label);
        let begun = Instant::now();
        let plugins: Vec<Plugin> = batch.iter().map(|(p, _)| p.clone()).collect();
        let built = sel.lang.build(ctx, &sel.toolchain, &plugins);
        let build_ms = elapsed_ms(begun);
        let outcomes: Vec<Result<Artifact, Failure>> = batch
            .iter()
            .map(|(plugin, key)| {
                let result = built
                    .iter()
                    .find(|b| b.spec == plugin.spec)
                    .map(|b| &b.result);
                finish(project, &sel.toolchain, plugin, key, result, build_ms)
            })
            .collect();
        let lines: Vec<String> = outcomes
            .iter()
            .map(|o| match o {
                Ok(a) => format!(
                    "  built   {}/{} ({} bytes, {:.1}s)",
                    a.lang,
                    a.spec,
                    a.bytes,
                    build_ms as f64 / 1000.0
                ),
                Err(f) => format!("  FAILED  {}/{}", f.lang, f.spec),
            })
            .collect();
        progress.finish(&label, batch.len(), &lines);
        outcomes
    })
}

/// Turns a compiler's result into a checked, installed artifact, or a failure.
fn finish(
    project: &Project,
    toolchain: &Toolchain,
    plugin: &Plugin,
    key: &str,
    built: Option<&Result<std::path::PathBuf, String>>,
    build_ms: u64,
) -> Result<Artifact, Failure> {
    let fail = |message: String| Failure {
        spec: plugin.spec.clone(),
        lang: plugin.lang.to_string(),
        message,
    };
    let wasm = match built {
        Some(Ok(path)) => path,
        Some(Err(message)) => return Err(fail(message.clone())),
        None => {
            return Err(fail(format!(
                "the {} builder returned nothing for {}",
                plugin.lang, plugin.spec
            )))
        }
    };
    let bytes = std::fs::read(wasm).map_err(|e| {
        fail(format!(
            "cannot read the compiler's output {}: {e}",
            wasm.display()
        ))
    })?;
    let interface = artifact::inspect(&bytes).map_err(|e| {
        fail(format!(
            "the compiler wrote an unusable module {}: {e:#}",
            wasm.display()
        ))
    })?;
    let dest = project
        .plugins_out()
        .join(plugin.lang)
        .join(format!("{}.wasm", plugin.spec));
    artifact::write_atomic(&dest, &bytes).map_err(|e| fail(format!("{e:#}")))?;
    let artifact = Artifact {
        spec: plugin.spec.clone(),
        lang: plugin.lang.to_string(),
        path: project.display_path(&dest),
        sha256: artifact::sha256_hex(&bytes),
        bytes: bytes.len() as u64,
        toolchain: toolchain.name.to_string(),
        toolchain_version: toolchain.version.clone(),
        wasi: interface.wasi,
        exports: interface.exports,
        imports: interface.imports,
        build_ms,
        cached: false,
    };
    cache::store(&project.plugins_out(), plugin, key, &artifact)
        .map_err(|e| fail(format!("{e:#}")))?;
    Ok(artifact)
}

/// Holds target/plugins for this build-all: a second one at the same time
/// says it waits, then runs after the first (so neither sees the other's
/// half-written batch). The lock goes with the process, also when it is killed.
fn lock(out: &std::path::Path) -> Result<std::fs::File> {
    std::fs::create_dir_all(out).with_context(|| {
        format!(
            "cannot create {}: make it writable (or pass --root)",
            out.display()
        )
    })?;
    crate::dir_lock::hold(
        out,
        ".build-all.lock",
        &format!(
            "build-all: another build-all is writing {}: waiting for it to finish",
            out.display()
        ),
    )
}
