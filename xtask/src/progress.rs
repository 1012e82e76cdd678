//! Build progress: an indicatif bar on a terminal, plain lines otherwise
//! (CI logs), plus the small thread pool that drives the builds.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

/// A bar of `len` steps (a spinner when the length is unknown), redrawn on a
/// terminal; None elsewhere, where callers print plain lines instead.
pub fn bar(len: Option<u64>, prefix: &str) -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let (bar, template) = match len {
        Some(len) => (
            ProgressBar::new(len),
            "{prefix} [{elapsed}] {wide_bar} {pos}/{len} {msg}",
        ),
        None => (
            ProgressBar::new_spinner(),
            "{prefix} [{elapsed}] {spinner} {msg}",
        ),
    };
    let style = ProgressStyle::with_template(template).expect("a valid progress template");
    bar.set_style(style);
    bar.set_prefix(prefix.to_string());
    bar.enable_steady_tick(Duration::from_millis(200));
    Some(bar)
}

pub struct Progress {
    bar: Option<ProgressBar>,
    running: Mutex<Vec<String>>,
}

impl Progress {
    pub fn new(total: usize) -> Progress {
        Progress {
            bar: bar(Some(total as u64), "build-all"),
            running: Mutex::new(Vec::new()),
        }
    }

    pub fn start(&self, label: &str) {
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        running.push(label.to_string());
        match &self.bar {
            Some(bar) => bar.set_message(format!("building {}", running.join(", "))),
            None => eprintln!("  building {label}"),
        }
    }

    /// A finished unit of work: `lines` are printed above the bar.
    pub fn finish(&self, label: &str, units: usize, lines: &[String]) {
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        running.retain(|l| l != label);
        match &self.bar {
            Some(bar) => {
                for line in lines {
                    bar.println(line);
                }
                bar.inc(units as u64);
                bar.set_message(format!("building {}", running.join(", ")));
            }
            None => lines.iter().for_each(|line| eprintln!("{line}")),
        }
    }

    pub fn clear(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
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
