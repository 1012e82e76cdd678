//! The kernel memory: the byte space that Extism plugins address with u64 handles.
//!
//! The bytes live in a wasm memory of the plugin's store, so the hot accessors
//! (`load_*`, `store_*`, `input_load_*`) can be wasm functions that the plugin calls
//! without leaving wasm (see `accessor.rs`); the allocation bookkeeping stays here.
//! A handle is the offset of a block's first byte, so the PDKs' `load_u64(handle + i)`
//! loops work unchanged. Offset 0 is never a block: handle 0 means "nothing" in the ABI.
//!
//! The memory is made at its full size with the store and never grows, so its base
//! address stays valid for the store's life; the host reaches it through a raw
//! pointer because user host functions only get `&mut CurrentPlugin`, not the store.
//! Its first [`BASE`] bytes (the header) tell the wasm accessors where the arena
//! and the input end, and receive the function and offset of an access they refused.
//!
//! Every access is checked with `checked_add`, so a hostile guest can neither read
//! outside the arena nor make the host overflow.

use std::collections::{BTreeMap, HashMap};

use crate::accessor::Lease;

/// Where the first block starts: after the null handle 0 and the header.
pub(crate) const BASE: u64 = 64;

/// A freed block bigger than the request by at least this much is split on reuse,
/// the same threshold as the official kernel.
const SPLIT: u64 = 128;

/// The header shared with the wasm accessors, at the start of the kernel memory
/// (on the arena's first page: a header far from the arena would cost a fresh
/// instance one more page fault and page table). Little-endian u64 slots, kept
/// so that each accessor needs one unsigned compare: how many offsets `p - BASE`
/// start a valid 1- and 8-byte access, the input's offset, and how many input
/// indexes start a valid 1- and 8-byte read (the input clamped to the arena); then
/// the code and offset of a refused access.
pub(crate) const SLOT_STARTS_1: u64 = 8;
pub(crate) const SLOT_STARTS_8: u64 = 16;
pub(crate) const SLOT_INPUT_OFFSET: u64 = 24;
pub(crate) const SLOT_INPUT_STARTS_1: u64 = 32;
pub(crate) const SLOT_INPUT_STARTS_8: u64 = 40;
pub(crate) const SLOT_FAULT: u64 = 48;
pub(crate) const SLOT_FAULT_AT: u64 = 56;

/// How many starts of an `n`-byte access fit in `len` bytes.
fn starts(len: u64, n: u64) -> u64 {
    len.saturating_add(1).saturating_sub(n)
}

/// The accessor that refused an access, by the code it writes to the fault slot.
pub(crate) const FAULTS: [(&str, u64, bool); 6] = [
    ("load_u8", 1, false),
    ("load_u64", 8, false),
    ("store_u8", 1, false),
    ("store_u64", 8, false),
    ("input_load_u8", 1, true),
    ("input_load_u64", 8, true),
];

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

/// An access a wasm accessor refused: which function, and the offset or index.
#[derive(Debug)]
pub(crate) struct Fault {
    pub function: &'static str,
    pub at: u64,
    pub len: u64,
    /// Whether `at` is an index into the input rather than a kernel offset.
    pub input: bool,
}

pub(crate) struct Kernel {
    /// The kernel memory's first byte; null until [`Kernel::attach`].
    mem: *mut u8,
    /// Bytes of the kernel memory, header included: the most the arena may reach.
    mem_len: u64,
    /// End of the arena: the ABI's `memory_bytes`.
    len: u64,
    /// The highest `len` since attached: how many pages the memory has backed.
    peak: u64,
    /// Where the memory goes back to when the kernel is dropped.
    lease: Option<Lease>,
    active: HashMap<u64, Block>,
    /// Freed blocks by capacity, for reuse.
    free: BTreeMap<u64, Vec<u64>>,
    /// Cap on the arena's length in bytes.
    limit: u64,
    input: (u64, u64),
    pub output: (u64, u64),
    pub error: u64,
}

