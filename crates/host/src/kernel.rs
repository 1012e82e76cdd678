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
//! and the input end.
//!
//! Accesses follow the official kernel, which never traps (docs/kernel-memory.md):
//! anything inside *kernel memory* (the arena rounded up to whole 64 KiB pages, as
//! the official kernel's wasm memory grows) reads or writes the bytes there, even
//! past the end of a block; anything outside reads 0 and writes nothing. Bytes this
//! kernel never wrote read as 0, so a pooled memory never shows a plugin what
//! another plugin left in it. In strict mode each access outside the block it
//! belongs to is also recorded as a [`MemoryDiagnostic`] (`sanitizer.rs`).

use std::borrow::Cow;

use crate::accessor::Lease;
use crate::blocks::Blocks;
use crate::sanitizer::{MemoryDiagnostic, MemoryDiagnostics, Problem};

/// Where the first block starts: after the null handle 0 and the header.
pub(crate) const BASE: u64 = 64;

/// The official kernel's memory grows a wasm page at a time from 16 pages; an
/// offset below that is "inside kernel memory" there, so it is here too.
const PAGE: u64 = 64 * 1024;
const FIRST_PAGES: u64 = 16;

/// The header shared with the wasm accessors, at the start of the kernel memory
/// (on the arena's first page: a header far from the arena would cost a fresh
/// instance one more page fault and page table). Little-endian u64 slots, kept
/// so that each accessor needs one unsigned compare on its fast path: how many
/// offsets `p - BASE` start a 1- and 8-byte access inside the arena, the input's
/// offset, and how many input indexes start a 1- and 8-byte read of input bytes
/// inside the arena. Everything else takes the slow path ([`Kernel::slow`]).
pub(crate) const SLOT_STARTS_1: u64 = 8;
pub(crate) const SLOT_STARTS_8: u64 = 16;
pub(crate) const SLOT_INPUT_OFFSET: u64 = 24;
pub(crate) const SLOT_INPUT_STARTS_1: u64 = 32;
pub(crate) const SLOT_INPUT_STARTS_8: u64 = 40;

/// How many starts of an `n`-byte access fit in `len` bytes.
fn starts(len: u64, n: u64) -> u64 {
    len.saturating_add(1).saturating_sub(n)
}

/// The hot accessors, in the order of the codes their slow path passes
/// ([`Kernel::slow`]): name, access width, and whether the offset is an input index.
pub(crate) const ACCESSORS: [(&str, u64, bool); 6] = [
    ("load_u8", 1, false),
    ("load_u64", 8, false),
    ("store_u8", 1, false),
    ("store_u64", 8, false),
    ("input_load_u8", 1, true),
    ("input_load_u64", 8, true),
];

/// Why the kernel refused an allocation.
#[derive(Debug)]
pub(crate) struct OverLimit {
    pub requested: u64,
    pub limit: u64,
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
    /// Bytes below this were written (or zeroed) by this kernel since it was
    /// attached; bytes above it read as 0, whatever a pooled memory holds there.
    written: u64,
    /// Where the memory goes back to when the kernel is dropped.
    lease: Option<Lease>,
    /// Live blocks: handle -> length, ordered so the block around an offset is
    /// one lookup. Blocks are bump-allocated and a freed one is never handed out
    /// again within a call (the official kernel does not either), so a stale
    /// handle never aliases a new block.
    active: Blocks,
    /// Cap on the arena's length in bytes.
    limit: u64,
    input: (u64, u64),
    pub output: (u64, u64),
    pub error: u64,
    /// Strict mode: accesses outside their block are recorded here.
    pub sanitizer: Option<MemoryDiagnostics>,
}

// SAFETY: `mem` points into the kernel memory that `lease` keeps mapped; only
// this kernel's store uses it until the lease is released (on drop), and the
// host touches it only through `&self` (reads) or `&mut self` (writes).
unsafe impl Send for Kernel {}
unsafe impl Sync for Kernel {}

