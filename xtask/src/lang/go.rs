//! Go plugins: every `package main` folder of the plugins-tinygo/ module,
//! built to a wasip1 reactor with TinyGo when it is on PATH, otherwise with
//! Go >= 1.24 (`//go:wasmexport`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use walkdir::WalkDir;

use super::{
    command_failure, fill, not_implemented, query, scrub_env, BuildContext, Built, Export,
    Language, Plugin, Provision, Toolchain,
};
use crate::project::Project;

pub struct Go;

pub const LANGUAGE: &dyn Language = &Go;

const MIN_MINOR: u32 = 24;
const INSTALL: &str =
    "install Go >= 1.24 (or TinyGo) and put it on PATH; Debian's golang-go is too old";
/// Names a plugin's function cannot take: Go's keywords and predeclared
/// identifiers, `main` and `init`, and the PDK's package name.
#[rustfmt::skip]
const TAKEN: &[&str] = &[
    "break", "case", "chan", "const", "continue", "default", "defer", "else", "fallthrough",
    "for", "func", "go", "goto", "if", "import", "interface", "map", "package", "range", "return",
    "select", "struct", "switch", "type", "var", "any", "append", "bool", "byte", "cap", "clear",
    "close", "comparable", "complex", "complex64", "complex128", "copy", "delete", "error",
    "false", "float32", "float64", "imag", "int", "int8", "int16", "int32", "int64", "iota",
    "len", "make", "max", "min", "new", "nil", "panic", "print", "println", "real", "recover",
    "rune", "string", "true", "uint", "uint8", "uint16", "uint32", "uint64", "uintptr", "init",
    "main", "pdk",
];

