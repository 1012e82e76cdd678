//! The report formats of a run: a human matrix (colour on a terminal), JSON for
//! tools, JUnit XML for CI test tabs, and Markdown for a GitHub job summary.

mod human;
mod json;
mod junit;
mod markdown;

use std::collections::BTreeMap;

pub use human::human;
pub use json::json;
pub use junit::junit;
pub use markdown::markdown;

use crate::outcome::{CellResult, CellStatus};
use crate::suite::Results;

/// A unified diff from `old` to `new`, labelled; empty when they are the same.
pub fn diff(old: &str, new: &str, old_label: &str, new_label: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(old_label, new_label)
        .to_string()
}

/// Pass / fail / error / n-a counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub pass: usize,
    pub fail: usize,
    pub error: usize,
    pub na: usize,
    pub unsupported: usize,
    pub diverges: usize,
    /// Memory warnings of the sanitizer, over all cells counted.
    pub warnings: usize,
}

/// "P pass, F fail, E error, N n/a": the totals line every format prints.
impl std::fmt::Display for Counts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} pass, {} fail, {} error, {} n/a",
            self.pass, self.fail, self.error, self.na
        )?;
        if self.unsupported > 0 {
            write!(f, ", {} unsupported", self.unsupported)?;
        }
        if self.diverges > 0 {
            write!(f, ", {} diverges", self.diverges)?;
        }
        match self.warnings {
            0 => Ok(()),
            1 => write!(f, " (1 memory warning)"),
            n => write!(f, " ({n} memory warnings)"),
        }
    }
}

impl Counts {
    fn add(&mut self, c: &CellResult) {
        self.warnings += c.warnings.len();
        match c.status {
            CellStatus::Pass => self.pass += 1,
            CellStatus::Fail => self.fail += 1,
            CellStatus::Error => self.error += 1,
            CellStatus::Na => self.na += 1,
            CellStatus::Unsupported => self.unsupported += 1,
            CellStatus::Diverges => self.diverges += 1,
        }
    }

    pub fn total(&self) -> usize {
        self.pass + self.fail + self.error + self.na + self.unsupported + self.diverges
    }
}

/// spec -> lang -> counts for one host's cells, specs in run order.
pub(crate) fn matrix(results: &Results, host: &str) -> Vec<(String, BTreeMap<String, Counts>)> {
    let mut rows: Vec<(String, BTreeMap<String, Counts>)> = Vec::new();
    for c in results.cells.iter().filter(|c| c.host == host) {
        if rows.last().is_none_or(|(s, _)| *s != c.spec) {
            rows.push((c.spec.clone(), BTreeMap::new()));
        }
        let row = &mut rows.last_mut().expect("pushed above").1;
        row.entry(c.lang.clone()).or_default().add(c);
    }
    rows
}

pub fn totals(results: &Results) -> Counts {
    let mut t = Counts::default();
    for c in &results.cells {
        t.add(c);
    }
    t
}

/// One host's totals.
pub fn host_totals(results: &Results, host: &str) -> Counts {
    let mut t = Counts::default();
    for c in results.cells.iter().filter(|c| c.host == host) {
        t.add(c);
    }
    t
}

/// `spec::case::lang`, with `::host` when the run covered several hosts.
pub(crate) fn cell_id(results: &Results, c: &CellResult) -> String {
    if results.hosts.len() > 1 {
        format!("{}::{}::{}::{}", c.spec, c.case, c.lang, c.host)
    } else {
        format!("{}::{}::{}", c.spec, c.case, c.lang)
    }
}

/// Cells of `status` grouped as (spec, lang@host, reason, cases), so a spec-wide
/// reason is one line.
pub(crate) fn reason_groups(
    results: &Results,
    status: CellStatus,
) -> Vec<(String, String, String, Vec<String>)> {
    let mut groups: Vec<(String, String, String, Vec<String>)> = Vec::new();
    for c in results.cells.iter().filter(|c| c.status == status) {
        let reason = c.reason.clone().unwrap_or_default();
        let who = if results.hosts.len() > 1 {
            format!("{} on {}", c.lang, c.host)
        } else {
            c.lang.clone()
        };
        match groups
            .iter_mut()
            .find(|g| g.0 == c.spec && g.1 == who && g.2 == reason)
        {
            Some(g) => g.3.push(c.case.clone()),
            None => groups.push((c.spec.clone(), who, reason, vec![c.case.clone()])),
        }
    }
    groups
}

/// Cells with memory warnings: ("spec::case::lang", the warnings).
pub(crate) fn warned(results: &Results) -> impl Iterator<Item = (String, &[String])> {
    results
        .cells
        .iter()
        .filter(|c| !c.warnings.is_empty())
        .map(|c| (cell_id(results, c), c.warnings.as_slice()))
}
