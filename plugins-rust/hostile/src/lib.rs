//! Spec `hostile`: the abuses the Rust PDK can express (docs/reliability.md).
//! Forged and freed handles and a raw allocation loop need ABI calls the PDK
//! never makes, so those cases are n/a here and live in plugins-wat/hostile.
//! Built for wasm32-wasip1 for the symlink case, which reads with `std::fs`.

use extism_pdk::*;
use std::hint::black_box;

#[host_fn]
extern "ExtismHost" {
    fn kv_read(key: &str) -> String;
}

/// 64 MiB of zeros as the output.
#[plugin_fn]
pub fn output_64mib() -> FnResult<Vec<u8>> {
    Ok(vec![0u8; 64 << 20])
}

/// var `big` set to 1 MiB + 1 bytes: one past the default max_var_bytes.
#[plugin_fn]
pub fn var_too_big() -> FnResult<String> {
    var::set("big", vec![0u8; (1 << 20) + 1])?;
    Ok("set".into())
}

/// 10^6 debug logs (below the case's log level, so none is kept).
#[plugin_fn]
pub fn log_million() -> FnResult<String> {
    for _ in 0..1_000_000 {
        log!(LogLevel::Debug, "done");
    }
    Ok("done".into())
}

/// Outputs the input.
#[plugin_fn]
pub fn echo(input: Vec<u8>) -> FnResult<Vec<u8>> {
    Ok(input)
}

/// Calls the host's kv_read forever: only the call's timeout ends it.
#[plugin_fn]
pub fn host_fn_spin() -> FnResult<()> {
    loop {
        black_box(unsafe { kv_read("key")? });
    }
}

/// Unbounded recursion with a host call at every level.
#[plugin_fn]
pub fn host_fn_recurse() -> FnResult<String> {
    Ok(deep(0)?.to_string())
}

#[inline(never)]
#[allow(unconditional_recursion)] // on purpose: the host's stack limit ends it
fn deep(n: u64) -> Result<u64, Error> {
    let value = unsafe { kv_read("key")? };
    let below = deep(black_box(n + 1))?;
    Ok(below ^ value.len() as u64)
}

/// GET the input URL; the body is the output.
#[plugin_fn]
pub fn fetch(url: String) -> FnResult<Vec<u8>> {
    let response = http::request::<()>(&HttpRequest::new(&url), None)?;
    Ok(response.body())
}

/// Outputs the bytes of the file at the guest path given as input.
#[plugin_fn]
pub fn read_file(path: String) -> FnResult<Vec<u8>> {
    std::fs::read(&path).map_err(|err| Error::msg(format!("cannot read {path}: {err}")).into())
}
