//! Limits that stop a plugin: the memory budget (plugin memory plus kernel memory
//! under `memory.max_pages`, enforced by trapping on growth) and the deadline
//! (epoch interruption: the engine's ticker advances the epoch, and at each
//! deadline the store checks the real clock).

use std::time::Instant;

use wasmtime::UpdateDeadline;

use crate::current_plugin::{CurrentPlugin, DEFAULT_KERNEL_LIMIT};
use crate::engine::TICK;
use crate::error::{Error, ErrorKind};

const PAGE: u64 = 64 * 1024;

/// Epoch ticks that stand for "no deadline".
pub(crate) const FAR: u64 = 1 << 40;

impl CurrentPlugin {
    fn set_kernel_limit(&mut self) {
        let limit = match self.shared.memory_budget {
            Some(budget) => budget.saturating_sub(self.linear_bytes),
            None => DEFAULT_KERNEL_LIMIT,
        };
        self.kernel.set_limit(limit);
    }
}

impl wasmtime::ResourceLimiter for CurrentPlugin {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let desired = desired as u64;
        if let Some(budget) = self.shared.memory_budget {
            let total = desired.saturating_add(self.kernel.in_use());
            if total > budget {
                let err = Error::new(
                    ErrorKind::MemoryLimit,
                    format!(
                        "plugin memory would grow from {} to {} pages, over memory.max_pages = {} \
                         (kernel memory holds {} bytes): raise memory.max_pages or use less memory",
                        current as u64 / PAGE,
                        desired.div_ceil(PAGE),
                        budget / PAGE,
                        self.kernel.in_use()
                    ),
                );
                return Err(self.fail(err));
            }
        }
        if maximum.is_some_and(|max| desired > max as u64) {
            let err = Error::new(
                ErrorKind::MemoryLimit,
                format!(
                    "plugin memory would grow past the module's own maximum of {} pages",
                    maximum.unwrap_or(0) as u64 / PAGE
                ),
            );
            return Err(self.fail(err));
        }
        self.linear_bytes = desired;
        self.set_kernel_limit();
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(maximum.is_none_or(|max| desired <= max))
    }
}

/// Most epoch ticks between two looks at the real clock. A tick is a sleep of
/// TICK and sleeps run long, so counting all the ticks to a far deadline ends
/// the call late (about 10% late on a busy machine); looking at the clock every
/// 50 ms bounds that.
const MAX_TICKS: u64 = 25;

/// Epoch ticks from now until `deadline` (rounded up), or until the next look
/// at the clock.
pub(crate) fn ticks_until(deadline: Instant) -> u64 {
    let left = deadline.saturating_duration_since(Instant::now());
    ((left.as_micros() / TICK.as_micros()) as u64 + 1).min(MAX_TICKS)
}

/// Runs at each epoch deadline: stops the call once its real deadline is past.
pub(crate) fn on_epoch(s: &mut CurrentPlugin) -> wasmtime::Result<UpdateDeadline> {
    match s.deadline.as_ref().map(|d| d.at) {
        None => Ok(UpdateDeadline::Continue(FAR)),
        Some(d) if Instant::now() < d => Ok(UpdateDeadline::Continue(ticks_until(d))),
        Some(_) => {
            let ms = s.shared.manifest.timeout_ms.unwrap_or_default();
            Err(s.fail(Error::new(
                ErrorKind::Timeout,
                format!("the call ran past timeout_ms = {ms}: raise timeout_ms or make the plugin finish sooner"),
            )))
        }
    }
}
