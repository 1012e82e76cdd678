//! `polyplug serve`: plugin functions over HTTP. Every request runs on a fresh
//! instance (from wasmtime's pooling allocator), so no request sees another's
//! vars or memory; files that change on disk are loaded again while requests
//! in flight finish on the module they started with.

mod catalog;
mod invoke;
mod metrics;
mod routes;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use polyplug_host::{Engine, EngineConfig, KvStore, LogLevel};

use catalog::{Catalog, Settings};

/// How often served files are checked for changes.
const RELOAD_POLL: Duration = Duration::from_millis(200);
/// Instances the pooling allocator holds (two memories each): the most calls
/// that can run at once.
const MAX_CONCURRENCY: usize = 100;

/// Arguments of `polyplug serve`.
#[derive(clap::Args)]
pub struct Serve {
    /// .wasm files or folders of them; a folder's sub-folders give names like
    /// `rust/hello` (target/plugins, the default)
    #[arg(default_value = "target/plugins")]
    paths: Vec<PathBuf>,
    /// Address to listen on (port 0 picks a free one; the address is printed)
    #[arg(long, default_value = "127.0.0.1:7878", value_name = "ADDR")]
    listen: String,
    /// An Extism manifest for one plugin: config, allowed hosts and paths, limits
    #[arg(long = "manifest", value_name = "NAME=FILE", value_parser = parse_manifest_flag)]
    manifests: Vec<(String, PathBuf)>,
    /// Largest request body, in bytes
    #[arg(long = "max-body", default_value_t = 16 * 1024 * 1024, value_name = "BYTES")]
    max_body: usize,
    /// Calls that run at once [default: twice the cores, at least 4]
    #[arg(long, value_name = "N")]
    concurrency: Option<usize>,
    /// Calls that may wait for a worker; beyond that the answer is 503
    #[arg(long, default_value_t = 1024, value_name = "N")]
    queue: usize,
    /// Milliseconds a call may run, where a plugin's manifest sets no timeout_ms
    #[arg(long, default_value_t = 10_000, value_name = "MS")]
    timeout: u64,
    /// Most 64 KiB pages of memory per call, where a manifest sets none
    #[arg(long = "memory-max", default_value_t = 1024, value_name = "PAGES")]
    memory_max: u32,
    /// Lowest plugin log level written to the server's log
    #[arg(long = "log-level", default_value = "info", value_parser = crate::call::parse_level)]
    log_level: LogLevel,
}

fn parse_manifest_flag(s: &str) -> Result<(String, PathBuf), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_string(), PathBuf::from(v)))
        .ok_or_else(|| format!("`{s}` is not NAME=FILE"))
}

impl Serve {
    pub fn run(self) -> ExitCode {
        let concurrency = self.concurrency.unwrap_or_else(|| {
            let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
            (cores * 2).clamp(4, MAX_CONCURRENCY)
        });
        let catalog = match self.open(concurrency) {
            Ok(c) => Arc::new(c),
            Err(e) => {
                eprintln!("error: {e:#}");
                return ExitCode::from(2);
            }
        };
        let runtime = match tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .max_blocking_threads(concurrency + 4)
            .build()
        {
            Ok(r) => r,
            Err(e) => {
                eprintln!("error: cannot start the server's threads: {e}");
                return ExitCode::from(2);
            }
        };
        let app = Arc::new(routes::App {
            catalog,
            workers: invoke::Workers::new(concurrency, self.queue),
            metrics: metrics::Metrics::default(),
            max_body: self.max_body,
            next_request: AtomicU64::new(0),
        });
        runtime.block_on(serve(app, &self.listen, concurrency, self.queue))
    }

    fn open(&self, concurrency: usize) -> anyhow::Result<Catalog> {
        if concurrency == 0 || concurrency > MAX_CONCURRENCY {
            bail!("--concurrency {concurrency}: give 1 to {MAX_CONCURRENCY}");
        }
        let mut manifests = BTreeMap::new();
        for (name, path) in &self.manifests {
            let manifest = crate::call::read_manifest(path)?;
            if !manifest.wasm.is_empty() {
                bail!(
                    "manifest {} (for {name}) lists wasm modules: serve takes the module from PATH, drop its `wasm`",
                    path.display()
                );
            }
            if manifests.insert(name.clone(), manifest).is_some() {
                bail!("--manifest {name}=... is given twice: give one manifest per plugin");
            }
        }
        let settings = Settings {
            timeout_ms: self.timeout,
            memory_max_pages: self.memory_max,
            log_level: self.log_level,
            manifests,
            kv: KvStore::default(),
        };
        let engine = Engine::with_config(EngineConfig {
            pooling: true,
            ..EngineConfig::default()
        })
        .context("cannot start the polyplug engine")?;
        Catalog::open(self.paths.clone(), settings, engine)
    }
}

async fn serve(app: Arc<routes::App>, listen: &str, concurrency: usize, queue: usize) -> ExitCode {
    let listener = match tokio::net::TcpListener::bind(listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!(
                "error: cannot listen on {listen}: {e}: stop what uses it, or pass --listen with another address (port 0 picks a free one)"
            );
            return ExitCode::from(2);
        }
    };
    let addr = listener
        .local_addr()
        .map_or_else(|_| listen.to_string(), |a| a.to_string());
    let plugins = app.catalog.all();
    println!("polyplug serve: listening on http://{addr}");
    let mut names: Vec<&str> = plugins.keys().map(String::as_str).take(6).collect();
    if plugins.len() > names.len() {
        names.push("...");
    }
    eprintln!(
        "polyplug serve: {} plugins ({}; GET /v1/plugins lists them), {concurrency} calls at once, {queue} waiting at most",
        plugins.len(),
        names.join(", ")
    );
    let catalog = app.catalog.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(RELOAD_POLL).await;
            let catalog = catalog.clone();
            let _ = tokio::task::spawn_blocking(move || catalog.refresh()).await;
        }
    });
    // Answers go out at once, not held back for more bytes (Nagle).
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let served = axum::serve(listener, routes::router(app))
        .with_graceful_shutdown(shutdown())
        .await;
    match served {
        Ok(()) => {
            eprintln!("polyplug serve: stopped; every request in flight was answered");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: the server failed: {e}");
            ExitCode::from(1)
        }
    }
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return interrupt.await.unwrap_or(()),
            };
        tokio::select! {
            _ = interrupt => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
    eprintln!("polyplug serve: stopping: draining requests in flight");
}
