//! Tests as plugins can fail: the count-vowels test plugin with a wrong
//! expectation (through its mock input) fails exactly that assertion, by name
//! and reason, for every language, and passes everything else.

use std::path::Path;
use std::process::Command;

use polyplug_conformance::hosts::{self, IN_PROCESS};
use polyplug_conformance::{load_fixtures, Artifacts, CellStatus, Runner, XtpTest};

#[test]
fn a_wrong_expectation_fails_by_name_and_reason_for_every_language() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let built = Command::new(cargo)
        .args(["xtask", "build-all"])
        .current_dir(&root)
        .status()
        .unwrap();
    assert!(built.success(), "cargo xtask build-all failed");

    let artifacts = Artifacts::load(&root).unwrap();
    let loaded = load_fixtures(&root.join("fixtures"), None);
    let spec = loaded
        .specs
        .iter()
        .find(|s| s.name == "count-vowels")
        .unwrap();
    let runner = Runner::new(artifacts.clone()).unwrap();
    let host = hosts::discover(&root, Default::default())
        .into_iter()
        .find(|f| f.name == IN_PROCESS)
        .and_then(|f| f.host.ok())
        .unwrap();
    let wrong = XtpTest {
        plugin: "count-vowels".into(),
        mock_input: Some("education=9".into()),
    };
    let implementing: Vec<_> = artifacts
        .languages()
        .into_iter()
        .filter(|lang| !spec.na.contains_key(lang))
        .collect();
    assert!(implementing.len() >= 4, "{implementing:?}");
    for lang in implementing {
        let cells =
            polyplug_conformance::xtp::evaluate(&runner, &root, spec, &wrong, &lang, host.as_ref());
        let failed: Vec<_> = cells
            .iter()
            .filter(|c| c.status != CellStatus::Pass)
            .collect();
        assert_eq!(failed.len(), 1, "{lang}: {failed:?}");
        assert_eq!(
            failed[0].case, "xtp-count-vowels::mock input: \"education\" has 9 vowels",
            "{lang}"
        );
        assert_eq!(failed[0].detail, "Expected 5 == 9", "{lang}");
        assert!(
            cells.len() >= 10,
            "{lang}: every assertion is a result: {cells:?}"
        );
    }
}
