//! A key-value store behind the `kv_read` / `kv_write` host functions
//! (namespace `extism:host/user`, memory handles in and out): the classic
//! Extism host-function example. The conformance suite gives each host-fns case
//! its own store; `polyplug serve` gives its plugins one for the server's life.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use crate::{CurrentPlugin, HostFunction, Val, ValType};

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

    /// The host functions' names with how many i64 handles go in and come out.
    pub fn signatures(&self) -> [(&'static str, usize, usize); 2] {
        [("kv_read", 1, 1), ("kv_write", 2, 0)]
    }

    /// Runs a host function on bytes: `kv_read(key) -> value` (a missing key gives
    /// no bytes), `kv_write(key, value)`. Every host serves its plugin through this.
    pub fn serve(&self, name: &str, args: Vec<Vec<u8>>) -> Result<Vec<Vec<u8>>, String> {
        let mut args = args.into_iter();
        let mut arg = |i: usize| {
            args.next()
                .ok_or_else(|| format!("{name}: argument {i} is missing"))
        };
        match name {
            "kv_read" => {
                let key = arg(0)?;
                Ok(vec![self.lock().get(&key).cloned().unwrap_or_default()])
            }
            "kv_write" => {
                let (key, value) = (arg(0)?, arg(1)?);
                self.lock().insert(key, value);
                Ok(Vec::new())
            }
            other => Err(format!(
                "no host function `{other}`: the kv store has kv_read and kv_write"
            )),
        }
    }

    /// The same functions for polyplug-host: memory handles in and out.
    pub fn host_functions(&self) -> Vec<HostFunction> {
        self.signatures()
            .into_iter()
            .map(|(name, params, results)| {
                let store = self.clone();
                HostFunction::new(
                    name,
                    vec![ValType::I64; params],
                    vec![ValType::I64; results],
                    move |plugin: &mut CurrentPlugin, params: &[Val], out: &mut [Val]| {
                        let args = (0..params.len())
                            .map(|i| Ok(plugin.memory_bytes(handle(params, i)?)?.to_vec()))
                            .collect::<anyhow::Result<Vec<_>>>()?;
                        let results = store.serve(name, args).map_err(anyhow::Error::msg)?;
                        for (slot, bytes) in out.iter_mut().zip(results) {
                            *slot = Val::I64(plugin.memory_new(&bytes)? as i64);
                        }
                        Ok(())
                    },
                )
            })
            .collect()
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