// SAFETY: `mem` points into the kernel memory that `lease` keeps mapped; only
// this kernel's store uses it until the lease is released (on drop), and the
// host touches it only through `&self` (reads) or `&mut self` (writes).
unsafe impl Send for Kernel {}
unsafe impl Sync for Kernel {}

impl Drop for Kernel {
    fn drop(&mut self) {
        if let Some(lease) = self.lease.take() {
            lease.release(self.peak);
        }
    }
}

impl Kernel {
    pub fn new(limit: u64) -> Kernel {
        Kernel {
            mem: std::ptr::null_mut(),
            mem_len: 0,
            len: BASE,
            peak: BASE,
            lease: None,
            active: HashMap::new(),
            free: BTreeMap::new(),
            limit,
            input: (0, 0),
            output: (0, 0),
            error: 0,
        }
    }

    /// Puts the arena in the `len` bytes at `mem`.
    ///
    /// # Safety
    ///
    /// `mem..mem + len` must stay valid for reads and writes, and be touched by
    /// nothing but this kernel and the wasm accessors, for as long as the kernel is used.
    pub unsafe fn attach(&mut self, mem: *mut u8, len: usize, lease: Lease) {
        self.attach_raw(mem, len);
        self.lease = Some(lease);
    }

    unsafe fn attach_raw(&mut self, mem: *mut u8, len: usize) {
        self.mem = mem;
        self.mem_len = len as u64;
        self.peak = BASE;
        self.reset();
    }

    fn bytes(&self) -> &[u8] {
        if self.mem.is_null() {
            return &[];
        }
        // SAFETY: `attach` vouches for `mem_len` bytes, and `len <= mem_len`.
        unsafe { std::slice::from_raw_parts(self.mem, self.len as usize) }
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        if self.mem.is_null() {
            return &mut [];
        }
        // SAFETY: as in `bytes`; `&mut self` makes this the only view.
        unsafe { std::slice::from_raw_parts_mut(self.mem, self.len as usize) }
    }

    fn slot(&self, slot: u64) -> u64 {
        if self.mem.is_null() {
            return 0;
        }
        let mut b = [0u8; 8];
        // SAFETY: header slots are inside the attached memory (at least a page),
        // before the arena.
        unsafe {
            let p = self.mem.add(slot as usize);
            std::ptr::copy_nonoverlapping(p, b.as_mut_ptr(), 8);
        }
        u64::from_le_bytes(b)
    }

    fn set_slot(&mut self, slot: u64, value: u64) {
        if self.mem.is_null() {
            return;
        }
        // SAFETY: as in `slot`.
        unsafe {
            let p = self.mem.add(slot as usize);
            std::ptr::copy_nonoverlapping(value.to_le_bytes().as_ptr(), p, 8);
        }
    }

    fn set_len(&mut self, len: u64) {
        self.len = len;
        self.peak = self.peak.max(len);
        self.set_slot(SLOT_STARTS_1, starts(len - BASE, 1));
        self.set_slot(SLOT_STARTS_8, starts(len - BASE, 8));
        self.write_input();
    }

    /// Drops every block; the memory stays for the next call.
    pub fn reset(&mut self) {
        self.set_len(BASE);
        self.active.clear();
        self.free.clear();
        self.set_input(0, 0);
        self.output = (0, 0);
        self.error = 0;
        self.set_slot(SLOT_FAULT, 0);
    }

    /// Total bytes of the arena (the ABI's `memory_bytes`).
    pub fn size(&self) -> u64 {
        self.len
    }

    /// Bytes taken by blocks (live or freed), without the reserved null prefix.
    pub fn in_use(&self) -> u64 {
        self.size() - BASE
    }

    pub fn set_limit(&mut self, limit: u64) {
        self.limit = limit;
    }

    pub fn input(&self) -> (u64, u64) {
        self.input
    }

    /// Sets the input range; callers check it lies in the arena (or is empty).
    pub fn set_input(&mut self, offset: u64, len: u64) {
        self.input = (offset, len);
        self.write_input();
    }

    /// The input bytes the accessors may read: the input, cut at the arena's end
    /// (freeing the last block can shrink the arena under an input range).
    pub fn input_visible(&self) -> u64 {
        let (offset, len) = self.input;
        if offset < BASE {
            return 0;
        }
        len.min(self.len.saturating_sub(offset))
    }

