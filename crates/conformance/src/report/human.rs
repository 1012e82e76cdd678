//! `--format human`: the spec x language matrix with counts, then every failure with
//! its diff. Colour only when `color` is set (the binary sets it on a terminal).

use std::fmt::Write as _;

use super::{cell_id, host_totals, matrix, reason_groups, totals, warned, Counts};
use crate::outcome::CellStatus;
use crate::suite::Results;

struct Paint(bool);

impl Paint {
    fn p(&self, code: &str, s: &str) -> String {
        if self.0 {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_owned()
        }
    }
    fn green(&self, s: &str) -> String {
        self.p("32", s)
    }
    fn red(&self, s: &str) -> String {
        self.p("31", s)
    }
    fn yellow(&self, s: &str) -> String {
        self.p("33", s)
    }
    fn dim(&self, s: &str) -> String {
        self.p("2", s)
    }
    fn bold(&self, s: &str) -> String {
        self.p("1", s)
    }
}

const COL: usize = 22;

pub fn human(results: &Results, color: bool) -> String {
    let paint = Paint(color);
    let mut out = String::new();
    let several = results.hosts.len() > 1;
    for (host, version) in &results.hosts {
        if several {
            let _ = writeln!(out, "{}", paint.bold(&format!("host {host} ({version})")));
        }
        matrix_text(&mut out, results, host, &paint);
        if several {
            out.push('\n');
        }
    }
    if several {
        let w = results
            .hosts
            .iter()
            .map(|(h, _)| h.len())
            .max()
            .unwrap_or(0)
            + 2;
        for (host, _) in &results.hosts {
            let t = host_totals(results, host);
            let line = format!("{host:w$}{t}");
            let _ = writeln!(
                out,
                "{}",
                if t.fail + t.error > 0 {
                    paint.red(&line)
                } else {
                    paint.green(&line)
                }
            );
        }
    }
    for (host, why) in &results.not_ready {
        let _ = writeln!(
            out,
            "{}",
            paint.yellow(&format!("host {host} not ready: {why}"))
        );
    }
    let _ = writeln!(out, "\n{} in {} ms", totals(results), results.wall_ms);
    if !results.equivalence.is_empty() {
        let agree = results.equivalence.iter().filter(|e| e.agree).count();
        let line = format!(
            "cross-language: {agree} of {} cases run by several languages give identical snapshots",
            results.equivalence.len()
        );
        let _ = writeln!(
            out,
            "{}",
            if agree == results.equivalence.len() {
                paint.green(&line)
            } else {
                paint.red(&line)
            }
        );
    }
    for (status, label) in [
        (CellStatus::Na, "n/a"),
        (CellStatus::Unsupported, "unsupported"),
        (CellStatus::Diverges, "diverges"),
    ] {
        for (spec, who, reason, cases) in reason_groups(results, status) {
            let line = format!("{label} {spec} on {who} ({}): {reason}", cases.join(", "));
            let _ = writeln!(out, "{}", paint.dim(&line));
        }
    }
    for (cell, warnings) in warned(results) {
        let _ = writeln!(
            out,
            "{}",
            paint.yellow(&format!("memory warnings in {cell}:"))
        );
        for w in warnings {
            let _ = writeln!(out, "  {w}");
        }
    }
    for e in &results.load_errors {
        let _ = writeln!(out, "\n{} {e}", paint.red("fixture error"));
    }
    for c in results
        .cells
        .iter()
        .filter(|c| matches!(c.status, CellStatus::Fail | CellStatus::Error))
    {
        let head = format!(
            "{} {}",
            c.status.as_str().to_uppercase(),
            cell_id(results, c)
        );
        let _ = writeln!(
            out,
            "\n{}",
            if c.status == CellStatus::Fail {
                paint.red(&head)
            } else {
                paint.yellow(&head)
            }
        );
        for line in c.detail.lines() {
            let line = if line.starts_with('+') && !line.starts_with("+++") {
                paint.green(line)
            } else if line.starts_with('-') && !line.starts_with("---") {
                paint.red(line)
            } else {
                line.to_owned()
            };
            let _ = writeln!(out, "  {line}");
        }
    }
    for e in results.equivalence.iter().filter(|e| !e.agree) {
        let who = if e.odd.is_empty() {
            "no majority".to_owned()
        } else {
            let blame = e
                .culprit
                .as_ref()
                .map_or(String::new(), |c| format!("; that is {c}"));
            format!("odd one out: {}{blame}", e.odd.join(", "))
        };
        let _ = writeln!(
            out,
            "\n{} {}::{} ({who})",
            paint.red("DISAGREE"),
            e.spec,
            e.case
        );
        for line in e.detail.lines() {
            let _ = writeln!(out, "  {line}");
        }
    }
    out
}

/// One host's spec x language matrix.
fn matrix_text(out: &mut String, results: &Results, host: &str, paint: &Paint) {
    let rows = matrix(results, host);
    let spec_w = rows.iter().map(|(s, _)| s.len()).max().unwrap_or(4).max(4) + 2;
    // Each cell's text first, so every column is as wide as its widest cell.
    let texts: Vec<Vec<(String, Option<Counts>)>> = rows
        .iter()
        .map(|(_, row)| {
            results
                .langs
                .iter()
                .map(|l| match row.get(l) {
                    None => ("-".to_owned(), None),
                    Some(c) => (cell_text(c), Some(*c)),
                })
                .collect()
        })
        .collect();
    let col = texts
        .iter()
        .flatten()
        .map(|(t, _)| t.len())
        .chain(results.langs.iter().map(String::len))
        .max()
        .unwrap_or(0)
        .max(COL - 2)
        + 2;
    let _ = write!(out, "{}", paint.bold(&format!("{:spec_w$}", "spec")));
    for l in &results.langs {
        let _ = write!(out, "{}", paint.bold(&format!("{l:col$}")));
    }
    out.push('\n');
    for ((spec, _), cells) in rows.iter().zip(&texts) {
        let _ = write!(out, "{spec:spec_w$}");
        for (text, counts) in cells {
            let t = format!("{text:col$}");
            let t = match counts {
                None => t,
                Some(c) if c.fail + c.error > 0 => paint.red(&t),
                Some(c) if c.pass == 0 => paint.dim(&t),
                Some(c) if c.warnings > 0 => paint.yellow(&t),
                Some(_) => paint.green(&t),
            };
            out.push_str(&t);
        }
        out.push('\n');
    }
}

/// `4 pass`, `3 pass, 1 fail`, `4 pass (2 memory warnings)`.
fn cell_text(c: &Counts) -> String {
    let mut parts = Vec::new();
    if c.pass > 0 || c.total() == 0 {
        parts.push(format!("{} pass", c.pass));
    }
    if c.fail > 0 {
        parts.push(format!("{} fail", c.fail));
    }
    if c.error > 0 {
        parts.push(format!("{} error", c.error));
    }
    if c.na > 0 {
        parts.push(format!("{} n/a", c.na));
    }
    if c.unsupported > 0 {
        parts.push(format!("{} unsupported", c.unsupported));
    }
    if c.diverges > 0 {
        parts.push(format!("{} diverges", c.diverges));
    }
    let mut t = parts.join(", ");
    match c.warnings {
        0 => {}
        1 => t.push_str(" (1 memory warning)"),
        n => t.push_str(&format!(" ({n} memory warnings)")),
    }
    t
}
