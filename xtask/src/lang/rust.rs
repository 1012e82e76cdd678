//! Rust plugins: crates of the plugins-rust/ workspace that declare
//! `[package.metadata.polyplug] spec`. Built with rustup's wasm targets when
//! installed, otherwise with a rustc that ships its std sources
//! (`-Zbuild-std`, Debian's rustc-web + rust-web-src).

use std::collections::BTreeMap;
use std::io::Cursor;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use cargo_metadata::{diagnostic::DiagnosticLevel, Message, MetadataCommand};

use super::{
    command_failure, fill, leaked_env, not_implemented, query, scrub_env, BuildContext, Built,
    Export, Language, Plugin, Provision, Toolchain,
};
use crate::project::Project;

pub struct Rust;

pub const LANGUAGE: &dyn Language = &Rust;

const DEFAULT_TARGET: &str = "wasm32-unknown-unknown";
const TARGETS: &[&str] = &["wasm32-unknown-unknown", "wasm32-wasip1"];
/// Debian's wasi-libc: the C library wasm32-wasip1 links against under build-std.
const WASI_LIBC: &str = "/usr/lib/wasm32-wasi";
const APT: &[&str] = &[
    "rustc-web",
    "cargo-web",
    "rust-web-src",
    "lld-22",
    "wasi-libc",
];
/// Forces a strategy (`target` or `build-std`) instead of picking the best one.
const STRATEGY_ENV: &str = "POLYPLUG_RUST_STRATEGY";
/// Words that cannot name a function (an export) or a crate (a spec): Rust's
/// keywords, and the standard library's crates for the crate name.
const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "self", "Self", "static", "struct", "super", "trait", "true", "try", "type",
    "typeof", "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];
const STD_CRATES: &[&str] = &["alloc", "core", "proc_macro", "std", "test"];

