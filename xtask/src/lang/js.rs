//! JavaScript plugins (plugins-js/<spec>/index.js + index.d.ts, the extism-js
//! layout): built with `extism-js` when it is on PATH, otherwise with the
//! built-in compiler (crates/js: QuickJS pre-initialised by Wizer), whose
//! engine module is compiled once for wasm32-wasip1 and reused until its
//! sources change.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::{
    command_failure, fill, not_implemented, scrub_env, BuildContext, Built, Export, Language,
    Plugin, Provision, Toolchain,
};
use crate::project::Project;

pub struct Js;

pub const LANGUAGE: &dyn Language = &Js;

/// What the built-in compiler's engine build needs for QuickJS's C (DESIGN.md):
/// clang and wasi-libc, shaped like a wasi-sdk by crates/js.
const C_NEEDS: &[&str] = &[
    "/usr/bin/clang-19",
    "/usr/bin/llvm-ar-19",
    "/usr/include/wasm32-wasi",
    "/usr/lib/wasm32-wasi",
];
const APT: &[&str] = &[
    "clang-19",
    "llvm-19",
    "libclang-rt-19-dev-wasm32",
    "wasi-libc",
];
/// JavaScript's reserved words, which cannot name a function (an export).
const RESERVED: &[&str] = &[
    "await", "break", "case", "catch", "class", "const", "continue", "debugger", "default",
    "delete", "do", "else", "enum", "export", "extends", "false", "finally", "for", "function",
    "if", "implements", "import", "in", "instanceof", "interface", "let", "new", "null",
    "package", "private", "protected", "public", "return", "static", "super", "switch", "this",
    "throw", "true", "try", "typeof", "var", "void", "while", "with", "yield",
];
/// The engine's Rust without rustup's wasm32-wasip1 target: Debian's rustc
/// building std from source.
const DEBIAN_RUST: &[&str] = &["rustc-web", "cargo-web", "rust-web-src", "lld-22"];

/// How the engine's Rust half would be compiled, if it can be.
fn engine_rust() -> Option<&'static str> {
    let rustup_target = which::which("rustup")
        .ok()
        .and_then(|rustup| super::query(&rustup, &["target", "list", "--installed"], None))
        .is_some_and(|list| list.lines().any(|l| l.trim() == "wasm32-wasip1"));
    if rustup_target {
        Some("rustup wasm32-wasip1 target")
    } else if Path::new("/usr/bin/cargo").exists() && Path::new("/usr/bin/rustc").exists() {
        Some("Debian rustc with -Zbuild-std")
    } else {
        None
    }
}

