//! Spec `log`: one message per level through the host's logger. The PDK's
//! macros ask the host for its level first and skip messages it would drop.

use extism_pdk::*;

/// Logs `{level}: {input}` at every level, lowest first, and returns `done`.
#[plugin_fn]
pub fn log(input: String) -> FnResult<String> {
    trace!("trace: {input}");
    debug!("debug: {input}");
    info!("info: {input}");
    warn!("warn: {input}");
    error!("error: {input}");
    Ok("done".to_string())
}