impl Language for Rust {
    fn name(&self) -> &'static str {
        "rust"
    }

    fn source_dir(&self) -> &'static str {
        "plugins-rust"
    }

    fn order(&self) -> u32 {
        10
    }

    fn ci_setup(&self) -> serde_json::Value {
        serde_json::json!({ "rust_targets": TARGETS.join(","), "apt": "" })
    }

    fn ci_macos(&self) -> bool {
        true
    }

    fn detect(&self, project: &Project) -> Toolchain {
        let forced = std::env::var(STRATEGY_ENV).unwrap_or_default();
        let dir = existing_dir(&project.root.join(self.source_dir()), &project.root);
        let mut found = None;
        if forced != "build-std" {
            found = rustup_targets(&dir);
        }
        if found.is_none() && forced != "target" {
            found = build_std(&dir);
        }
        found.unwrap_or_else(|| {
            Toolchain::missing(
                "rustc",
                format!(
                    "no Rust toolchain can build wasm: run `cargo xtask setup`, i.e. `rustup target add {}`, \
                     or as root `apt-get install -y {}`",
                    TARGETS.join(" "),
                    APT.join(" ")
                ),
            )
        })
    }

    fn provision(&self) -> Provision {
        Provision {
            rustup_targets: TARGETS.to_vec(),
            apt_packages: APT.to_vec(),
            manual: None,
        }
    }

    fn discover(&self, project: &Project, toolchain: &Toolchain) -> Result<Vec<Plugin>> {
        let workspace = project.root.join(self.source_dir());
        let manifest = workspace.join("Cargo.toml");
        if !manifest.is_file() {
            return Ok(Vec::new());
        }
        let cargo = if toolchain.program.as_os_str().is_empty() {
            which::which("cargo")
                .context("cannot find `cargo` to read plugins-rust/Cargo.toml: install Rust")?
        } else {
            toolchain.program.clone()
        };
        // Full metadata (not --no-deps): it writes or updates Cargo.lock now,
        // so the lock hashed into each cache key is the one the build uses.
        let mut cmd = MetadataCommand::new();
        cmd.cargo_path(cargo).manifest_path(&manifest);
        for key in leaked_env() {
            cmd.env_remove(key);
        }
        for (key, value) in &toolchain.env {
            cmd.env(key, value);
        }
        let metadata = cmd
            .exec()
            .map_err(|e| anyhow::anyhow!("{e}"))
            .with_context(|| {
                format!(
                    "cannot read the Rust plugins workspace {}: fix its Cargo.toml",
                    project.display_path(&manifest)
                )
            })?;

        let mut shared: Vec<PathBuf> = vec![
            manifest.clone(),
            workspace.join("Cargo.lock"),
            workspace.join(".cargo"),
        ];
        shared.retain(|p| p.exists());
        let mut plugins = Vec::new();
        for package in metadata.workspace_packages() {
            let crate_manifest = package.manifest_path.as_std_path();
            let shown = project.display_path(crate_manifest);
            let is_cdylib = package
                .targets
                .iter()
                .any(|t| t.crate_types.iter().any(|c| c.to_string() == "cdylib"));
            let polyplug = package.metadata.get("polyplug");
            let spec = polyplug
                .and_then(|p| p.get("spec"))
                .and_then(|s| s.as_str());
            let spec = match (spec, is_cdylib) {
                (Some(spec), true) => spec.to_string(),
                // A library crate shared by plugins: an input, not a plugin.
                (None, false) if polyplug.is_none() => continue,
                (None, _) => bail!(
                    "plugin crate `{}` ({shown}) has no polyplug spec: add `[package.metadata.polyplug]` with `spec = \"{}\"`",
                    package.name,
                    package.name
                ),
                (Some(_), false) => bail!(
                    "plugin crate `{}` ({shown}) is not a cdylib: add `[lib]` with `crate-type = [\"cdylib\"]`",
                    package.name
                ),
            };
            // The spec names a file under target/plugins/rust/.
            if spec.is_empty()
                || !spec
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                bail!("plugin crate `{}` ({shown}) has spec = {spec:?}: use letters, digits, `-` and `_` only", package.name);
            }
            if let Some(other) = plugins.iter().find(|p: &&Plugin| p.spec == spec) {
                bail!(
                    "plugin crates `{}` and {} both implement spec `{spec}`: give each spec one crate",
                    package.name,
                    project.display_path(&other.dir)
                );
            }
            let target = match polyplug.and_then(|p| p.get("target")) {
                None => DEFAULT_TARGET.to_string(),
                Some(t) => match t.as_str() {
                    Some(t) if TARGETS.contains(&t) => t.to_string(),
                    _ => bail!(
                        "plugin crate `{}` ({shown}) has target = {t}: use one of {}",
                        package.name,
                        TARGETS.join(", ")
                    ),
                },
            };
            let dir = crate_manifest.parent().unwrap_or(&workspace).to_path_buf();
            let mut inputs = vec![dir.clone()];
            // Path dependencies (shared crates in the workspace) change the output too.
            inputs.extend(
                package
                    .dependencies
                    .iter()
                    .filter_map(|d| d.path.as_ref())
                    .map(|p| p.clone().into_std_path_buf()),
            );
            inputs.extend(shared.iter().cloned());
            plugins.push(Plugin {
                lang: self.name(),
                spec,
                dir,
                target,
                inputs,
                id: package.id.repr.clone(),
            });
        }
        Ok(plugins)
    }

    /// One unit for all Rust plugins: they share one cargo target dir, so
    /// parallel cargos would only wait on each other's lock. Inside it, one
    /// `cargo build -p a -p b ...` per target triple.
    fn batches(&self, plugins: Vec<Plugin>) -> Vec<Vec<Plugin>> {
        super::one_batch(plugins)
    }

    fn build(&self, ctx: &BuildContext, toolchain: &Toolchain, batch: &[Plugin]) -> Vec<Built> {
        let mut by_target: BTreeMap<&str, Vec<&Plugin>> = BTreeMap::new();
        for plugin in batch {
            by_target
                .entry(plugin.target.as_str())
                .or_default()
                .push(plugin);
        }
        let mut built = Vec::new();
        for (target, plugins) in by_target {
            built.extend(build_target(ctx, toolchain, target, &plugins));
        }
        built
    }

    /// A crate `plugins-rust/<spec>/` named after the spec, on extism-pdk
    /// unless every export is raw (then, like raw-add, without it).
    fn scaffold(&self, spec: &str, exports: &[Export]) -> Result<Vec<(PathBuf, String)>> {
        let crate_name = spec.replace('-', "_");
        if KEYWORDS.contains(&crate_name.as_str()) || STD_CRATES.contains(&crate_name.as_str()) {
            bail!("`{spec}` cannot name a Rust crate (a keyword or a standard library crate): pick another spec name");
        }
        let mut blocks = Vec::new();
        for export in exports {
            if KEYWORDS.contains(&export.name.as_str()) {
                bail!(
                    "export `{}` is a Rust keyword, which cannot name a function: pick another name",
                    export.name
                );
            }
            let template = if export.raw {
                include_str!("rust/template/raw.rs.tmpl")
            } else {
                include_str!("rust/template/export.rs.tmpl")
            };
            let message = not_implemented(spec, &export.name);
            blocks.push(fill(
                template,
                &[("name", &export.name), ("message", &message)],
                &[],
            ));
        }
        let blocks = blocks.join("\n");
        let pdk = [("pdk", exports.iter().any(|e| !e.raw))];
        let dir = Path::new(self.source_dir()).join(spec);
        Ok(vec![
            (
                dir.join("Cargo.toml"),
                fill(
                    include_str!("rust/template/Cargo.toml.tmpl"),
                    &[("spec", spec)],
                    &pdk,
                ),
            ),
            (
                dir.join("src/lib.rs"),
                fill(
                    include_str!("rust/template/lib.rs.tmpl"),
                    &[("spec", spec), ("exports", blocks.trim_end())],
                    &pdk,
                ),
            ),
        ])
    }

    /// The crate joins plugins-rust/Cargo.toml's `members`, kept sorted.
    fn register(&self, project: &Project, spec: &str) -> Result<Vec<(PathBuf, String)>> {
        let relative = Path::new(self.source_dir()).join("Cargo.toml");
        let manifest = project.root.join(&relative);
        let text = std::fs::read_to_string(&manifest).with_context(|| {
            format!(
                "cannot read {}: the Rust plugins need their workspace",
                relative.display()
            )
        })?;
        // A crate in another folder may already implement the spec.
        for entry in std::fs::read_dir(project.root.join(self.source_dir()))?.flatten() {
            let crate_manifest = entry.path().join("Cargo.toml");
            let Ok(source) = std::fs::read_to_string(&crate_manifest) else {
                continue;
            };
            let declared = toml::from_str::<toml::Table>(&source).ok().and_then(|t| {
                let spec = t
                    .get("package")?
                    .get("metadata")?
                    .get("polyplug")?
                    .get("spec")?;
                spec.as_str().map(str::to_owned)
            });
            if declared.as_deref() == Some(spec) {
                bail!(
                    "{} already implements spec `{spec}`",
                    project.display_path(&crate_manifest)
                );
            }
        }
        let edited = add_member(&text, spec)
            .with_context(|| format!("cannot add `{spec}` to {}", relative.display()))?;
        Ok(vec![(relative, edited)])
    }
}

