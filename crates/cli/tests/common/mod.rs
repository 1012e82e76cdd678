//! Shared by the CLI's test binaries.

use std::path::Path;

/// How many of the manifest's languages implement `spec`: all but those its
/// fixture declares n/a for the whole spec (`na = { lang = "why" }`).
pub fn languages_implementing(root: &Path, manifest: &serde_json::Value, spec: &str) -> usize {
    let fixture = root.join("fixtures").join(spec).join("spec.toml");
    let text = std::fs::read_to_string(&fixture)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", fixture.display()));
    let na = text.lines().find(|l| l.starts_with("na = {")).unwrap_or("");
    manifest["languages"]
        .as_array()
        .expect("the manifest lists its languages")
        .iter()
        .filter_map(|l| l["name"].as_str())
        .filter(|name| !na.contains(&format!("{name} = ")))
        .count()
}
