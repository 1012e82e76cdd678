//! Cross-language and cross-host equivalence, checked on its own: every rendering of
//! a case (each language on each host) is compared with every other's, so a
//! disagreement is reported even where no snapshot exists yet, and the report names
//! the odd one out, and whether it is one language or one host.

use std::collections::BTreeMap;

use crate::outcome::{CellResult, CellStatus};
use crate::snapfile::normalize;

#[derive(Debug, Clone)]
pub struct Equivalence {
    pub spec: String,
    pub case: String,
    /// Languages that ran the case (n/a and could-not-run cells are left out).
    pub langs: Vec<String>,
    pub agree: bool,
    /// The languages that differ from the snapshot, or from the majority without one.
    pub odd: Vec<String>,
    /// When every odd one shares a language or a host that nobody else ran the case
    /// on correctly: `host extism-node` or `language go`.
    pub culprit: Option<String>,
    pub detail: String,
}

/// One entry per case that at least two languages ran. `snapshot` gives a case's
/// stored snapshot body, when there is one.
pub fn check_equivalence(
    cells: &[CellResult],
    snapshot: impl Fn(&str, &str) -> Option<String>,
) -> Vec<Equivalence> {
    let mut by_case: BTreeMap<(String, String), Vec<(String, String)>> = BTreeMap::new();
    let mut order = Vec::new();
    // A declared divergence is already judged against its declaration.
    for c in cells
        .iter()
        .filter(|c| matches!(c.status, CellStatus::Pass | CellStatus::Fail))
    {
        if let Some(r) = &c.rendered {
            let key = (c.spec.clone(), c.case.clone());
            if !by_case.contains_key(&key) {
                order.push(key.clone());
            }
            by_case
                .entry(key)
                .or_default()
                .push((c.who(), normalize(r)));
        }
    }
    let mut out = Vec::new();
    for key in order {
        let renders = &by_case[&key];
        if renders.len() < 2 {
            continue;
        }
        let langs: Vec<String> = renders.iter().map(|(l, _)| l.to_string()).collect();
        let agree = renders.iter().all(|(_, r)| *r == renders[0].1);
        let (odd, detail) = if agree {
            (Vec::new(), String::new())
        } else {
            // The reference: the snapshot if any language matches it, else the biggest group.
            let stored = snapshot(&key.0, &key.1).map(|s| normalize(&s));
            let reference = match stored.filter(|s| renders.iter().any(|(_, r)| r == s)) {
                Some(s) => Some(s),
                None => majority(renders),
            };
            match reference {
                Some(reference) => {
                    let ref_langs: Vec<&str> = renders
                        .iter()
                        .filter(|(_, r)| *r == reference)
                        .map(|(l, _)| l.as_str())
                        .collect();
                    let mut detail = String::new();
                    let mut odd = Vec::new();
                    for (lang, r) in renders.iter().filter(|(_, r)| *r != reference) {
                        odd.push(lang.to_string());
                        detail.push_str(&crate::report::diff(
                            &reference,
                            r,
                            &ref_langs.join("+"),
                            lang,
                        ));
                    }
                    (odd, detail)
                }
                None => {
                    let (a, ra) = &renders[0];
                    let mut detail = format!("no majority: {} disagree\n", langs.join(", "));
                    for (b, rb) in renders.iter().skip(1).filter(|(_, r)| r != ra) {
                        detail.push_str(&crate::report::diff(ra, rb, a, b));
                    }
                    (Vec::new(), detail)
                }
            }
        };
        let culprit = culprit(&langs, &odd);
        out.push(Equivalence {
            spec: key.0,
            case: key.1,
            langs,
            agree,
            odd,
            culprit,
            detail,
        });
    }
    out
}

/// `lang@host` -> (lang, host); polyplug's cells carry no `@`.
fn split(who: &str) -> (&str, &str) {
    who.split_once('@')
        .unwrap_or((who, crate::hosts::IN_PROCESS))
}

