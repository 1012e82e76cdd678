//! Spec `errors`: the two ways a call fails. An `Err` is a plugin error the
//! host reports with its message; a panic aborts (`panic = "abort"`), which
//! the host sees as a trap.

use extism_pdk::*;

/// Fails with the message `failed: {input}` and status 1.
#[plugin_fn]
pub fn fail(input: String) -> FnResult<()> {
    let message = format!("failed: {input}");
    Err(WithReturnCode::new(Error::msg(message), 1))
}

/// Panics, as a bug in a plugin would.
#[plugin_fn]
pub fn panic(input: String) -> FnResult<()> {
    panic!("panicked: {input}")
}
