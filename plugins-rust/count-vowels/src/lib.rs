//! Spec `count-vowels`: counts the input's characters that are vowels and keeps
//! a running total in a plugin var, so state survives across calls on one
//! instance. The output's bytes must match every other language exactly.

use extism_pdk::*;

const DEFAULT_VOWELS: &str = "aeiouAEIOU";

#[plugin_fn]
pub fn count_vowels(input: String) -> FnResult<String> {
    let vowels = config::get("vowels")?.unwrap_or_else(|| DEFAULT_VOWELS.to_string());
    let count = input.chars().filter(|c| vowels.contains(*c)).count() as u64;

    // The total is stored as decimal text so every language reads the same var.
    let total: u64 = match var::get::<String>("total")? {
        Some(text) => text.parse()?,
        None => 0,
    } + count;
    var::set("total", total.to_string())?;

    // Built by hand to fix the key order; serde_json only escapes the vowels.
    let vowels = serde_json::to_string(&vowels)?;
    Ok(format!(
        r#"{{"count":{count},"total":{total},"vowels":{vowels}}}"#
    ))
}
