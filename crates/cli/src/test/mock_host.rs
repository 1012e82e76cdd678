//! `--mock-host HOST.wasm`: a plugin whose exports stand in for the host
//! functions the plugin under test imports. The import's first handle argument
//! is the export's input; the export's output comes back as a new handle
//! (for an import with a result).

use std::sync::{Arc, Mutex};

use anyhow::{bail, Result};
use polyplug_host::{HostFunction, Plugin, Val, ValType};

use crate::module_info::HostImport;

/// The stand-ins for `imports`, each calling the export of `host` with its name.
pub fn functions(
    host: Plugin,
    host_path: &str,
    imports: &[HostImport],
) -> Result<Vec<HostFunction>> {
    let exports = host.functions();
    let host = Arc::new(Mutex::new(host));
    let mut out = Vec::new();
    for import in imports {
        let label = format!("`{}`.`{}`", import.namespace, import.name);
        if !exports.contains(&import.name) {
            bail!(
                "the plugin under test imports {label}, which the mock host {host_path} does not export (it exports {}): add an export `{}` to it",
                exports.join(", "),
                import.name
            );
        }
        let handles = |types: &[ValType]| types.iter().all(|t| matches!(t, ValType::I64));
        if !handles(&import.params) || !handles(&import.results) || import.results.len() > 1 {
            bail!(
                "the plugin under test imports {label} with parameters {:?} and results {:?}: a mock host stands in only for functions of i64 handles with at most one result",
                import.params,
                import.results
            );
        }
        let host = host.clone();
        let name = import.name.clone();
        let f = HostFunction::new(
            &import.name,
            import.params.clone(),
            import.results.clone(),
            move |plugin, args, results| {
                let input = match args.first() {
                    Some(Val::I64(h)) => plugin.memory_bytes(*h as u64)?.to_vec(),
                    _ => Vec::new(),
                };
                let output = host
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .call(&name, &input)?;
                if let Some(slot) = results.first_mut() {
                    *slot = Val::I64(plugin.memory_new(&output)? as i64);
                }
                Ok(())
            },
        )
        .with_namespace(import.namespace.clone());
        out.push(f);
    }
    Ok(out)
}