impl Language for Go {
    fn name(&self) -> &'static str {
        "go"
    }

    fn source_dir(&self) -> &'static str {
        "plugins-tinygo"
    }

    fn order(&self) -> u32 {
        20
    }

    fn ci_setup(&self) -> serde_json::Value {
        serde_json::json!({ "go_version": "1.24", "tinygo": false, "apt": "" })
    }

    fn ci_macos(&self) -> bool {
        true
    }

    fn detect(&self, _project: &Project) -> Toolchain {
        if let Ok(tinygo) = which::which("tinygo") {
            if let Some(detail) = query(&tinygo, &["version"], None) {
                // "tinygo version 0.37.0 linux/amd64 (using go version go1.24.1 ...)"
                let version = detail
                    .split_whitespace()
                    .nth(2)
                    .unwrap_or("unknown")
                    .to_string();
                return Toolchain {
                    ready: true,
                    strategy: "tinygo".into(),
                    name: "tinygo",
                    version,
                    version_detail: detail,
                    program: tinygo,
                    ..Toolchain::default()
                };
            }
        }
        let Ok(go) = which::which("go") else {
            return Toolchain::missing("go", format!("no `go` or `tinygo` on PATH: {INSTALL}"));
        };
        let Some(detail) = query(&go, &["env", "GOVERSION"], None) else {
            return Toolchain::missing(
                "go",
                format!("`{} env GOVERSION` failed: {INSTALL}", go.display()),
            );
        };
        let version = detail.trim_start_matches("go").to_string();
        let minor = version
            .split('.')
            .nth(1)
            .and_then(|m| m.parse::<u32>().ok());
        let major = version
            .split('.')
            .next()
            .and_then(|m| m.parse::<u32>().ok());
        let mut toolchain = Toolchain {
            ready: true,
            strategy: "go".into(),
            name: "go",
            version,
            version_detail: detail,
            program: go,
            ..Toolchain::default()
        };
        if major == Some(1) && minor.is_none_or(|m| m < MIN_MINOR) {
            toolchain.ready = false;
            toolchain.strategy = "none".into();
            toolchain.hint = format!(
                "Go {} cannot export wasm functions: {INSTALL}",
                toolchain.version
            );
        }
        toolchain
    }

    fn provision(&self) -> Provision {
        Provision {
            manual: Some(INSTALL),
            ..Provision::default()
        }
    }

    fn discover(&self, project: &Project, _toolchain: &Toolchain) -> Result<Vec<Plugin>> {
        let module = project.root.join(self.source_dir());
        if !module.is_dir() {
            return Ok(Vec::new());
        }
        let packages = scan(&module)?;
        // Each folder right under the module is a plugin; shared Go code lives
        // under internal/ (the official PDK comes from the module proxy via go.sum).
        for package in &packages {
            let top_level = package.dir.parent() == Some(module.as_path());
            if !package.is_main && top_level && !package.is_internal {
                bail!(
                    "{} holds Go files but no `package main`: make it a plugin (`package main` with `func main() {{}}`) \
                     or move the library under internal/",
                    project.display_path(&package.dir)
                );
            }
        }
        let mains: Vec<_> = packages.iter().filter(|p| p.is_main).collect();
        if mains.is_empty() {
            return Ok(Vec::new());
        }
        if !module.join("go.mod").is_file() {
            bail!(
                "{}/go.mod is missing: run `go mod init polyplug.dev/plugins` there",
                project.display_path(&module)
            );
        }
        // go.mod and go.sum pin the official PDK; they and the library packages
        // (shared helpers under internal/) feed every plugin.
        let mut shared: Vec<PathBuf> = ["go.mod", "go.sum"]
            .iter()
            .map(|f| module.join(f))
            .filter(|p| p.exists())
            .collect();
        shared.extend(
            packages
                .iter()
                .filter(|p| !p.is_main)
                .map(|p| p.dir.clone()),
        );
        let mut seen = BTreeSet::new();
        let mut plugins = Vec::new();
        for package in mains {
            let spec = package
                .dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if !seen.insert(spec.clone()) {
                bail!(
                    "two Go plugins are named `{spec}` (one is {}): rename one folder",
                    project.display_path(&package.dir)
                );
            }
            let mut inputs = vec![package.dir.clone()];
            inputs.extend(shared.iter().cloned());
            plugins.push(Plugin {
                lang: self.name(),
                spec,
                dir: package.dir.clone(),
                target: "wasip1".into(),
                inputs,
                id: String::new(),
            });
        }
        Ok(plugins)
    }

    fn build(&self, ctx: &BuildContext, toolchain: &Toolchain, batch: &[Plugin]) -> Vec<Built> {
        batch
            .iter()
            .map(|plugin| Built {
                spec: plugin.spec.clone(),
                result: build_one(ctx, toolchain, plugin),
            })
            .collect()
    }

    /// `plugins-tinygo/<spec>/main.go` in the module's layout; each export
    /// is a Go function named in camel case (`count_vowels` -> `countVowels`)
    /// behind its `//go:wasmexport` name.
    fn scaffold(&self, spec: &str, exports: &[Export]) -> Result<Vec<(PathBuf, String)>> {
        let mut blocks = Vec::new();
        let mut functions: Vec<(String, &str)> = Vec::new();
        for export in exports {
            let function = function_name(&export.name);
            if let Some((_, other)) = functions.iter().find(|(f, _)| *f == function) {
                bail!(
                    "exports `{other}` and `{}` would both be the Go function `{function}`: rename one",
                    export.name
                );
            }
            let template = if export.raw {
                include_str!("go/template/raw.go.tmpl")
            } else {
                include_str!("go/template/export.go.tmpl")
            };
            let message = not_implemented(spec, &export.name);
            blocks.push(fill(
                template,
                &[
                    ("name", &export.name),
                    ("function", &function),
                    ("message", &message),
                ],
                &[],
            ));
            functions.push((function, &export.name));
        }
        let blocks = blocks.join("\n");
        let main = fill(
            include_str!("go/template/main.go.tmpl"),
            &[("spec", spec), ("exports", blocks.trim_end())],
            &[("pdk", exports.iter().any(|e| !e.raw))],
        );
        Ok(vec![(
            Path::new(self.source_dir()).join(spec).join("main.go"),
            main,
        )])
    }
}

