//! How far a long step of the suite is: a bar on a terminal; elsewhere (CI, a
//! pipe) a line every few seconds, once the step has taken that long, so a
//! step that finishes quickly prints nothing.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct Progress {
    /// What is being done, as in "compiling 51 modules for polyplug".
    what: String,
    /// What a finished item is called in the line: "ready", "done".
    state: &'static str,
    total: usize,
    done: AtomicUsize,
    /// Lines, when there is no bar: at most one per `every`.
    every: Duration,
    shown: Mutex<Instant>,
    bar: Option<indicatif::ProgressBar>,
}

impl Progress {
    pub fn new(what: String, state: &'static str, total: usize, every: Duration) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(total as u64);
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "suite [{elapsed}] {wide_bar} {pos}/{len} {msg}",
            ) {
                bar.set_style(style);
            }
            bar.set_message(what.clone());
            bar
        });
        Progress {
            what,
            state,
            total,
            done: AtomicUsize::new(0),
            every,
            shown: Mutex::new(Instant::now()),
            bar,
        }
    }

    /// One more item finished; `label` names it, and is only made when shown.
    pub fn step(&self, label: impl FnOnce() -> String) {
        let n = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        if let Some(bar) = &self.bar {
            bar.set_position(n as u64);
            bar.set_message(format!("{}: {}", self.what, label()));
            return;
        }
        let mut last = self.shown.lock().unwrap_or_else(|p| p.into_inner());
        if last.elapsed() >= self.every {
            *last = Instant::now();
            let label = label();
            eprintln!(
                "suite: {} ({n}/{} {}, {label})",
                self.what, self.total, self.state
            );
        }
    }

    /// Clears the bar.
    pub fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}
