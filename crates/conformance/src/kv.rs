//! The key-value store behind the host-fns spec's `kv_read` / `kv_write` host
//! functions (namespace `extism:host/user`, memory handles in and out). One store per
//! case, so cases never see each other's keys.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use polyplug_host::{CurrentPlugin, HostFunction, Val, ValType};

#[derive(Clone, Default)]
pub struct KvStore(Arc<Mutex<BTreeMap<Vec<u8>, Vec<u8>>>>);

impl KvStore {
    pub fn seeded(seed: &BTreeMap<String, String>) -> KvStore {
        let store = KvStore::default();
        for (k, v) in seed {
            store
                .lock()
                .insert(k.as_bytes().to_vec(), v.as_bytes().to_vec());
        }
        store
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<Vec<u8>, Vec<u8>>> {
        // A panicking host function cannot leave the map half-written: keep going.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn snapshot(&self) -> BTreeMap<Vec<u8>, Vec<u8>> {
        self.lock().clone()
    }

    /// `kv_read(key) -> value`; a missing key gives an empty block.
    /// `kv_write(key, value)`.
    pub fn host_functions(&self) -> Vec<HostFunction> {
        let read = self.clone();
        let write = self.clone();
        vec![
            HostFunction::new(
                "kv_read",
                [ValType::I64],
                [ValType::I64],
                move |plugin: &mut CurrentPlugin, params: &[Val], results: &mut [Val]| {
                    let key = plugin.memory_bytes(handle(params, 0)?)?.to_vec();
                    let value = read.lock().get(&key).cloned().unwrap_or_default();
                    let out = plugin.memory_new(&value)?;
                    results[0] = Val::I64(out as i64);
                    Ok(())
                },
            ),
            HostFunction::new(
                "kv_write",
                [ValType::I64, ValType::I64],
                [],
                move |plugin: &mut CurrentPlugin, params: &[Val], _results: &mut [Val]| {
                    let key = plugin.memory_bytes(handle(params, 0)?)?.to_vec();
                    let value = plugin.memory_bytes(handle(params, 1)?)?.to_vec();
                    write.lock().insert(key, value);
                    Ok(())
                },
            ),
        ]
    }
}

fn handle(params: &[Val], i: usize) -> anyhow::Result<u64> {
    match params.get(i) {
        Some(Val::I64(h)) => Ok(*h as u64),
        other => anyhow::bail!(
            "kv host function: argument {i} should be an i64 memory handle, got {other:?}"
        ),
    }
}
