//! `--format json`: `{"results": [{"spec","case","lang","status","detail","reason","ms"}]}`
//! plus the cross-language findings and fixture errors. Each row also carries the
//! snapshot text its run rendered (`rendered`, null when it did not run), so runs of
//! different languages on different machines can be compared afterwards, and the
//! sanitizer's memory warnings (`warnings`, a list of lines).

use serde_json::json as j;

use crate::suite::Results;

pub fn json(results: &Results) -> String {
    let mut rows: Vec<serde_json::Value> = results
        .load_errors
        .iter()
        .map(|e| j!({"spec": e.spec, "case": "", "lang": "", "status": "error", "detail": e.to_string(), "reason": null, "ms": 0, "rendered": null}))
        .collect();
    rows.extend(results.cells.iter().map(|c| {
        j!({"spec": c.spec, "case": c.case, "lang": c.lang, "host": c.host, "status": c.status.as_str(),
            "detail": c.detail, "reason": c.reason, "ms": c.ms, "rendered": c.rendered,
            "warnings": c.warnings})
    }));
    let eq: Vec<serde_json::Value> = results
        .equivalence
        .iter()
        .map(|e| j!({"spec": e.spec, "case": e.case, "langs": e.langs, "agree": e.agree, "odd_one_out": e.odd, "culprit": e.culprit, "detail": e.detail}))
        .collect();
    let hosts: Vec<serde_json::Value> = results
        .hosts
        .iter()
        .map(|(name, version)| j!({"name": name, "version": version, "ready": true}))
        .chain(
            results
                .not_ready
                .iter()
                .map(|(name, why)| j!({"name": name, "ready": false, "why": why})),
        )
        .collect();
    let doc = j!({"results": rows, "equivalence": eq, "hosts": hosts, "ok": results.ok(), "wall_ms": results.wall_ms});
    serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
}
