//! Builds the engine module (crates/js-engine) for wasm32-wasip1 without
//! wasi-sdk: clang-19 and Debian's wasi-libc dressed up as a wasi-sdk folder
//! for rquickjs-sys, and Rust's wasm32-wasip1 std from rustup when it is
//! installed, else Debian's rustc with `-Zbuild-std` (DESIGN.md). Cargo's own
//! freshness check makes a second build instant.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

/// The rustc/cargo that can build std for wasm here (see DESIGN.md).
const WASM_CARGO: &str = "/usr/bin/cargo";
const WASM_RUSTC: &str = "/usr/bin/rustc";
const CLANG: &str = "/usr/bin/clang-19";
const LLVM_AR: &str = "/usr/bin/llvm-ar-19";
const WASI_INCLUDE: &str = "/usr/include/wasm32-wasi";
const WASI_LIB: &str = "/usr/lib/wasm32-wasi";

/// Makes `target_dir/wasi-sdk`, a folder shaped like wasi-sdk that points at
/// the Debian toolchain, and returns it.
pub fn wasi_sdk(target_dir: &Path) -> Result<PathBuf> {
    let sdk = target_dir.join("wasi-sdk");
    let sysroot = sdk.join("share/wasi-sysroot");
    for dir in [
        sdk.join("bin"),
        sysroot.join("include"),
        sysroot.join("lib"),
    ] {
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut links = vec![
        (PathBuf::from(CLANG), sdk.join("bin/clang")),
        (PathBuf::from(LLVM_AR), sdk.join("bin/ar")),
    ];
    // clang-19 looks under the triple it is given; rquickjs-sys asks for wasip1.
    for triple in ["wasm32-wasi", "wasm32-wasip1"] {
        links.push((
            PathBuf::from(WASI_INCLUDE),
            sysroot.join("include").join(triple),
        ));
        links.push((PathBuf::from(WASI_LIB), sysroot.join("lib").join(triple)));
    }
    for (target, link) in links {
        if !target.exists() {
            bail!("{} is missing: install clang-19, llvm-19 and wasi-libc (apt-get install clang-19 llvm-19 wasi-libc libclang-rt-19-dev-wasm32)", target.display());
        }
        if std::fs::read_link(&link).ok().as_deref() != Some(target.as_path()) {
            let _ = std::fs::remove_file(&link);
            std::os::unix::fs::symlink(&target, &link).with_context(|| {
                format!("cannot link {} -> {}", link.display(), target.display())
            })?;
        }
    }
    Ok(sdk)
}

/// How the engine's Rust is compiled: rustup's wasm32-wasip1 std when that
/// target is installed (no std build, works where Debian's rustc-web does not
/// exist, e.g. GitHub's Ubuntu runners), else Debian's rustc building std.
pub fn rust_strategy() -> &'static str {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .env_remove("RUSTUP_TOOLCHAIN")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .any(|l| l.trim() == "wasm32-wasip1")
        })
        .unwrap_or(false);
    if installed {
        "rustup-target"
    } else {
        "debian-build-std"
    }
}

/// Builds crates/js-engine (at `engine_dir`) into `target_dir` and returns the
/// path of the engine module.
pub fn build(engine_dir: &Path, target_dir: &Path) -> Result<PathBuf> {
    let sdk = wasi_sdk(target_dir)?;
    let cargo_target = target_dir.join("js-engine");
    let rustup = rust_strategy() == "rustup-target";
    let (program, args): (&str, &[&str]) = if rustup {
        (
            "cargo",
            &["build", "--release", "--target", "wasm32-wasip1"],
        )
    } else {
        (
            WASM_CARGO,
            &[
                "build",
                "--release",
                "--target",
                "wasm32-wasip1",
                "-Zbuild-std=std,panic_abort",
            ],
        )
    };
    let mut cmd = Command::new(program);
    cmd.current_dir(engine_dir)
        .args(args)
        .env("WASI_SDK", &sdk)
        .env("CARGO_TARGET_DIR", &cargo_target)
        // The host toolchain's variables would point cargo at the wrong rustc.
        .env_remove("RUSTUP_TOOLCHAIN")
        .env_remove("CARGO")
        .env_remove("RUSTC")
        .env_remove("RUSTFLAGS")
        .env_remove("RUSTC_WRAPPER")
        .env_remove("CARGO_ENCODED_RUSTFLAGS");
    if !rustup {
        cmd.env("RUSTC", WASM_RUSTC)
            .env("RUSTC_BOOTSTRAP", "1")
            .env(
                "RUSTFLAGS",
                format!("-C link-self-contained=no -L {WASI_LIB}"),
            );
    }
    let shown = format!("`{program} {}`", args.join(" "));
    let out = cmd.output().with_context(|| {
        format!("cannot run {shown}: `rustup target add wasm32-wasip1`, or install Debian's rustc-web cargo-web rust-web-src")
    })?;
    if !out.status.success() {
        bail!(
            "building the JS engine failed: {shown} in {} exited with {}\nstdout:\n{}\nstderr:\n{}",
            engine_dir.display(),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(cargo_target.join("wasm32-wasip1/release/polyplug_js_engine.wasm"))
}
