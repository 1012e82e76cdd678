//! `gather` merges the artifacts of per-language CI jobs into one
//! target/plugins, refusing damaged downloads.

mod common;

use sha2::{Digest, Sha256};

fn hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// One language job's upload: <dir>/manifest.json + <dir>/<lang>/<spec>.wasm.
fn job_upload(root: &common::Root, dir: &str, lang: &str, spec: &str, wasm: &[u8], claimed: &[u8]) {
    let entry = serde_json::json!({
        "spec": spec, "lang": lang, "path": format!("target/plugins/{lang}/{spec}.wasm"),
        "sha256": hex(claimed), "bytes": wasm.len(), "toolchain": lang,
        "toolchain_version": "1", "wasi": false, "exports": ["greet"], "imports": [],
        "build_ms": 1, "cached": false
    });
    // The job's manifest also lists what it did not upload (other languages).
    let other = serde_json::json!({
        "spec": spec, "lang": "elsewhere", "path": format!("target/plugins/elsewhere/{spec}.wasm"),
        "sha256": "00", "bytes": 1, "toolchain": "x", "toolchain_version": "1", "wasi": false,
        "exports": [], "imports": [], "build_ms": 1, "cached": true
    });
    let manifest = serde_json::json!({ "artifacts": [entry, other], "failures": [] });
    root.write(&format!("{dir}/manifest.json"), &manifest.to_string());
    let file = root.path().join(format!("{dir}/{lang}/{spec}.wasm"));
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(file, wasm).unwrap();
}

#[test]
fn merges_every_language_and_checks_hashes() {
    let root = common::Root::new();
    job_upload(
        &root,
        "gathered/plugins-rust",
        "rust",
        "hello",
        b"\0asm-rust",
        b"\0asm-rust",
    );
    job_upload(
        &root,
        "gathered/plugins-go",
        "go",
        "hello",
        b"\0asm-go",
        b"\0asm-go",
    );
    let run = root.xtask(&["gather", root.path().join("gathered").to_str().unwrap()]);
    assert!(run.ok(), "{}", run.show());
    let manifest = root.manifest();
    assert_eq!(
        common::names(&manifest["artifacts"]),
        ["go/hello", "rust/hello"]
    );
    assert_eq!(
        std::fs::read(root.artifact("go", "hello")).unwrap(),
        b"\0asm-go"
    );
    assert_eq!(
        std::fs::read(root.artifact("rust", "hello")).unwrap(),
        b"\0asm-rust"
    );
}

#[test]
fn a_damaged_download_is_refused_and_nothing_is_written() {
    let root = common::Root::new();
    job_upload(
        &root,
        "gathered/plugins-go",
        "go",
        "hello",
        b"\0asm-truncat",
        b"\0asm-go",
    );
    let run = root.xtask(&["gather", root.path().join("gathered").to_str().unwrap()]);
    assert!(!run.ok(), "{}", run.show());
    assert!(
        run.stderr.contains("does not match the sha256"),
        "{}",
        run.show()
    );
    assert!(!root.path().join("target/plugins/manifest.json").exists());
}

#[test]
fn an_empty_folder_says_what_to_download() {
    let root = common::Root::new();
    std::fs::create_dir_all(root.path().join("gathered")).unwrap();
    let run = root.xtask(&["gather", root.path().join("gathered").to_str().unwrap()]);
    assert!(!run.ok(), "{}", run.show());
    assert!(run.stderr.contains("no manifest.json"), "{}", run.show());
}
