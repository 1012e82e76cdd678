//! AssemblyScript plugins (plugins-assemblyscript/<spec>/index.ts, with the
//! official @extism/as-pdk): one npm package for all of them, installed with
//! `npm ci` at most once per build (skipped while node_modules matches the
//! lock), then asc for every plugin of the build in one node process, through
//! asc's API (assemblyscript/batch.mjs): the flags are the `asc` command's,
//! and an error names that command to reproduce it. Code they share lives
//! in top-level files (common.ts: helpers and the abort hook), never a folder,
//! which would be taken for a plugin.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{bail, Result};
use serde_json::{json, Value};

use super::{
    command_failure, fill, not_implemented, query, scrub_env, BuildContext, Built, Export,
    Language, Plugin, Provision, Toolchain,
};
use crate::project::Project;

pub struct AssemblyScript;

pub const LANGUAGE: &dyn Language = &AssemblyScript;

const LANG: &str = "assemblyscript";
const DIR: &str = "plugins-assemblyscript";
/// asc's entry module in node_modules, which batch.mjs imports.
const ASC_JS: &str = "node_modules/assemblyscript/dist/asc.js";
/// Compiles a batch in one node process (run with `node --input-type=module -e`).
const BATCH: &str = include_str!("assemblyscript/batch.mjs");
/// assemblyscript 0.28 refuses older Node.
const MIN_NODE: u32 = 20;
const APT: &[&str] = &["nodejs", "npm"];
const INSTALL: &str = "install Node.js >= 20 with npm: run `cargo xtask setup`, or as root `apt-get install -y nodejs npm`";
/// Written into node_modules after `npm ci`: the lock's hash it installed.
const STAMP: &str = "node_modules/.polyplug-lock.sha256";
/// The runtime's abort hook every plugin is built with, by asc's internal
/// name: `myAbort` in common.ts, which each index.ts imports. asc's default
/// imports env.abort, which no Extism host provides.
const ABORT: &str = "common/myAbort";
/// Names an export's function cannot take: TypeScript's reserved words. The
/// abort hook is not one: it lives in common.ts, which the template imports
/// without naming anything.
#[rustfmt::skip]
const RESERVED: &[&str] = &[
    "break", "case", "catch", "class", "const", "continue", "debugger", "default", "delete", "do",
    "else", "enum", "export", "extends", "false", "finally", "for", "function", "if", "import",
    "in", "instanceof", "new", "null", "return", "super", "switch", "this", "throw", "true",
    "try", "typeof", "var", "void", "while", "with", "implements", "interface", "let", "package",
    "private", "protected", "public", "static", "yield",
];

