//! `cargo xtask bench-serve`: `polyplug serve` against the way the official
//! Extism SDKs serve plugins over HTTP, a server on the Go SDK written as its
//! docs recommend (bench/serve-go). Both serve the same two artifacts from the
//! same copies; wrk loads each in turn; the tables go to docs/bench.md. A server is
//! killed on every exit path: `Server` kills it when dropped, and Ctrl-C
//! reaches it directly (it stays in our process group).

mod prepare;
mod report;
mod server;
mod wrk;

use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::build_all::{build_all, Options};
use crate::project::Project;
use crate::{flags, lang};
use prepare::Scratch;
use server::Server;

/// The anchor server's folder in the workspace, with its bench.toml.
const ANCHOR_DIR: &str = "bench/serve-go";
const CONNECTIONS: [u32; 3] = [1, 16, 64];
/// Cumulative count-vowels calls after which each server's RSS is read.
const RSS_AFTER: [u64; 2] = [1_000, 100_000];
const RSS_CONNECTIONS: u64 = 4;
const HEALTH_TIMEOUT: Duration = Duration::from_secs(60);

/// One plugin call both servers are measured on.
pub struct Workload {
    pub lang: &'static str,
    pub spec: &'static str,
    pub export: &'static str,
    pub body: Vec<u8>,
}

impl Workload {
    /// The plugin's name on both servers, `<lang>/<spec>`.
    fn name(&self) -> String {
        format!("{}/{}", self.lang, self.spec)
    }

    fn route(&self) -> String {
        format!("/v1/plugins/{}/{}", self.name(), self.export)
    }
}

/// count-vowels first: the RSS readings count its calls.
fn workloads(lang: &'static str) -> Vec<Workload> {
    vec![
        Workload {
            lang,
            spec: "count-vowels",
            export: "count_vowels",
            body: b"Hello, World! The quick brown fox".to_vec(),
        },
        Workload {
            lang,
            spec: "bytes",
            export: "echo",
            body: (0..64 * 1024).map(|i| (i % 251) as u8).collect(),
        },
    ]
}

impl flags::BenchServe {
    pub fn run(self, project: &Project) -> Result<()> {
        let wrk = wrk::find()?;
        let seconds = self.seconds.unwrap_or(10).max(1);
        let lang = match &self.lang {
            Some(name) => lang::select(std::slice::from_ref(name))?[0].name(),
            None => lang::all().first().context("no language is known")?.name(),
        };
        let workloads = workloads(lang);

        let options = Options {
            langs: vec![lang.to_string()],
            specs: workloads.iter().map(|w| w.spec.to_string()).collect(),
            jobs: None,
            force: false,
        };
        build_all(project, &options)?.check()?;
        let workspace = crate::tools::workspace(project);
        let polyplug = match self.polyplug {
            Some(bin) => bin,
            None => prepare::build_polyplug(&workspace)?,
        };
        let (anchor, anchor_bin) = prepare::build_anchor(&workspace)?;

        let scratch = Scratch::new(&workspace)?;
        let served = prepare::copy_artifacts(project, &workloads, &scratch.0)?;
        // After `scratch`, so dropped (killed) before it is removed.
        let [mine, theirs] = server::free_addrs()?;
        let mut servers = vec![
            Server::start(
                "polyplug",
                &polyplug,
                served.polyplug_args(mine),
                mine,
                &scratch,
            )?,
            Server::start(
                &anchor.label,
                &anchor_bin,
                served.anchor_args(theirs),
                theirs,
                &scratch,
            )?,
        ];
        for server in &mut servers {
            server.wait_healthy(HEALTH_TIMEOUT)?;
        }

        smoke(&servers, &workloads)?;
        // Memory first, while the servers have served nothing but the smoke calls.
        let rss = rss(&servers, &workloads[0])?;
        let rows = throughput(&mut servers, &workloads, &wrk, &scratch.0, seconds)?;
        drop(servers);

        let setup = report::Setup {
            labels: ["polyplug".to_string(), anchor.label],
            about: [
                format!("`polyplug serve` ({})", polyplug.display()),
                format!("{} ({ANCHOR_DIR})", anchor.about),
            ],
            seconds,
        };
        report::print(&setup, &rows, &rss);
        let errors: Vec<String> = rows
            .iter()
            .flat_map(|row| {
                let labels = &setup.labels;
                row.runs.iter().zip(labels).filter_map(move |(run, label)| {
                    let e = run.errors()?;
                    Some(format!(
                        "{} c={} {label}: {e}",
                        row.workload.name(),
                        row.connections
                    ))
                })
            })
            .collect();
        if !errors.is_empty() {
            bail!(
                "{} run(s) had failed requests, so their figures are not clean:\n{}",
                errors.len(),
                errors.join("\n")
            );
        }
        Ok(())
    }
}