impl Drop for Kernel {
    fn drop(&mut self) {
        if let Some(lease) = self.lease.take() {
            lease.release(self.written.max(self.peak));
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
            written: BASE,
            lease: None,
            active: Blocks::default(),
            limit,
            input: (0, 0),
            output: (0, 0),
            error: 0,
            sanitizer: None,
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
        self.written = BASE;
        self.reset();
    }

    /// Bytes `start..end` of the kernel memory; empty when detached or out of range.
    fn slice(&self, start: u64, end: u64) -> &[u8] {
        if self.mem.is_null() || start > end || end > self.mem_len {
            return &[];
        }
        // SAFETY: `attach` vouches for `mem_len` bytes and `start <= end <= mem_len`.
        unsafe { std::slice::from_raw_parts(self.mem.add(start as usize), (end - start) as usize) }
    }

    fn slice_mut(&mut self, start: u64, end: u64) -> &mut [u8] {
        if self.mem.is_null() || start > end || end > self.mem_len {
            return &mut [];
        }
        // SAFETY: as in `slice`; `&mut self` makes this the only view.
        unsafe {
            std::slice::from_raw_parts_mut(self.mem.add(start as usize), (end - start) as usize)
        }
    }

    #[cfg(test)]
    fn slot(&self, slot: u64) -> u64 {
        let mut b = [0u8; 8];
        b.copy_from_slice(self.slice(slot, slot + 8).get(..8).unwrap_or(&[0; 8]));
        u64::from_le_bytes(b)
    }

    fn set_slot(&mut self, slot: u64, value: u64) {
        if let Some(dst) = self.slice_mut(slot, slot + 8).get_mut(..8) {
            dst.copy_from_slice(&value.to_le_bytes());
        }
    }

    fn set_len(&mut self, len: u64) {
        self.len = len;
        self.peak = self.peak.max(len);
        self.written = self.written.max(len);
        self.set_slot(SLOT_STARTS_1, self.fast(starts(len - BASE, 1)));
        self.set_slot(SLOT_STARTS_8, self.fast(starts(len - BASE, 8)));
        self.write_input();
    }

    /// Drops every block; the memory stays for the next call.
    pub fn reset(&mut self) {
        self.set_len(BASE);
        self.active.clear();
        self.set_input(0, 0);
        self.output = (0, 0);
        self.error = 0;
    }

    /// The ABI's `memory_bytes`: the bytes the allocator spans, whole pages
    /// less the header, as the official kernel counts them.
    pub fn memory_bytes(&self) -> u64 {
        self.pages_end() - BASE
    }

    /// Bytes taken by blocks (live or freed), without the reserved null prefix.
    pub fn in_use(&self) -> u64 {
        self.len - BASE
    }

    /// The end of the allocator's pages: the highest arena rounded up to a page.
    /// `input_set`, `output_set` and `error_set` accept offsets below it.
    fn pages_end(&self) -> u64 {
        self.peak
            .max(BASE + 1)
            .div_ceil(PAGE)
            .saturating_mul(PAGE)
            .min(self.mem_len)
    }

    /// The end of *kernel memory*: the allocator's pages, and at least the
    /// official kernel's first 16 pages. Loads and stores reach bytes below it.
    pub fn extent(&self) -> u64 {
        self.pages_end().max((FIRST_PAGES * PAGE).min(self.mem_len))
    }

    /// Whether `n` bytes at `offset` lie inside kernel memory.
    fn inside(&self, offset: u64, n: u64) -> bool {
        offset >= BASE
            && offset
                .checked_add(n)
                .is_some_and(|end| end <= self.extent())
    }

    /// Whether `n` bytes at `offset` lie inside the allocator's pages.
    fn inside_pages(&self, offset: u64, n: u64) -> bool {
        offset >= BASE
            && offset
                .checked_add(n)
                .is_some_and(|end| end <= self.pages_end())
    }

    pub fn set_limit(&mut self, limit: u64) {
        self.limit = limit;
    }

    pub fn input(&self) -> (u64, u64) {
        self.input
    }

    /// Sets the input range (the host's own call; the guest's goes through
    /// [`Kernel::input_set`]).
    pub fn set_input(&mut self, offset: u64, len: u64) {
        self.input = (offset, len);
        self.write_input();
    }

    /// How many input bytes lie inside the arena, where the wasm accessors
    /// read them directly; the rest take the slow path.
    fn input_in_arena(&self) -> u64 {
        let (offset, len) = self.input;
        if offset < BASE {
            return 0;
        }
        len.min(self.len.saturating_sub(offset))
    }

    /// The input's bounds stay in the header in strict mode too: the fast path
    /// only reads input bytes that exist, which the sanitizer never records
    /// (it records reads past the input, which take the slow path). A 16 MiB
    /// input then costs the sanitizer nothing.
    fn write_input(&mut self) {
        let direct = self.input_in_arena();
        self.set_slot(SLOT_INPUT_OFFSET, self.input.0);
        self.set_slot(SLOT_INPUT_STARTS_1, starts(direct, 1));
        self.set_slot(SLOT_INPUT_STARTS_8, starts(direct, 8));
    }

    /// A header bound for the wasm accessors' fast path over the arena; none in
    /// strict mode, so every load and store takes the slow path, which the
    /// sanitizer checks against its block.
    fn fast(&self, starts: u64) -> u64 {
        if self.sanitizer.is_some() {
            0
        } else {
            starts
        }
    }

    /// A new block of `n` bytes, zeroed; 0 for `n == 0`, as in the official kernel.
    pub fn alloc(&mut self, n: u64) -> Result<u64, OverLimit> {
        self.alloc_with(n, true)
    }

    fn alloc_with(&mut self, n: u64, zero: bool) -> Result<u64, OverLimit> {
        if n == 0 {
            return Ok(0);
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
        // A fresh block reads as zeros (it may hold what an earlier call, or a
        // pooled memory's earlier plugin, left there); `write_new` overwrites
        // every byte at once instead.
        if zero {
            self.slice_mut(start, end).fill(0);
        }
        self.set_len(end);
        self.active.insert(start, n);
        Ok(start)
    }

    /// Frees an active block; anything else is ignored, as in the official kernel
    /// (and recorded in strict mode, as a double free or a bad handle).
    pub fn free(&mut self, handle: u64) {
        if self.active.remove(handle).is_none() {
            if handle != 0 {
                self.diagnose("free", handle, 0, Problem::NotAHandle);
            }
            return;
        }
        if handle == self.input.0 {
            // As the official kernel does: the input's bytes are gone.
            self.set_input(self.input.0, 0);
        }
    }

    /// The length of an active block, 0 for anything that is not one.
    pub fn length(&self, handle: u64) -> u64 {
        self.active.get(handle).unwrap_or(0)
    }

    pub fn is_block(&self, handle: u64) -> bool {
        self.active.get(handle).is_some()
    }

    /// The bytes of an active block.
    pub fn block(&self, handle: u64) -> Option<&[u8]> {
        let len = self.active.get(handle)?;
        Some(self.slice(handle, handle + len))
    }

    pub fn block_mut(&mut self, handle: u64) -> Option<&mut [u8]> {
        let len = self.active.get(handle)?;
        Some(self.slice_mut(handle, handle + len))
    }

    /// The live block (handle, length) that starts at or before `offset` (it may
    /// end before it).
    pub(crate) fn block_before(&self, offset: u64) -> Option<(u64, u64)> {
        self.active.live_before(offset)
    }

    /// The live block (handle, length) that starts after `offset`.
    pub(crate) fn block_after(&self, offset: u64) -> Option<(u64, u64)> {
        self.active.live_after(offset)
    }

    /// `len` bytes at `offset` as the official kernel would hand them to its host:
    /// the bytes there when the range is inside kernel memory (0 for bytes this
    /// kernel never wrote), nothing otherwise.
    pub fn read(&self, offset: u64, len: u64) -> Cow<'_, [u8]> {
        if len == 0 || !self.inside(offset, len) {
            return Cow::Borrowed(&[]);
        }
        let end = offset + len;
        if end <= self.written {
            return Cow::Borrowed(self.slice(offset, end));
        }
        let mut bytes = self.slice(offset, self.written.max(offset)).to_vec();
        bytes.resize(len as usize, 0);
        Cow::Owned(bytes)
    }

    /// `n` (1 or 8) bytes at `offset` as a little-endian number; 0 outside kernel memory.
    fn load(&self, offset: u64, n: u64) -> u64 {
        let mut b = [0u8; 8];
        let bytes = self.read(offset, n);
        b[..bytes.len()].copy_from_slice(&bytes);
        u64::from_le_bytes(b)
    }

    /// Writes the low `n` bytes of `value` at `offset` if they lie inside kernel
    /// memory; ignored otherwise, as in the official kernel.
    fn store(&mut self, offset: u64, n: u64, value: u64) {
        if !self.inside(offset, n) {
            return;
        }
        if offset > self.written {
            // Keep "below `written` is ours": the gap may hold a pooled memory's bytes.
            self.slice_mut(self.written, offset).fill(0);
        }
        self.slice_mut(offset, offset + n)
            .copy_from_slice(&value.to_le_bytes()[..n as usize]);
        self.written = self.written.max(offset + n);
    }

    /// `load_u8`/`load_u64`/`store_*`: the official result, recorded in strict
    /// mode when the access is not inside one live block.
    pub fn access(
        &mut self,
        function: &'static str,
        offset: u64,
        n: u64,
        store: Option<u64>,
    ) -> u64 {
        if self.sanitizer.is_some() {
            self.check_block(function, offset, n);
        }
        match store {
            Some(value) => {
                self.store(offset, n, value);
                0
            }
            None => self.load(offset, n),
        }
    }

    /// `input_load_u8`/`input_load_u64`: the input's bytes at `index`, 0 where
    /// `index + n` is past the input (the official kernel's rule).
    pub fn input_load(&mut self, function: &'static str, index: u64, n: u64) -> u64 {
        let (offset, len) = self.input;
        if index.checked_add(n).is_none_or(|end| end > len) {
            if self.sanitizer.is_some() {
                self.diagnose(
                    function,
                    offset.saturating_add(index),
                    n,
                    Problem::PastInput { len },
                );
            }
            return 0;
        }
        self.load(offset + index, n)
    }

    /// The wasm accessors' slow path: whatever their one-compare fast path does
    /// not cover (outside the arena, or input bytes past it). `code` is the
    /// accessor's index in [`ACCESSORS`] plus one.
    pub fn slow(&mut self, code: u64, at: u64, value: u64) -> u64 {
        let Some(&(function, n, input)) = code
            .checked_sub(1)
            .and_then(|i| ACCESSORS.get(usize::try_from(i).ok()?))
        else {
            return 0;
        };
        if input {
            return self.input_load(function, at, n);
        }
        let store = function.starts_with("store").then_some(value);
        self.access(function, at, n, store)
    }

    /// `input_set` from the guest: ignored unless the range lies inside kernel memory.
    pub fn input_set(&mut self, offset: u64, len: u64) {
        if self.sanitizer.is_some() && len > 0 {
            self.check_block("input_set", offset, len);
        }
        if len == 0 || self.inside_pages(offset, len) {
            self.set_input(offset, len);
        }
    }

    /// `output_set`: ignored unless the range lies inside kernel memory; a range
    /// past the end of its block is taken as it is (the official kernel does).
    pub fn output_set(&mut self, offset: u64, len: u64) {
        if self.sanitizer.is_some() && len > 0 {
            self.check_block("output_set", offset, len);
        }
        if (len == 0 && offset >= BASE) || self.inside_pages(offset, len) {
            self.output = (offset, len);
        }
    }

    /// `error_set`: 0 clears; an offset inside kernel memory is taken, even if it
    /// is not a handle (the official kernel does); anything else is ignored.
    pub fn error_set(&mut self, handle: u64) {
        if handle != 0 && !self.is_block(handle) {
            self.diagnose("error_set", handle, 0, Problem::NotAHandle);
        }
        if handle == 0 || self.inside_pages(handle, 1) {
            self.error = handle;
        }
    }

    /// The error message `error_set` pointed at: the block's bytes, or empty for
    /// an offset that is not a live block (its length is 0, as `length` says);
    /// the call fails either way, as on the official runtime.
    pub fn error_message(&self) -> Option<&[u8]> {
        match self.error {
            0 => None,
            h => Some(self.block(h).unwrap_or_default()),
        }
    }

    /// Copies `bytes` into a new block (0 for empty, like the official runtime).
    pub fn write_new(&mut self, bytes: &[u8]) -> Result<u64, OverLimit> {
        let handle = self.alloc_with(bytes.len() as u64, false)?;
        if let Some(dst) = self.block_mut(handle) {
            dst.copy_from_slice(bytes);
        }
        Ok(handle)
    }

    /// The current output bytes, as the official runtime reads them.
    pub fn output_bytes(&self) -> Cow<'_, [u8]> {
        self.read(self.output.0, self.output.1)
    }

