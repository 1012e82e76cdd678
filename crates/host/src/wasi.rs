//! WASI preview 1 for plugins that ask for it: `allowed_paths` become preopened
//! directories, and nothing else of the host (env, args, stdio) is visible unless
//! `POLYPLUG_WASI_OUTPUT` is set, which lets the plugin write to stdout/stderr.

use std::path::Path;

use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::{FsPerms, WasiCtxBuilder};

use crate::error::{Error, ErrorKind};
use crate::manifest::Manifest;

/// Checks `allowed_paths` once, at build time, so a typo is a clear error there.
pub(crate) fn check_paths(manifest: &Manifest) -> Result<(), Error> {
    for (host, guest) in manifest.allowed_paths.iter().flatten() {
        let (dir, _) = split_ro(host);
        if !dir.is_dir() {
            return Err(Error::new(
                ErrorKind::InvalidManifest,
                format!(
                    "allowed_paths maps {} to guest {guest}, but it is not a directory: create it or fix the path",
                    dir.display()
                ),
            ));
        }
    }
    Ok(())
}

pub(crate) fn ctx(manifest: &Manifest) -> Result<WasiP1Ctx, Error> {
    let mut b = WasiCtxBuilder::new();
    if std::env::var_os("POLYPLUG_WASI_OUTPUT").is_some() {
        b.inherit_stdout().inherit_stderr();
    }
    for (host, guest) in manifest.allowed_paths.iter().flatten() {
        let (dir, read_only) = split_ro(host);
        let perms = if read_only {
            FsPerms::ReadOnly
        } else {
            FsPerms::ReadWrite
        };
        b.preopened_dir(dir, guest, perms).map_err(|e| {
            Error::new(
                ErrorKind::Io,
                format!("cannot preopen {} as guest {guest}: {e:#}", dir.display()),
            )
        })?;
    }
    Ok(b.build_p1())
}

/// Extism marks read-only mounts with an `ro:` prefix on the host path.
fn split_ro(host: &Path) -> (&Path, bool) {
    match host.to_str().and_then(|s| s.strip_prefix("ro:")) {
        Some(rest) => (Path::new(rest), true),
        None => (host, false),
    }
}