/// The Go function behind an export: camel case, or `export` + the name
/// where that is a name Go or the plugin already uses (`panic` -> `exportPanic`).
fn function_name(export: &str) -> String {
    let mut name = String::new();
    for (i, part) in export.split('_').filter(|p| !p.is_empty()).enumerate() {
        let mut chars = part.chars();
        if let Some(first) = chars.next() {
            if i == 0 {
                name.push(first);
            } else {
                name.push(first.to_ascii_uppercase());
            }
            name.extend(chars);
        }
    }
    if TAKEN.contains(&name.as_str()) {
        let mut chars = name.chars();
        let first = chars.next().map(|c| c.to_ascii_uppercase());
        name = format!("export{}{}", first.unwrap_or_default(), chars.as_str());
    }
    name
}

fn build_one(
    ctx: &BuildContext,
    toolchain: &Toolchain,
    plugin: &Plugin,
) -> Result<PathBuf, String> {
    let out_dir = ctx.project.wasm_output_dir(plugin.lang);
    std::fs::create_dir_all(&out_dir)
        .map_err(|e| format!("cannot create {}: {e}", out_dir.display()))?;
    let out = out_dir.join(format!("{}.wasm", plugin.spec));
    // A stale module must not pass for this build's output.
    let _ = std::fs::remove_file(&out);
    let out_arg = out.to_string_lossy().into_owned();
    let args: Vec<&str> = match toolchain.strategy.as_str() {
        "tinygo" => vec![
            "build",
            "-target",
            "wasip1",
            "-buildmode=c-shared",
            "-o",
            &out_arg,
            ".",
        ],
        _ => vec![
            "build",
            "-buildmode=c-shared",
            "-trimpath",
            "-o",
            &out_arg,
            ".",
        ],
    };
    let sh = xshell::Shell::new().map_err(|e| format!("cannot start {}: {e}", toolchain.name))?;
    sh.change_dir(&plugin.dir);
    let mut cmd = scrub_env(sh.cmd(&toolchain.program).args(&args))
        .quiet()
        .ignore_status();
    if toolchain.strategy == "go" {
        cmd = cmd.env("GOOS", "wasip1").env("GOARCH", "wasm");
    }
    let shown = format!(
        "`{} {}` in {}",
        toolchain.program.display(),
        args.join(" "),
        ctx.project.display_path(&plugin.dir)
    );
    let result = cmd
        .output()
        .map_err(|e| format!("cannot run {shown}: {e}"))?;
    if !result.status.success() || !out.is_file() {
        return Err(command_failure(&shown, &result));
    }
    Ok(out)
}

struct GoPackage {
    dir: PathBuf,
    is_main: bool,
    /// Under internal/, the module's shared library packages.
    is_internal: bool,
}

/// Every folder holding non-test .go files, with whether it is `package main`.
fn scan(module: &Path) -> Result<Vec<GoPackage>> {
    let internal = module.join("internal");
    let mut packages = Vec::new();
    let walk = WalkDir::new(module)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            let name = e.file_name().to_string_lossy();
            e.depth() == 0
                || !(e.file_type().is_dir()
                    && (name.starts_with('.') || name == "testdata" || name == "vendor"))
        });
    for entry in walk {
        let entry = entry.with_context(|| format!("cannot read {}", module.display()))?;
        if !entry.file_type().is_dir() {
            continue;
        }
        let dir = entry.path();
        let mut go_files = 0;
        let mut is_main = false;
        for file in
            std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?
        {
            let path = file?.path();
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if !name.ends_with(".go") || name.ends_with("_test.go") || !path.is_file() {
                continue;
            }
            go_files += 1;
            let source = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            is_main |= package_name(&source) == Some("main");
        }
        if go_files > 0 {
            packages.push(GoPackage {
                dir: dir.to_path_buf(),
                is_main,
                is_internal: dir.starts_with(&internal),
            });
        }
    }
    Ok(packages)
}

