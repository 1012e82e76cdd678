//! A throwaway polyplug root with tiny real plugins, and the xtask binary run
//! against it through `--root`. Compiler intermediates go to one shared
//! folder (POLYPLUG_WASM_BUILD_DIR) so std and the Go runtime build once.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tempfile::TempDir;

pub struct Root {
    pub dir: TempDir,
}

pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn ok(&self) -> bool {
        self.code == Some(0)
    }

    /// Exit code and output, for assertion messages.
    pub fn show(&self) -> String {
        format!(
            "exit {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

pub const ADD_RS: &str =
    "#[no_mangle]\npub extern \"C\" fn add(a: i32, b: i32) -> i32 {\n    a.wrapping_add(b)\n}\n";
/// Needs WASI: reads the clock.
pub const CLOCK_RS: &str = "#[no_mangle]\npub extern \"C\" fn now() -> u64 {\n    \
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())\n}\n";
pub const BROKEN_RS: &str =
    "#[no_mangle]\npub extern \"C\" fn add(a: i32) -> i32 {\n    a + not_defined_anywhere\n}\n";
pub const ADD_GO: &str = "package main\n\n//go:wasmexport add\nfunc add(a, b int32) int32 { return a + b }\n\nfunc main() {}\n";
pub const BROKEN_GO: &str = "package main\n\n//go:wasmexport add\nfunc add(a int32) int32 { return a + notDefinedAnywhere }\n\nfunc main() {}\n";

impl Root {
    pub fn new() -> Root {
        let base = Path::new(env!("CARGO_TARGET_TMPDIR")).join("xtask-roots");
        std::fs::create_dir_all(&base).unwrap();
        Root {
            dir: tempfile::tempdir_in(base).unwrap(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, relative: &str, contents: &str) {
        let path = self.path().join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
    }

    /// A cdylib crate plugins-rust/<name>/ with the given lib.rs and metadata
    /// lines (e.g. `spec = "add"`), listed in the plugins-rust workspace.
    pub fn rust_crate(&self, name: &str, metadata: Option<&str>, lib_rs: &str) {
        let metadata = metadata
            .map(|m| format!("\n[package.metadata.polyplug]\n{m}\n"))
            .unwrap_or_default();
        self.write(
            &format!("plugins-rust/{name}/Cargo.toml"),
            &format!(
                "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[lib]\ncrate-type = [\"cdylib\"]\n{metadata}"
            ),
        );
        self.write(&format!("plugins-rust/{name}/src/lib.rs"), lib_rs);
        let mut members: Vec<String> = std::fs::read_dir(self.path().join("plugins-rust"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.join("Cargo.toml").is_file())
            .map(|p| format!("{:?}", p.file_name().unwrap().to_string_lossy()))
            .collect();
        members.sort();
        self.write(
            "plugins-rust/Cargo.toml",
            &format!(
                "[workspace]\nresolver = \"2\"\nmembers = [{}]\n\n[profile.release]\nopt-level = \"s\"\npanic = \"abort\"\n",
                members.join(", ")
            ),
        );
    }

    pub fn rust_plugin(&self, spec: &str, lib_rs: &str) {
        self.rust_crate(spec, Some(&format!("spec = \"{spec}\"")), lib_rs);
    }

    pub fn go_plugin(&self, spec: &str, main_go: &str) {
        self.write(
            "plugins-tinygo/go.mod",
            "module polyplug.dev/plugins\n\ngo 1.24\n",
        );
        self.write(&format!("plugins-tinygo/{spec}/main.go"), main_go);
    }

    pub fn xtask(&self, args: &[&str]) -> Run {
        self.xtask_with(args, |_| {})
    }

    /// `xtask --root ROOT ARGS`, not started yet.
    pub fn xtask_command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_xtask"));
        cmd.arg("--root").arg(self.path()).args(args);
        cmd.env("POLYPLUG_WASM_BUILD_DIR", shared_build_dir());
        cmd.env_remove("POLYPLUG_ROOT");
        cmd
    }

    pub fn xtask_with(&self, args: &[&str], env: impl FnOnce(&mut Command)) -> Run {
        let mut cmd = self.xtask_command(args);
        env(&mut cmd);
        let Output {
            status,
            stdout,
            stderr,
        } = cmd.output().expect("run xtask");
        Run {
            code: status.code(),
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
        }
    }

    pub fn manifest(&self) -> serde_json::Value {
        let text = std::fs::read_to_string(self.path().join("target/plugins/manifest.json"))
            .expect("manifest.json");
        serde_json::from_str(&text).expect("manifest.json is JSON")
    }

    pub fn artifact(&self, lang: &str, spec: &str) -> PathBuf {
        self.path()
            .join(format!("target/plugins/{lang}/{spec}.wasm"))
    }
}

pub fn shared_build_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("xtask-wasm-build")
}

/// `lang/spec` of every entry in a manifest list, in order.
pub fn names(list: &serde_json::Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|a| {
            format!(
                "{}/{}",
                a["lang"].as_str().unwrap(),
                a["spec"].as_str().unwrap()
            )
        })
        .collect()
}

pub fn entry<'a>(manifest: &'a serde_json::Value, lang: &str, spec: &str) -> &'a serde_json::Value {
    manifest["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["lang"] == lang && a["spec"] == spec)
        .unwrap_or_else(|| panic!("{lang}/{spec} not in manifest: {manifest:#}"))
}

/// Copies a folder, leaving out build outputs.
pub fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap();
        if name == "target" {
            continue;
        }
        if path.is_dir() {
            std::fs::create_dir_all(to.join(name)).unwrap();
            copy_tree(&path, &to.join(name));
        } else {
            std::fs::copy(&path, to.join(name)).unwrap();
        }
    }
}