/// `text` (a workspace Cargo.toml) with `member` in `[workspace] members`,
/// the list written one member a line and sorted.
fn add_member(text: &str, member: &str) -> Result<String> {
    let table: toml::Table = toml::from_str(text).context("it is not valid TOML")?;
    let members: Vec<String> = table
        .get("workspace")
        .and_then(|w| w.get("members"))
        .and_then(|m| m.as_array())
        .context("it has no `[workspace] members = [...]` list")?
        .iter()
        .filter_map(|m| m.as_str().map(str::to_owned))
        .collect();
    if members.iter().any(|m| m == member) {
        bail!("`{member}` is already a member");
    }
    // The list's text: from `members` to its closing bracket (member names
    // hold no `]`), replaced as a whole.
    let start = text
        .split_inclusive('\n')
        .scan(0, |offset, line| {
            let at = *offset;
            *offset += line.len();
            Some((at, line))
        })
        .find(|(_, line)| {
            line.trim_start()
                .strip_prefix("members")
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        })
        .map(|(at, _)| at)
        .context("cannot find the line starting `members =`")?;
    let end = text[start..]
        .find(']')
        .map(|e| start + e + 1)
        .context("the members list has no closing `]`")?;
    let mut all = members;
    all.push(member.to_owned());
    all.sort();
    let mut list = String::from("members = [\n");
    for m in &all {
        list.push_str(&format!("    {m:?},\n"));
    }
    list.push(']');
    let edited = format!("{}{list}{}", &text[..start], &text[end..]);
    let check: toml::Table = toml::from_str(&edited).context("the edit broke the TOML")?;
    let listed = check["workspace"]["members"]
        .as_array()
        .is_some_and(|m| m.iter().any(|m| m.as_str() == Some(member)));
    if !listed {
        bail!("the edit did not list `{member}`");
    }
    Ok(edited)
}

