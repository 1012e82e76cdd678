//! Builds the engine module (crates/js-engine) for wasm32-wasip1 with the
//! recipe that works without wasi-sdk: Debian's rustc with `-Zbuild-std`,
//! clang-19 and wasi-libc dressed up as a wasi-sdk folder for rquickjs-sys.
//! Cargo's own freshness check makes a second build instant.

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

/// Builds crates/js-engine (at `engine_dir`) into `target_dir` and returns the
/// path of the engine module.
pub fn build(engine_dir: &Path, target_dir: &Path) -> Result<PathBuf> {
    let sdk = wasi_sdk(target_dir)?;
    let cargo_target = target_dir.join("js-engine");
    let out = Command::new(WASM_CARGO)
        .current_dir(engine_dir)
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip1",
            "-Zbuild-std=std,panic_abort",
        ])
        .env("RUSTC", WASM_RUSTC)
        .env("RUSTC_BOOTSTRAP", "1")
        .env(
            "RUSTFLAGS",
            format!("-C link-self-contained=no -L {WASI_LIB}"),
        )
        .env("WASI_SDK", &sdk)
        .env("CARGO_TARGET_DIR", &cargo_target)
        // The host toolchain's variables would point cargo at the wrong rustc.
        .env_remove("RUSTUP_TOOLCHAIN")
        .env_remove("CARGO")
        .env_remove("RUSTC_WRAPPER")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .output()
        .with_context(|| {
            format!("cannot run {WASM_CARGO}: install Debian's rustc-web cargo-web rust-web-src")
        })?;
    if !out.status.success() {
        bail!(
            "building the JS engine failed: `{WASM_CARGO} build --release --target wasm32-wasip1 -Zbuild-std=std,panic_abort` in {} exited with {}\nstdout:\n{}\nstderr:\n{}",
            engine_dir.display(),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(cargo_target.join("wasm32-wasip1/release/polyplug_js_engine.wasm"))
}
