//! Spec `limits`: plugins that never finish on their own, so the host's limits
//! (timeout, memory cap, stack) must stop them. `black_box` hides each loop's
//! work from the optimiser, which would otherwise delete or reshape it.

use extism_pdk::*;
use std::hint::black_box;

/// Loops forever.
#[plugin_fn]
pub fn spin() -> FnResult<()> {
    let mut n = 0u64;
    loop {
        n = black_box(n.wrapping_add(1));
    }
}

/// Allocates 1 MiB blocks and keeps them all until memory runs out.
#[plugin_fn]
pub fn grow() -> FnResult<()> {
    let mut hoard = Vec::new();
    loop {
        hoard.push(black_box(vec![1u8; 1 << 20]));
    }
}

/// Recurses until the stack runs out.
#[plugin_fn]
pub fn recurse() -> FnResult<String> {
    Ok(depth(0).to_string())
}

/// Every frame keeps an array alive across the call and combines it with the
/// result, so the call cannot become a loop (tail-call or accumulator form).
#[inline(never)]
#[allow(unconditional_recursion)] // on purpose: the host's stack limit ends it
fn depth(n: u64) -> u64 {
    let frame = black_box([n; 8]);
    let below = depth(black_box(n + 1));
    below ^ frame[(below % 8) as usize]
}