fn build_target(
    ctx: &BuildContext,
    toolchain: &Toolchain,
    target: &str,
    plugins: &[&Plugin],
) -> Vec<Built> {
    let fail_all = |message: String| -> Vec<Built> {
        plugins
            .iter()
            .map(|p| Built {
                spec: p.spec.clone(),
                result: Err(message.clone()),
            })
            .collect()
    };
    let sh = match xshell::Shell::new() {
        Ok(sh) => sh,
        Err(e) => return fail_all(format!("cannot start cargo: {e}")),
    };
    sh.change_dir(ctx.project.root.join(Rust.source_dir()));
    let target_dir = ctx.project.wasm_build_dir(Rust.name());
    let mut args: Vec<String> = vec!["build".into(), "--release".into(), "--keep-going".into()];
    args.extend([
        "--message-format=json".into(),
        "--target".into(),
        target.into(),
    ]);
    args.push("--target-dir".into());
    args.push(target_dir.to_string_lossy().into_owned());
    if let Some(jobs) = ctx.jobs {
        args.push(format!("-j{jobs}"));
    }
    args.extend(toolchain.args.iter().cloned());
    for plugin in plugins {
        args.push("-p".into());
        args.push(plugin.id.clone());
    }
    let mut cmd = scrub_env(sh.cmd(&toolchain.program).args(&args))
        .quiet()
        .ignore_status();
    for (key, value) in toolchain.env.iter().chain(&target_env(toolchain, target)) {
        cmd = cmd.env(key, value);
    }
    let shown = format!("{} {}", toolchain.program.display(), args.join(" "));
    // A target dir shared between projects (POLYPLUG_WASM_BUILD_DIR) names a
    // crate's module the same in every project: the build and taking its
    // modules happen under one lock, so another project's build of a crate of
    // the same name cannot replace a module between the two.
    let own_dir = ctx.project.wasm_output_dir(Rust.name());
    let shared = target_dir != own_dir;
    let own_dir = own_dir.join(target);
    let _lock = match shared.then(|| lock_shared(&target_dir)).transpose() {
        Ok(lock) => lock,
        Err(e) => return fail_all(format!("{e:#}")),
    };
    let out = match cmd.output() {
        Ok(out) => out,
        Err(e) => return fail_all(format!("cannot run `{shown}`: {e}")),
    };

    let mut wasm: BTreeMap<String, Result<PathBuf, String>> = BTreeMap::new();
    let mut errors: BTreeMap<String, String> = BTreeMap::new();
    for message in Message::parse_stream(Cursor::new(&out.stdout)).flatten() {
        match message {
            Message::CompilerArtifact(artifact) => {
                if let Some(file) = artifact
                    .filenames
                    .iter()
                    .find(|f| f.extension() == Some("wasm"))
                {
                    let file = file.clone().into_std_path_buf();
                    let file = if shared {
                        take_module(&file, &own_dir)
                    } else {
                        Ok(file)
                    };
                    wasm.insert(artifact.package_id.repr, file);
                }
            }
            Message::CompilerMessage(msg) => {
                let is_error = matches!(
                    msg.message.level,
                    DiagnosticLevel::Error | DiagnosticLevel::Ice
                );
                if let (true, Some(rendered)) = (is_error, msg.message.rendered) {
                    errors
                        .entry(msg.package_id.repr)
                        .or_default()
                        .push_str(&rendered);
                }
            }
            _ => {}
        }
    }
    plugins
        .iter()
        .map(|plugin| {
            let result = match wasm.remove(&plugin.id) {
                Some(Ok(file)) if file.is_file() => Ok(file),
                Some(Err(e)) => Err(e),
                _ => Err(match errors.remove(&plugin.id) {
                    Some(diagnostics) => format!(
                        "`{shown}` failed to compile `{}`:\n{diagnostics}",
                        plugin.spec
                    ),
                    None => command_failure(
                        &format!("`{shown}`"),
                        &std::process::Output {
                            stdout: Vec::new(),
                            ..out.clone()
                        },
                    ),
                }),
            };
            Built {
                spec: plugin.spec.clone(),
                result,
            }
        })
        .collect()
}

