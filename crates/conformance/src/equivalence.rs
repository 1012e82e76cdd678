//! Cross-language equivalence, checked on its own: every language's rendering of a
//! case is compared with every other's, so a disagreement is reported even where no
//! snapshot exists yet, and the report names the odd one out.

use std::collections::BTreeMap;

use crate::outcome::CellResult;
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
    pub detail: String,
}

/// One entry per case that at least two languages ran. `snapshot` gives a case's
/// stored snapshot body, when there is one.
pub fn check_equivalence(
    cells: &[CellResult],
    snapshot: impl Fn(&str, &str) -> Option<String>,
) -> Vec<Equivalence> {
    let mut by_case: BTreeMap<(String, String), Vec<(&str, String)>> = BTreeMap::new();
    let mut order = Vec::new();
    for c in cells {
        if let Some(r) = &c.rendered {
            let key = (c.spec.clone(), c.case.clone());
            if !by_case.contains_key(&key) {
                order.push(key.clone());
            }
            by_case
                .entry(key)
                .or_default()
                .push((c.lang.as_str(), normalize(r)));
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
                        .map(|(l, _)| *l)
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
        out.push(Equivalence {
            spec: key.0,
            case: key.1,
            langs,
            agree,
            odd,
            detail,
        });
    }
    out
}

fn majority(renders: &[(&str, String)]) -> Option<String> {
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
    use crate::outcome::CellStatus;

    fn cell(lang: &str, rendered: &str) -> CellResult {
        CellResult {
            spec: "s".into(),
            case: "c".into(),
            lang: lang.into(),
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
    fn agreement_is_reported_as_such() {
        let cells = [cell("lang-a", "a"), cell("lang-b", "a\n")];
        assert!(check_equivalence(&cells, |_, _| None)[0].agree);
    }
}