impl Language for AssemblyScript {
    fn name(&self) -> &'static str {
        LANG
    }

    fn source_dir(&self) -> &'static str {
        DIR
    }

    fn order(&self) -> u32 {
        40
    }

    fn detect(&self, project: &Project) -> Toolchain {
        let compiler = locked_version(&project.root.join(DIR), "assemblyscript")
            .unwrap_or_else(|| "unknown".into());
        let node = which::which("node").ok();
        let npm = which::which("npm").ok();
        let (Some(node), Some(npm)) = (node, npm) else {
            let mut missing =
                Toolchain::missing("asc", format!("no `node` and `npm` on PATH: {INSTALL}"));
            missing.version = compiler;
            return missing;
        };
        let node_version = query(&node, &["--version"], None).unwrap_or_default();
        let npm_version = query(&npm, &["--version"], None).unwrap_or_default();
        let major = node_version
            .trim_start_matches('v')
            .split('.')
            .next()
            .and_then(|m| m.parse::<u32>().ok());
        let mut toolchain = Toolchain {
            ready: true,
            strategy: "npm".into(),
            name: "asc",
            version: format!(
                "{compiler} (node {}, npm {npm_version})",
                node_version.trim_start_matches('v')
            ),
            // The compiler itself is pinned by the lock, an input of every plugin.
            version_detail: format!("node {node_version}; npm {npm_version}"),
            program: node,
            ..Toolchain::default()
        };
        if node_version.is_empty() || npm_version.is_empty() {
            toolchain.ready = false;
            toolchain.strategy = "none".into();
            toolchain.hint = format!("`node --version` or `npm --version` failed: {INSTALL}");
        } else if major.is_none_or(|m| m < MIN_NODE) {
            toolchain.ready = false;
            toolchain.strategy = "none".into();
            toolchain.hint =
                format!("Node.js {node_version} is too old for assemblyscript: {INSTALL}");
        }
        toolchain
    }

    fn provision(&self) -> Provision {
        Provision {
            apt_packages: APT.to_vec(),
            ..Provision::default()
        }
    }

    fn ci_setup(&self) -> Value {
        json!({ "node_version": "20", "apt": "" })
    }

    fn discover(&self, project: &Project, _toolchain: &Toolchain) -> Result<Vec<Plugin>> {
        let dir = project.root.join(DIR);
        let mut plugins = Vec::new();
        for (path, name) in super::plugin_dirs(&dir)? {
            if !path.join("index.ts").is_file() {
                if super::has_files(&path, "ts") {
                    bail!(
                        "{} has TypeScript files but no index.ts: name the plugin's entry file index.ts",
                        project.display_path(&path)
                    );
                }
                continue;
            }
            plugins.push(Plugin {
                lang: self.name(),
                spec: name,
                inputs: vec![path.clone()],
                dir: path,
                target: "wasm32".into(),
                id: String::new(),
            });
        }
        if plugins.is_empty() {
            return Ok(plugins);
        }
        // The top-level .ts files (common.ts) are code every plugin may import.
        let shared = top_level_ts(&dir)?;
        for file in ["package.json", "package-lock.json"] {
            if !dir.join(file).is_file() {
                bail!(
                    "{}/{file} is missing: run `npm install` in {} and commit package.json and package-lock.json",
                    project.display_path(&dir),
                    project.display_path(&dir)
                );
            }
        }
        // The lock pins asc and the PDK: a new version rebuilds every plugin,
        // and so does an edit to the code they share.
        for plugin in &mut plugins {
            plugin.inputs.push(dir.join("package.json"));
            plugin.inputs.push(dir.join("package-lock.json"));
            plugin.inputs.extend(shared.iter().cloned());
        }
        plugins.sort_by(|a, b| a.spec.cmp(&b.spec));
        Ok(plugins)
    }

    /// One batch: asc compiles them all in one node process (batch.mjs).
    fn batches(&self, plugins: Vec<Plugin>) -> Vec<Vec<Plugin>> {
        super::one_batch(plugins)
    }

    fn build(&self, ctx: &BuildContext, toolchain: &Toolchain, batch: &[Plugin]) -> Vec<Built> {
        let results = match npm_ci(ctx, toolchain) {
            Ok(asc) => build_batch(ctx, toolchain, &asc, batch),
            Err(e) => batch.iter().map(|_| Err(e.clone())).collect(),
        };
        batch
            .iter()
            .zip(results)
            .map(|(plugin, result)| Built {
                spec: plugin.spec.clone(),
                result,
            })
            .collect()
    }

    /// `plugins-assemblyscript/<spec>/index.ts`, importing ../common (the
    /// abort hook); it imports the PDK only when an export uses the Extism
    /// ABI, which raw-add's does not.
    fn scaffold(&self, spec: &str, exports: &[Export]) -> Result<Vec<(PathBuf, String)>> {
        let pdk = exports.iter().any(|e| !e.raw);
        let mut blocks = Vec::new();
        for export in exports {
            if RESERVED.contains(&export.name.as_str()) {
                bail!(
                    "export `{}` is reserved in AssemblyScript (a keyword): pick another name",
                    export.name
                );
            }
            let template = if export.raw {
                include_str!("assemblyscript/template/raw.ts.tmpl")
            } else {
                include_str!("assemblyscript/template/export.ts.tmpl")
            };
            let message = not_implemented(spec, &export.name);
            blocks.push(fill(
                template,
                &[("name", &export.name), ("message", &message)],
                &[("pdk", pdk)],
            ));
        }
        let index = fill(
            include_str!("assemblyscript/template/index.ts.tmpl"),
            &[("spec", spec), ("exports", blocks.join("\n").trim_end())],
            &[("pdk", pdk)],
        );
        Ok(vec![(Path::new(DIR).join(spec).join("index.ts"), index)])
    }
}

