//! What `polyplug serve` serves: the plugins found under its PATHs, each loaded
//! once into a template [`Plugin`] that every request takes a fresh instance
//! from, and loaded again when its file changes on disk.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use anyhow::{bail, Context, Result};
use polyplug_host::{Engine, FileStamp, KvStore, LogLevel, Manifest, Plugin, Wasm};
use sha2::{Digest, Sha256};

use super::invoke;

/// How every plugin is loaded: the defaults a manifest may override.
pub struct Settings {
    pub timeout_ms: u64,
    pub memory_max_pages: u32,
    pub log_level: LogLevel,
    /// `--manifest NAME=FILE`, read and checked at start.
    pub manifests: BTreeMap<String, Manifest>,
    /// Behind `extism:host/user` kv_read / kv_write, shared by every request.
    pub kv: KvStore,
}

/// The limits a served plugin runs under, as error bodies report them.
#[derive(Clone, Copy, Debug, serde::Serialize)]
pub struct Limits {
    pub timeout_ms: u64,
    pub memory_max_pages: u32,
    pub memory_max_bytes: u64,
    pub max_var_bytes: u64,
}

/// One plugin being served.
pub struct Served {
    pub name: String,
    pub path: PathBuf,
    /// Where it came from: the file, plus the toolchain when a build manifest says.
    pub source: String,
    pub sha256: String,
    pub bytes: u64,
    /// The functions a request may call (runtime hooks like `_initialize` left out).
    pub exports: Vec<String>,
    pub wasi: bool,
    pub limits: Limits,
    /// Never called itself (a Plugin's instance is not Sync, hence the lock,
    /// held only to copy it).
    template: Mutex<Plugin>,
    /// None when the file changed while it was read: the next look loads it again.
    stamp: Option<FileStamp>,
}

impl Served {
    /// A plugin with no instance yet: its call instantiates afresh.
    pub fn fresh(&self) -> Plugin {
        self.template
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .fresh()
    }
}

/// A file to serve and the name it is served under.
struct Found {
    name: String,
    path: PathBuf,
    source: String,
}

pub type Plugins = Arc<BTreeMap<String, Arc<Served>>>;

pub struct Catalog {
    paths: Vec<PathBuf>,
    settings: Settings,
    engine: Engine,
    plugins: RwLock<Plugins>,
    /// Files whose current version failed to load, so the failure is logged once.
    failed: Mutex<HashMap<PathBuf, Option<FileStamp>>>,
}

impl Catalog {
    /// Loads every plugin under `paths`; any that fails stops the start, so
    /// nothing is served half-configured.
    pub fn open(paths: Vec<PathBuf>, settings: Settings, engine: Engine) -> Result<Catalog> {
        let found = discover(&paths)?;
        let mut plugins = BTreeMap::new();
        for f in &found {
            let served = load(f, &settings, &engine)?;
            plugins.insert(f.name.clone(), Arc::new(served));
        }
        if let Some(name) = settings
            .manifests
            .keys()
            .find(|n| !plugins.contains_key(*n))
        {
            bail!(
                "--manifest {name}=...: no plugin named `{name}` is served; the names are: {}",
                plugins.keys().cloned().collect::<Vec<_>>().join(", ")
            );
        }
        Ok(Catalog {
            paths,
            settings,
            engine,
            plugins: RwLock::new(Arc::new(plugins)),
            failed: Mutex::new(HashMap::new()),
        })
    }

    pub fn get(&self, name: &str) -> Option<Arc<Served>> {
        self.all().get(name).cloned()
    }

