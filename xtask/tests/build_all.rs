//! build-all against throwaway roots holding tiny real plugins: what it
//! builds, what it reports, what it caches and what it never overwrites.

mod common;

use common::{entry, names, Root, ADD_GO, ADD_RS, BROKEN_GO, BROKEN_RS, CLOCK_RS};

#[test]
fn a_broken_plugin_is_named_while_the_others_build() {
    let root = Root::new();
    root.rust_plugin("add", ADD_RS);
    root.rust_crate(
        "clock",
        Some("spec = \"clock\"\ntarget = \"wasm32-wasip1\""),
        CLOCK_RS,
    );
    root.rust_plugin("broken", BROKEN_RS);
    root.go_plugin("add", ADD_GO);
    root.go_plugin("broken", BROKEN_GO);
    let leaked = root.path().join("leaked-target");
    // What the outer cargo might leak must not steer the inner builds.
    let run = root.xtask_with(&["build-all"], |cmd| {
        cmd.env("CARGO_TARGET_DIR", &leaked)
            .env("RUSTUP_TOOLCHAIN", "no-such-toolchain")
            .env("RUSTC", "/bin/false")
            .env("CARGO", "/bin/false")
            .env("RUSTFLAGS", "-C no-such-flag")
            .env("CARGO_BUILD_TARGET", "x86_64-unknown-linux-gnu");
    });
    assert!(!run.ok(), "{}", run.show());
    assert!(
        run.stderr
            .contains("failed to build: rust/broken, go/broken"),
        "{}",
        run.show()
    );
    assert!(
        run.stderr.contains("not_defined_anywhere"),
        "rustc's error is shown\n{}",
        run.show()
    );
    assert!(
        run.stderr.contains("notDefinedAnywhere"),
        "go's error is shown\n{}",
        run.show()
    );
    assert!(
        !leaked.exists(),
        "CARGO_TARGET_DIR leaked into the plugin build"
    );

    let manifest = root.manifest();
    assert_eq!(
        names(&manifest["artifacts"]),
        ["rust/add", "rust/clock", "go/add"]
    );
    assert_eq!(names(&manifest["failures"]), ["rust/broken", "go/broken"]);
    let rust_add = entry(&manifest, "rust", "add");
    assert_eq!(rust_add["exports"], serde_json::json!(["add"]));
    assert_eq!(rust_add["wasi"], false);
    assert_eq!(rust_add["path"], "target/plugins/rust/add.wasm");
    assert_eq!(rust_add["toolchain"], "rustc");
    assert_eq!(rust_add["cached"], false);
    assert_eq!(entry(&manifest, "rust", "clock")["wasi"], true);
    let go_add = entry(&manifest, "go", "add");
    assert_eq!(go_add["wasi"], true);
    assert!(go_add["exports"]
        .as_array()
        .unwrap()
        .contains(&serde_json::json!("add")));
    assert!(go_add["exports"]
        .as_array()
        .unwrap()
        .contains(&serde_json::json!("_initialize")));
    let bytes = std::fs::read(root.artifact("go", "add")).unwrap();
    assert_eq!(go_add["bytes"], bytes.len() as u64);
    assert!(!root.artifact("rust", "broken").exists());
}