/// The shared target dir, held until dropped.
fn lock_shared(dir: &Path) -> Result<std::fs::File> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    crate::dir_lock::hold(
        dir,
        ".polyplug-build.lock",
        &format!(
            "rust: another project is building in the shared {}: waiting for it",
            dir.display()
        ),
    )
}

/// Copies a module cargo wrote in a shared target dir into this project's own
/// output dir, and says where it is now.
fn take_module(file: &Path, own_dir: &Path) -> Result<PathBuf, String> {
    let name = file.file_name().unwrap_or_default();
    let taken = own_dir.join(name);
    std::fs::create_dir_all(own_dir)
        .and_then(|()| std::fs::copy(file, &taken))
        .map(|_| taken.clone())
        .map_err(|e| {
            format!(
                "cannot copy {} to {}: {e} (is the disk full?)",
                file.display(),
                taken.display()
            )
        })
}

/// Extra environment for one triple: build-std links wasip1 against Debian's wasi-libc.
fn target_env(toolchain: &Toolchain, target: &str) -> Vec<(String, String)> {
    if toolchain.strategy == "build-std" && target == "wasm32-wasip1" {
        vec![(
            "RUSTFLAGS".into(),
            format!("-C link-self-contained=no -L {WASI_LIBC}"),
        )]
    } else {
        Vec::new()
    }
}

/// `target`: rustup has the wasm std for the toolchain that plugins-rust/ uses.
fn rustup_targets(dir: &Path) -> Option<Toolchain> {
    let rustup = which::which("rustup").ok()?;
    let installed = query(&rustup, &["target", "list", "--installed"], Some(dir))?;
    if !TARGETS
        .iter()
        .all(|t| installed.lines().any(|l| l.trim() == *t))
    {
        return None;
    }
    // The proxies next to rustup honour the folder's toolchain file.
    let bin = rustup.parent()?;
    let (cargo, rustc) = (bin.join("cargo"), bin.join("rustc"));
    let detail = query(&rustc, &["-vV"], Some(dir))?;
    Some(Toolchain {
        ready: true,
        strategy: "target".into(),
        name: "rustc",
        version: release(&detail),
        version_detail: detail,
        program: cargo,
        ..Toolchain::default()
    })
}

