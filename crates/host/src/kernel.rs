//! The kernel memory: the byte space that Extism plugins address with u64 handles.
//!
//! The official runtime keeps it in a second wasm memory managed by a kernel module
//! written in wasm; here it is a plain `Vec<u8>` owned by the host. A handle is the
//! offset of a block's first byte, so the PDKs' `load_u64(handle + i)` loops work
//! unchanged. Offset 0 is never a block: handle 0 means "nothing" in the ABI.
//!
//! Every access is checked with `checked_add`, so a hostile guest can neither read
//! outside the arena nor make the host overflow.

use std::collections::{BTreeMap, HashMap};

/// Where the first block starts; keeps handle 0 free as the null handle.
const BASE: u64 = 8;

/// A freed block bigger than the request by at least this much is split on reuse,
/// the same threshold as the official kernel.
const SPLIT: u64 = 128;

#[derive(Clone, Copy, Debug)]
struct Block {
    /// Bytes reserved in the arena.
    capacity: u64,
    /// Bytes the owner asked for: what `length` reports.
    used: u64,
}

/// Why the kernel refused an allocation.
#[derive(Debug)]
pub(crate) struct OverLimit {
    pub requested: u64,
    pub limit: u64,
}

pub(crate) struct Kernel {
    arena: Vec<u8>,
    active: HashMap<u64, Block>,
    /// Freed blocks by capacity, for reuse.
    free: BTreeMap<u64, Vec<u64>>,
    /// Cap on the arena's length in bytes.
    limit: u64,
    pub input: (u64, u64),
    pub output: (u64, u64),
    pub error: u64,
}

impl Kernel {
    pub fn new(limit: u64) -> Kernel {
        Kernel {
            arena: vec![0; BASE as usize],
            active: HashMap::new(),
            free: BTreeMap::new(),
            limit,
            input: (0, 0),
            output: (0, 0),
            error: 0,
        }
    }

    /// Drops every block but keeps the arena's capacity for the next call.
    pub fn reset(&mut self) {
        self.arena.truncate(BASE as usize);
        self.active.clear();
        self.free.clear();
        self.input = (0, 0);
        self.output = (0, 0);
        self.error = 0;
    }

    /// Total bytes of the arena (the ABI's `memory_bytes`).
    pub fn size(&self) -> u64 {
        self.arena.len() as u64
    }

    /// Bytes taken by blocks (live or freed), without the reserved null prefix.
    pub fn in_use(&self) -> u64 {
        self.size() - BASE
    }

    pub fn set_limit(&mut self, limit: u64) {
        self.limit = limit;
    }

    /// A new block of `n` bytes; 0 for `n == 0`, as in the official kernel.
    pub fn alloc(&mut self, n: u64) -> Result<u64, OverLimit> {
        if n == 0 {
            return Ok(0);
        }
        if let Some(handle) = self.reuse(n) {
            return Ok(handle);
        }
        let start = self.arena.len() as u64;
        let end = match start.checked_add(n) {
            Some(end) if end - BASE <= self.limit => end,
            _ => {
                return Err(OverLimit {
                    requested: n,
                    limit: self.limit,
                })
            }
        };
        let grow = (end - start) as usize;
        if self.arena.try_reserve(grow).is_err() {
            return Err(OverLimit {
                requested: n,
                limit: self.limit,
            });
        }
        self.arena.resize(end as usize, 0);
        self.active.insert(
            start,
            Block {
                capacity: n,
                used: n,
            },
        );
        Ok(start)
    }

    fn reuse(&mut self, n: u64) -> Option<u64> {
        let (&capacity, offsets) = self.free.range_mut(n..).next()?;
        let handle = offsets.pop()?;
        if offsets.is_empty() {
            self.free.remove(&capacity);
        }
        let mut block = Block { capacity, used: n };
        if capacity - n >= SPLIT {
            // The tail stays free for the next small allocation.
            block.capacity = n;
            self.free.entry(capacity - n).or_default().push(handle + n);
        }
        self.active.insert(handle, block);
        Some(handle)
    }

    /// Frees an active block; anything else is ignored, as in the official kernel.
    pub fn free(&mut self, handle: u64) {
        let Some(block) = self.active.remove(&handle) else {
            return;
        };
        if handle == self.input.0 {
            self.input.1 = 0;
        }
        if handle + block.capacity == self.arena.len() as u64 {
            // The last block: give the bytes back instead of fragmenting.
            self.arena.truncate(handle as usize);
        } else {
            self.free.entry(block.capacity).or_default().push(handle);
        }
    }

