//! `--format markdown`: a table for `$GITHUB_STEP_SUMMARY`, spec rows by language
//! columns, then the failures in collapsible blocks.

use std::fmt::Write as _;

use super::{cell_id, host_totals, matrix, reason_groups, totals};
use crate::outcome::CellStatus;
use crate::suite::Results;

pub fn markdown(results: &Results) -> String {
    let mut out = String::from("## polyplug conformance\n\n");
    let several = results.hosts.len() > 1;
    for (host, version) in &results.hosts {
        if several {
            let _ = writeln!(
                out,
                "### host `{host}` ({version})\n\n{}\n",
                host_totals(results, host)
            );
        }
        table(&mut out, results, host);
    }
    for (host, why) in &results.not_ready {
        let _ = writeln!(out, "- ⏸️ host `{host}` not ready: {why}");
    }
    let _ = writeln!(out, "\n**{}** in {} ms\n", totals(results), results.wall_ms);
    for (status, mark) in [
        (CellStatus::Na, "➖"),
        (CellStatus::Unsupported, "⏸️"),
        (CellStatus::Diverges, "↔️"),
    ] {
        for (spec, who, reason, cases) in reason_groups(results, status) {
            let _ = writeln!(
                out,
                "- {mark} {} `{spec}` on {who} ({}): {reason}",
                status.as_str(),
                cases.join(", ")
            );
        }
    }
    for e in &results.load_errors {
        let _ = writeln!(
            out,
            "- ❌ fixture `{}`: `{}`",
            e.spec,
            e.to_string().replace('`', "'")
        );
    }
    for c in results
        .cells
        .iter()
        .filter(|c| matches!(c.status, CellStatus::Fail | CellStatus::Error))
    {
        let _ = writeln!(
            out,
            "<details><summary>{} <code>{}</code></summary>\n\n```diff\n{}\n```\n</details>\n",
            c.status.as_str(),
            cell_id(results, c),
            c.detail.replace("```", "'''")
        );
    }
    for e in results.equivalence.iter().filter(|e| !e.agree) {
        let _ = writeln!(
            out,
            "<details><summary>disagreement on <code>{}::{}</code> (odd one out: {}{})</summary>\n\n```diff\n{}\n```\n</details>\n",
            e.spec,
            e.case,
            if e.odd.is_empty() { "unclear".to_owned() } else { e.odd.join(", ") },
            e.culprit.as_ref().map_or(String::new(), |c| format!("; that is {c}")),
            e.detail.replace("```", "'''")
        );
    }
    out
}

/// One host's spec x language table.
fn table(out: &mut String, results: &Results, host: &str) {
    let _ = write!(out, "| spec |");
    for l in &results.langs {
        let _ = write!(out, " {l} |");
    }
    out.push_str("\n|---|");
    for _ in &results.langs {
        out.push_str("---|");
    }
    out.push('\n');
    for (spec, row) in matrix(results, host) {
        let _ = write!(out, "| {spec} |");
        for l in &results.langs {
            let cell = match row.get(l) {
                None => "".to_owned(),
                Some(c) if c.fail + c.error > 0 => {
                    format!("❌ {} pass, {} fail, {} error", c.pass, c.fail, c.error)
                }
                Some(c) if c.pass == 0 && c.diverges == 0 && c.unsupported > 0 => {
                    format!("⏸️ unsupported ({})", c.unsupported)
                }
                Some(c) if c.pass == 0 && c.diverges == 0 => format!("➖ n/a ({})", c.na),
                Some(c) => {
                    let mut t = format!("✅ {}/{}", c.pass, c.total() - c.na - c.unsupported);
                    if c.diverges > 0 {
                        t = format!("✅ {} + ↔️ {} diverges", c.pass, c.diverges);
                    }
                    if c.warnings > 0 {
                        t = format!("⚠️ {t} ({} memory warnings)", c.warnings);
                    }
                    t
                }
            };
            let _ = write!(out, " {cell} |");
        }
        out.push('\n');
    }
    out.push('\n');
}
