//! Spec `host-fns`: calling functions the host application provides. They are
//! imported from `extism:host/user`; arguments and results travel as memory
//! handles, which `#[host_fn]` converts from and to Rust values.

use extism_pdk::*;

#[host_fn]
extern "ExtismHost" {
    fn kv_write(key: &str, value: &str);
    fn kv_read(key: &str) -> String;
}

/// Stores `v` under `k` for input `k=v` (split at the first `=`); outputs `ok`.
#[plugin_fn]
pub fn remember(input: String) -> FnResult<String> {
    let Some((key, value)) = input.split_once('=') else {
        return Err(Error::msg(format!("invalid input {input:?}: expected key=value")).into());
    };
    unsafe { kv_write(key, value)? };
    Ok("ok".to_string())
}

/// Outputs the value stored under the input key, or `<missing>`.
#[plugin_fn]
pub fn recall(key: String) -> FnResult<String> {
    let value = unsafe { kv_read(&key)? };
    // The host answers an unknown key with an empty value.
    if value.is_empty() {
        return Ok("<missing>".to_string());
    }
    Ok(value)
}