    pub fn all(&self) -> Plugins {
        self.plugins
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Looks for changed and new files and loads them. A file that fails to
    /// load leaves the previous module serving, and says why once.
    pub fn refresh(&self) {
        let found = match discover(&self.paths) {
            Ok(found) => found,
            Err(e) => return self.fail_once(Path::new(""), None, &format!("{e:#}")),
        };
        let current = self.all();
        let mut next: Option<BTreeMap<String, Arc<Served>>> = None;
        for f in found {
            let stamp = FileStamp::of(&f.path);
            let old = current.get(&f.name);
            if old.is_some_and(|o| o.path == f.path && o.stamp.is_some() && o.stamp == stamp) {
                continue;
            }
            let known_bad = self
                .failed
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(&f.path)
                .is_some_and(|s| *s == stamp);
            if known_bad {
                continue;
            }
            match load(&f, &self.settings, &self.engine) {
                Ok(served) => {
                    match old {
                        Some(o) if o.sha256 != served.sha256 => eprintln!(
                            "polyplug serve: reloaded {} from {} (sha256 {} -> {})",
                            f.name,
                            f.path.display(),
                            short(&o.sha256),
                            short(&served.sha256)
                        ),
                        Some(_) => {}
                        None => eprintln!(
                            "polyplug serve: now serving {} from {}",
                            f.name,
                            f.path.display()
                        ),
                    }
                    self.failed
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .remove(&f.path);
                    next.get_or_insert_with(|| (*current).clone())
                        .insert(f.name.clone(), Arc::new(served));
                }
                Err(e) => {
                    let what = if old.is_some() {
                        "keeps serving the previous module"
                    } else {
                        "not served"
                    };
                    self.fail_once(&f.path, stamp, &format!("{}: {what}: {e:#}", f.name));
                }
            }
        }
        if let Some(next) = next {
            *self.plugins.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(next);
        }
    }

    fn fail_once(&self, path: &Path, stamp: Option<FileStamp>, message: &str) {
        let mut failed = self.failed.lock().unwrap_or_else(|e| e.into_inner());
        if failed.get(path) != Some(&stamp) {
            eprintln!("polyplug serve: {message}");
            failed.insert(path.to_path_buf(), stamp);
        }
    }
}

fn short(sha: &str) -> &str {
    &sha[..12.min(sha.len())]
}

/// The files under `paths`: a file is served under its stem, a folder's
/// `*.wasm` under their stems and its sub-folders' under `sub/stem` (so
/// `target/plugins` gives `<language>/<spec>`).
fn discover(paths: &[PathBuf]) -> Result<Vec<Found>> {
    let mut found: Vec<Found> = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path).with_context(|| {
            format!(
                "cannot read {}: pass .wasm files or folders of them (`cargo xtask build-all` makes target/plugins)",
                path.display()
            )
        })?;
        if meta.is_file() {
            found.push(Found {
                name: stem(path),
                path: path.clone(),
                source: path.display().to_string(),
            });
            continue;
        }
        let toolchains = toolchains(path);
        let before = found.len();
        for (dir, prefix) in folders(path)? {
            for file in wasm_files(&dir)? {
                let name = format!("{prefix}{}", stem(&file));
                let source = match toolchains.get(&name) {
                    Some(t) => format!("{} ({t})", file.display()),
                    None => file.display().to_string(),
                };
                found.push(Found {
                    name,
                    path: file,
                    source,
                });
            }
        }
        if found.len() == before {
            bail!(
                "{} holds no .wasm files: build some first (`cargo xtask build-all`)",
                path.display()
            );
        }
    }
    let mut seen: HashMap<&str, &Path> = HashMap::new();
    for f in &found {
        if let Some(first) = seen.insert(&f.name, &f.path) {
            bail!(
                "two plugins would be served as `{}`: {} and {}; serve them from separate runs or rename one",
                f.name,
                first.display(),
                f.path.display()
            );
        }
    }
    Ok(found)
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// `root` (names without a prefix) and its sub-folders (names `sub/...`).
fn folders(root: &Path) -> Result<Vec<(PathBuf, String)>> {
    let mut out = vec![(root.to_path_buf(), String::new())];
    for entry in read_dir_sorted(root)? {
        if entry.is_dir() {
            out.push((entry.clone(), format!("{}/", stem_full(&entry))));
        }
    }
    Ok(out)
}

fn stem_full(path: &Path) -> String {
    path.file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn wasm_files(dir: &Path) -> Result<Vec<PathBuf>> {
    Ok(read_dir_sorted(dir)?
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "wasm") && p.is_file())
        .collect())
}

fn read_dir_sorted(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut entries = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect::<Vec<_>>();
    entries.sort();
    Ok(entries)
}

/// `lang/spec` -> "toolchain version", from the build's manifest.json when there is one.
fn toolchains(dir: &Path) -> HashMap<String, String> {
    let Ok(text) = std::fs::read_to_string(dir.join("manifest.json")) else {
        return HashMap::new();
    };
    let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) else {
        return HashMap::new();
    };
    let field = |a: &serde_json::Value, k: &str| a[k].as_str().unwrap_or_default().to_string();
    json["artifacts"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| {
            (
                format!("{}/{}", field(a, "lang"), field(a, "spec")),
                format!(
                    "{} {}",
                    field(a, "toolchain"),
                    field(a, "toolchain_version")
                ),
            )
        })
        .collect()
}

fn load(found: &Found, settings: &Settings, engine: &Engine) -> Result<Served> {
    let stamp = FileStamp::of(&found.path);
    let bytes = std::fs::read(&found.path)
        .with_context(|| format!("cannot read {}", found.path.display()))?;
    let imports = crate::module_info::imports(&bytes).with_context(|| {
        format!(
            "{} is not a wasm module: serve .wasm build outputs",
            found.path.display()
        )
    })?;
    let sha256: String = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let len = bytes.len() as u64;
    let mut manifest = settings
        .manifests
        .get(&found.name)
        .cloned()
        .unwrap_or_default();
    manifest.wasm = vec![Wasm::data(bytes)];
    let timeout_ms = *manifest.timeout_ms.get_or_insert(settings.timeout_ms);
    let pages = *manifest
        .memory
        .max_pages
        .get_or_insert(settings.memory_max_pages);
    let limits = Limits {
        timeout_ms,
        memory_max_pages: pages,
        memory_max_bytes: u64::from(pages) * 64 * 1024,
        max_var_bytes: manifest.memory.max_var_bytes.unwrap_or(1024 * 1024),
    };
    let name = found.name.clone();
    let mut builder = Plugin::builder(engine, manifest)
        .with_wasi(imports.wasi)
        .with_log_level(settings.log_level)
        .with_logger(move |level, message| invoke::log_plugin(&name, level, message));
    if !imports.host.is_empty() {
        for f in settings.kv.host_functions() {
            builder = builder.with_host_function(f);
        }
    }
    let template = builder
        .build()
        .with_context(|| format!("cannot load {}", found.path.display()))?;
    let exports = template
        .functions()
        .into_iter()
        .filter(|f| !f.starts_with('_'))
        .collect();
    let stamp = stamp.filter(|s| FileStamp::of(&found.path) == Some(*s));
    Ok(Served {
        name: found.name.clone(),
        path: found.path.clone(),
        source: found.source.clone(),
        sha256,
        bytes: len,
        exports,
        wasi: imports.wasi,
        limits,
        template: Mutex::new(template),
        stamp,
    })
}