/// The name in a Go file's package clause, skipping comments and build tags.
pub(crate) fn package_name(source: &str) -> Option<&str> {
    let mut in_block = false;
    for line in source.lines() {
        let mut line = line.trim();
        if in_block {
            match line.find("*/") {
                Some(end) => {
                    in_block = false;
                    line = line[end + 2..].trim();
                }
                None => continue,
            }
        }
        if line.starts_with("/*") && !line.contains("*/") {
            in_block = true;
            continue;
        }
        if line.is_empty() || line.starts_with("//") {
            continue;
        }
        let rest = line.strip_prefix("package")?;
        return rest
            .split_whitespace()
            .next()
            .map(|name| name.trim_end_matches(';'));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::{function_name, package_name};

    #[test]
    fn exports_become_camel_case_functions_go_does_not_reserve() {
        assert_eq!(function_name("count_vowels"), "countVowels");
        assert_eq!(function_name("greet"), "greet");
        assert_eq!(function_name("Echo_bytes_2"), "EchoBytes2");
        assert_eq!(function_name("panic"), "exportPanic");
        assert_eq!(function_name("main"), "exportMain");
        assert_eq!(function_name("for"), "exportFor");
    }

    #[test]
    fn reads_the_package_clause() {
        assert_eq!(
            package_name("// Copyright\n//go:build wasip1\n\npackage main\n"),
            Some("main")
        );
        assert_eq!(
            package_name("/* a\nb */\npackage pdk // the PDK\n"),
            Some("pdk")
        );
        assert_eq!(package_name("func main() {}\n"), None);
        assert_eq!(package_name(""), None);
    }
}

#[cfg(test)]
mod discovery_tests {
    use super::*;

    fn module(files: &[(&str, &str)]) -> (tempfile::TempDir, Project) {
        let dir = tempfile::tempdir().unwrap();
        for (path, contents) in files {
            let path = dir.path().join("plugins-tinygo").join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, contents).unwrap();
        }
        let project = Project {
            root: dir.path().to_path_buf(),
        };
        (dir, project)
    }

    fn specs(plugins: &[Plugin]) -> Vec<&str> {
        plugins.iter().map(|p| p.spec.as_str()).collect()
    }

    #[test]
    fn main_packages_are_plugins_and_libraries_are_inputs() {
        let (_dir, project) = module(&[
            ("go.mod", "module polyplug.dev/plugins\n"),
            ("hello/main.go", "package main\nfunc main() {}\n"),
            ("hello/main_test.go", "package main_test\n"),
            (
                "count-vowels/main.go",
                "// a plugin\npackage main\nfunc main() {}\n",
            ),
            ("go.sum", "github.com/extism/go-pdk v1.1.3 h1:x\n"),
            ("internal/logfix/logfix.go", "package logfix\n"),
            ("internal/logfix/mem/mem.go", "package mem\n"),
            ("hello/internal/util.go", "package util\n"),
            (".hidden/x.go", "package nothing\n"),
            ("README.md", "not go\n"),
        ]);
        let plugins = Go.discover(&project, &Toolchain::default()).unwrap();
        assert_eq!(specs(&plugins), ["count-vowels", "hello"]);
        let hello = &plugins[1];
        let module = project.root.join("plugins-tinygo");
        assert_eq!(hello.dir, module.join("hello"));
        for input in [
            "go.mod",
            "go.sum",
            "internal/logfix",
            "internal/logfix/mem",
            "hello/internal",
        ] {
            assert!(
                hello.inputs.contains(&module.join(input)),
                "{input} is an input: {:?}",
                hello.inputs
            );
        }
    }

    #[test]
    fn a_top_level_folder_without_main_is_an_error() {
        let (_dir, project) = module(&[
            ("go.mod", "module m\n"),
            ("shared/lib.go", "package shared\n"),
        ]);
        let err = Go
            .discover(&project, &Toolchain::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("plugins-tinygo/shared holds Go files but no `package main`"),
            "{err}"
        );
    }

    #[test]
    fn plugins_need_a_go_mod() {
        let (_dir, project) = module(&[("hello/main.go", "package main\n")]);
        let err = Go
            .discover(&project, &Toolchain::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("go.mod is missing"), "{err}");
    }

    #[test]
    fn no_folder_no_plugins() {
        let dir = tempfile::tempdir().unwrap();
        let project = Project {
            root: dir.path().to_path_buf(),
        };
        assert!(Go
            .discover(&project, &Toolchain::default())
            .unwrap()
            .is_empty());
    }
}
