//! doctor reports each language's toolchain; `--json` is for machines.

mod common;

#[test]
fn doctor_json_describes_every_language() {
    let root = common::Root::new();
    let run = root.xtask(&["doctor", "--json"]);
    assert!(run.ok(), "{}", run.show());
    let report: serde_json::Value =
        serde_json::from_str(&run.stdout).expect("doctor --json prints JSON");
    for lang in ["rust", "go", "js", "assemblyscript"] {
        let entry = &report["languages"][lang];
        assert!(entry["ready"].is_boolean(), "{lang}: {entry:#}");
        for key in ["strategy", "version", "hint"] {
            assert!(entry[key].is_string(), "{lang}.{key}: {entry:#}");
        }
        // A toolchain that is not ready always says what to run.
        if entry["ready"] == false {
            assert_ne!(entry["hint"], "", "{lang}: {entry:#}");
        }
    }
    let js = &report["languages"]["js"]["strategy"];
    assert!(
        ["extism-js", "builtin", "none"].contains(&js.as_str().unwrap()),
        "{js}"
    );
    let rust = &report["languages"]["rust"]["strategy"];
    assert!(
        ["target", "build-std", "none"].contains(&rust.as_str().unwrap()),
        "{rust}"
    );
    let go = &report["languages"]["go"]["strategy"];
    assert!(
        ["tinygo", "go", "none"].contains(&go.as_str().unwrap()),
        "{go}"
    );
}

#[test]
fn doctor_names_the_fix_for_a_missing_go() {
    let root = common::Root::new();
    // No go or tinygo on PATH.
    let run = root.xtask_with(&["doctor", "--json"], |cmd| {
        cmd.env("PATH", "/nonexistent");
    });
    assert!(run.ok(), "{}", run.show());
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let go = &report["languages"]["go"];
    assert_eq!(go["ready"], false);
    assert!(
        go["hint"].as_str().unwrap().contains("Go >= 1.24"),
        "{go:#}"
    );
}