/// Each server's VmRSS (KiB) after start, then after each count of
/// [`RSS_AFTER`] `calls` in all, one server at a time.
fn rss(servers: &[Server], calls: &Workload) -> Result<Vec<Vec<u64>>> {
    let read = || {
        servers
            .iter()
            .map(Server::rss_kib)
            .collect::<Result<Vec<_>>>()
    };
    let mut readings = vec![read()?];
    let mut done = 0;
    for target in RSS_AFTER {
        for server in servers {
            eprintln!(
                "bench-serve: {}: `{}` calls {done}..{target}",
                server.label, calls.export
            );
            server.load(&calls.route(), &calls.body, target - done, RSS_CONNECTIONS)?;
        }
        done = target;
        readings.push(read()?);
    }
    Ok(readings)
}

/// wrk on each workload at each of [`CONNECTIONS`], one server after the other.
fn throughput<'a>(
    servers: &mut [Server],
    workloads: &'a [Workload],
    wrk: &Path,
    scratch: &Path,
    seconds: u32,
) -> Result<Vec<report::Row<'a>>> {
    let mut rows = Vec::new();
    for w in workloads {
        let body = scratch.join(format!("{}.body", w.spec));
        std::fs::write(&body, &w.body)?;
        let script = wrk::post_script(scratch, w.spec, &body)?;
        for connections in CONNECTIONS {
            let mut runs = Vec::new();
            for i in 0..servers.len() {
                let url = format!("http://{}{}", servers[i].addr, w.route());
                let run = wrk::run(wrk, &script, &url, connections, seconds)?;
                for server in servers.iter_mut() {
                    server.check_alive()?;
                }
                eprintln!(
                    "bench-serve: {} c={connections} {}: {:.0} req/s{}",
                    w.name(),
                    servers[i].label,
                    run.per_sec,
                    run.errors().map(|e| format!(" ({e})")).unwrap_or_default()
                );
                runs.push(run);
            }
            rows.push(report::Row {
                workload: w,
                connections,
                runs,
            });
        }
    }
    Ok(rows)
}

/// Each server answers each workload with 200 and the same bytes (the echo
/// with its input), before anything is measured.
fn smoke(servers: &[Server], workloads: &[Workload]) -> Result<()> {
    for w in workloads {
        let path = w.route();
        let mut answers = Vec::new();
        for server in servers {
            let (status, body) = server.post(&path, &w.body)?;
            if status != 200 {
                bail!(
                    "{} answered POST {path} with {status}: {}",
                    server.label,
                    server::lossy(&body)
                );
            }
            answers.push(body);
        }
        if answers.windows(2).any(|pair| pair[0] != pair[1]) {
            let shown: Vec<String> = servers
                .iter()
                .zip(&answers)
                .map(|(s, a)| format!("{}: {}", s.label, server::lossy(a)))
                .collect();
            bail!("the servers disagree on POST {path}:\n{}", shown.join("\n"));
        }
        if w.export == "echo" && answers[0] != w.body {
            bail!("POST {path} did not echo its input");
        }
    }
    Ok(())
}