    /// The length of an active block, 0 for anything that is not one.
    pub fn length(&self, handle: u64) -> u64 {
        self.active.get(&handle).map_or(0, |b| b.used)
    }

    pub fn is_block(&self, handle: u64) -> bool {
        self.active.contains_key(&handle)
    }

    /// The bytes of an active block.
    pub fn block(&self, handle: u64) -> Option<&[u8]> {
        let b = self.active.get(&handle)?;
        self.arena.get(handle as usize..(handle + b.used) as usize)
    }

    pub fn block_mut(&mut self, handle: u64) -> Option<&mut [u8]> {
        let b = self.active.get(&handle)?;
        self.arena
            .get_mut(handle as usize..(handle + b.used) as usize)
    }

    /// Any `len` bytes inside the arena starting at `offset`.
    pub fn range(&self, offset: u64, len: u64) -> Option<&[u8]> {
        let end = offset.checked_add(len)?;
        if offset < BASE && len > 0 {
            return None;
        }
        self.arena
            .get(usize::try_from(offset).ok()?..usize::try_from(end).ok()?)
    }

    #[inline]
    pub fn load_u8(&self, offset: u64) -> Option<u8> {
        if offset < BASE {
            return None;
        }
        self.arena.get(usize::try_from(offset).ok()?).copied()
    }

    #[inline]
    pub fn load_u64(&self, offset: u64) -> Option<u64> {
        let bytes = self.range(offset, 8)?;
        Some(u64::from_le_bytes(bytes.try_into().ok()?))
    }

    #[inline]
    pub fn store_u8(&mut self, offset: u64, value: u8) -> Option<()> {
        if offset < BASE {
            return None;
        }
        *self.arena.get_mut(usize::try_from(offset).ok()?)? = value;
        Some(())
    }

    #[inline]
    pub fn store_u64(&mut self, offset: u64, value: u64) -> Option<()> {
        if offset < BASE {
            return None;
        }
        let start = usize::try_from(offset).ok()?;
        let end = start.checked_add(8)?;
        self.arena
            .get_mut(start..end)?
            .copy_from_slice(&value.to_le_bytes());
        Some(())
    }

    /// A byte of the current input, by index into it.
    #[inline]
    pub fn input_u8(&self, index: u64) -> Option<u8> {
        if index >= self.input.1 {
            return None;
        }
        self.load_u8(self.input.0.checked_add(index)?)
    }

    #[inline]
    pub fn input_u64(&self, index: u64) -> Option<u64> {
        if index.checked_add(8)? > self.input.1 {
            return None;
        }
        self.load_u64(self.input.0.checked_add(index)?)
    }

    /// Copies `bytes` into a new block (0 for empty, like the official runtime).
    pub fn write_new(&mut self, bytes: &[u8]) -> Result<u64, OverLimit> {
        let handle = self.alloc(bytes.len() as u64)?;
        if let Some(dst) = self.block_mut(handle) {
            dst.copy_from_slice(bytes);
        }
        Ok(handle)
    }

    /// The current output bytes (empty when the range is not inside the arena).
    pub fn output_bytes(&self) -> &[u8] {
        self.range(self.output.0, self.output.1).unwrap_or(&[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_are_offsets_and_reused_after_free() {
        let mut k = Kernel::new(1 << 20);
        let a = k.alloc(16).unwrap();
        let b = k.alloc(300).unwrap();
        assert_eq!(k.length(a), 16);
        assert_eq!(k.length(b), 300);
        k.store_u64(b + 8, 42).unwrap();
        assert_eq!(k.load_u64(b + 8), Some(42));
        k.free(a);
        assert_eq!(k.length(a), 0);
        assert_eq!(k.alloc(10).unwrap(), a, "a freed block is reused");
    }

    #[test]
    fn freed_big_block_is_split() {
        let mut k = Kernel::new(1 << 20);
        let a = k.alloc(1000).unwrap();
        let _guard = k.alloc(8).unwrap();
        k.free(a);
        let small = k.alloc(100).unwrap();
        assert_eq!(small, a);
        assert_eq!(k.alloc(800).unwrap(), a + 100, "the split tail is reused");
    }

    #[test]
    fn limit_and_bounds_never_overflow() {
        let mut k = Kernel::new(1024);
        assert!(k.alloc(2000).is_err());
        assert!(k.alloc(u64::MAX).is_err());
        assert_eq!(k.load_u64(u64::MAX - 3), None);
        assert_eq!(k.load_u8(0), None);
        assert_eq!(k.range(u64::MAX, 2), None);
        k.input = (u64::MAX, u64::MAX);
        assert_eq!(k.input_u64(u64::MAX - 1), None);
        assert_eq!(k.input_u8(5), None);
    }
}
