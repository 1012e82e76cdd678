//! build-all under faults: interrupted mid-build, and out of disk space while
//! writing artifacts. Every artifact and manifest.json must stay the old one or
//! become the new one, never a partial file.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{Root, ADD_GO, ADD_RS};

const ADD_RS_V2: &str =
    "#[no_mangle]\npub extern \"C\" fn add(a: i32, b: i32) -> i32 {\n    a.wrapping_add(b).wrapping_add(1)\n}\n";
const ADD_GO_V2: &str =
    "package main\n\n//go:wasmexport add\nfunc add(a, b int32) int32 { return a + b + 1 }\n\nfunc main() {}\n";

/// Every file under target/plugins (the lock and the cache folder aside), with its bytes.
fn outputs(root: &Root) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = root.path().join("target/plugins");
    let mut out = Vec::new();
    for lang in ["rust", "go"] {
        let p = dir.join(lang).join("add.wasm");
        if let Ok(bytes) = std::fs::read(&p) {
            out.push((p, bytes));
        }
    }
    out.push((
        dir.join("manifest.json"),
        std::fs::read(dir.join("manifest.json")).unwrap(),
    ));
    out
}

#[test]
fn an_interrupted_build_all_leaves_each_file_old_or_new() {
    let root = Root::new();
    root.rust_plugin("add", ADD_RS);
    root.go_plugin("add", ADD_GO);
    assert!(root.xtask(&["build-all"]).ok());
    let old = outputs(&root);

    root.rust_plugin("add", ADD_RS_V2);
    root.write("plugins-tinygo/add/main.go", ADD_GO_V2);
    let mut cmd = root.xtask_command(&["build-all"]);
    // Its own process group, as a terminal's Ctrl-C reaches the whole foreground job.
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    // SIGINT as a terminal delivers it: a test run started in the background of a
    // non-interactive shell inherits it ignored, and build-all then ran to its end.
    // SAFETY: signal() is async-signal-safe, as pre_exec requires.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            Ok(())
        });
    }
    let mut child = cmd.stderr(std::process::Stdio::piped()).spawn().unwrap();
    // Interrupted as soon as it says it is building.
    let stderr = child.stderr.take().unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stderr));
    let saw_building = lines.any(|l| l.is_ok_and(|l| l.contains("building")));
    assert!(saw_building, "build-all never said it was building");
    let _ = Command::new("kill")
        .args(["-s", "INT", "--", &format!("-{}", child.id())])
        .status();
    std::thread::spawn(move || lines.for_each(drop));
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "build-all ignored SIGINT"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(
        !status.success(),
        "the build finished before the interrupt reached it"
    );
    let interrupted = outputs(&root);

    assert!(
        root.xtask(&["build-all"]).ok(),
        "build-all after the interrupt"
    );
    let new = outputs(&root);
    assert_ne!(old[0], new[0], "the second version differs");
    for (path, bytes) in &interrupted {
        if path.ends_with("manifest.json") {
            // Its timings differ run to run: it must be whole, listing whole artifacts.
            let doc: serde_json::Value = serde_json::from_slice(bytes)
                .unwrap_or_else(|e| panic!("manifest.json is partial after SIGINT: {e}"));
            assert!(doc["artifacts"].is_array(), "{doc}");
            continue;
        }
        let was = old.iter().find(|(p, _)| p == path).map(|(_, b)| b);
        let now = new.iter().find(|(p, _)| p == path).map(|(_, b)| b);
        assert!(
            Some(bytes) == was || Some(bytes) == now,
            "{} is neither the old nor the new file after SIGINT ({status})",
            path.display()
        );
    }
}

/// A tmpfs mounted over a folder for the test's life.
struct Mount(PathBuf);

impl Mount {
    fn tmpfs(at: &Path, size: &str) -> Option<Mount> {
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Mount(at.to_path_buf()))
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

fn copy_dir(from: &Path, to: &Path) {
    common::copy_tree(from, to);
}

#[test]
fn a_full_disk_while_writing_artifacts_keeps_the_old_ones() {
    let root = Root::new();
    root.rust_plugin("add", ADD_RS);
    assert!(root.xtask(&["build-all"]).ok());
    let old = outputs(&root);

    // target/plugins moves onto a small tmpfs, which is then filled up.
    let plugins = root.path().join("target/plugins");
    let saved = root.path().join("target/plugins-saved");
    std::fs::rename(&plugins, &saved).unwrap();
    std::fs::create_dir(&plugins).unwrap();
    let Some(_mount) = Mount::tmpfs(&plugins, "2m") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI runs as root and must be able to mount a tmpfs"
        );
        eprintln!("skipped: cannot mount a tmpfs here (needs root)");
        return;
    };
    copy_dir(&saved, &plugins);
    let mut filler = std::fs::File::create(plugins.join("filler")).unwrap();
    let block = vec![0u8; 4096];
    while std::io::Write::write_all(&mut filler, &block).is_ok() {}
    drop(filler);

    root.rust_plugin("add", ADD_RS_V2);
    let run = root.xtask(&["build-all"]);
    assert!(
        !run.ok(),
        "build-all succeeded on a full disk\n{}",
        run.show()
    );
    assert!(
        run.stderr.to_lowercase().contains("no space left"),
        "the error says why\n{}",
        run.show()
    );
    std::fs::remove_file(plugins.join("filler")).unwrap();
    assert_eq!(
        outputs(&root),
        old,
        "the old artifacts and manifest survive"
    );
}

const ADD_WAT: &str = r#"(module (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))"#;

/// build-all rewriting every artifact and manifest.json, again and again, while
/// the suite reads them: each suite run sees whole files and passes.
#[test]
fn a_build_all_racing_a_running_suite_changes_no_verdict() {
    let root = Root::new();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let spec = std::fs::read_to_string(repo.join("fixtures/raw-add/spec.toml")).unwrap();
    // The real raw-add cases and snapshots, played by a WAT plugin (quick to rebuild).
    let spec: String = spec
        .lines()
        .filter(|l| !l.starts_with("na ="))
        .collect::<Vec<_>>()
        .join("\n");
    root.write("fixtures/raw-add/spec.toml", &spec);
    let snapshots = root.path().join("fixtures/raw-add/snapshots");
    std::fs::create_dir_all(&snapshots).unwrap();
    copy_dir(&repo.join("fixtures/raw-add/snapshots"), &snapshots);
    root.write("plugins-wat/raw-add/plugin.wat", ADD_WAT);
    assert!(root.xtask(&["build-all", "--lang", "wat"]).ok());

    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let builder = {
        let (stop, mut cmd) = (
            stop.clone(),
            root.xtask_command(&["build-all", "--lang", "wat", "--force"]),
        );
        std::thread::spawn(move || {
            let mut builds = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let out = cmd.output().unwrap();
                assert!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
                builds += 1;
            }
            builds
        })
    };
    for _ in 0..5 {
        let run = root.xtask(&[
            "conformance",
            "--lang",
            "wat",
            "--host",
            "polyplug",
            "--skip-build",
        ]);
        assert!(
            run.ok(),
            "the suite failed while build-all ran\n{}",
            run.show()
        );
        assert!(
            run.stdout.contains("4 pass, 0 fail, 0 error"),
            "{}",
            run.show()
        );
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let builds = builder.join().unwrap();
    assert!(
        builds >= 2,
        "build-all ran {builds} time(s) during the suite runs"
    );
}