/// The `.ts` files directly in `dir`, sorted.
fn top_level_ts(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for entry in
        std::fs::read_dir(dir).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", dir.display()))?
    {
        let path = entry?.path();
        if path.is_file() && path.extension().is_some_and(|x| x == "ts") {
            found.push(path);
        }
    }
    found.sort();
    Ok(found)
}

/// The version the lock pins for a package, read without node.
fn locked_version(dir: &Path, package: &str) -> Option<String> {
    let text = std::fs::read_to_string(dir.join("package-lock.json")).ok()?;
    let lock: Value = serde_json::from_str(&text).ok()?;
    lock["packages"][format!("node_modules/{package}")]["version"]
        .as_str()
        .map(str::to_string)
}

/// `npm ci` once per process (plugins build in parallel; the first one
/// installs, the others wait), and not at all while the stamp matches the lock.
fn npm_ci(ctx: &BuildContext, toolchain: &Toolchain) -> Result<PathBuf, String> {
    static DONE: Mutex<Option<Result<PathBuf, String>>> = Mutex::new(None);
    let mut done = DONE.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(result) = done.as_ref() {
        return result.clone();
    }
    let result = install(ctx, toolchain);
    *done = Some(result.clone());
    result
}

fn install(ctx: &BuildContext, toolchain: &Toolchain) -> Result<PathBuf, String> {
    let dir = ctx.project.root.join(DIR);
    let lock = std::fs::read(dir.join("package-lock.json"))
        .map_err(|e| format!("cannot read {DIR}/package-lock.json: {e}"))?;
    let stamp = format!(
        "{} {}\n",
        crate::artifact::sha256_hex(&lock),
        toolchain.version_detail
    );
    let asc = dir.join("node_modules/.bin/asc");
    // Both the command and the module batch.mjs imports: a node_modules
    // missing either is installed again.
    let installed = asc.is_file() && dir.join(ASC_JS).is_file();
    if installed && std::fs::read_to_string(dir.join(STAMP)).is_ok_and(|s| s == stamp) {
        return Ok(asc);
    }
    let npm = which::which("npm").map_err(|_| format!("no `npm` on PATH: {INSTALL}"))?;
    let sh = xshell::Shell::new().map_err(|e| format!("cannot start npm: {e}"))?;
    sh.change_dir(&dir);
    let args = ["ci", "--no-audit", "--no-fund"];
    let shown = format!("`npm {}` in {DIR}", args.join(" "));
    let out = scrub_env(sh.cmd(&npm).args(args))
        .quiet()
        .ignore_status()
        .output()
        .map_err(|e| format!("cannot run {shown}: {e}"))?;
    if !out.status.success() {
        return Err(command_failure(&shown, &out));
    }
    if !asc.is_file() || !dir.join(ASC_JS).is_file() {
        return Err(format!(
            "{shown} installed no {} or {DIR}/{ASC_JS}: add `assemblyscript` to {DIR}/package.json",
            ctx.project.display_path(&asc)
        ));
    }
    std::fs::write(dir.join(STAMP), stamp)
        .map_err(|e| format!("cannot write {DIR}/{STAMP}: {e}"))?;
    Ok(asc)
}

/// The asc flags for one plugin, run from plugins-assemblyscript/.
fn asc_args(spec: &str, out: &Path) -> Vec<String> {
    vec![
        format!("{spec}/index.ts"),
        "--outFile".into(),
        out.to_string_lossy().into_owned(),
        "--use".into(),
        format!("abort={ABORT}"),
        "--optimize".into(),
    ]
}

