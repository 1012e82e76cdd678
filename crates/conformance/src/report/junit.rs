//! `--format junit`: one testsuite per spec, one testcase per case x language, named
//! like the cargo tests (`hello::plain::rust`), for CI test tabs.

use std::fmt::Write as _;

use crate::outcome::CellStatus;
use crate::suite::Results;

pub fn junit(results: &Results) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let failures = results
        .cells
        .iter()
        .filter(|c| c.status == CellStatus::Fail)
        .count()
        + results.equivalence.iter().filter(|e| !e.agree).count();
    let errors = results
        .cells
        .iter()
        .filter(|c| c.status == CellStatus::Error)
        .count()
        + results.load_errors.len();
    let _ = writeln!(
        out,
        "<testsuites name=\"polyplug-conformance\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\" time=\"{:.3}\">",
        results.cells.len() + results.load_errors.len(),
        results.wall_ms as f64 / 1000.0
    );
    let mut specs: Vec<&str> = Vec::new();
    for c in &results.cells {
        if !specs.contains(&c.spec.as_str()) {
            specs.push(&c.spec);
        }
    }
    for e in &results.load_errors {
        if !specs.contains(&e.spec.as_str()) {
            specs.push(&e.spec);
        }
    }
    for spec in specs {
        let _ = writeln!(out, "  <testsuite name=\"{}\">", esc(spec));
        for e in results.load_errors.iter().filter(|e| e.spec == spec) {
            let _ = writeln!(
                out,
                "    <testcase classname=\"{0}\" name=\"{0}::fixture\"><error message=\"fixture does not load\">{1}</error></testcase>",
                esc(spec),
                esc(&e.to_string())
            );
        }
        for c in results.cells.iter().filter(|c| c.spec == spec) {
            // Always spec::case::lang::host, so names stay the same when hosts are added.
            let _ = write!(
                out,
                "    <testcase classname=\"{}\" name=\"{}::{}::{}::{}\" time=\"{:.3}\"",
                esc(spec),
                esc(spec),
                esc(&c.case),
                esc(&c.lang),
                esc(&c.host),
                c.ms as f64 / 1000.0
            );
            match c.status {
                CellStatus::Pass if c.warnings.is_empty() => out.push_str("/>\n"),
                CellStatus::Pass => {
                    let _ = writeln!(
                        out,
                        "><system-err>memory warnings:\n{}</system-err></testcase>",
                        esc(&c.warnings.join("\n"))
                    );
                }
                CellStatus::Na | CellStatus::Unsupported | CellStatus::Diverges => {
                    let _ = writeln!(
                        out,
                        "><skipped message=\"{}: {}\"/></testcase>",
                        c.status.as_str(),
                        esc(c.reason.as_deref().unwrap_or(""))
                    );
                }
                CellStatus::Fail => {
                    let _ = writeln!(
                        out,
                        "><failure message=\"{}\">{}</failure></testcase>",
                        esc(first_line(&c.detail)),
                        esc(&c.detail)
                    );
                }
                CellStatus::Error => {
                    let _ = writeln!(
                        out,
                        "><error message=\"{}\">{}</error></testcase>",
                        esc(first_line(&c.detail)),
                        esc(&c.detail)
                    );
                }
            }
        }
        for e in results
            .equivalence
            .iter()
            .filter(|e| e.spec == spec && !e.agree)
        {
            let _ = writeln!(
                out,
                "    <testcase classname=\"{0}\" name=\"{0}::{1}::equivalence\"><failure message=\"languages disagree: odd one out {2}\">{3}</failure></testcase>",
                esc(spec),
                esc(&e.case),
                esc(&e.odd.join(", ")),
                esc(&e.detail)
            );
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 cannot carry most control characters at all.
            c if c.is_control() && c != '\n' && c != '\t' && c != '\r' => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}