#[test]
fn a_second_build_is_all_cached_and_an_edit_rebuilds_one() {
    let root = Root::new();
    root.rust_plugin("add", ADD_RS);
    root.rust_plugin("sum", &ADD_RS.replace("fn add", "fn sum"));
    root.go_plugin("add", ADD_GO);
    let first = root.xtask(&["build-all"]);
    assert!(first.ok(), "{}", first.show());
    let before = root.manifest();

    let second = root.xtask(&["build-all"]);
    assert!(second.ok(), "{}", second.show());
    assert!(
        second.stderr.contains("0 built, 3 cached, 0 failed"),
        "{}",
        second.show()
    );
    let after = root.manifest();
    for artifact in after["artifacts"].as_array().unwrap() {
        assert_eq!(artifact["cached"], true, "{artifact:#}");
    }
    assert_eq!(
        entry(&before, "go", "add")["sha256"],
        entry(&after, "go", "add")["sha256"]
    );

    root.write(
        "plugins-rust/sum/src/lib.rs",
        &ADD_RS
            .replace("fn add", "fn sum")
            .replace("wrapping_add", "wrapping_sub"),
    );
    let third = root.xtask(&["build-all"]);
    assert!(third.ok(), "{}", third.show());
    assert!(
        third.stderr.contains("1 built, 2 cached"),
        "{}",
        third.show()
    );
    let manifest = root.manifest();
    assert_eq!(entry(&manifest, "rust", "sum")["cached"], false);
    assert_eq!(entry(&manifest, "rust", "add")["cached"], true);

    // --force rebuilds everything.
    let forced = root.xtask(&["build-all", "--force"]);
    assert!(
        forced.stderr.contains("3 built, 0 cached"),
        "{}",
        forced.show()
    );
}

#[test]
fn a_failed_rebuild_keeps_the_good_artifact() {
    let root = Root::new();
    root.rust_plugin("add", ADD_RS);
    root.go_plugin("add", ADD_GO);
    assert!(root.xtask(&["build-all"]).ok());
    let rust_good = std::fs::read(root.artifact("rust", "add")).unwrap();
    let go_good = std::fs::read(root.artifact("go", "add")).unwrap();

    root.rust_plugin("add", BROKEN_RS);
    root.go_plugin("add", BROKEN_GO);
    let run = root.xtask(&["build-all"]);
    assert!(!run.ok(), "{}", run.show());
    assert_eq!(
        std::fs::read(root.artifact("rust", "add")).unwrap(),
        rust_good
    );
    assert_eq!(std::fs::read(root.artifact("go", "add")).unwrap(), go_good);
    let manifest = root.manifest();
    assert_eq!(names(&manifest["artifacts"]), Vec::<String>::new());
    assert_eq!(names(&manifest["failures"]), ["rust/add", "go/add"]);

    // Fixing it again is a cache hit: the inputs are those of the good build.
    root.rust_plugin("add", ADD_RS);
    root.go_plugin("add", ADD_GO);
    let fixed = root.xtask(&["build-all"]);
    assert!(
        fixed.stderr.contains("0 built, 2 cached"),
        "{}",
        fixed.show()
    );
}

#[test]
fn spec_and_lang_select_plugins() {
    let root = Root::new();
    root.rust_plugin("add", ADD_RS);
    root.rust_plugin("sum", &ADD_RS.replace("fn add", "fn sum"));
    root.go_plugin("add", ADD_GO);

    let run = root.xtask(&["build-all", "--spec", "add"]);
    assert!(run.ok(), "{}", run.show());
    assert!(
        run.stderr.contains("2 plugin(s), 0 cached, 2 to build"),
        "{}",
        run.show()
    );
    assert_eq!(names(&root.manifest()["artifacts"]), ["rust/add", "go/add"]);
    assert!(!root.artifact("rust", "sum").exists());

    let run = root.xtask(&[
        "build-all",
        "--lang",
        "rust",
        "--spec",
        "sum",
        "--spec",
        "add",
    ]);
    assert!(run.ok(), "{}", run.show());
    assert!(
        run.stderr
            .contains("2 plugin(s), 1 cached, 1 to build (rust via"),
        "{}",
        run.show()
    );
    // What was not selected stays in the manifest while its artifact is unchanged.
    assert_eq!(
        names(&root.manifest()["artifacts"]),
        ["rust/add", "rust/sum", "go/add"]
    );

    std::fs::remove_file(root.artifact("rust", "sum")).unwrap();
    let run = root.xtask(&["build-all", "--lang", "go"]);
    assert!(run.ok(), "{}", run.show());
    assert!(
        run.stderr
            .contains("1 plugin(s), 1 cached, 0 to build (go via"),
        "{}",
        run.show()
    );
    assert_eq!(
        names(&root.manifest()["artifacts"]),
        ["rust/add", "go/add"],
        "a missing artifact is dropped"
    );
}

