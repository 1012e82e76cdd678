//! Spec `bytes`: input and output are raw bytes (NUL, invalid UTF-8, megabytes),
//! so every function takes and returns `Vec<u8>`, never a `String`.

use extism_pdk::*;

/// Returns the input unchanged.
#[plugin_fn]
pub fn echo(input: Vec<u8>) -> FnResult<Vec<u8>> {
    Ok(input)
}

/// Returns the input's bytes in reverse order.
#[plugin_fn]
pub fn reverse(mut input: Vec<u8>) -> FnResult<Vec<u8>> {
    input.reverse();
    Ok(input)
}

/// Returns the input's length in bytes as decimal text.
#[plugin_fn]
pub fn length(input: Vec<u8>) -> FnResult<String> {
    Ok(input.len().to_string())
}
