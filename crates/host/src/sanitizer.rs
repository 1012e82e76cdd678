//! The kernel-memory sanitizer (`--strict-memory`): what no official runtime has.
//!
//! The official kernel never traps on a kernel-memory access, and real PDKs rely
//! on it (go-pdk reads 8-byte chunks past a block's end; as-pdk 1.0.0's
//! `Host.outputString` passes a UTF-16 length as a byte length). polyplug does the
//! same, so results stay the official ones; in strict mode it also records each
//! access outside the block it belongs to, with the export, the host function,
//! the offset and length, and the nearest block, so a PDK bug shows up as a
//! diagnostic instead of as silently wrong bytes on some other runtime.

use std::fmt;

use crate::kernel::Kernel;

/// At most this many diagnostics are kept per call; the rest are only counted.
const KEEP: usize = 64;

/// What was wrong with an access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Problem {
    /// The bytes are not all inside one live block (past its end, in a freed
    /// block, between blocks, or outside kernel memory).
    OutsideBlock,
    /// An input read past the input's length (the official kernel returns 0).
    PastInput { len: u64 },
    /// `free` or `error_set` of an offset that is not a live block's handle.
    NotAHandle,
}

/// One access to kernel memory outside the block it belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemoryDiagnostic {
    /// The export that was running (empty while the module was being initialised).
    pub export: String,
    /// The `extism:host/env` function: `store_u64`, `output_set`, `free`, ...
    pub function: &'static str,
    pub offset: u64,
    pub len: u64,
    /// The nearest live block: its handle and length.
    pub block: Option<(u64, u64)>,
    pub problem: Problem,
}

impl MemoryDiagnostic {
    pub(crate) fn new(
        function: &'static str,
        offset: u64,
        len: u64,
        block: Option<(u64, u64)>,
        problem: Problem,
    ) -> MemoryDiagnostic {
        MemoryDiagnostic {
            export: String::new(),
            function,
            offset,
            len,
            block,
            problem,
        }
    }
}

impl fmt::Display for MemoryDiagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.export.is_empty() {
            write!(f, "`{}`: ", self.export)?;
        }
        let at = format!("{} at {} (+{} bytes)", self.function, self.offset, self.len);
        let near = match self.block {
            Some((h, len)) => format!("block {h} ({len} bytes)"),
            None => "no live block".to_string(),
        };
        match self.problem {
            Problem::OutsideBlock => match self.block {
                Some((h, len)) if self.offset >= h && self.offset < h + len => {
                    let past = self.offset.saturating_add(self.len) - (h + len);
                    write!(f, "{at} runs {past} bytes past {near}")
                }
                Some((h, len)) if self.offset == h + len => {
                    write!(f, "{at} starts right after the end of {near}")
                }
                Some((h, len)) if self.offset > h + len && self.offset - (h + len) < 1 << 20 => {
                    let gap = self.offset - (h + len);
                    write!(f, "{at} starts {gap} bytes past the end of {near}")
                }
                _ => write!(f, "{at} is outside every live block; nearest: {near}"),
            },
            Problem::PastInput { len } => write!(
                f,
                "{} at input index {} (+{} bytes) reads past the input's {len} bytes (the official kernel returns 0)",
                self.function,
                self.offset,
                self.len
            ),
            Problem::NotAHandle => write!(
                f,
                "{}: {} is not a live block's handle (double free, or never allocated); nearest: {near}",
                self.function, self.offset
            ),
        }
    }
}

/// Diagnostics recorded since they were last taken: the first ones in full,
/// the rest counted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemoryDiagnostics {
    pub kept: Vec<MemoryDiagnostic>,
    /// Diagnostics counted beyond the first 64 of a call.
    pub dropped: u64,
}

impl MemoryDiagnostics {
    /// Every diagnostic recorded, kept or not.
    pub fn total(&self) -> u64 {
        self.kept.len() as u64 + self.dropped
    }

    pub fn is_empty(&self) -> bool {
        self.total() == 0
    }

    /// Adds `other`'s diagnostics, stamped with the export that made them.
    pub(crate) fn absorb(&mut self, mut other: MemoryDiagnostics, export: &str) {
        for d in &mut other.kept {
            if d.export.is_empty() {
                d.export = export.to_string();
            }
        }
        let room = KEEP.saturating_sub(self.kept.len());
        let extra = other.kept.len().saturating_sub(room) as u64;
        other.kept.truncate(room);
        self.kept.append(&mut other.kept);
        self.dropped += other.dropped + extra;
    }

    pub(crate) fn record(&mut self, d: MemoryDiagnostic) {
        if self.kept.len() < KEEP {
            self.kept.push(d);
        } else {
            self.dropped += 1;
        }
    }
}

/// The block an offset belongs to: the one it starts in, else the closest one.
pub(crate) fn nearest_block(kernel: &Kernel, offset: u64) -> Option<(u64, u64)> {
    let before = kernel.block_before(offset);
    if let Some((h, len)) = before {
        if offset < h + len.max(1) {
            return Some((h, len));
        }
    }
    let distance = |&(h, len): &(u64, u64)| {
        if h > offset {
            h - offset
        } else {
            offset - (h + len)
        }
    };
    [before, kernel.block_after(offset)]
        .into_iter()
        .flatten()
        .min_by_key(distance)
}
