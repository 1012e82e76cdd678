//! Gets the plugin's source as one script. A plugin that is a single CommonJS
//! file (`module.exports = { ... }`) is used as is; one that imports other
//! modules, or uses ES module syntax, is bundled to CommonJS with esbuild,
//! as extism-js expects its input to be.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::Error;

/// Returns the file name to report errors against, and the source.
pub fn source(dir: &Path) -> Result<(String, Vec<u8>), Error> {
    let path = dir.join("index.js");
    let source = std::fs::read(&path)
        .map_err(|e| Error::io(format_args!("cannot read {}", path.display()), e))?;
    if !needs_bundling(&source) {
        return Ok(("index.js".to_string(), source));
    }
    let Some(esbuild) = find_esbuild(dir) else {
        return Err(Error::source(
            "index.js imports other modules or uses `export`: bundling needs esbuild (`npm install esbuild` in the plugin folder or on PATH), or write it as one file with `module.exports = { ... }`",
        ));
    };
    let out = Command::new(&esbuild)
        .current_dir(dir)
        .args([
            "index.js",
            "--bundle",
            "--format=cjs",
            "--platform=neutral",
            "--target=es2020",
            "--log-level=error",
        ])
        .output()
        .map_err(|e| Error::io(format_args!("cannot run {}", esbuild.display()), e))?;
    if !out.status.success() {
        return Err(Error::source(format!(
            "index.js: esbuild could not bundle it ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim_end()
        )));
    }
    // Errors and stacks then point into the bundle, which esbuild can write
    // out for reading (`esbuild index.js --bundle --format=cjs`).
    Ok(("index.bundle.js".to_string(), out.stdout))
}

fn needs_bundling(source: &[u8]) -> bool {
    String::from_utf8_lossy(source).lines().any(|line| {
        let l = line.trim_start();
        l.starts_with("import ") || l.starts_with("export ") || l.contains("require(")
    })
}

fn find_esbuild(dir: &Path) -> Option<PathBuf> {
    let local = dir.join("node_modules/.bin/esbuild");
    if local.is_file() {
        return Some(local);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("esbuild"))
            .find(|p| p.is_file())
    })
}