/// The one host (or language) all the odd ones share, if every cell of it is odd
/// and some other host (or language) agrees.
fn culprit(all: &[String], odd: &[String]) -> Option<String> {
    if odd.is_empty() || odd.len() == all.len() {
        return None;
    }
    // part: 0 = the language, 1 = the host.
    let shared = |part: usize| {
        let pick = |who: &str| {
            let (l, h) = split(who);
            if part == 0 {
                l.to_owned()
            } else {
                h.to_owned()
            }
        };
        let first = pick(&odd[0]);
        let same = odd.iter().all(|o| pick(o) == first);
        let whole = all
            .iter()
            .filter(|a| pick(a) == first)
            .all(|a| odd.contains(a));
        (same && whole).then_some(first)
    };
    let multi_host = all.iter().any(|a| a.contains('@'));
    if multi_host {
        if let Some(h) = shared(1) {
            return Some(format!("host {h}"));
        }
    }
    shared(0).map(|l| format!("language {l}"))
}

fn majority(renders: &[(String, String)]) -> Option<String> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, r) in renders {
        *counts.entry(r.as_str()).or_default() += 1;
    }
    let max = *counts.values().max()?;
    let winners: Vec<&&str> = counts
        .iter()
        .filter(|(_, n)| **n == max)
        .map(|(r, _)| r)
        .collect();
    (winners.len() == 1).then(|| winners[0].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(lang: &str, rendered: &str) -> CellResult {
        on(lang, crate::hosts::IN_PROCESS, rendered)
    }

    fn on(lang: &str, host: &str, rendered: &str) -> CellResult {
        CellResult {
            spec: "s".into(),
            case: "c".into(),
            lang: lang.into(),
            host: host.into(),
            warnings: Vec::new(),
            status: CellStatus::Pass,
            detail: String::new(),
            reason: None,
            ms: 0,
            rendered: Some(rendered.into()),
        }
    }

    #[test]
    fn names_the_odd_one_out_against_the_snapshot() {
        let cells = [cell("lang-a", "a"), cell("lang-b", "b")];
        let eq = check_equivalence(&cells, |_, _| Some("a\n".into()));
        assert_eq!(eq.len(), 1);
        assert!(!eq[0].agree);
        assert_eq!(eq[0].odd, vec!["lang-b".to_string()]);
        assert!(
            eq[0].detail.contains("-a") && eq[0].detail.contains("+b"),
            "{}",
            eq[0].detail
        );
    }

    #[test]
    fn majority_decides_without_a_snapshot() {
        let cells = [
            cell("lang-a", "a"),
            cell("lang-b", "a"),
            cell("lang-c", "b"),
        ];
        let eq = check_equivalence(&cells, |_, _| None);
        assert_eq!(eq[0].odd, vec!["lang-c".to_string()]);
    }

    #[test]
    fn one_host_that_differs_for_every_language_is_named() {
        let cells = [
            on("lang-a", "polyplug", "a"),
            on("lang-b", "polyplug", "a"),
            on("lang-a", "host-x", "b"),
            on("lang-b", "host-x", "b"),
            on("lang-a", "host-y", "a"),
        ];
        let eq = check_equivalence(&cells, |_, _| Some("a".into()));
        assert_eq!(
            eq[0].odd,
            vec!["lang-a@host-x".to_string(), "lang-b@host-x".to_string()]
        );
        assert_eq!(eq[0].culprit.as_deref(), Some("host host-x"));
    }

    #[test]
    fn one_language_that_differs_on_every_host_is_named() {
        let cells = [
            on("lang-a", "polyplug", "a"),
            on("lang-b", "polyplug", "b"),
            on("lang-a", "host-x", "a"),
            on("lang-b", "host-x", "b"),
        ];
        let eq = check_equivalence(&cells, |_, _| Some("a".into()));
        assert_eq!(eq[0].culprit.as_deref(), Some("language lang-b"));
    }

    #[test]
    fn agreement_is_reported_as_such() {
        let cells = [cell("lang-a", "a"), cell("lang-b", "a\n")];
        assert!(check_equivalence(&cells, |_, _| None)[0].agree);
    }
}
