//! The thread that advances wasmtime's epoch, which ends calls at their
//! deadline (limits.rs), and ticks only while some call has a deadline.
//!
//! Why it rests: a thread that wakes every TICK on another core keeps this
//! process's address space live there, so every `mprotect` a fresh instance
//! makes (wasmtime resetting a pooled memory slot) sends that core a TLB
//! shoot-down and waits for it. Calls without a timeout, the common case for a
//! server making a fresh instance per request, then pay for a thread they never
//! use.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::Thread;
use std::time::Instant;

use crate::engine::TICK;

/// Ticks the ticker makes with no deadline armed before it rests: 1 s, so a
/// stream of timed calls keeps it awake rather than waking it for each call.
const IDLE_TICKS: u32 = 500;

/// How many deadlines are armed, and the thread to wake when the first is.
#[derive(Default)]
pub(crate) struct Ticker {
    armed: AtomicUsize,
    thread: OnceLock<Thread>,
}

/// A call's deadline; the ticker keeps ticking while it exists.
pub(crate) struct Deadline {
    pub at: Instant,
    _ticking: Armed,
}

/// One armed deadline, counted until dropped.
struct Armed(Arc<Ticker>);

impl Drop for Armed {
    fn drop(&mut self) {
        self.0.armed.fetch_sub(1, Ordering::Release);
    }
}

impl Ticker {
    /// Starts the thread: `tick` advances the epoch, and says false once the
    /// engine it serves is gone (then the thread ends).
    pub fn spawn(
        self: &Arc<Self>,
        tick: impl Fn() -> bool + Send + 'static,
    ) -> std::io::Result<()> {
        let ticker = Arc::clone(self);
        let handle = std::thread::Builder::new()
            .name("polyplug-epoch".into())
            .spawn(move || {
                let mut idle = 0;
                loop {
                    std::thread::sleep(TICK);
                    if !tick() {
                        return;
                    }
                    if ticker.armed.load(Ordering::Acquire) > 0 {
                        idle = 0;
                        continue;
                    }
                    idle += 1;
                    if idle >= IDLE_TICKS {
                        // A deadline armed after the load above unparks this
                        // thread, so park returns at once and the loop ticks.
                        std::thread::park();
                        idle = 0;
                    }
                }
            })?;
        let _ = self.thread.set(handle.thread().clone());
        Ok(())
    }

    /// A deadline at `at`, with the ticker awake until it is dropped.
    pub fn arm(self: &Arc<Self>, at: Instant) -> Deadline {
        if self.armed.fetch_add(1, Ordering::AcqRel) == 0 {
            self.wake();
        }
        Deadline {
            at,
            _ticking: Armed(Arc::clone(self)),
        }
    }

    /// Wakes the thread: for a deadline, or to see that its engine is gone.
    pub fn wake(&self) {
        if let Some(thread) = self.thread.get() {
            thread.unpark();
        }
    }

    #[cfg(test)]
    fn armed(&self) -> usize {
        self.armed.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU64;
    use std::time::Duration;

    /// The ticker rests with nothing armed, ticks again as soon as a deadline
    /// is armed, and ends when its engine is gone.
    #[test]
    fn ticks_while_armed_rests_otherwise_and_ends_with_its_engine() {
        let ticks = Arc::new(AtomicU64::new(0));
        let alive = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let ticker = Arc::new(Ticker::default());
        let (t, a) = (ticks.clone(), alive.clone());
        ticker
            .spawn(move || {
                t.fetch_add(1, Ordering::SeqCst);
                a.load(Ordering::SeqCst)
            })
            .unwrap();
        let count = || ticks.load(Ordering::SeqCst);
        let wait_until = |what: &str, done: &dyn Fn() -> bool| {
            let end = Instant::now() + Duration::from_secs(20);
            while !done() {
                assert!(Instant::now() < end, "the ticker never {what}");
                std::thread::sleep(Duration::from_millis(5));
            }
        };

        // Unarmed: it ticks for its idle time, then rests.
        let last = AtomicU64::new(count());
        wait_until("rested", &|| {
            std::thread::sleep(TICK * 20);
            let now = count();
            last.swap(now, Ordering::SeqCst) == now
        });

        let deadline = ticker.arm(Instant::now());
        assert_eq!(ticker.armed(), 1);
        let before = count();
        wait_until("woke for a deadline", &|| count() >= before + 10);

        // Each deadline counts until it is dropped.
        let second = ticker.arm(Instant::now());
        assert_eq!(ticker.armed(), 2);
        drop(deadline);
        assert_eq!(ticker.armed(), 1);
        drop(second);
        assert_eq!(ticker.armed(), 0);

        alive.store(false, Ordering::SeqCst);
        ticker.wake();
        let thread_gone = || Arc::strong_count(&ticker) == 1;
        wait_until("ended", &thread_gone);
    }
}