#[test]
fn the_projects_own_hello_plugins_build() {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let root = Root::new();
    for dir in ["plugins-rust", "plugins-tinygo"] {
        std::fs::create_dir_all(root.path().join(dir)).unwrap();
        common::copy_tree(&repo.join(dir), &root.path().join(dir));
    }
    let run = root.xtask(&["build-all", "--spec", "hello"]);
    assert!(run.ok(), "{}", run.show());
    let manifest = root.manifest();
    assert_eq!(names(&manifest["artifacts"]), ["rust/hello", "go/hello"]);
    for lang in ["rust", "go"] {
        let hello = entry(&manifest, lang, "hello");
        assert!(
            hello["exports"]
                .as_array()
                .unwrap()
                .contains(&serde_json::json!("greet")),
            "{hello:#}"
        );
        let imports = hello["imports"].as_array().unwrap();
        assert!(
            imports.iter().any(|i| i["module"] == "extism:host/env"),
            "{hello:#}"
        );
    }
}

#[test]
fn the_build_std_strategy_builds_both_targets() {
    let root = Root::new();
    root.rust_plugin("add", ADD_RS);
    root.rust_crate(
        "clock",
        Some("spec = \"clock\"\ntarget = \"wasm32-wasip1\""),
        CLOCK_RS,
    );
    // The strategy builds the standard library for both targets with the
    // workspace's release profile: at opt-level 0 a cold run takes about 60 s
    // instead of 85 s on 2 cores, and what this test checks (which targets,
    // which flags, the artifacts) is the same.
    let ws = root.path().join("plugins-rust/Cargo.toml");
    let profile = std::fs::read_to_string(&ws).unwrap();
    std::fs::write(&ws, profile.replace("opt-level = \"s\"", "opt-level = 0")).unwrap();
    let run = root.xtask_with(&["build-all"], |cmd| {
        cmd.env("POLYPLUG_RUST_STRATEGY", "build-std");
    });
    assert!(run.ok(), "{}", run.show());
    assert!(run.stderr.contains("rust via build-std"), "{}", run.show());
    let manifest = root.manifest();
    assert_eq!(entry(&manifest, "rust", "clock")["wasi"], true);
    assert_eq!(entry(&manifest, "rust", "add")["wasi"], false);
}

#[test]
fn a_second_build_all_waits_for_the_first_and_says_so() {
    let root = Root::new();
    root.go_plugin("add", ADD_GO);
    let out = root.path().join("target/plugins");
    std::fs::create_dir_all(&out).unwrap();
    // This test holds the lock a running build-all would hold.
    let held = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(out.join(".build-all.lock"))
        .unwrap();
    held.lock().unwrap();
    let mut child = root.xtask_command(&["build-all"]);
    let mut child = child.stderr(std::process::Stdio::piped()).spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        let mut seen = String::new();
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            seen.push_str(&line);
            seen.push('\n');
            if line.contains("waiting for it to finish") {
                let _ = tx.send(true);
            }
        }
        let _ = tx.send(false);
        seen
    });
    let waited = rx
        .recv_timeout(std::time::Duration::from_secs(120))
        .unwrap_or(false);
    assert!(waited, "the second build-all did not say it waits");
    assert!(
        child.try_wait().unwrap().is_none(),
        "it went on while the lock was held"
    );
    assert!(
        !out.join("manifest.json").exists(),
        "it wrote while the lock was held"
    );
    drop(held);
    let status = child.wait().unwrap();
    assert!(status.success());
    assert_eq!(names(&root.manifest()["artifacts"]), ["go/add"]);
}