/// `build-std`: a rustc whose sysroot holds the std sources (rust-web-src).
fn build_std(dir: &Path) -> Option<Toolchain> {
    let mut candidates = vec![PathBuf::from("/usr/bin/rustc")];
    candidates.extend(which::which_all("rustc").into_iter().flatten());
    let rustc = candidates.into_iter().find(|rustc| {
        rustc.is_file()
            && query(rustc, &["--print", "sysroot"], Some(dir)).is_some_and(|root| {
                Path::new(&root)
                    .join("lib/rustlib/src/rust/library")
                    .is_dir()
            })
    })?;
    let cargo = rustc.with_file_name("cargo");
    let detail = query(&rustc, &["-vV"], Some(dir))?;
    let mut toolchain = Toolchain {
        ready: true,
        strategy: "build-std".into(),
        name: "rustc",
        version: release(&detail),
        version_detail: detail,
        program: cargo.clone(),
        env: vec![
            ("RUSTC".into(), rustc.to_string_lossy().into_owned()),
            // -Zbuild-std is unstable; the std sources match this rustc exactly.
            ("RUSTC_BOOTSTRAP".into(), "1".into()),
        ],
        args: vec!["-Zbuild-std=std,panic_abort".into()],
        ..Toolchain::default()
    };
    if !cargo.is_file() {
        toolchain.ready = false;
        toolchain.hint = format!(
            "{} has no cargo beside it: apt-get install -y cargo-web",
            rustc.display()
        );
    } else if !Path::new(WASI_LIBC).join("libc.a").is_file() {
        toolchain.ready = false;
        toolchain.hint =
            format!("wasm32-wasip1 needs wasi-libc in {WASI_LIBC}: apt-get install -y wasi-libc");
    }
    Some(toolchain)
}

fn release(version_detail: &str) -> String {
    version_detail
        .lines()
        .find_map(|l| l.strip_prefix("release: "))
        .unwrap_or("unknown")
        .to_string()
}

