//! `GET /metrics`: calls and errors by plugin, export and category, a latency
//! histogram, instances in use and refused requests, in Prometheus text format.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 16] = [
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0, 5.0, 30.0,
];

/// One plugin export's counters.
#[derive(Default)]
struct Series {
    /// Outcome ("ok" or an error category) -> calls.
    outcomes: Mutex<BTreeMap<&'static str, u64>>,
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_nanos: AtomicU64,
}

/// Why a request was answered without a call.
#[derive(Clone, Copy)]
pub enum Refusal {
    Busy,
    TooLarge,
    NotFound,
}

impl Refusal {
    fn label(self) -> &'static str {
        match self {
            Refusal::Busy => "busy",
            Refusal::TooLarge => "too-large",
            Refusal::NotFound => "not-found",
        }
    }
}

#[derive(Default)]
pub struct Metrics {
    /// plugin -> export -> series.
    series: RwLock<HashMap<String, HashMap<String, Arc<Series>>>>,
    refused: Mutex<BTreeMap<&'static str, u64>>,
}

impl Metrics {
    /// One finished call: `outcome` is "ok" or the error's category.
    pub fn record(&self, plugin: &str, export: &str, outcome: &'static str, took: Duration) {
        let series = self.series(plugin, export);
        *series
            .outcomes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(outcome)
            .or_default() += 1;
        let seconds = took.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|b| seconds <= *b) {
            series.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        series.count.fetch_add(1, Ordering::Relaxed);
        series.sum_nanos.fetch_add(
            u64::try_from(took.as_nanos()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    pub fn refused(&self, why: Refusal) {
        *self
            .refused
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(why.label())
            .or_default() += 1;
    }

    fn series(&self, plugin: &str, export: &str) -> Arc<Series> {
        if let Some(s) = self
            .series
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(plugin)
            .and_then(|m| m.get(export))
        {
            return s.clone();
        }
        self.series
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .entry(plugin.to_string())
            .or_default()
            .entry(export.to_string())
            .or_default()
            .clone()
    }

    /// The Prometheus text exposition of everything recorded.
    pub fn render(&self, in_use: i64, plugins: usize) -> String {
        let mut out = String::new();
        let series = self.series.read().unwrap_or_else(|e| e.into_inner());
        let mut rows: Vec<(&String, &String, &Arc<Series>)> = series
            .iter()
            .flat_map(|(p, m)| m.iter().map(move |(e, s)| (p, e, s)))
            .collect();
        rows.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));

        out.push_str(
            "# HELP polyplug_calls_total Plugin calls by outcome: ok or the error category.\n",
        );
        out.push_str("# TYPE polyplug_calls_total counter\n");
        for (plugin, export, s) in &rows {
            let outcomes = s.outcomes.lock().unwrap_or_else(|e| e.into_inner());
            for (outcome, n) in outcomes.iter() {
                let _ = writeln!(
                    out,
                    "polyplug_calls_total{{plugin=\"{}\",export=\"{}\",outcome=\"{outcome}\"}} {n}",
                    escape(plugin),
                    escape(export)
                );
            }
        }

        out.push_str("# HELP polyplug_call_duration_seconds Time from the request body read to the call's end.\n");
        out.push_str("# TYPE polyplug_call_duration_seconds histogram\n");
        for (plugin, export, s) in &rows {
            let labels = format!(
                "plugin=\"{}\",export=\"{}\"",
                escape(plugin),
                escape(export)
            );
            let mut cumulative = 0;
            for (bound, n) in BUCKETS.iter().zip(&s.buckets) {
                cumulative += n.load(Ordering::Relaxed);
                let _ = writeln!(
                    out,
                    "polyplug_call_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {cumulative}"
                );
            }
            let count = s.count.load(Ordering::Relaxed);
            let sum = s.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
            let _ = writeln!(
                out,
                "polyplug_call_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {count}"
            );
            let _ = writeln!(out, "polyplug_call_duration_seconds_sum{{{labels}}} {sum}");
            let _ = writeln!(
                out,
                "polyplug_call_duration_seconds_count{{{labels}}} {count}"
            );
        }

        out.push_str(
            "# HELP polyplug_refused_total Requests answered without a call, by reason.\n",
        );
        out.push_str("# TYPE polyplug_refused_total counter\n");
        let refused = self.refused.lock().unwrap_or_else(|e| e.into_inner());
        for reason in [Refusal::Busy, Refusal::TooLarge, Refusal::NotFound] {
            let n = refused.get(reason.label()).copied().unwrap_or(0);
            let _ = writeln!(
                out,
                "polyplug_refused_total{{reason=\"{}\"}} {n}",
                reason.label()
            );
        }

        out.push_str("# HELP polyplug_instances_in_use Plugin instances running a call now.\n");
        out.push_str("# TYPE polyplug_instances_in_use gauge\n");
        let _ = writeln!(out, "polyplug_instances_in_use {in_use}");
        out.push_str("# HELP polyplug_plugins Plugins being served.\n");
        out.push_str("# TYPE polyplug_plugins gauge\n");
        let _ = writeln!(out, "polyplug_plugins {plugins}");
        out
    }
}

/// A label value with Prometheus' escapes.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
