//! JavaScript plugins (plugins-js/<spec>/index.js + index.d.ts, the extism-js
//! layout): built with `extism-js` when it is on PATH, otherwise with the
//! built-in compiler (crates/js: QuickJS pre-initialised by Wizer), whose
//! engine module is compiled once for wasm32-wasip1 and reused until its
//! sources change. When node and binaryen's wasm-opt (`tools/binaryen`,
//! installed by `cargo xtask setup`) are there, the built-in compiler's
//! artifacts are shrunk (see [`WasmOpt`]); without them they are built as
//! they are, with a notice.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

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
#[rustfmt::skip]
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

/// The npm tool (`tools/binaryen`) whose wasm-opt shrinks the artifacts.
const BINARYEN: &str = "binaryen";
/// The engine, once per engine build, before Wizer snapshots it: binaryen's
/// default pipeline (-Os). Measured on the 0.87 MB engine (2 cores, binaryen
/// 132 under node 20): -O1 6 s -> 796 KB, -O2 11 s -> 785 KB, -O 14 s ->
/// 778 KB, -Oz 14 s -> 777 KB. The same -O on every artifact instead would
/// cost 14-20 s each (11 artifacts), so it runs on the engine only.
const ENGINE_PASSES: &[&str] = &["-O"];
/// Each artifact, after Wizer and the shims: drop what only the build-time
/// initialisation reached (wizer-initialize and the engine's entry exports
/// are gone by then). About 2 s of CPU each, most of it reading and writing
/// the module; it takes 956 KB to 913 KB, as much as a full -O on the
/// artifact would (911 KB).
const PLUGIN_PASSES: &[&str] = &["--remove-unused-module-elements"];
/// The engine has no target_features section: name what it uses (bulk
/// memory) and the other WebAssembly 2.0 features every host here runs, and
/// nothing newer, so wasm-opt never emits what an official host rejects.
const FEATURES: &[&str] = &[
    "--enable-bulk-memory",
    "--enable-sign-ext",
    "--enable-mutable-globals",
    "--enable-nontrapping-float-to-int",
];

/// wasm-opt from the npm package binaryen (wasm-opt compiled to JS and wasm),
/// run with node. Its output is a function of its input, version and flags,
/// so artifacts stay deterministic; the version and flags are part of every
/// artifact's cache key ([`WasmOpt::describe`] in `version_detail`).
#[derive(Debug, Clone)]
struct WasmOpt {
    node: PathBuf,
    script: PathBuf,
    version: String,
}

impl WasmOpt {
    /// wasm-opt as `cargo xtask setup` installs it, or why it is not there
    /// with the command that fixes it.
    fn find(project: &Project) -> Result<WasmOpt, String> {
        let node = which::which("node").map_err(|_| {
            "no `node` on PATH: install Node.js 20 with npm (as root `apt-get install -y nodejs npm`), then run `cargo xtask setup`".to_string()
        })?;
        let modules = crate::provision::npm_tool(project, BINARYEN)?;
        Self::in_modules(node, &modules)
    }

    fn in_modules(node: PathBuf, modules: &Path) -> Result<WasmOpt, String> {
        let package = modules.join(BINARYEN);
        let script = package.join("bin/wasm-opt");
        let version = std::fs::read_to_string(package.join("package.json"))
            .ok()
            .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
            .and_then(|json| json["version"].as_str().map(str::to_string));
        match version {
            Some(version) if script.is_file() => Ok(WasmOpt {
                node,
                script,
                version,
            }),
            _ => Err(format!(
                "no {BINARYEN} wasm-opt in {}: run `cargo xtask setup`",
                modules.display()
            )),
        }
    }

    /// What runs, for the cache key and doctor.
    fn describe(&self) -> String {
        format!(
            "wasm-opt {} ({BINARYEN}, node) {}: engine {}, artifacts {}",
            self.version,
            FEATURES.join(" "),
            ENGINE_PASSES.join(" "),
            PLUGIN_PASSES.join(" ")
        )
    }