    fn write_input(&mut self) {
        let visible = self.input_visible();
        self.set_slot(SLOT_INPUT_OFFSET, self.input.0);
        self.set_slot(SLOT_INPUT_STARTS_1, starts(visible, 1));
        self.set_slot(SLOT_INPUT_STARTS_8, starts(visible, 8));
    }

    /// The access a wasm accessor refused in the running call, if any.
    pub fn fault(&self) -> Option<Fault> {
        let code = self.slot(SLOT_FAULT);
        let &(function, len, input) = FAULTS.get(usize::try_from(code).ok()?.checked_sub(1)?)?;
        Some(Fault {
            function,
            at: self.slot(SLOT_FAULT_AT),
            len,
            input,
        })
    }

    /// A new block of `n` bytes, zeroed; 0 for `n == 0`, as in the official kernel.
    pub fn alloc(&mut self, n: u64) -> Result<u64, OverLimit> {
        self.alloc_with(n, true)
    }

    fn alloc_with(&mut self, n: u64, zero: bool) -> Result<u64, OverLimit> {
        if n == 0 {
            return Ok(0);
        }
        if let Some(handle) = self.reuse(n) {
            return Ok(handle);
        }
        let limit = self.limit.min(self.mem_len.saturating_sub(BASE));
        let start = self.len;
        let end = match start.checked_add(n) {
            Some(end) if end - BASE <= limit => end,
            _ => {
                return Err(OverLimit {
                    requested: n,
                    limit,
                })
            }
        };
        self.set_len(end);
        if zero {
            // Fresh bytes may hold what an earlier call left there.
            self.bytes_mut()[start as usize..].fill(0);
        }
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
            self.set_input(self.input.0, 0);
        }
        if handle + block.capacity == self.len {
            // The last block: give the bytes back instead of fragmenting.
            self.set_len(handle);
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
        self.bytes()
            .get(handle as usize..(handle + b.used) as usize)
    }

    pub fn block_mut(&mut self, handle: u64) -> Option<&mut [u8]> {
        let b = *self.active.get(&handle)?;
        self.bytes_mut()
            .get_mut(handle as usize..(handle + b.used) as usize)
    }

    /// Any `len` bytes inside the arena starting at `offset`.
    pub fn range(&self, offset: u64, len: u64) -> Option<&[u8]> {
        let end = offset.checked_add(len)?;
        if offset < BASE && len > 0 {
            return None;
        }
        self.bytes()
            .get(usize::try_from(offset).ok()?..usize::try_from(end).ok()?)
    }

    pub fn load_u8(&self, offset: u64) -> Option<u8> {
        Some(self.range(offset, 1)?[0])
    }

    pub fn load_u64(&self, offset: u64) -> Option<u64> {
        Some(u64::from_le_bytes(self.range(offset, 8)?.try_into().ok()?))
    }

    pub fn store_u8(&mut self, offset: u64, value: u8) -> Option<()> {
        self.store(offset, &[value])
    }

    pub fn store_u64(&mut self, offset: u64, value: u64) -> Option<()> {
        self.store(offset, &value.to_le_bytes())
    }

    fn store(&mut self, offset: u64, value: &[u8]) -> Option<()> {
        if offset < BASE {
            return None;
        }
        let start = usize::try_from(offset).ok()?;
        let end = start.checked_add(value.len())?;
        self.bytes_mut().get_mut(start..end)?.copy_from_slice(value);
        Some(())
    }

    /// A byte of the current input, by index into it.
    pub fn input_u8(&self, index: u64) -> Option<u8> {
        if index >= self.input.1 {
            return None;
        }
        self.load_u8(self.input.0.checked_add(index)?)
    }

    pub fn input_u64(&self, index: u64) -> Option<u64> {
        if index.checked_add(8)? > self.input.1 {
            return None;
        }
        self.load_u64(self.input.0.checked_add(index)?)
    }

