//! The languages build-all knows, behind one trait: each file in this folder
//! detects its toolchain, finds its plugins, builds them and scaffolds a new
//! one from the templates in its own folder (`<name>/template/`). Adding a
//! language is adding a file here (with `pub const LANGUAGE`), its templates
//! and its plugin folder:
//! build.rs declares every file in this folder as a module, and everything
//! else (doctor, setup, the CI matrix, the manifest the suite reads) asks the
//! trait. Nothing outside a language's own file names it.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use serde_json::Value;
use xshell::Cmd;

use crate::project::Project;

// `mod <name>;` for each file in this folder, and `discovered()`.
include!(concat!(env!("OUT_DIR"), "/languages.rs"));

/// Every language, in the order reports list them ([`Language::order`]).
pub fn all() -> Vec<&'static dyn Language> {
    let mut langs = discovered();
    langs.sort_by_key(|l| (l.order(), l.name()));
    langs
}

/// The languages named by `--lang` (all of them when none is named).
pub fn select(names: &[String]) -> Result<Vec<&'static dyn Language>> {
    let known = all();
    if names.is_empty() {
        return Ok(known);
    }
    let mut picked: Vec<&'static dyn Language> = Vec::new();
    for name in names {
        match known.iter().find(|lang| lang.name() == name) {
            Some(lang) if !picked.iter().any(|p| p.name() == lang.name()) => picked.push(*lang),
            Some(_) => {}
            None => {
                let names: Vec<_> = known.iter().map(|l| l.name()).collect();
                bail!(
                    "unknown language `{name}`: choose one of {}",
                    names.join(", ")
                )
            }
        }
    }
    Ok(picked)
}

pub trait Language: Sync {
    /// Name used in `--lang`, in target/plugins/<name>/ and in the manifest.
    fn name(&self) -> &'static str;

    /// Folder under the root holding this language's plugins.
    fn source_dir(&self) -> &'static str;

    /// Position in reports' columns and in the CI matrix (lowest first).
    fn order(&self) -> u32;

    /// Folders (relative to the root) whose changes make the artifacts stale,
    /// for the test harness that decides whether to run build-all.
    fn watch(&self) -> Vec<&'static str> {
        vec![self.source_dir()]
    }

    /// What this language's CI job installs, as the workflow's setup steps
    /// read it (`rust_targets`, `go_version`, `node_version`, `apt`...).
    fn ci_setup(&self) -> Value;

    /// Whether the language's CI job also runs on macOS.
    fn ci_macos(&self) -> bool {
        false
    }

    /// Finds the toolchain and the strategy build-all would use. Never fails:
    /// a missing toolchain is a `Toolchain` that is not ready, with a hint.
    fn detect(&self, project: &Project) -> Toolchain;

    /// What `setup` installs when [`Language::detect`] is not ready.
    fn provision(&self) -> Provision;

    /// The plugins under [`Language::source_dir`]; bad layouts are errors that
    /// name the folder and the fix.
    fn discover(&self, project: &Project, toolchain: &Toolchain) -> Result<Vec<Plugin>>;

    /// Groups plugins into units of work run on the thread pool; by default
    /// one plugin per unit.
    fn batches(&self, plugins: Vec<Plugin>) -> Vec<Vec<Plugin>> {
        plugins.into_iter().map(|p| vec![p]).collect()
    }

    /// Builds a batch; returns, per plugin, the module the compiler wrote or
    /// the compiler's output explaining why it did not.
    fn build(&self, ctx: &BuildContext, toolchain: &Toolchain, batch: &[Plugin]) -> Vec<Built>;

    /// The files of a new plugin for `spec` (paths relative to the root),
    /// filled from this language's own templates (`lang/<name>/template/`):
    /// it compiles, and every export fails with [`not_implemented`] until
    /// someone writes it (a raw export, which has no error to report, traps
    /// or returns a sentinel, as the language can). An error when the
    /// language cannot name a function after one of the exports.
    fn scaffold(&self, spec: &str, exports: &[Export]) -> Result<Vec<(PathBuf, String)>>;

    /// Files that already exist and must change for a new plugin of `spec`
    /// to build (a workspace's member list), with their new contents. Reads
    /// only: `cargo xtask new` writes them once every check has passed.
    fn register(&self, _project: &Project, _spec: &str) -> Result<Vec<(PathBuf, String)>> {
        Ok(Vec::new())
    }
}