    /// Runs wasm-opt on `input` into `output` (through a temporary file, so
    /// a failed run never leaves a half-written module there).
    fn run(&self, input: &Path, output: &Path, passes: &[&str]) -> Result<(), String> {
        let tmp = output.with_extension("wasm-opt.tmp");
        let mut args: Vec<String> = vec![self.script.to_string_lossy().into_owned()];
        args.extend(FEATURES.iter().chain(passes).map(|a| a.to_string()));
        args.extend([
            input.to_string_lossy().into_owned(),
            "-o".into(),
            tmp.to_string_lossy().into_owned(),
        ]);
        let shown = format!("`{} {}`", self.node.display(), args.join(" "));
        let sh = xshell::Shell::new().map_err(|e| format!("cannot start wasm-opt: {e}"))?;
        let out = scrub_env(sh.cmd(&self.node).args(&args))
            .quiet()
            .ignore_status()
            .output()
            .map_err(|e| format!("cannot run {shown}: {e}"))?;
        if !out.status.success() || !tmp.is_file() {
            let _ = std::fs::remove_file(&tmp);
            return Err(command_failure(&shown, &out));
        }
        std::fs::rename(&tmp, output)
            .map_err(|e| format!("cannot move {} to {}: {e}", tmp.display(), output.display()))
    }
}