fn existing_dir(preferred: &Path, fallback: &Path) -> PathBuf {
    if preferred.is_dir() {
        preferred
    } else {
        fallback
    }
    .to_path_buf()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workspace(crates: &[(&str, &str)]) -> (tempfile::TempDir, Project) {
        let dir = tempfile::tempdir().unwrap();
        let ws = dir.path().join("plugins-rust");
        let members: Vec<String> = crates.iter().map(|(name, _)| format!("{name:?}")).collect();
        std::fs::create_dir_all(&ws).unwrap();
        std::fs::write(
            ws.join("Cargo.toml"),
            format!(
                "[workspace]\nresolver = \"2\"\nmembers = [{}]\n",
                members.join(", ")
            ),
        )
        .unwrap();
        for (name, extra) in crates {
            std::fs::create_dir_all(ws.join(name).join("src")).unwrap();
            std::fs::write(ws.join(name).join("src/lib.rs"), "").unwrap();
            let manifest = format!(
                "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n{extra}"
            );
            std::fs::write(ws.join(name).join("Cargo.toml"), manifest).unwrap();
        }
        let project = Project {
            root: dir.path().to_path_buf(),
        };
        (dir, project)
    }

    const CDYLIB: &str = "[lib]\ncrate-type = [\"cdylib\"]\n";

    #[test]
    fn crates_with_a_spec_are_plugins() {
        let wasi = format!(
            "{CDYLIB}[package.metadata.polyplug]\nspec = \"wasi\"\ntarget = \"wasm32-wasip1\"\n"
        );
        let hello = format!("{CDYLIB}[package.metadata.polyplug]\nspec = \"hello\"\n");
        let (_dir, project) =
            workspace(&[("hello-plugin", &hello), ("wasi", &wasi), ("helpers", "")]);
        let mut plugins = Rust.discover(&project, &Toolchain::default()).unwrap();
        plugins.sort_by(|a, b| a.spec.cmp(&b.spec));
        let found: Vec<_> = plugins
            .iter()
            .map(|p| (p.spec.as_str(), p.target.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                ("hello", "wasm32-unknown-unknown"),
                ("wasi", "wasm32-wasip1")
            ]
        );
        let ws = project.root.join("plugins-rust");
        assert_eq!(plugins[0].dir, ws.join("hello-plugin"));
        assert!(
            plugins[0].inputs.contains(&ws.join("Cargo.lock")),
            "{:?}",
            plugins[0].inputs
        );
        assert!(plugins[0].id.contains("hello-plugin"), "{}", plugins[0].id);
    }

    #[test]
    fn a_cdylib_without_a_spec_is_an_error() {
        let (_dir, project) = workspace(&[("bare", CDYLIB)]);
        let err = Rust
            .discover(&project, &Toolchain::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("plugin crate `bare` (plugins-rust/bare/Cargo.toml) has no polyplug spec"),
            "{err}"
        );
    }

    #[test]
    fn a_spec_without_a_cdylib_is_an_error() {
        let (_dir, project) =
            workspace(&[("rlib", "[package.metadata.polyplug]\nspec = \"rlib\"\n")]);
        let err = Rust
            .discover(&project, &Toolchain::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("is not a cdylib"), "{err}");
    }

    #[test]
    fn a_spec_is_implemented_once_and_names_a_file() {
        let spec = |s: &str| format!("{CDYLIB}[package.metadata.polyplug]\nspec = \"{s}\"\n");
        let (_dir, project) = workspace(&[("one", &spec("hello")), ("two", &spec("hello"))]);
        let err = Rust
            .discover(&project, &Toolchain::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("both implement spec `hello`"), "{err}");
        let (_dir, project) = workspace(&[("evil", &spec("../../etc"))]);
        let err = Rust
            .discover(&project, &Toolchain::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("letters, digits"), "{err}");
    }

    #[test]
    fn a_new_member_is_listed_in_order() {
        let text = "# plugins\n[workspace]\nresolver = \"2\"\nmembers = [\n    \"alpha\",\n    \"gamma\",\n]\n\n[profile.release]\nopt-level = \"s\"\n";
        assert_eq!(
            add_member(text, "beta").unwrap(),
            "# plugins\n[workspace]\nresolver = \"2\"\nmembers = [\n    \"alpha\",\n    \"beta\",\n    \"gamma\",\n]\n\n[profile.release]\nopt-level = \"s\"\n"
        );
        let one_line = "[workspace]\nmembers = [\"b\", \"c\"]\n";
        assert_eq!(
            add_member(one_line, "a").unwrap(),
            "[workspace]\nmembers = [\n    \"a\",\n    \"b\",\n    \"c\",\n]\n"
        );
        let err = add_member(one_line, "b").unwrap_err().to_string();
        assert!(err.contains("already a member"), "{err}");
        let err = add_member("[package]\nname = \"x\"\n", "a")
            .unwrap_err()
            .to_string();
        assert!(err.contains("no `[workspace] members"), "{err}");
    }

    #[test]
    fn register_lists_the_crate_unless_one_implements_the_spec_already() {
        let hello = format!("{CDYLIB}[package.metadata.polyplug]\nspec = \"hello\"\n");
        let (_dir, project) = workspace(&[("hello-plugin", &hello)]);
        let edits = Rust.register(&project, "new-one").unwrap();
        assert_eq!(edits.len(), 1);
        assert_eq!(edits[0].0, Path::new("plugins-rust/Cargo.toml"));
        assert!(
            edits[0]
                .1
                .contains("\"hello-plugin\",\n    \"new-one\",\n]"),
            "{}",
            edits[0].1
        );
        let err = Rust.register(&project, "hello").unwrap_err().to_string();
        assert!(
            err.contains("plugins-rust/hello-plugin/Cargo.toml already implements spec `hello`"),
            "{err}"
        );
    }

    #[test]
    fn a_keyword_is_no_export_or_crate_name() {
        let export = |name: &str| Export {
            name: name.into(),
            raw: false,
        };
        let err = Rust
            .scaffold("ok", &[export("type")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("export `type` is a Rust keyword"), "{err}");
        let err = Rust
            .scaffold("std", &[export("f")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("cannot name a Rust crate"), "{err}");
    }

    #[test]
    fn a_broken_workspace_names_its_manifest() {
        let (_dir, project) = workspace(&[]);
        std::fs::write(project.root.join("plugins-rust/Cargo.toml"), "[workspace\n").unwrap();
        let err = format!(
            "{:#}",
            Rust.discover(&project, &Toolchain::default()).unwrap_err()
        );
        assert!(
            err.contains("cannot read the Rust plugins workspace plugins-rust/Cargo.toml"),
            "{err}"
        );
    }
}