    /// Copies `bytes` into a new block (0 for empty, like the official runtime).
    pub fn write_new(&mut self, bytes: &[u8]) -> Result<u64, OverLimit> {
        let handle = self.alloc_with(bytes.len() as u64, false)?;
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

    /// A kernel on a buffer of `mem` bytes (header included) under `limit`.
    fn kernel(buf: &mut Vec<u8>, mem: usize, limit: u64) -> Kernel {
        *buf = vec![0xAA; mem];
        let mut k = Kernel::new(limit);
        // SAFETY: the buffer outlives the kernel in every test below.
        unsafe { k.attach_raw(buf.as_mut_ptr(), buf.len()) };
        k
    }

    #[test]
    fn handles_are_offsets_and_reused_after_free() {
        let mut buf = Vec::new();
        let mut k = kernel(&mut buf, 1 << 20, 1 << 20);
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
        let mut buf = Vec::new();
        let mut k = kernel(&mut buf, 1 << 20, 1 << 20);
        let a = k.alloc(1000).unwrap();
        let _guard = k.alloc(8).unwrap();
        k.free(a);
        let small = k.alloc(100).unwrap();
        assert_eq!(small, a);
        assert_eq!(k.alloc(800).unwrap(), a + 100, "the split tail is reused");
    }

    #[test]
    fn limit_and_bounds_never_overflow() {
        let mut buf = Vec::new();
        let mut k = kernel(&mut buf, 1 << 20, 1024);
        assert!(k.alloc(2000).is_err());
        assert!(k.alloc(u64::MAX).is_err());
        assert_eq!(k.load_u64(u64::MAX - 3), None);
        assert_eq!(k.load_u8(0), None);
        assert_eq!(k.range(u64::MAX, 2), None);
        k.set_input(u64::MAX, u64::MAX);
        assert_eq!(k.input_u64(u64::MAX - 1), None);
        assert_eq!(k.input_u8(5), None);
    }

    #[test]
    fn memory_size_caps_the_arena_and_fresh_blocks_are_zero() {
        let mut buf = Vec::new();
        let mut k = kernel(&mut buf, 4096, u64::MAX);
        let a = k.alloc(4096 - BASE).unwrap();
        assert!(k.block(a).unwrap().iter().all(|&b| b == 0));
        assert!(k.alloc(1).is_err(), "the memory is full");
        assert_eq!(k.slot(SLOT_STARTS_8), 4096 - BASE - 7);
        k.free(a);
        assert_eq!((k.slot(SLOT_STARTS_1), k.slot(SLOT_STARTS_8)), (0, 0));
    }

    #[test]
    fn header_mirrors_the_input_and_reports_faults() {
        let mut buf = Vec::new();
        let mut k = kernel(&mut buf, 4096, 1024);
        let h = k.write_new(b"input").unwrap();
        k.set_input(h, 5);
        assert_eq!(
            (
                k.slot(SLOT_INPUT_OFFSET),
                k.slot(SLOT_INPUT_STARTS_1),
                k.slot(SLOT_INPUT_STARTS_8)
            ),
            (h, 5, 0)
        );
        k.free(h);
        assert_eq!(k.slot(SLOT_INPUT_STARTS_1), 0, "a freed input has no bytes");
        let long = k.write_new(&[7; 100]).unwrap();
        let tail = k.write_new(&[8; 100]).unwrap();
        k.set_input(long, 200);
        assert_eq!(k.slot(SLOT_INPUT_STARTS_8), 193);
        k.free(tail);
        assert_eq!(
            k.input_visible(),
            100,
            "the input is cut at the arena's end"
        );
        assert_eq!(k.slot(SLOT_INPUT_STARTS_8), 93);
        assert!(k.fault().is_none());
        k.set_slot(SLOT_FAULT, 6);
        k.set_slot(SLOT_FAULT_AT, 99);
        let f = k.fault().unwrap();
        assert_eq!(
            (f.function, f.at, f.len, f.input),
            ("input_load_u64", 99, 8, true)
        );
        k.set_slot(SLOT_FAULT, 77);
        assert!(k.fault().is_none(), "an unknown code is no fault");
        k.reset();
        assert_eq!(k.slot(SLOT_FAULT), 0);
    }
}
