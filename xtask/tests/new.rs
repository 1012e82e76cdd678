//! `cargo xtask new`: a new spec's plugins build in every language and each
//! of their cells fails visibly until someone writes it; a spec that exists
//! or a bad name is refused with a message and nothing written.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{copy_tree, Root};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every folder and file under `dir` with its contents, to compare trees.
fn tree(dir: &Path) -> BTreeMap<PathBuf, Option<Vec<u8>>> {
    let mut found = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(at) = stack.pop() {
        for entry in std::fs::read_dir(&at).unwrap() {
            let path = entry.unwrap().path();
            let relative = path.strip_prefix(dir).unwrap().to_path_buf();
            if path.is_dir() {
                found.insert(relative, None);
                stack.push(path);
            } else {
                found.insert(relative, Some(std::fs::read(&path).unwrap()));
            }
        }
    }
    found
}

/// A root holding what `new` reads and edits: docs/specs.md, the Rust
/// plugins' workspace manifest and the real hello fixture.
fn small_root() -> Root {
    let root = Root::new();
    for file in ["docs/specs.md", "plugins-rust/Cargo.toml"] {
        root.write(file, &std::fs::read_to_string(repo().join(file)).unwrap());
    }
    std::fs::create_dir_all(root.path().join("fixtures/hello")).unwrap();
    copy_tree(
        &repo().join("fixtures/hello"),
        &root.path().join("fixtures/hello"),
    );
    root
}

/// The spec names of docs/specs.md's table rows, read as the loader's test
/// reads them (crates/conformance/src/loader.rs).
fn documented(root: &Path) -> Vec<String> {
    let doc = std::fs::read_to_string(root.join("docs/specs.md")).unwrap();
    let mut names: Vec<String> = doc
        .lines()
        .filter_map(|l| l.strip_prefix("| "))
        .filter_map(|l| l.split(" |").next())
        .filter(|name| *name != "spec" && !name.starts_with("---"))
        .map(str::to_string)
        .collect();
    names.sort();
    names
}