impl Language for Js {
    fn name(&self) -> &'static str {
        "js"
    }

    fn source_dir(&self) -> &'static str {
        "plugins-js"
    }

    fn order(&self) -> u32 {
        30
    }

    /// The built-in compiler and its engine are part of every JS artifact.
    fn watch(&self) -> Vec<&'static str> {
        vec![self.source_dir(), "crates/js", "crates/js-engine"]
    }

    /// The built-in JS compiler's engine: Rust's wasm32-wasip1 std, plus
    /// clang and wasi-libc for QuickJS's C (Debian packages: Linux only).
    fn ci_setup(&self) -> serde_json::Value {
        serde_json::json!({ "rust_targets": "wasm32-wasip1", "apt": APT.join(" ") })
    }

    fn detect(&self, project: &Project) -> Toolchain {
        if let Ok(extism_js) = which::which("extism-js") {
            if let Some(version) = super::query(&extism_js, &["--version"], None) {
                return Toolchain {
                    ready: true,
                    strategy: "extism-js".into(),
                    name: "extism-js",
                    version: version.split_whitespace().last().unwrap_or("").to_string(),
                    version_detail: version,
                    program: extism_js,
                    ..Toolchain::default()
                };
            }
        }
        let version = compiler_version(project);
        let missing: Vec<&str> = C_NEEDS
            .iter()
            .copied()
            .filter(|p| !Path::new(p).exists())
            .collect();
        let rust = engine_rust();
        if !missing.is_empty() || rust.is_none() {
            let mut todo = Vec::new();
            if rust.is_none() {
                todo.push(format!(
                    "`rustup target add wasm32-wasip1` (or as root `apt-get install -y {}`)",
                    DEBIAN_RUST.join(" ")
                ));
            }
            if !missing.is_empty() {
                todo.push(format!("as root `apt-get install -y {}`", APT.join(" ")));
            }
            let mut toolchain = Toolchain::missing(
                "polyplug-js",
                format!(
                    "the built-in JS compiler needs {}: run `cargo xtask setup`, or {} (or put extism-js on PATH)",
                    if missing.is_empty() { "a wasm32-wasip1 Rust std".to_string() } else { missing.join(", ") },
                    todo.join(" and ")
                ),
            );
            toolchain.version = version;
            return toolchain;
        }
        Toolchain {
            ready: true,
            strategy: "builtin".into(),
            name: "polyplug-js",
            // Part of every JS artifact's cache key: another engine toolchain
            // makes another engine, so the plugins rebuild.
            version_detail: format!(
                "polyplug-js {version} (QuickJS via rquickjs; engine Rust: {})",
                rust.unwrap_or_default()
            ),
            version,
            ..Toolchain::default()
        }
    }

    fn provision(&self) -> Provision {
        Provision {
            rustup_targets: vec!["wasm32-wasip1"],
            apt_packages: APT.to_vec(),
            ..Provision::default()
        }
    }

    fn discover(&self, project: &Project, toolchain: &Toolchain) -> Result<Vec<Plugin>> {
        let dir = project.root.join(self.source_dir());
        if !dir.is_dir() {
            return Ok(Vec::new());
        }
        // The built-in compiler and its engine are inputs of every artifact.
        let compiler: Vec<PathBuf> = if toolchain.strategy == "extism-js" {
            Vec::new()
        } else {
            [
                "crates/js/src",
                "crates/js/Cargo.toml",
                "crates/js-engine/src",
                "crates/js-engine/Cargo.toml",
                "crates/js-engine/Cargo.lock",
            ]
            .iter()
            .map(|p| project.root.join(p))
            .filter(|p| p.exists())
            .collect()
        };
        let mut plugins = Vec::new();
        for entry in
            std::fs::read_dir(&dir).with_context(|| format!("cannot read {}", dir.display()))?
        {
            let path: PathBuf = entry?.path();
            if !path.is_dir() {
                continue;
            }
            if !path.join("index.js").is_file() {
                if path.join("index.d.ts").is_file() {
                    anyhow::bail!(
                        "{} has index.d.ts but no index.js: add the plugin's code or remove the folder",
                        project.display_path(&path)
                    );
                }
                continue;
            }
            let mut inputs = vec![path.clone()];
            inputs.extend(compiler.iter().cloned());
            plugins.push(Plugin {
                lang: self.name(),
                spec: path
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned(),
                dir: path,
                target: "wasm32-wasip1".into(),
                inputs,
                id: String::new(),
            });
        }
        plugins.sort_by(|a, b| a.spec.cmp(&b.spec));
        Ok(plugins)
    }

    /// One batch: the compiler and its engine are built once, then each plugin.
    fn batches(&self, plugins: Vec<Plugin>) -> Vec<Vec<Plugin>> {
        super::one_batch(plugins)
    }

    fn build(&self, ctx: &BuildContext, toolchain: &Toolchain, batch: &[Plugin]) -> Vec<Built> {
        let compiler = if toolchain.strategy == "extism-js" {
            Ok(Compiler::ExtismJs(toolchain.program.clone()))
        } else {
            builtin(ctx)
        };
        batch
            .iter()
            .map(|plugin| Built {
                spec: plugin.spec.clone(),
                result: compiler
                    .as_ref()
                    .map_err(Clone::clone)
                    .and_then(|c| build_one(ctx, c, plugin)),
            })
            .collect()
    }

    /// `plugins-js/<spec>/index.js` and `index.d.ts`, in the extism-js layout.
    fn scaffold(&self, spec: &str, exports: &[Export]) -> Result<Vec<(PathBuf, String)>> {
        let (mut blocks, mut declarations) = (Vec::new(), String::new());
        for export in exports {
            if RESERVED.contains(&export.name.as_str()) {
                bail!(
                    "export `{}` is a JavaScript reserved word, which cannot name a function: pick another name",
                    export.name
                );
            }
            let (code, declaration) = if export.raw {
                (
                    include_str!("js/template/raw.js.tmpl"),
                    include_str!("js/template/raw.d.ts.tmpl"),
                )
            } else {
                (
                    include_str!("js/template/export.js.tmpl"),
                    include_str!("js/template/export.d.ts.tmpl"),
                )
            };
            let message = not_implemented(spec, &export.name);
            let values = [("name", export.name.as_str()), ("message", &message)];
            blocks.push(fill(code, &values, &[]));
            declarations.push_str(&fill(declaration, &values, &[]));
        }
        let names: Vec<&str> = exports.iter().map(|e| e.name.as_str()).collect();
        let dir = Path::new(self.source_dir()).join(spec);
        Ok(vec![
            (
                dir.join("index.js"),
                fill(
                    include_str!("js/template/index.js.tmpl"),
                    &[
                        ("spec", spec),
                        ("exports", blocks.join("\n").trim_end()),
                        ("names", &names.join(", ")),
                    ],
                    &[],
                ),
            ),
            (
                dir.join("index.d.ts"),
                fill(
                    include_str!("js/template/index.d.ts.tmpl"),
                    &[("declarations", declarations.trim_end())],
                    &[],
                ),
            ),
        ])
    }
}

