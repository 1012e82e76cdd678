//! The product's promise at work (docs/pdk-findings.md, "a worked example"): an
//! AssemblyScript hello written the obvious way, with as-pdk 1.0.0's
//! `Host.outputString`, runs the real hello spec next to the real Rust and Go
//! plugins. The suite must catch the PDK's bug three ways: the unicode case fails
//! against the shared snapshot, the cross-language check names assemblyscript as
//! the odd one out, and the sanitizer reports the write past the block.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{copy_tree, Root};

/// The hello plugin as a newcomer writes it from the as-pdk README, importing
/// ../common as every plugin here does (it holds the abort hook).
const OBVIOUS_HELLO: &str = r#"import { Config, Host } from "@extism/as-pdk";
import "../common";

export function greet(): i32 {
  const name = Host.inputString();
  const greeting = Config.get("greeting");
  Host.outputString(`${greeting === null ? "Hello" : greeting}, ${name.length == 0 ? "World" : name}!`);
  return 0;
}
"#;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn the_suite_catches_as_pdks_output_string_bug() {
    let root = Root::new();
    // The real hello fixture and its shared snapshots.
    std::fs::create_dir_all(root.path().join("fixtures/hello")).unwrap();
    copy_tree(
        &repo().join("fixtures/hello"),
        &root.path().join("fixtures/hello"),
    );
    for file in ["package.json", "package-lock.json", "common.ts"] {
        let text =
            std::fs::read_to_string(repo().join("plugins-assemblyscript").join(file)).unwrap();
        root.write(&format!("plugins-assemblyscript/{file}"), &text);
    }
    root.write("plugins-assemblyscript/hello/index.ts", OBVIOUS_HELLO);
    let built = root.xtask(&["build-all", "--lang", "assemblyscript"]);
    assert!(built.ok(), "{}", built.show());

    // The real Rust and Go hello plugins, built (or found cached) in the repository.
    let real = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args([
            "build-all",
            "--spec",
            "hello",
            "--lang",
            "rust",
            "--lang",
            "go",
        ])
        .current_dir(repo())
        .output()
        .unwrap();
    assert!(
        real.status.success(),
        "{}",
        String::from_utf8_lossy(&real.stderr)
    );
    let real_manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("target/plugins/manifest.json")).unwrap(),
    )
    .unwrap();
    let mut manifest = root.manifest();
    for lang in ["rust", "go"] {
        let mut entry = common::entry(&real_manifest, lang, "hello").clone();
        let from = repo().join(entry["path"].as_str().unwrap());
        let to = format!("target/plugins/{lang}/hello.wasm");
        std::fs::create_dir_all(root.path().join(format!("target/plugins/{lang}"))).unwrap();
        std::fs::copy(from, root.path().join(&to)).unwrap();
        entry["path"] = to.into();
        manifest["artifacts"].as_array_mut().unwrap().push(entry);
    }
    std::fs::write(
        root.path().join("target/plugins/manifest.json"),
        serde_json::to_string_pretty(&manifest).unwrap(),
    )
    .unwrap();

    let report = root.path().join("report.json");
    let run = root.xtask(&[
        "conformance",
        "--skip-build",
        "--format",
        "json",
        "--out",
        report.to_str().unwrap(),
    ]);
    assert_eq!(run.code, Some(1), "the suite must fail: {}", run.show());
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let cell = |case: &str, lang: &str| {
        report["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["case"] == case && r["lang"] == lang)
            .unwrap_or_else(|| panic!("no {case}/{lang} cell in {report:#}"))
            .clone()
    };

    // 1. The unicode case fails against the shared snapshot; ASCII still passes.
    let unicode = cell("unicode", "assemblyscript");
    assert_eq!(unicode["status"], "fail", "{unicode:#}");
    assert!(
        unicode["detail"]
            .as_str()
            .unwrap()
            .contains("no longer matches"),
        "{unicode:#}"
    );
    assert_eq!(cell("plain", "assemblyscript")["status"], "pass");
    assert_eq!(cell("unicode", "rust")["status"], "pass");
    assert_eq!(cell("unicode", "go")["status"], "pass");

    // 2. The cross-language check names assemblyscript as the odd one out.
    let eq = report["equivalence"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["case"] == "unicode")
        .expect("an equivalence row for unicode");
    assert_eq!(eq["agree"], false, "{eq:#}");
    assert_eq!(
        eq["odd_one_out"],
        serde_json::json!(["assemblyscript"]),
        "{eq:#}"
    );

    // 3. The sanitizer saw the UTF-8 bytes written past the UTF-16-sized block.
    let warnings: Vec<&str> = unicode["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|w| w.as_str())
        .collect();
    assert!(
        warnings.iter().any(|w| w.starts_with("`greet`: store_")
            && [
                "past block",
                "past the end of block",
                "right after the end of block"
            ]
            .iter()
            .any(|p| w.contains(p))),
        "{warnings:#?}"
    );
    assert!(cell("unicode", "rust")["warnings"]
        .as_array()
        .unwrap()
        .is_empty());
}
