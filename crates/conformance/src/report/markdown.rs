//! `--format markdown`: a table for `$GITHUB_STEP_SUMMARY`, spec rows by language
//! columns, then the failures in collapsible blocks.

use std::fmt::Write as _;

use super::{matrix, na_groups, totals};
use crate::outcome::CellStatus;
use crate::suite::Results;

pub fn markdown(results: &Results) -> String {
    let mut out = String::from("## polyplug conformance\n\n");
    let _ = write!(out, "| spec |");
    for l in &results.langs {
        let _ = write!(out, " {l} |");
    }
    out.push_str("\n|---|");
    for _ in &results.langs {
        out.push_str("---|");
    }
    out.push('\n');
    for (spec, row) in matrix(results) {
        let _ = write!(out, "| {spec} |");
        for l in &results.langs {
            let cell = match row.get(l) {
                None => "".to_owned(),
                Some(c) if c.fail + c.error == 0 && c.pass > 0 && c.warnings > 0 => {
                    format!("⚠️ {}/{} ({} memory warnings)", c.pass, c.total() - c.na, c.warnings)
                }
                Some(c) if c.fail + c.error == 0 && c.pass > 0 => {
                    format!("✅ {}/{}", c.pass, c.total() - c.na)
                }
                Some(c) if c.fail + c.error == 0 => format!("➖ n/a ({})", c.na),
                Some(c) => format!("❌ {} pass, {} fail, {} error", c.pass, c.fail, c.error),
            };
            let _ = write!(out, " {cell} |");
        }
        out.push('\n');
    }
    let _ = writeln!(out, "\n**{}** in {} ms\n", totals(results), results.wall_ms);
    for (spec, lang, reason, cases) in na_groups(results) {
        let _ = writeln!(
            out,
            "- ➖ n/a `{spec}` on {lang} ({}): {reason}",
            cases.join(", ")
        );
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
            "<details><summary>{} <code>{}::{}::{}</code></summary>\n\n```diff\n{}\n```\n</details>\n",
            c.status.as_str(),
            c.spec,
            c.case,
            c.lang,
            c.detail.replace("```", "'''")
        );
    }
    for e in results.equivalence.iter().filter(|e| !e.agree) {
        let _ = writeln!(
            out,
            "<details><summary>languages disagree on <code>{}::{}</code> (odd one out: {})</summary>\n\n```diff\n{}\n```\n</details>\n",
            e.spec,
            e.case,
            if e.odd.is_empty() { "unclear".to_owned() } else { e.odd.join(", ") },
            e.detail.replace("```", "'''")
        );
    }
    out
}