#[test]
fn a_new_spec_builds_in_every_language_and_every_cell_fails_until_written() {
    let root = Root::new();
    // The plugin folders (their shared files: workspace, go.mod, package.json),
    // the fixtures and the docs page, without build outputs or node_modules.
    for dir in [
        "plugins-rust",
        "plugins-tinygo",
        "plugins-js",
        "plugins-assemblyscript",
        "fixtures",
    ] {
        copy_sources(&repo().join(dir), &root.path().join(dir));
    }
    root.write(
        "docs/specs.md",
        &std::fs::read_to_string(repo().join("docs/specs.md")).unwrap(),
    );

    let run = root.xtask(&[
        "new",
        "scaffolded",
        "--export",
        "greet",
        "--export",
        "add:raw",
        "--export",
        "panic",
    ]);
    assert!(run.ok(), "{}", run.show());
    for line in [
        "created fixtures/scaffolded/spec.toml",
        "created plugins-rust/scaffolded/src/lib.rs",
        "created plugins-tinygo/scaffolded/main.go",
        "created plugins-js/scaffolded/index.d.ts",
        "created plugins-assemblyscript/scaffolded/index.ts",
        "edited plugins-rust/Cargo.toml",
        "edited docs/specs.md",
        "cargo xtask build-all --spec scaffolded",
        "cargo insta review",
    ] {
        assert!(run.stdout.contains(line), "{line}: {}", run.show());
    }

    // docs/specs.md and fixtures/ still list the same specs (the loader's test).
    let mut fixtures: Vec<String> = std::fs::read_dir(root.path().join("fixtures"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("spec.toml").is_file())
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    fixtures.sort();
    assert_eq!(documented(root.path()), fixtures);
    // The workspace lists the crate, members still sorted.
    let workspace: toml::Table = toml::from_str(
        &std::fs::read_to_string(root.path().join("plugins-rust/Cargo.toml")).unwrap(),
    )
    .unwrap();
    let members: Vec<&str> = workspace["workspace"]["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    assert!(members.contains(&"scaffolded"), "{members:?}");
    assert!(members.is_sorted(), "{members:?}");
    // Generated code passes the repository's own tidy checks.
    let gofmt = Command::new("gofmt")
        .arg("-l")
        .arg(root.path().join("plugins-tinygo/scaffolded"))
        .output()
        .unwrap();
    assert!(
        gofmt.status.success() && gofmt.stdout.is_empty(),
        "gofmt: {}",
        String::from_utf8_lossy(&gofmt.stdout)
    );
    let rustfmt = Command::new("rustfmt")
        .args(["--edition", "2021", "--check"])
        .arg(root.path().join("plugins-rust/scaffolded/src/lib.rs"))
        .output()
        .unwrap();
    assert!(
        rustfmt.status.success(),
        "rustfmt: {}",
        String::from_utf8_lossy(&rustfmt.stdout)
    );

    let built = root.xtask(&["build-all", "--spec", "scaffolded"]);
    assert!(built.ok(), "{}", built.show());
    let manifest = root.manifest();
    let langs: Vec<String> = manifest["languages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap().to_string())
        .collect();
    assert!(langs.len() >= 4, "{langs:?}");
    for lang in &langs {
        common::entry(&manifest, lang, "scaffolded");
    }

    let report = root.path().join("report.json");
    let run = root.xtask(&[
        "conformance",
        "--spec",
        "scaffolded",
        "--host",
        "polyplug",
        "--format",
        "json",
        "--out",
        report.to_str().unwrap(),
    ]);
    assert_eq!(run.code, Some(1), "every cell must fail: {}", run.show());
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let results = report["results"].as_array().unwrap();
    for lang in &langs {
        for case in ["greet", "add", "panic"] {
            let cell = results
                .iter()
                .find(|r| r["case"] == case && r["lang"] == lang.as_str())
                .unwrap_or_else(|| panic!("no {case}/{lang} cell in {report:#}"));
            assert_eq!(cell["status"], "fail", "{cell:#}");
            let detail = cell["detail"].as_str().unwrap();
            // A raw export has no error to report: it traps, or returns a
            // sentinel that fails against the snapshot.
            if case != "add" {
                let message = format!("got plugin-error: not implemented: scaffolded/{case}");
                assert!(detail.contains(&message), "{cell:#}");
            }
        }
    }
}

/// Copies a folder as `copy_tree` does, also leaving out node_modules.
fn copy_sources(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap();
        if name == "target" || name == "node_modules" {
            continue;
        }
        if path.is_dir() {
            copy_sources(&path, &to.join(name));
        } else {
            std::fs::copy(&path, to.join(name)).unwrap();
        }
    }
}

#[test]
fn an_existing_spec_is_refused_and_nothing_is_written() {
    let root = small_root();
    root.write("plugins-js/only-here/index.js", "module.exports = {};\n");
    let before = tree(root.path());
    for (spec, names) in [
        ("hello", "fixtures/hello"),
        ("only-here", "plugins-js/only-here"),
    ] {
        let run = root.xtask(&["new", spec, "--export", "f"]);
        assert_eq!(run.code, Some(1), "{}", run.show());
        let expected = format!("spec `{spec}` already exists ({names}");
        assert!(run.stderr.contains(&expected), "{}", run.show());
        assert!(tree(root.path()) == before, "{spec}: the tree changed");
    }
    // So is a workspace member, or a row in docs/specs.md, without a fixture.
    let docs = std::fs::read_to_string(root.path().join("docs/specs.md")).unwrap();
    let docs = docs.replace(
        "| raw-add |",
        "| ghost | `f` | documented, never written |\n| raw-add |",
    );
    root.write("docs/specs.md", &docs);
    let before = tree(root.path());
    for (spec, says) in [
        (
            "raw-add",
            "cannot add `raw-add` to plugins-rust/Cargo.toml: `raw-add` is already a member",
        ),
        ("ghost", "docs/specs.md already has a row for `ghost`"),
    ] {
        let run = root.xtask(&["new", spec, "--export", "f"]);
        assert_eq!(run.code, Some(1), "{}", run.show());
        assert!(run.stderr.contains(says), "{}", run.show());
        assert!(tree(root.path()) == before, "{spec}: the tree changed");
    }
}

#[test]
fn invalid_names_are_refused_and_nothing_is_written() {
    let root = small_root();
    let before = tree(root.path());
    for (args, says) in [
        (
            &["new", "Upper", "--export", "f"][..],
            "invalid spec name \"Upper\"",
        ),
        (&["new", "9lives", "--export", "f"], "invalid spec name"),
        (&["new", "snake_case", "--export", "f"], "invalid spec name"),
        (
            &["new", "ok", "--export", "2x"],
            "invalid export name \"2x\"",
        ),
        (&["new", "ok", "--export", "a-b"], "invalid export name"),
        (&["new", "ok", "--export", "f:fast"], "unknown kind `fast`"),
        (
            &["new", "ok", "--export", "f", "--export", "f"],
            "given twice",
        ),
        (&["new", "ok"], "name at least one export"),
        (
            &["new", "ok", "--export", "fn"],
            "export `fn` is a Rust keyword",
        ),
        (
            &["new", "ok", "--export", "f", "--lang", "cobol"],
            "unknown language `cobol`",
        ),
    ] {
        let run = root.xtask(args);
        assert_eq!(run.code, Some(1), "{args:?}: {}", run.show());
        assert!(run.stderr.contains(says), "{args:?}: {}", run.show());
        assert!(tree(root.path()) == before, "{args:?}: the tree changed");
    }
    // Without the docs page there is no row to add: refused before any write.
    std::fs::remove_file(root.path().join("docs/specs.md")).unwrap();
    let before = tree(root.path());
    let run = root.xtask(&["new", "ok", "--export", "f"]);
    assert_eq!(run.code, Some(1), "{}", run.show());
    assert!(
        run.stderr.contains("cannot read docs/specs.md"),
        "{}",
        run.show()
    );
    assert!(tree(root.path()) == before, "the tree changed");
}

#[test]
fn languages_left_out_are_declared_na_in_the_fixture() {
    let root = small_root();
    let run = root.xtask(&["new", "partial", "--export", "f", "--lang", "rust"]);
    assert!(run.ok(), "{}", run.show());
    assert!(root
        .path()
        .join("plugins-rust/partial/src/lib.rs")
        .is_file());
    for other in [
        "plugins-tinygo",
        "plugins-js",
        "plugins-assemblyscript",
        "plugins-wat",
    ] {
        assert!(!root.path().join(other).join("partial").exists(), "{other}");
    }
    let fixture: toml::Table = toml::from_str(
        &std::fs::read_to_string(root.path().join("fixtures/partial/spec.toml")).unwrap(),
    )
    .unwrap();
    let na = fixture["na"].as_table().unwrap();
    let mut left_out: Vec<&str> = na.keys().map(String::as_str).collect();
    left_out.sort();
    assert_eq!(left_out, ["assemblyscript", "go", "js", "wat"]);
    assert!(na
        .values()
        .all(|reason| reason.as_str() == Some("not written yet")));
    assert!(run.stdout.contains("n/a in the fixture"), "{}", run.show());
}