/// Compiles `batch` in one node process through asc's API (batch.mjs): asc
/// and binaryen load once, not once per plugin. A plugin's error names it,
/// its file and line, and the `asc` command that reproduces it.
fn build_batch(
    ctx: &BuildContext,
    toolchain: &Toolchain,
    asc: &Path,
    batch: &[Plugin],
) -> Vec<Result<PathBuf, String>> {
    let out_dir = ctx.project.wasm_output_dir(LANG);
    if let Err(e) = std::fs::create_dir_all(&out_dir) {
        let e = format!("cannot create {}: {e}", out_dir.display());
        return batch.iter().map(|_| Err(e.clone())).collect();
    }
    let mut jobs = Vec::new();
    for plugin in batch {
        let out = out_dir.join(format!("{}.wasm", plugin.spec));
        // A stale module must not pass for this build's output.
        let _ = std::fs::remove_file(&out);
        jobs.push((plugin.spec.as_str(), out));
    }
    let listed: Vec<Value> = jobs
        .iter()
        .map(|(spec, out)| json!({ "spec": spec, "args": asc_args(spec, out) }))
        .collect();
    let dir = ctx.project.root.join(DIR);
    let asc_js = dir.join(ASC_JS);
    let ran = xshell::Shell::new()
        .map_err(|e| format!("cannot start node: {e}"))
        .and_then(|sh| {
            sh.change_dir(&dir);
            scrub_env(
                sh.cmd(&toolchain.program)
                    .args(["--input-type=module", "-e", BATCH])
                    .arg(&asc_js)
                    .arg(Value::Array(listed).to_string()),
            )
            .env("NO_COLOR", "1")
            .env("FORCE_COLOR", "0")
            .quiet()
            .ignore_status()
            .output()
            .map_err(|e| format!("cannot run node: {e}"))
        });
    let answers: Vec<Value> = ran.as_ref().map_or_else(
        |_| Vec::new(),
        |out| {
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter_map(|line| serde_json::from_str(line).ok())
                .collect()
        },
    );
    jobs.into_iter()
        .map(|(spec, out)| {
            let shown = format!(
                "`{} {}` in {DIR}",
                ctx.project.display_path(asc),
                asc_args(spec, &out).join(" ")
            );
            let Some(answer) = answers.iter().find(|a| a["spec"] == spec) else {
                // node itself failed, or stopped before this plugin.
                return Err(match &ran {
                    Err(e) => e.clone(),
                    Ok(result) => command_failure(
                        &format!(
                            "compiling {spec} with asc's API in node ({})",
                            ctx.project.display_path(&asc_js)
                        ),
                        result,
                    ),
                });
            };
            if answer["ok"] == true && out.is_file() {
                return Ok(out);
            }
            let output = answer["output"].as_str().unwrap_or_default();
            let mut errors = diagnostics(output, DIR);
            errors.extend(missing_common(output, spec));
            let failure = format!(
                "{shown} failed\n--- output ---\n{}",
                strip_ansi(output).trim_end()
            );
            Err(if errors.is_empty() {
                failure
            } else {
                format!("{}\n\n{failure}", errors.join("\n"))
            })
        })
        .collect()
}

/// asc's errors as `file:line:column: ERROR TS2322: message`, the file
/// relative to the project root. asc writes each as a block:
/// `ERROR TS2322: message`, the source excerpt, then `└─ in file(line,col)`.
fn diagnostics(output: &str, dir: &str) -> Vec<String> {
    // asc colours its output in some environments (CI=true) whatever NO_COLOR says.
    let output = strip_ansi(output);
    let mut found = Vec::new();
    let mut message: Option<&str> = None;
    for line in output.lines() {
        let line = line.trim();
        if line.starts_with("ERROR") {
            message = Some(line);
        } else if let (Some(msg), Some(place)) = (message, line.strip_prefix("└─ in ")) {
            let place = place.trim_end_matches(')');
            if let Some((file, at)) = place.split_once('(') {
                found.push(format!("{dir}/{file}:{}: {msg}", at.replace(',', ":")));
            } else {
                found.push(format!("{place}: {msg}"));
            }
            message = None;
        }
    }
    if let Some(msg) = message {
        found.push(msg.to_string());
    }
    found
}

