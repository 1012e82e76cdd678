//! The Markdown `bench-serve` prints for docs/bench.md: where it ran, how, and
//! two tables (throughput and latency per workload and connections; memory).

use super::wrk::Run;
use super::{Workload, CONNECTIONS, RSS_AFTER, RSS_CONNECTIONS};

pub struct Setup {
    /// polyplug's, then the anchor's.
    pub labels: [String; 2],
    pub about: [String; 2],
    pub seconds: u32,
}

pub struct Row<'a> {
    pub workload: &'a Workload,
    pub connections: u32,
    /// polyplug's, then the anchor's.
    pub runs: Vec<Run>,
}

pub fn print(setup: &Setup, rows: &[Row], rss_kib: &[Vec<u64>]) {
    let [mine, theirs] = &setup.labels;
    let command: Vec<String> = std::env::args().skip(1).collect();
    println!("\n## polyplug serve vs a {theirs} server\n");
    println!("- machine: {}", machine());
    println!("- command: `cargo xtask {}`", command.join(" "));
    println!("- {mine}: {}", setup.about[0]);
    println!("- {theirs}: {}", setup.about[1]);
    println!(
        "- load: wrk on the same machine, {} s per run, threads = min(connections, 2), \
         one server at a time; connections {}",
        setup.seconds,
        CONNECTIONS.map(|c| c.to_string()).join(", ")
    );
    println!();
    println!(
        "| workload | connections | {mine} req/s | {theirs} req/s | ratio | {mine} p50 / p99 | {theirs} p50 / p99 | p99 ratio |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for row in rows {
        let [a, b] = [&row.runs[0], &row.runs[1]];
        let flag = |run: &Run| {
            if run.errors().is_some() {
                " (errors)"
            } else {
                ""
            }
        };
        println!(
            "| {} | {} | {}{} | {}{} | {} | {} / {} | {} / {} | {} |",
            workload(row.workload),
            row.connections,
            thousands(a.per_sec),
            flag(a),
            thousands(b.per_sec),
            flag(b),
            ratio(a.per_sec, b.per_sec),
            latency(a.p50_us),
            latency(a.p99_us),
            latency(b.p50_us),
            latency(b.p99_us),
            ratio(a.p99_us, b.p99_us),
        );
    }
    println!(
        "\nratio = {mine} req/s / {theirs} req/s (above 1: {mine} serves more); \
         p99 ratio = {mine} p99 / {theirs} p99 (below 1: {mine}'s tail is shorter).\n"
    );

    println!("| VmRSS | {mine} | {theirs} | ratio |");
    println!("| --- | ---: | ---: | ---: |");
    // The RSS readings count calls of the first workload (see `super::rss`).
    let counted = rows[0].workload;
    let stages = std::iter::once("after start (and one call per workload)".to_string()).chain(
        RSS_AFTER
            .iter()
            .map(|n| format!("after {} `{}` calls", thousands(*n as f64), counted.export)),
    );
    for (stage, kib) in stages.zip(rss_kib) {
        println!(
            "| {stage} | {} | {} | {} |",
            mib(kib[0]),
            mib(kib[1]),
            ratio(kib[0] as f64, kib[1] as f64)
        );
    }
    println!(
        "\nThe calls before each RSS reading come from xtask itself over {RSS_CONNECTIONS} \
         kept-alive connections, before the wrk runs."
    );
}

fn workload(w: &Workload) -> String {
    let size = w.body.len();
    let size = if size >= 1024 {
        format!("{} KiB", size / 1024)
    } else {
        format!("{size} B")
    };
    format!("{} `{}` ({size})", w.name(), w.export)
}

/// `nproc` and the CPU model.
fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or("unknown CPU", |(_, m)| m.trim());
    format!("{model}, nproc {cores}")
}

fn thousands(n: f64) -> String {
    let digits = format!("{:.0}", n);
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn latency(us: f64) -> String {
    if us < 1e3 {
        format!("{us:.0} µs")
    } else if us < 1e6 {
        format!("{:.2} ms", us / 1e3)
    } else {
        format!("{:.2} s", us / 1e6)
    }
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 {
        format!("{:.2}×", a / b)
    } else {
        "n/a".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures() {
        assert_eq!(thousands(977.45), "977");
        assert_eq!(thousands(26844.51), "26,845");
        assert_eq!(thousands(1_000_000.0), "1,000,000");
        assert_eq!(latency(46.0), "46 µs");
        assert_eq!(latency(81530.0), "81.53 ms");
        assert_eq!(ratio(3.0, 2.0), "1.50×");
        assert_eq!(ratio(1.0, 0.0), "n/a");
    }
}
