//! Spec `wasi`: reading a file with plain `std::fs`. Built for wasm32-wasip1, so
//! the host must link WASI and map folders into the guest (`allowed_paths`);
//! anything outside those folders does not exist for the plugin.

use extism_pdk::*;

/// Outputs the bytes of the file at the guest path given as input.
#[plugin_fn]
pub fn read_file(path: String) -> FnResult<Vec<u8>> {
    std::fs::read(&path).map_err(|err| Error::msg(format!("cannot read {path}: {err}")).into())
}
