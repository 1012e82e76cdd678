//! The in-memory map of compiled modules by sha256, bounded: a long-running
//! host (`polyplug serve` over a folder whose plugins are rebuilt) would
//! otherwise keep every version of every module it ever compiled. Past
//! [`CAPACITY`] entries, the least recently used finished one is dropped;
//! plugins still using it keep their own handle, and asking for it again
//! takes it from the disk cache (under a millisecond) or compiles it.
//!
//! A cell is inserted before its module is compiled, so threads asking for the
//! same module at once wait for one compile instead of each compiling it (the
//! suite's first cases all start together). A cell still being filled is
//! never dropped.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// Modules kept in memory: more than a suite run or a served folder of
/// plugins uses at once (51 artifacts and the accessor today).
pub(crate) const CAPACITY: usize = 256;

struct Entry<T> {
    cell: Arc<OnceLock<T>>,
    /// The map's clock when this entry was last asked for.
    used: AtomicU64,
}

pub(crate) struct ModuleMap<T> {
    entries: Mutex<HashMap<[u8; 32], Entry<T>>>,
    clock: AtomicU64,
    capacity: usize,
}

impl<T> ModuleMap<T> {
    pub fn new() -> ModuleMap<T> {
        ModuleMap::with_capacity(CAPACITY)
    }

    pub fn with_capacity(capacity: usize) -> ModuleMap<T> {
        ModuleMap {
            entries: Mutex::new(HashMap::new()),
            clock: AtomicU64::new(0),
            capacity,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Entry<T>>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn tick(&self) -> u64 {
        self.clock.fetch_add(1, Ordering::Relaxed)
    }

    /// The cell for `sha`, made empty if there is none (then the caller fills
    /// it); at capacity, the least recently used filled cell makes room.
    pub fn cell(&self, sha: [u8; 32]) -> Arc<OnceLock<T>> {
        let now = self.tick();
        let mut entries = self.lock();
        if let Some(entry) = entries.get(&sha) {
            entry.used.store(now, Ordering::Relaxed);
            return entry.cell.clone();
        }
        if entries.len() >= self.capacity {
            let oldest = entries
                .iter()
                .filter(|(_, e)| e.cell.get().is_some())
                .min_by_key(|(_, e)| e.used.load(Ordering::Relaxed))
                .map(|(sha, _)| *sha);
            if let Some(oldest) = oldest {
                entries.remove(&oldest);
            }
        }
        let cell = Arc::new(OnceLock::new());
        entries.insert(
            sha,
            Entry {
                cell: cell.clone(),
                used: AtomicU64::new(now),
            },
        );
        cell
    }

    /// The filled value for `sha`, if there is one.
    pub fn get(&self, sha: &[u8; 32]) -> Option<T>
    where
        T: Clone,
    {
        let now = self.tick();
        let entries = self.lock();
        let entry = entries.get(sha)?;
        let value = entry.cell.get()?.clone();
        entry.used.store(now, Ordering::Relaxed);
        Some(value)
    }

    pub fn remove(&self, sha: &[u8; 32]) {
        self.lock().remove(sha);
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha(n: u8) -> [u8; 32] {
        [n; 32]
    }

    #[test]
    fn past_capacity_the_least_recently_used_goes() {
        let map = ModuleMap::with_capacity(3);
        for n in 0..3 {
            map.cell(sha(n)).set(n).unwrap();
        }
        // 0 is asked for again, so 1 is now the least recently used.
        assert_eq!(map.get(&sha(0)), Some(0));
        map.cell(sha(3)).set(3).unwrap();
        assert_eq!(map.len(), 3);
        assert_eq!(map.get(&sha(1)), None, "the least recently used is dropped");
        for n in [0, 2, 3] {
            assert_eq!(map.get(&sha(n)), Some(n));
        }
    }

    #[test]
    fn a_cell_being_filled_is_never_dropped() {
        let map = ModuleMap::with_capacity(2);
        let pending = map.cell(sha(0));
        map.cell(sha(1)).set(1).unwrap();
        map.cell(sha(2)).set(2).unwrap();
        // The unfilled cell stays: another thread may be waiting on it.
        assert!(Arc::ptr_eq(&pending, &map.cell(sha(0))));
        assert_eq!(map.get(&sha(1)), None);
    }

    #[test]
    fn the_same_sha_gives_the_same_cell() {
        let map: ModuleMap<u8> = ModuleMap::new();
        assert!(Arc::ptr_eq(&map.cell(sha(7)), &map.cell(sha(7))));
        map.remove(&sha(7));
        assert_eq!(map.len(), 0);
    }
}