/// What to do when asc cannot find the abort hook: the plugin never imports
/// common.ts, so asc never read it.
fn missing_common(output: &str, spec: &str) -> Option<String> {
    output.contains(&format!("'{ABORT}' not found")).then(|| {
        format!("{DIR}/{spec}/index.ts does not import ../common, which holds the abort hook: add `import \"../common\";`")
    })
}

/// `text` without ANSI colour sequences (`ESC [ ... m`).
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' && chars.peek() == Some(&'[') {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asc_errors_name_file_line_and_message() {
        let output = "\x1b[91mERROR\x1b[0m TS2322: Type '~lib/string/String' is not assignable to type 'i32'.\n   :\n 2 │ return \"x\";\n   │        ~~~\n   └─ in bad/index.ts(2,10)\n\n\x1b[91mFAILURE \x1b[0m1 compile error(s)\n";
        assert_eq!(
            diagnostics(output, DIR),
            [format!("{DIR}/bad/index.ts:2:10: ERROR TS2322: Type '~lib/string/String' is not assignable to type 'i32'.")]
        );
    }

    /// A project whose plugins-assemblyscript holds `files` (path, text).
    fn project_with(files: &[(&str, &str)]) -> (tempfile::TempDir, Project) {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let path = dir.path().join(DIR).join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let project = Project {
            root: dir.path().to_path_buf(),
        };
        (dir, project)
    }

    #[test]
    fn folders_with_index_ts_are_plugins() {
        let (dir, project) = project_with(&[
            (
                "hello/index.ts",
                "export function greet(): i32 { return 0; }",
            ),
            ("node_modules/x/index.ts", ""),
            ("package.json", "{}"),
            ("package-lock.json", "{}"),
        ]);
        let root = dir.path();
        let plugins = AssemblyScript
            .discover(&project, &Toolchain::default())
            .unwrap();
        assert_eq!(plugins.len(), 1);
        assert_eq!(plugins[0].spec, "hello");
        assert!(plugins[0]
            .inputs
            .contains(&root.join(DIR).join("package-lock.json")));

        std::fs::remove_file(root.join(DIR).join("package-lock.json")).unwrap();
        let err = AssemblyScript
            .discover(&project, &Toolchain::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("package-lock.json is missing"), "{err}");
    }

    #[test]
    fn top_level_ts_files_are_inputs_of_every_plugin_not_plugins() {
        let (dir, project) = project_with(&[
            ("common.ts", "export function output(text: string): void {}"),
            ("hello/index.ts", "import { output } from \"../common\";"),
            ("raw-add/index.ts", "import \"../common\";"),
            ("package.json", "{}"),
            ("package-lock.json", "{}"),
        ]);
        let common = dir.path().join(DIR).join("common.ts");
        let plugins = AssemblyScript
            .discover(&project, &Toolchain::default())
            .unwrap();
        let specs: Vec<&str> = plugins.iter().map(|p| p.spec.as_str()).collect();
        assert_eq!(specs, ["hello", "raw-add"]);
        for plugin in &plugins {
            assert!(plugin.inputs.contains(&common), "{:?}", plugin.inputs);
        }
    }

    #[test]
    fn a_plugin_without_common_is_told_to_import_it() {
        let output =
            "ERROR AS111: Element 'common/myAbort' not found.\n\nFAILURE 1 compile error(s)\n";
        assert_eq!(
            missing_common(output, "add").as_deref(),
            Some("plugins-assemblyscript/add/index.ts does not import ../common, which holds the abort hook: add `import \"../common\";`")
        );
        assert_eq!(missing_common("FAILURE 1 compile error(s)", "add"), None);
    }
}