/// The plugin folders under `dir` with their names, sorted: its sub-folders
/// but hidden ones and `node_modules`; none when `dir` does not exist.
pub fn plugin_dirs(dir: &Path) -> Result<Vec<(PathBuf, String)>> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut found = Vec::new();
    for entry in
        std::fs::read_dir(dir).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", dir.display()))?
    {
        let path = entry?.path();
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        if path.is_dir() && !name.starts_with('.') && name != "node_modules" {
            found.push((path, name));
        }
    }
    found.sort();
    Ok(found)
}

/// Whether `dir` holds a file ending in `.{extension}`: a plugin folder that
/// lacks its entry file but has these is a mistake to report, not a stray folder.
pub fn has_files(dir: &Path, extension: &str) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|e| e.path().extension().is_some_and(|x| x == extension))
    })
}

/// One export of a new spec (`cargo xtask new --export NAME[:raw]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Export {
    pub name: String,
    /// A plain numeric export without the Extism ABI, shaped like raw-add's
    /// `add(i32, i32) -> i32`.
    pub raw: bool,
}

/// The error every scaffolded export fails with until it is written.
pub fn not_implemented(spec: &str, export: &str) -> String {
    format!("not implemented: {spec}/{export}")
}

/// Fills a template from `lang/<name>/template/`. `{{key}}` is replaced by
/// its value; a line holding only `{{#flag}}` or `{{^flag}}` opens a section
/// kept when the flag is set (or, for `^`, not set), closed by a line holding
/// `{{/flag}}`. A key or flag the caller did not give is a bug in the
/// template: the scaffold tests fill every template and would panic here.
pub fn fill(template: &str, values: &[(&str, &str)], flags: &[(&str, bool)]) -> String {
    let flag = |name: &str| match flags.iter().find(|(key, _)| *key == name) {
        Some((_, set)) => *set,
        None => panic!("template section `{name}` has no flag"),
    };
    let mut kept = String::new();
    let mut open: Vec<bool> = Vec::new();
    for line in template.split_inclusive('\n') {
        let tag = line.trim();
        let inner = tag.strip_prefix("{{").and_then(|t| t.strip_suffix("}}"));
        match inner.and_then(|t| t.split_at_checked(1)) {
            Some(("#", name)) => open.push(flag(name)),
            Some(("^", name)) => open.push(!flag(name)),
            Some(("/", _)) => {
                open.pop()
                    .expect("a template closes a section it never opened");
            }
            _ if open.iter().all(|&keep| keep) => kept.push_str(line),
            _ => {}
        }
    }
    assert!(open.is_empty(), "a template leaves a section open");
    let mut out = String::with_capacity(kept.len());
    let mut rest = kept.as_str();
    while let Some(start) = rest.find("{{") {
        let end = rest[start..]
            .find("}}")
            .map(|e| start + e)
            .expect("a template has an unclosed `{{`");
        let key = &rest[start + 2..end];
        let value = match values.iter().find(|(k, _)| *k == key) {
            Some((_, value)) => *value,
            None => panic!("template key `{key}` has no value"),
        };
        out.push_str(&rest[..start]);
        out.push_str(value);
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    out
}

/// What detection found for one language.
#[derive(Debug, Clone, Default)]
pub struct Toolchain {
    pub ready: bool,
    /// How build-all builds: `target`, `build-std`, `tinygo`, `go`, or `none`.
    pub strategy: String,
    /// The compiler named in the manifest (`rustc`, `go`, `tinygo`).
    pub name: &'static str,
    /// Short version, e.g. `1.96.0`.
    pub version: String,
    /// Full version output: part of every plugin's cache key.
    pub version_detail: String,
    /// What to run to fix a missing toolchain (empty when ready).
    pub hint: String,
    /// The driver build-all runs (cargo, go, tinygo).
    pub program: PathBuf,
    /// Environment and arguments the strategy adds to every build.
    pub env: Vec<(String, String)>,
    pub args: Vec<String>,
    /// What doctor says about optional steps of the build (an optimiser
    /// that runs, or why it does not and the command that fixes it).
    pub notes: Vec<String>,
}

impl Toolchain {
    pub fn missing(name: &'static str, hint: impl Into<String>) -> Toolchain {
        Toolchain {
            strategy: "none".into(),
            name,
            hint: hint.into(),
            ..Toolchain::default()
        }
    }
}

/// Packages and rustup targets that make a language ready.
#[derive(Debug, Default)]
pub struct Provision {
    pub rustup_targets: Vec<&'static str>,
    pub apt_packages: Vec<&'static str>,
    /// Shown when nothing here can install the toolchain (e.g. Go >= 1.24).
    pub manual: Option<&'static str>,
}

/// One plugin: a spec implemented in one language.
#[derive(Debug, Clone)]
pub struct Plugin {
    pub lang: &'static str,
    pub spec: String,
    /// The plugin's own folder.
    pub dir: PathBuf,
    /// Compilation target (a rust triple; `wasip1` for Go).
    pub target: String,
    /// Files and folders whose content decides whether to rebuild.
    pub inputs: Vec<PathBuf>,
    /// The toolchain's own name for it (a cargo package id), if any.
    pub id: String,
}

impl Plugin {
    pub fn label(&self) -> String {
        format!("{}/{}", self.lang, self.spec)
    }
}

pub struct BuildContext {
    pub project: Project,
    /// `--jobs` when given, passed on to compilers that take it.
    pub jobs: Option<usize>,
}

/// Outcome of compiling one plugin.
pub struct Built {
    pub spec: String,
    pub result: Result<PathBuf, String>,
}

/// All plugins in one unit of work (none when there are none), for languages
/// whose builds share a compiler run or a lock.
pub fn one_batch(plugins: Vec<Plugin>) -> Vec<Vec<Plugin>> {
    if plugins.is_empty() {
        Vec::new()
    } else {
        vec![plugins]
    }
}

/// Drops what the outer `cargo xtask` put into the environment, so the inner
/// toolchains pick their own cargo, rustc, target dir and flags.
pub fn scrub_env(mut cmd: Cmd<'_>) -> Cmd<'_> {
    for key in leaked_env() {
        cmd = cmd.env_remove(key);
    }
    cmd
}

pub use polyplug_suite_args::leaked_env;

/// Runs a short query command (`rustc -vV`); its trimmed stdout on success.
pub fn query(program: &Path, args: &[&str], dir: Option<&Path>) -> Option<String> {
    let sh = xshell::Shell::new().ok()?;
    if let Some(dir) = dir {
        sh.change_dir(dir);
    }
    let cmd = scrub_env(sh.cmd(program).args(args))
        .quiet()
        .ignore_stderr();
    let out = cmd.ignore_status().output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// A failed external command: the command, its status, stdout and stderr.
pub fn command_failure(what: &str, out: &std::process::Output) -> String {
    let mut msg = format!("{what} failed ({})", out.status);
    for (name, stream) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        let text = String::from_utf8_lossy(stream);
        if !text.trim().is_empty() {
            msg.push_str(&format!("\n--- {name} ---\n{}", text.trim_end()));
        }
    }
    msg
}

#[cfg(test)]
mod template_tests {
    use super::*;

    #[test]
    fn fill_replaces_keys_and_keeps_sections_by_flag() {
        let template =
            "a {{x}} b\n{{#on}}\nkept {{y}}\n{{/on}}\n{{^on}}\ndropped\n{{/on}}\nend ${z}\n";
        let out = fill(template, &[("x", "1"), ("y", "2")], &[("on", true)]);
        assert_eq!(out, "a 1 b\nkept 2\nend ${z}\n");
        let out = fill(template, &[("x", "1"), ("y", "2")], &[("on", false)]);
        assert_eq!(out, "a 1 b\ndropped\nend ${z}\n");
    }

    #[test]
    #[should_panic(expected = "template key `nope` has no value")]
    fn fill_refuses_an_unknown_key() {
        fill("{{nope}}", &[], &[]);
    }

    /// Every language's templates fill without a leftover placeholder, for
    /// every mix of exports, and name each export's not-implemented message.
    #[test]
    fn every_language_scaffolds_every_mix_of_exports() {
        let abi = Export {
            name: "do_it".into(),
            raw: false,
        };
        let raw = Export {
            name: "sum".into(),
            raw: true,
        };
        for exports in [vec![abi.clone()], vec![raw.clone()], vec![abi, raw]] {
            for lang in all() {
                let files = lang.scaffold("new-spec", &exports).unwrap();
                assert!(!files.is_empty(), "{}", lang.name());
                let text: String = files.iter().map(|(_, t)| t.as_str()).collect();
                assert!(!text.contains("{{"), "{}: {text}", lang.name());
                for export in &exports {
                    let message = not_implemented("new-spec", &export.name);
                    assert!(text.contains(&message), "{}: {text}", lang.name());
                }
                for (path, _) in &files {
                    assert!(
                        path.starts_with(lang.source_dir()),
                        "{}: {}",
                        lang.name(),
                        path.display()
                    );
                }
            }
        }
    }
}