/// The engine shrunk by [`ENGINE_PASSES`], once: kept in `dir` under the
/// hash of the engine, wasm-opt's version and flags, so later builds (and
/// every plugin of this one) reuse it until the engine changes.
fn shrunk_engine(wasm_opt: &WasmOpt, engine: &Path, dir: &Path) -> Result<PathBuf, String> {
    let bytes =
        std::fs::read(engine).map_err(|e| format!("cannot read {}: {e}", engine.display()))?;
    let mut keyed = bytes;
    keyed.extend_from_slice(wasm_opt.describe().as_bytes());
    let out = dir.join(format!("{}.wasm", crate::artifact::sha256_hex(&keyed)));
    if out.is_file() {
        return Ok(out);
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    eprintln!(
        "js: shrinking the JS engine with wasm-opt {} (once per engine build; about 15 s)",
        ENGINE_PASSES.join(" ")
    );
    wasm_opt.run(engine, &out, ENGINE_PASSES)?;
    // Only the current engine's is kept.
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if entry.path() != out {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    Ok(out)
}

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
        let (shrink, note) = match WasmOpt::find(project) {
            Ok(wasm_opt) => (
                wasm_opt.describe(),
                format!(
                    "JS artifacts are shrunk by wasm-opt {} ({BINARYEN}, run with node) from {}: the engine with {} once, each artifact with {}",
                    wasm_opt.version,
                    project.display_path(&wasm_opt.script),
                    ENGINE_PASSES.join(" "),
                    PLUGIN_PASSES.join(" ")
                ),
            ),
            Err(why) => (
                "no wasm-opt".to_string(),
                format!("JS artifacts are not shrunk: {why}"),
            ),
        };
        Toolchain {
            ready: true,
            strategy: "builtin".into(),
            name: "polyplug-js",
            // Part of every JS artifact's cache key: another engine toolchain
            // makes another engine, so the plugins rebuild; so does wasm-opt
            // appearing, going or changing.
            version_detail: format!(
                "polyplug-js {version} (QuickJS via rquickjs; engine Rust: {}); {shrink}",
                rust.unwrap_or_default()
            ),
            version,
            notes: vec![note],
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
        for (path, spec) in super::plugin_dirs(&dir)? {
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
                spec,
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
        // Each plugin is its own Wizer run (and wasm-opt run): one per core.
        let jobs = ctx
            .jobs
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
        crate::progress::run_pool(jobs, batch, |plugin| Built {
            spec: plugin.spec.clone(),
            result: compiler
                .as_ref()
                .map_err(Clone::clone)
                .and_then(|c| build_one(ctx, c, plugin)),
        })
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
    Builtin {
        binary: PathBuf,
        engine: PathBuf,
        /// wasm-opt for each artifact, when the engine was shrunk.
        shrink: Option<WasmOpt>,
    },
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
    // Cold, this compiles QuickJS and its Rust for wasm (16 s on 2 cores with a
    // rustup target; the standard library too with build-std), so say so.
    if !target
        .join("js-engine/wasm32-wasip1/release/polyplug_js_engine.wasm")
        .is_file()
    {
        eprintln!(
            "js: building the JS engine (QuickJS for wasm32-wasip1, once; about 20 s on 2 cores)"
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
    let (engine, shrink, notice) =
        shrink_step(&ctx.project, &engine, &target.join("js-engine/wasm-opt"))?;
    if let Some(notice) = notice {
        eprintln!("{notice}");
    }
    Ok(Compiler::Builtin {
        binary,
        engine,
        shrink,
    })
}

/// The engine the plugins are built on and the wasm-opt their artifacts go
/// through: the shrunk engine and wasm-opt when binaryen is installed,
/// otherwise the engine as built, no wasm-opt and the one-line notice to show.
fn shrink_step(
    project: &Project,
    engine: &Path,
    dir: &Path,
) -> Result<(PathBuf, Option<WasmOpt>, Option<String>), String> {
    match WasmOpt::find(project) {
        Ok(wasm_opt) => Ok((shrunk_engine(&wasm_opt, engine, dir)?, Some(wasm_opt), None)),
        Err(why) => Ok((
            engine.to_path_buf(),
            None,
            Some(format!("js: notice: JS artifacts are not shrunk: {why}")),
        )),
    }
}

fn build_one(ctx: &BuildContext, compiler: &Compiler, plugin: &Plugin) -> Result<PathBuf, String> {
    let out_dir = ctx.project.wasm_output_dir(plugin.lang);
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
        Compiler::Builtin { binary, engine, .. } => (
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
    if let Compiler::Builtin {
        shrink: Some(wasm_opt),
        ..
    } = compiler
    {
        wasm_opt.run(&out, &out, PLUGIN_PASSES)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A module shaped like the engine: exports that must survive, and a
    /// function nothing reaches, which wasm-opt drops.
    const MODULE: &str = r#"(module
        (memory (export "memory") 1)
        (data (i32.const 16) "hello")
        (func $dead (result i32) (i32.add (i32.const 1) (i32.const 2)))
        (func $helper (param i32) (result i32) (i32.mul (local.get 0) (i32.const 3)))
        (func (export "wizer-initialize"))
        (func (export "greet") (result i32) (call $helper (i32.const 14))))"#;

    fn repo() -> Project {
        Project {
            root: Path::new(env!("CARGO_MANIFEST_DIR")).join(".."),
        }
    }

    fn exports(wasm: &[u8]) -> Vec<String> {
        crate::artifact::inspect(wasm).unwrap().exports
    }

    /// With node on PATH, binaryen is installed as build-all installs it
    /// (`npm ci` into target/tools/binaryen) and shrinks a module: smaller,
    /// still valid, every export kept, the same bytes twice, and the shrunk
    /// engine kept under its key so the next build reuses it.
    #[test]
    fn binaryen_shrinks_the_engine_once_and_keeps_its_exports() {
        if which::which("node").is_err() {
            let why = WasmOpt::find(&repo()).unwrap_err();
            assert!(why.contains("cargo xtask setup"), "{why}");
            eprintln!("no node here: only the notice is checked ({why})");
            return;
        }
        let project = repo();
        crate::provision::npm_tools(&project);
        let wasm_opt = WasmOpt::find(&project).expect("binaryen installed with node present");
        assert!(wasm_opt.describe().contains(&wasm_opt.version));

        let dir = tempfile::tempdir().unwrap();
        let engine = dir.path().join("engine.wasm");
        let module = wat::parse_str(MODULE).unwrap();
        std::fs::write(&engine, &module).unwrap();
        let cache = dir.path().join("wasm-opt");
        let (shrunk, used, notice) = shrink_step(&project, &engine, &cache).unwrap();
        assert!(used.is_some() && notice.is_none());
        assert_ne!(shrunk, engine, "the build uses the shrunk engine");
        let bytes = std::fs::read(&shrunk).unwrap();
        assert!(
            bytes.len() < module.len(),
            "{} >= {}",
            bytes.len(),
            module.len()
        );
        assert_eq!(exports(&bytes), exports(&module));

        // Cached: a second step finds it and does not run wasm-opt again.
        let modified = std::fs::metadata(&shrunk).unwrap().modified().unwrap();
        let (again, _, _) = shrink_step(&project, &engine, &cache).unwrap();
        assert_eq!(again, shrunk);
        assert_eq!(
            std::fs::metadata(&again).unwrap().modified().unwrap(),
            modified
        );

        // The per-artifact pass, in place, is deterministic.
        let plugin = dir.path().join("plugin.wasm");
        let mut outputs = Vec::new();
        for _ in 0..2 {
            std::fs::write(&plugin, &module).unwrap();
            wasm_opt.run(&plugin, &plugin, PLUGIN_PASSES).unwrap();
            outputs.push(std::fs::read(&plugin).unwrap());
        }
        assert_eq!(outputs[0], outputs[1]);
        assert!(outputs[0].len() < module.len());
        assert_eq!(exports(&outputs[0]), exports(&module));
    }

    /// Without binaryen the step is skipped: the engine as built, no
    /// wasm-opt, and one notice line naming the command that fixes it.
    #[test]
    fn missing_binaryen_only_skips_shrinking_with_a_notice() {
        let dir = tempfile::tempdir().unwrap();
        let tools = dir.path().join("tools").join(BINARYEN);
        std::fs::create_dir_all(&tools).unwrap();
        for file in ["package.json", "package-lock.json"] {
            std::fs::copy(
                repo().root.join("tools").join(BINARYEN).join(file),
                tools.join(file),
            )
            .unwrap();
        }
        let project = Project {
            root: dir.path().to_path_buf(),
        };
        let engine = dir.path().join("engine.wasm");
        std::fs::write(&engine, wat::parse_str(MODULE).unwrap()).unwrap();
        let (used, wasm_opt, notice) =
            shrink_step(&project, &engine, &dir.path().join("wasm-opt")).unwrap();
        assert_eq!(used, engine);
        assert!(wasm_opt.is_none());
        let notice = notice.expect("a notice");
        assert!(!notice.contains('\n'), "{notice}");
        assert!(notice.contains("not shrunk") && notice.contains("cargo xtask setup"));
        // A node_modules without binaryen's wasm-opt is the same.
        let empty = dir.path().join("node_modules");
        std::fs::create_dir_all(&empty).unwrap();
        let why = WasmOpt::in_modules(PathBuf::from("node"), &empty).unwrap_err();
        assert!(why.contains("cargo xtask setup"), "{why}");
    }

    /// The cache key follows whether and how wasm-opt runs: the toolchain's
    /// version_detail names wasm-opt's version and flags, or its absence.
    #[test]
    fn the_cache_key_records_the_shrink_step() {
        let project = repo();
        let toolchain = Js.detect(&project);
        if toolchain.strategy != "builtin" {
            return;
        }
        match WasmOpt::find(&project) {
            Ok(wasm_opt) => {
                assert!(toolchain.version_detail.ends_with(&wasm_opt.describe()));
                for flag in FEATURES.iter().chain(ENGINE_PASSES).chain(PLUGIN_PASSES) {
                    assert!(toolchain.version_detail.contains(flag), "{flag}");
                }
                assert!(toolchain.notes[0].contains("are shrunk"));
            }
            Err(_) => {
                assert!(toolchain.version_detail.ends_with("no wasm-opt"));
                assert!(toolchain.notes[0].contains("not shrunk"));
            }
        }
    }
}