enum Compiler {
    ExtismJs(PathBuf),
    Builtin { binary: PathBuf, engine: PathBuf },
}

/// The crate's version, read from crates/js/Cargo.toml without building it.
fn compiler_version(project: &Project) -> String {
    std::fs::read_to_string(project.root.join("crates/js/Cargo.toml"))
        .ok()
        .and_then(|text| {
            text.lines().find_map(|l| {
                l.strip_prefix("version = \"")
                    .map(|v| v.trim_end_matches('"').to_string())
            })
        })
        .unwrap_or_else(|| "unknown".into())
}

/// Builds the polyplug-js binary (with the suite runner, see tools.rs) and
/// the engine module (cached by cargo's freshness check).
fn builtin(ctx: &BuildContext) -> Result<Compiler, String> {
    let binary = crate::tools::build(&ctx.project)
        .map_err(|e| format!("{e:#}"))?
        .js;
    let target = crate::tools::workspace(&ctx.project).join("target");
    let sh = xshell::Shell::new().map_err(|e| format!("cannot start the JS compiler: {e}"))?;
    let shown = format!(
        "`{} engine --target-dir {}`",
        binary.display(),
        target.display()
    );
    // Cold, this compiles QuickJS and its Rust for wasm: minutes, so say so.
    if !target
        .join("js-engine/wasm32-wasip1/release/polyplug_js_engine.wasm")
        .is_file()
    {
        eprintln!(
            "js: building the JS engine (QuickJS for wasm32-wasip1, once; about 2 minutes on 2 cores)"
        );
    }
    let out = scrub_env(
        sh.cmd(&binary)
            .args(["engine", "--target-dir"])
            .arg(&target),
    )
    .quiet()
    .ignore_status()
    .output()
    .map_err(|e| format!("cannot run {shown}: {e}"))?;
    if !out.status.success() {
        return Err(command_failure(&shown, &out));
    }
    let engine = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    Ok(Compiler::Builtin { binary, engine })
}

fn build_one(ctx: &BuildContext, compiler: &Compiler, plugin: &Plugin) -> Result<PathBuf, String> {
    let out_dir = ctx.project.wasm_build_dir(plugin.lang);
    std::fs::create_dir_all(&out_dir)
        .map_err(|e| format!("cannot create {}: {e}", out_dir.display()))?;
    let out = out_dir.join(format!("{}.wasm", plugin.spec));
    let _ = std::fs::remove_file(&out);
    let sh = xshell::Shell::new().map_err(|e| format!("cannot start the JS compiler: {e}"))?;
    sh.change_dir(&plugin.dir);
    let (program, args): (&Path, Vec<String>) = match compiler {
        Compiler::ExtismJs(program) => (
            program,
            vec![
                "index.js".into(),
                "-i".into(),
                "index.d.ts".into(),
                "-o".into(),
                out.to_string_lossy().into_owned(),
            ],
        ),
        Compiler::Builtin { binary, engine } => (
            binary,
            vec![
                "build".into(),
                ".".into(),
                "-o".into(),
                out.to_string_lossy().into_owned(),
                "--engine".into(),
                engine.to_string_lossy().into_owned(),
            ],
        ),
    };
    let shown = format!(
        "`{} {}` in {}",
        program.display(),
        args.join(" "),
        ctx.project.display_path(&plugin.dir)
    );
    let result = scrub_env(sh.cmd(program).args(&args))
        .quiet()
        .ignore_status()
        .output()
        .map_err(|e| format!("cannot run {shown}: {e}"))?;
    if !result.status.success() || !out.is_file() {
        return Err(command_failure(&shown, &result));
    }
    Ok(out)
}
