//! Spec `hello`: the smallest useful plugin. It reads its input, one config
//! key with a default, and writes a string back: copy it to start a plugin.

use extism_pdk::*;

/// Greets the input (or `World` when it is empty) with config `greeting`.
#[plugin_fn]
pub fn greet(name: String) -> FnResult<String> {
    let greeting = config::get("greeting")?.unwrap_or_else(|| "Hello".to_string());
    let name = if name.is_empty() { "World" } else { &name };
    Ok(format!("{greeting}, {name}!"))
}
