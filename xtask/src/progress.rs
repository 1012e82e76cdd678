//! Build progress: one redrawn status line on a terminal, plain lines
//! otherwise (CI logs), plus the small thread pool that drives the builds.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

pub struct Progress {
    tty: bool,
    total: usize,
    state: Mutex<State>,
}

struct State {
    done: usize,
    running: Vec<String>,
    started: Option<Instant>,
}

impl Progress {
    pub fn new(total: usize) -> Progress {
        Progress {
            tty: std::io::stderr().is_terminal(),
            total,
            state: Mutex::new(State {
                done: 0,
                running: Vec::new(),
                started: None,
            }),
        }
    }

    pub fn start(&self, label: &str) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.running.push(label.to_string());
        state.started.get_or_insert_with(Instant::now);
        if self.tty {
            self.redraw(&state);
        } else {
            eprintln!("  building {label}");
        }
    }

    /// A finished unit of work: `lines` are printed above the status line.
    pub fn finish(&self, label: &str, units: usize, lines: &[String]) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.running.retain(|l| l != label);
        state.done += units;
        let mut err = std::io::stderr().lock();
        if self.tty {
            let _ = write!(err, "\r\x1b[2K");
        }
        for line in lines {
            let _ = writeln!(err, "{line}");
        }
        drop(err);
        if self.tty {
            self.redraw(&state);
        }
    }

    /// Redraws the status line so a long compile still shows time passing.
    pub fn tick(&self) {
        if self.tty {
            let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            self.redraw(&state);
        }
    }

    pub fn clear(&self) {
        if self.tty {
            eprint!("\r\x1b[2K");
        }
    }

    fn redraw(&self, state: &State) {
        if state.running.is_empty() {
            eprint!("\r\x1b[2K");
        } else {
            let secs = state.started.map_or(0, |s| s.elapsed().as_secs());
            let line = format!(
                "[{}/{} {secs}s] building {}",
                state.done,
                self.total,
                state.running.join(", ")
            );
            let width = 100;
            let line: String = line.chars().take(width).collect();
            eprint!("\r\x1b[2K{line}");
        }
        let _ = std::io::stderr().flush();
    }
}

/// Runs `work` on every item with at most `jobs` threads; results keep the
/// items' order.
pub fn run_pool<T: Sync, R: Send>(
    jobs: usize,
    items: &[T],
    work: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, items.len().max(1)) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(i) else { break };
                let result = work(item);
                results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(result);
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .flatten()
        .collect()
}

/// Milliseconds since `start`, for the manifest.
pub fn elapsed_ms(start: Instant) -> u64 {
    start.elapsed().as_millis() as u64
}

#[cfg(test)]
mod tests {
    use super::run_pool;

    #[test]
    fn pool_keeps_order_and_runs_everything() {
        let items: Vec<u32> = (0..50).collect();
        for jobs in [1, 3, 64] {
            assert_eq!(
                run_pool(jobs, &items, |i| i * 2),
                items.iter().map(|i| i * 2).collect::<Vec<_>>()
            );
        }
        assert!(run_pool(4, &[] as &[u32], |i| *i).is_empty());
    }
}
