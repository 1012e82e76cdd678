//! The spec_toml target: the conformance suite's strict fixture loader on any
//! text. It reports problems as located `LoadError`s; it never panics.

use std::sync::OnceLock;

use tempfile::TempDir;

/// An empty fixture folder: `input = { file = ... }` resolves against it.
fn fixture_dir() -> &'static TempDir {
    static DIR: OnceLock<TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().expect("a temporary folder"))
}

pub fn spec_toml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // The names a fixture's `na` may use (made up: no language is named here).
    let languages = ["alpha".to_owned(), "beta".to_owned()];
    {
        let (spec, errors) = polyplug_conformance::parse_spec_text(
            "fuzzed",
            fixture_dir().path(),
            text,
            Some(&languages),
        );
        for e in &errors {
            assert!(
                !e.message.is_empty(),
                "a load error without a message: {e:?}"
            );
            if let Some(line) = e.line {
                assert!(line >= 1 && line <= text.lines().count().max(1) + 1, "{e}");
            }
        }
        if let Some(spec) = spec {
            // What the runner and the reports do with a loaded spec.
            for case in &spec.cases {
                let _ = case.id();
                let _ = case.all_calls().count();
                let _ = spec.na_reason(case, "alpha");
            }
        }
    }
}
