//! `polyplug serve target/plugins` serves every artifact `cargo xtask build-all`
//! made, under `<language>/<spec>`, and every language's count-vowels answers
//! the same over HTTP.

use std::path::Path;
use std::process::Command;

use crate::server::Server;

#[test]
fn serves_every_artifact_build_all_made() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let built = Command::new(cargo)
        .args(["xtask", "build-all"])
        .current_dir(&root)
        .status()
        .expect("cannot run cargo xtask build-all");
    assert!(built.success(), "cargo xtask build-all failed");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("target/plugins/manifest.json")).unwrap())
            .unwrap();

    let plugins = root.join("target/plugins");
    let server = Server::start(&[plugins.to_str().unwrap()]);
    let listed = server.get("/v1/plugins").json();
    let listed = listed["plugins"].as_array().unwrap();
    let artifacts = manifest["artifacts"].as_array().unwrap();
    assert_eq!(listed.len(), artifacts.len(), "{listed:?}");
    let mut answers = Vec::new();
    for a in artifacts {
        let name = format!(
            "{}/{}",
            a["lang"].as_str().unwrap(),
            a["spec"].as_str().unwrap()
        );
        let served = listed
            .iter()
            .find(|p| p["name"] == name.as_str())
            .unwrap_or_else(|| panic!("{name} is not served"));
        assert_eq!(served["sha256"], a["sha256"], "{name}");
        if a["spec"] == "count-vowels" {
            let reply = server.post(&format!("{name}/count_vowels"), b"Hello, World!");
            assert_eq!(reply.status, 200, "{name}: {}", reply.text());
            answers.push((name, reply.text()));
        }
    }
    assert_eq!(
        answers.len(),
        crate::common::languages_implementing(&root, &manifest, "count-vowels"),
        "{answers:?}"
    );
    for (name, text) in &answers {
        assert_eq!(
            text, &answers[0].1,
            "{name} answers differently from {}",
            answers[0].0
        );
    }
}