    /// Records, in strict mode, an access of `n` bytes at `offset` that is not
    /// inside one live block.
    fn check_block(&mut self, function: &'static str, offset: u64, n: u64) {
        if self.active.covers(offset, n) {
            return;
        }
        self.diagnose(function, offset, n, Problem::OutsideBlock);
    }

    fn diagnose(&mut self, function: &'static str, offset: u64, len: u64, problem: Problem) {
        if self.sanitizer.is_none() {
            return;
        }
        let nearest = crate::sanitizer::nearest_block(self, offset);
        if let Some(recorder) = &mut self.sanitizer {
            recorder.record(MemoryDiagnostic::new(
                function, offset, len, nearest, problem,
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sanitizer::MemoryDiagnostics;

    /// A kernel on a buffer of `mem` bytes (header included) under `limit`.
    fn kernel(buf: &mut Vec<u8>, mem: usize, limit: u64) -> Kernel {
        *buf = vec![0xAA; mem];
        let mut k = Kernel::new(limit);
        // SAFETY: the buffer outlives the kernel in every test below.
        unsafe { k.attach_raw(buf.as_mut_ptr(), buf.len()) };
        k
    }

    fn load_u64(k: &mut Kernel, at: u64) -> u64 {
        k.access("load_u64", at, 8, None)
    }

    #[test]
    fn handles_are_offsets_and_never_reused_within_a_call() {
        let mut buf = Vec::new();
        let mut k = kernel(&mut buf, 1 << 20, 1 << 20);
        let a = k.alloc(16).unwrap();
        let b = k.alloc(300).unwrap();
        assert_eq!((a, b), (BASE, BASE + 16));
        assert_eq!(k.length(a), 16);
        assert_eq!(k.length(b), 300);
        k.access("store_u64", b + 8, 8, Some(42));
        assert_eq!(load_u64(&mut k, b + 8), 42);
        k.free(a);
        assert_eq!(k.length(a), 0);
        assert_eq!(
            k.alloc(10).unwrap(),
            b + 300,
            "a freed block is not handed out again"
        );
        k.reset();
        assert_eq!(k.alloc(10).unwrap(), BASE, "a new call starts over");
    }

    #[test]
    fn out_of_range_reads_zero_and_writes_nothing() {
        let mut buf = Vec::new();
        let mut k = kernel(&mut buf, 1 << 20, 1024);
        assert!(k.alloc(2000).is_err());
        assert!(k.alloc(u64::MAX).is_err());
        for at in [0, 1, BASE - 1, u64::MAX, u64::MAX - 3, 1 << 40] {
            assert_eq!(load_u64(&mut k, at), 0, "load_u64({at})");
            assert_eq!(k.access("load_u8", at, 1, None), 0, "load_u8({at})");
            k.access("store_u64", at, 8, Some(u64::MAX));
        }
        assert_eq!(
            k.slot(SLOT_STARTS_1),
            0,
            "a store below BASE never reaches the header"
        );
        k.set_input(u64::MAX, u64::MAX);
        assert_eq!(k.input_load("input_load_u64", u64::MAX - 1, 8), 0);
        k.set_input(0, 0);
        assert_eq!(k.input_load("input_load_u8", 5, 1), 0);
    }

    #[test]
    fn past_a_block_reaches_the_bytes_there_up_to_the_page() {
        let mut buf = Vec::new();
        let mut k = kernel(&mut buf, 1 << 20, 1 << 20);
        let a = k.write_new(b"abc").unwrap();
        let b = k.write_new(b"defgh").unwrap();
        assert_eq!(load_u64(&mut k, a), u64::from_le_bytes(*b"abcdefgh"));
        // Past the arena but inside the page: what was written there, else 0.
        let end = b + 5;
        assert_eq!(load_u64(&mut k, end), 0);
        k.access("store_u64", end + 100, 8, Some(7));
        assert_eq!(load_u64(&mut k, end + 100), 7);
        assert_eq!(
            k.read(end, 8).as_ref(),
            &[0; 8],
            "the gap was zeroed, not 0xAA"
        );
        let end_of_memory = FIRST_PAGES * PAGE;
        assert_eq!(k.extent(), end_of_memory);
        k.access("store_u64", end_of_memory - 4, 8, Some(u64::MAX));
        assert_eq!(
            load_u64(&mut k, end_of_memory - 8),
            0,
            "a store straddling the end is ignored"
        );
        // output_set may run past its block inside the page, as the official kernel allows.
        k.output_set(a, 10);
        assert_eq!(k.output_bytes().as_ref(), b"abcdefgh\0\0");
        k.output_set(a, end_of_memory);
        assert_eq!(
            k.output_bytes().len(),
            10,
            "a range past kernel memory is ignored"
        );
    }

    #[test]
    fn input_reads_follow_the_input_length() {
        let mut buf = Vec::new();
        let mut k = kernel(&mut buf, 4096, 1 << 20);
        let h = k.write_new(b"0123456789").unwrap();
        k.set_input(h, 10);
        assert_eq!(k.input_load("input_load_u8", 9, 1), u64::from(b'9'));
        assert_eq!(k.input_load("input_load_u8", 10, 1), 0);
        assert_eq!(
            k.input_load("input_load_u64", 2, 8),
            u64::from_le_bytes(*b"23456789")
        );
        assert_eq!(
            k.input_load("input_load_u64", 3, 8),
            0,
            "a partial last chunk is 0"
        );
        assert_eq!(
            (
                k.slot(SLOT_INPUT_OFFSET),
                k.slot(SLOT_INPUT_STARTS_1),
                k.slot(SLOT_INPUT_STARTS_8)
            ),
            (h, 10, 3)
        );
        k.free(h);
        assert_eq!(k.input().1, 0, "freeing the input empties it");
        assert_eq!(k.slot(SLOT_INPUT_STARTS_1), 0);
    }

    #[test]
    fn memory_size_caps_the_arena_and_fresh_blocks_are_zero() {
        let mut buf = Vec::new();
        let mut k = kernel(&mut buf, 4096, u64::MAX);
        let a = k.alloc(4096 - BASE).unwrap();
        assert!(k.block(a).unwrap().iter().all(|&b| b == 0));
        assert!(k.alloc(1).is_err(), "the memory is full");
        assert_eq!(k.slot(SLOT_STARTS_8), 4096 - BASE - 7);
        assert_eq!(k.extent(), 4096, "kernel memory ends with the memory");
        k.reset();
        assert_eq!((k.slot(SLOT_STARTS_1), k.slot(SLOT_STARTS_8)), (0, 0));
    }

    #[test]
    fn strict_mode_records_accesses_outside_their_block() {
        let mut buf = Vec::new();
        let mut k = kernel(&mut buf, 1 << 20, 1 << 20);
        k.sanitizer = Some(MemoryDiagnostics::default());
        let a = k.alloc(5).unwrap();
        let _b = k.alloc(16).unwrap();
        k.access("store_u64", a, 8, Some(1));
        k.access("load_u8", a + 4, 1, None);
        k.output_set(a, 5);
        k.free(a);
        k.free(a);
        let d = k.sanitizer.take().unwrap().kept;
        let lines: Vec<String> = d.iter().map(|d| d.to_string()).collect();
        assert_eq!(lines.len(), 2, "{lines:#?}");
        assert!(
            lines[0].contains("store_u64") && lines[0].contains("block 64 (5 bytes)"),
            "{}",
            lines[0]
        );
        assert!(lines[1].starts_with("free: "), "{}", lines[1]);
    }

    #[test]
    fn strict_mode_keeps_the_input_fast_path_and_still_records_reads_past_it() {
        let mut buf = Vec::new();
        let mut k = kernel(&mut buf, 1 << 20, 1 << 20);
        k.sanitizer = Some(MemoryDiagnostics::default());
        let h = k.write_new(b"0123456789").unwrap();
        k.set_input(h, 10);
        assert_eq!(
            (k.slot(SLOT_INPUT_STARTS_1), k.slot(SLOT_INPUT_STARTS_8)),
            (10, 3),
            "reads inside the input are never recorded, so they stay fast"
        );
        assert_eq!((k.slot(SLOT_STARTS_1), k.slot(SLOT_STARTS_8)), (0, 0));
        assert_eq!(k.input_load("input_load_u64", 3, 8), 0);
        let d = k.sanitizer.take().unwrap().kept;
        assert_eq!(d.len(), 1, "{d:#?}");
        assert_eq!(d[0].problem, Problem::PastInput { len: 10 });
    }
}
