//! The `polyplug-conformance` binary on throwaway repositories: hand-written WAT
//! plugins stand in for real artifacts, so these tests prove the suite can fail (a
//! changed output shows its diff and exits non-zero) and that bad input gets a clear
//! message while the rest still runs. Real wasmtime, real files, no mocks.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A plugin whose `greet` ignores its input and outputs `text`.
fn constant_plugin(text: &str) -> Vec<u8> {
    let n = text.len();
    let escaped: String = text.bytes().map(|b| format!("\\{b:02x}")).collect();
    let wat = format!(
        r#"(module
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
  (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
  (memory (export "memory") 1)
  (data (i32.const 0) "{escaped}")
  (func (export "greet") (result i32)
    (local $h i64) (local $i i32)
    (local.set $h (call $alloc (i64.const {n})))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (i32.const {n})))
      (call $store_u8 (i64.add (local.get $h) (i64.extend_i32_u (local.get $i))) (i32.load8_u (local.get $i)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (call $output_set (local.get $h) (i64.const {n}))
    (i32.const 0)))"#
    );
    wat::parse_str(wat).expect("the test's WAT is valid")
}

const HELLO_SPEC: &str = r#"
[[case]]
name = "plain"
export = "greet"
input = "Alice"

[[case]]
name = "again"
export = "greet"
input = "Bob"
"#;

fn snap(body: &str) -> String {
    format!("---\nsource: crates/conformance/tests/suite.rs\ndescription: test\n---\n{body}")
}

struct Repo {
    dir: tempfile::TempDir,
}

impl Repo {
    /// A repository with the hello fixture and one artifact per (lang, output).
    fn new(plugins: &[(&str, &str)]) -> Repo {
        let repo = Repo {
            dir: tempfile::tempdir().unwrap(),
        };
        repo.write("fixtures/hello/spec.toml", HELLO_SPEC);
        repo.write(
            "fixtures/hello/snapshots/hello__plain.snap",
            &snap("call 1: greet(\"Alice\")\n  status: ok\n  output: \"Hello, Alice!\"\n"),
        );
        repo.write(
            "fixtures/hello/snapshots/hello__again.snap",
            &snap("call 1: greet(\"Bob\")\n  status: ok\n  output: \"Hello, Alice!\"\n"),
        );
        let mut artifacts = Vec::new();
        for (lang, output) in plugins {
            let rel = format!("target/plugins/{lang}/hello.wasm");
            std::fs::create_dir_all(repo.path().join(format!("target/plugins/{lang}"))).unwrap();
            std::fs::write(repo.path().join(&rel), constant_plugin(output)).unwrap();
            artifacts.push(serde_json::json!({"spec": "hello", "lang": lang, "path": rel, "sha256": "", "bytes": 0,
                "toolchain": "wat", "toolchain_version": "1", "wasi": false, "exports": ["greet"], "imports": [],
                "build_ms": 0, "cached": false}));
        }
        repo.manifest(serde_json::json!({"artifacts": artifacts}));
        repo
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn write(&self, rel: &str, text: &str) {
        let p = self.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    fn manifest(&self, doc: serde_json::Value) {
        self.write("target/plugins/manifest.json", &doc.to_string());
    }

    fn run(&self, extra: &[&str]) -> (i32, String, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_polyplug-conformance"))
            .arg("--root")
            .arg(self.path())
            .args(extra)
            .env_remove("INSTA_UPDATE")
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into(),
            String::from_utf8_lossy(&out.stderr).into(),
        )
    }

    fn json(&self, extra: &[&str]) -> (i32, serde_json::Value) {
        let mut args = vec!["--format", "json"];
        args.extend(extra);
        let (code, out, err) = self.run(&args);
        let doc = serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {out}\nstderr: {err}"));
        (code, doc)
    }
}

fn statuses(doc: &serde_json::Value) -> Vec<(String, String, String)> {
    doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["case"].as_str().unwrap().into(),
                r["lang"].as_str().unwrap().into(),
                r["status"].as_str().unwrap().into(),
            )
        })
        .collect()
}

fn snapshot_files(repo: &Repo) -> Vec<(PathBuf, String)> {
    let dir = repo.path().join("fixtures/hello/snapshots");
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            let text = std::fs::read_to_string(&p).unwrap();
            (p, text)
        })
        .collect();
    v.sort();
    v
}

#[test]
fn a_changed_output_fails_with_its_diff_and_no_snapshot_is_written() {
    let repo = Repo::new(&[("rust", "Goodbye!")]);
    let before = snapshot_files(&repo);
    let (code, out, err) = repo.run(&["--case", "plain"]);
    assert_eq!(code, 1, "stdout: {out}\nstderr: {err}");
    assert!(out.contains("FAIL hello::plain::rust"), "{out}");
    assert!(out.contains("hello__plain.snap no longer matches"), "{out}");
    assert!(out.contains("-  output: \"Hello, Alice!\""), "{out}");
    assert!(out.contains("+  output: \"Goodbye!\""), "{out}");
    assert_eq!(
        snapshot_files(&repo),
        before,
        "the binary must never write snapshots"
    );
}

#[test]
fn matching_output_passes_and_exits_zero() {
    let repo = Repo::new(&[("rust", "Hello, Alice!")]);
    let (code, out, err) = repo.run(&["--case", "hello::plain"]);
    assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
    assert!(out.contains("1 pass, 0 fail, 0 error, 0 n/a"), "{out}");
}

#[test]
fn the_odd_language_out_is_named() {
    let repo = Repo::new(&[("rust", "Hello, Alice!"), ("go", "Hello, Alice?")]);
    let (code, doc) = repo.json(&["--case", "plain"]);
    assert_eq!(code, 1);
    assert_eq!(
        statuses(&doc),
        vec![
            ("plain".into(), "rust".into(), "pass".into()),
            ("plain".into(), "go".into(), "fail".into())
        ]
    );
    let eq = &doc["equivalence"][0];
    assert_eq!(eq["agree"], false);
    assert_eq!(eq["odd_one_out"], serde_json::json!(["go"]));
}

#[test]
fn a_missing_snapshot_fails_without_being_written() {
    let repo = Repo::new(&[("rust", "Hello, Alice!")]);
    std::fs::remove_file(
        repo.path()
            .join("fixtures/hello/snapshots/hello__plain.snap"),
    )
    .unwrap();
    let (code, out, _) = repo.run(&["--case", "plain"]);
    assert_eq!(code, 1);
    assert!(
        out.contains("no snapshot") && out.contains("cargo insta review"),
        "{out}"
    );
    assert!(!repo
        .path()
        .join("fixtures/hello/snapshots/hello__plain.snap")
        .exists());
}

#[test]
fn an_unreadable_snapshot_is_an_error_naming_it_and_is_left_alone() {
    let repo = Repo::new(&[("rust", "Hello, Alice!")]);
    let file = repo
        .path()
        .join("fixtures/hello/snapshots/hello__plain.snap");
    // Root reads any file whatever its mode: a folder in its place cannot be read.
    std::fs::remove_file(&file).unwrap();
    std::fs::create_dir(&file).unwrap();
    let (code, out, _) = repo.run(&["--case", "plain"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("ERROR hello::plain::rust"), "{out}");
    assert!(
        out.contains("cannot read the snapshot")
            && out.contains("hello__plain.snap")
            && out.contains("git checkout"),
        "{out}"
    );
    assert!(file.is_dir(), "the unreadable snapshot was replaced");
    assert!(!out.contains("no snapshot"), "{out}");
}

#[test]
fn a_fixture_deleted_since_the_build_is_reported_and_nothing_is_written() {
    let repo = Repo::new(&[("rust", "Hello, Alice!")]);
    let before = snapshot_files(&repo);
    std::fs::remove_file(repo.path().join("fixtures/hello/spec.toml")).unwrap();
    let (code, out, err) = repo.run(&[]);
    assert_ne!(code, 0, "stdout: {out}\nstderr: {err}");
    let shown = format!("{out}{err}");
    assert!(shown.contains("hello"), "{shown}");
    assert_eq!(snapshot_files(&repo), before, "nothing is written");
}

#[test]
fn broken_fixtures_are_reported_with_file_and_line_and_the_rest_runs() {
    let repo = Repo::new(&[("rust", "Hello, Alice!")]);
    repo.write(
        "fixtures/syntax/spec.toml",
        "[[case]]\nname = \"a\"\nexport = greet\n",
    );
    repo.write(
        "fixtures/unknown-key/spec.toml",
        "[[case]]\nname = \"a\"\nexport = \"greet\"\nexpected = 1\n",
    );
    let (code, out, err) = repo.run(&["--case", "plain"]);
    assert_eq!(code, 1, "{out}\n{err}");
    let syntax = repo.path().join("fixtures/syntax/spec.toml");
    let unknown = repo.path().join("fixtures/unknown-key/spec.toml");
    assert!(out.contains(&format!("{}:3:", syntax.display())), "{out}");
    assert!(
        out.contains(&format!("{}:4:", unknown.display()))
            && out.contains("unknown field `expected`"),
        "{out}"
    );
    assert!(out.contains("1 pass"), "the good fixture still ran: {out}");
}

#[test]
fn a_missing_export_is_an_error_naming_it() {
    let repo = Repo::new(&[("rust", "Hello, Alice!")]);
    repo.write(
        "fixtures/hello/spec.toml",
        "[[case]]\nname = \"plain\"\nexport = \"gret\"\n",
    );
    let (code, doc) = repo.json(&[]);
    assert_eq!(code, 1);
    let r = &doc["results"][0];
    assert_eq!(r["status"], "error");
    let detail = r["detail"].as_str().unwrap();
    assert!(
        detail.contains("no export `gret`") && detail.contains("spec.toml:1"),
        "{detail}"
    );
}

#[test]
fn a_missing_artifact_says_which_build_to_fix() {
    let repo = Repo::new(&[("rust", "Hello, Alice!")]);
    repo.manifest(serde_json::json!({"artifacts": [], "failures": [
        {"spec": "hello", "lang": "rust", "message": "cargo build failed: wasm32-unknown-unknown std sources missing"}]}));
    let (code, doc) = repo.json(&["--case", "plain"]);
    assert_eq!(code, 1);
    let detail = doc["results"][0]["detail"].as_str().unwrap();
    assert!(
        detail.contains("the rust build of `hello` failed")
            && detail.contains("std sources missing"),
        "{detail}"
    );
}

#[test]
fn shards_split_the_cases_without_overlap() {
    let repo = Repo::new(&[("rust", "Hello, Alice!")]);
    let (_, one) = repo.json(&["--shard", "1/2"]);
    let (_, two) = repo.json(&["--shard", "2/2"]);
    let (one, two) = (statuses(&one), statuses(&two));
    assert_eq!(one.len() + two.len(), 2);
    assert_eq!(one[0].0, "plain");
    assert_eq!(two[0].0, "again");
}

#[test]
fn n_a_needs_a_reason_and_shows_it() {
    let repo = Repo::new(&[("rust", "Hello, Alice!")]);
    repo.write(
        "fixtures/hello/spec.toml",
        &format!("[na]\nrust = \"no greeting in this dialect\"\n{HELLO_SPEC}"),
    );
    let (code, doc) = repo.json(&[]);
    assert_eq!(code, 0);
    assert_eq!(doc["results"][0]["status"], "na");
    assert_eq!(doc["results"][0]["reason"], "no greeting in this dialect");
}

#[test]
fn junit_and_markdown_name_the_failure() {
    let repo = Repo::new(&[("rust", "Goodbye!")]);
    let (_, junit, _) = repo.run(&["--case", "plain", "--format", "junit"]);
    assert!(
        junit.contains("name=\"hello::plain::rust::polyplug\"") && junit.contains("<failure"),
        "{junit}"
    );
    let (_, md, _) = repo.run(&["--case", "plain", "--format", "markdown"]);
    assert!(
        md.contains("| hello |") && md.contains("hello::plain::rust"),
        "{md}"
    );
}

#[test]
fn bad_arguments_exit_2_with_usage() {
    let repo = Repo::new(&[]);
    let (code, _, err) = repo.run(&["--shard", "3/2"]);
    assert_eq!(code, 2);
    assert!(err.contains("--shard"), "{err}");
    let (code, _, err) = repo.run(&["--format", "yaml"]);
    assert_eq!(code, 2);
    assert!(err.contains("human, json, junit or markdown"), "{err}");
    let (code, _, err) = repo.run(&["--compiler", "llvm"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("--compiler llvm: use cranelift or winch"),
        "{err}"
    );
}

#[test]
fn either_compiler_passes_and_the_report_names_it() {
    let repo = Repo::new(&[("rust", "Hello, Alice!")]);
    // The runner's own default (Winch on x86-64), not a second copy of the rule.
    let default = polyplug_conformance::Compiler::default().to_string();
    for (args, compiler) in [
        (&[][..], default.as_str()),
        (&["--compiler", "cranelift"][..], "cranelift"),
        (&["--compiler", "winch"][..], "winch"),
    ] {
        if compiler == "winch" && !cfg!(target_arch = "x86_64") {
            continue;
        }
        let mut all = vec!["--case", "hello::plain"];
        all.extend(args);
        let (code, doc) = repo.json(&all);
        assert_eq!(code, 0, "{args:?}: {doc:#}");
        assert_eq!(
            statuses(&doc),
            [("plain".into(), "rust".into(), "pass".into())],
            "{args:?}"
        );
        assert_eq!(
            doc["hosts"][0]["version"],
            format!("polyplug-host {}, {compiler}", env!("CARGO_PKG_VERSION")),
            "{args:?}: the report names the compiler"
        );
    }
}

#[test]
fn out_writes_the_report_into_a_new_folder() {
    let repo = Repo::new(&[("rust", "Hello, Alice!")]);
    let out = repo.path().join("target/conformance/junit.xml");
    let (code, stdout, err) = repo.run(&[
        "--case",
        "plain",
        "--format",
        "junit",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stdout}\n{err}");
    assert!(stdout.is_empty(), "{stdout}");
    let xml = std::fs::read_to_string(out).unwrap();
    assert!(
        xml.contains("tests=\"1\" failures=\"0\" errors=\"0\""),
        "{xml}"
    );
}

#[test]
fn an_unknown_language_in_na_is_a_load_error_naming_the_languages() {
    let repo = Repo::new(&[("lang-a", "Hello, Alice!")]);
    // build-all lists every language it knows, with or without artifacts.
    let manifest =
        std::fs::read_to_string(repo.path().join("target/plugins/manifest.json")).unwrap();
    let mut manifest: serde_json::Value = serde_json::from_str(&manifest).unwrap();
    manifest["languages"] = serde_json::json!([
        {"name": "lang-a", "source_dir": "plugins-a", "watch": ["plugins-a"]},
        {"name": "lang-b", "source_dir": "plugins-b", "watch": ["plugins-b"]},
    ]);
    repo.manifest(manifest);
    repo.write(
        "fixtures/hello/spec.toml",
        &format!("na = {{ cobol = \"no compiler\" }}\n{HELLO_SPEC}"),
    );
    let (code, out, err) = repo.run(&[]);
    assert_eq!(code, 1, "{out}\n{err}");
    let all = format!("{out}\n{err}");
    assert!(all.contains("fixtures/hello/spec.toml"), "{all}");
    assert!(all.contains("unknown language `cobol`"), "{all}");
    assert!(all.contains("lang-a, lang-b"), "{all}");
    assert!(!all.contains("panicked"), "{all}");

    // A language build-all knows may be n/a even without artifacts.
    repo.write(
        "fixtures/hello/spec.toml",
        &format!("na = {{ lang-b = \"no compiler\" }}\n{HELLO_SPEC}"),
    );
    let (_, out, err) = repo.run(&[]);
    assert!(
        !format!("{out}{err}").contains("unknown language"),
        "{out}\n{err}"
    );
}

/// A host folder whose driver is a small bash script answering the protocol;
/// `mode` says what it does on `call`: `ok` (outputs "Hello, Alice!"), `odd`
/// ("Hello, Alice?"), `garbage`, `crash`, or `hang`.
fn fake_host(repo: &Repo, name: &str, mode: &str, imports: &str) {
    repo.write(
        &format!("hosts/{name}/host.toml"),
        &format!("name = \"{name}\"\nabout = \"a fake host for tests\"\nrun = [\"bash\", \"driver.sh\", \"{mode}\"]\n"),
    );
    repo.write(
        &format!("hosts/{name}/driver.sh"),
        &format!(
            r#"while IFS= read -r line; do
  case "$line" in
    *'"describe"'*) echo '{{"ok":true,"version":"fake 1","imports":[{imports}],"raw_calls":false}}' ;;
    *'"load"'*|*'"unload"'*) echo '{{"ok":true}}' ;;
    *'"call"'*)
      case "$1" in
        ok) echo '{{"ok":true,"output_b64":"SGVsbG8sIEFsaWNlIQ==","logs":[]}}' ;;
        odd) echo '{{"ok":true,"output_b64":"SGVsbG8sIEFsaWNlPw==","logs":[]}}' ;;
        garbage) echo 'this is not the protocol' ;;
        crash) echo 'the driver fell over' >&2; exit 3 ;;
        hang) sleep 1000 ;;
      esac ;;
  esac
done
"#
        ),
    );
    repo.write(&format!("target/hosts/{name}/.ready"), "{}");
}

const ALL_IMPORTS: &str = r#""alloc","store_u8","output_set""#;

fn host_cells(doc: &serde_json::Value, host: &str) -> Vec<(String, String, String)> {
    doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["host"] == host)
        .map(|r| {
            (
                r["case"].as_str().unwrap().into(),
                r["status"].as_str().unwrap().into(),
                format!(
                    "{} {}",
                    r["detail"].as_str().unwrap_or(""),
                    r["reason"].as_str().unwrap_or("")
                ),
            )
        })
        .collect()
}

#[test]
fn an_unknown_host_lists_the_hosts_that_exist() {
    let repo = Repo::new(&[("lang-a", "Hello, Alice!")]);
    fake_host(&repo, "fake-ok", "ok", ALL_IMPORTS);
    let (code, _, err) = repo.run(&["--host", "nope"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("unknown host `nope`: choose from polyplug, fake-ok"),
        "{err}"
    );
}

#[test]
fn every_host_runs_the_same_snapshots_and_an_odd_host_is_named() {
    let repo = Repo::new(&[("lang-a", "Hello, Alice!"), ("lang-b", "Hello, Alice!")]);
    fake_host(&repo, "fake-ok", "ok", ALL_IMPORTS);
    fake_host(&repo, "fake-odd", "odd", ALL_IMPORTS);
    let (code, doc) = repo.json(&["--case", "plain"]);
    assert_eq!(code, 1, "{doc:#}");
    assert!(
        host_cells(&doc, "fake-ok").iter().all(|c| c.1 == "pass"),
        "{doc:#}"
    );
    assert!(
        host_cells(&doc, "fake-odd").iter().all(|c| c.1 == "fail"),
        "{doc:#}"
    );
    let eq = &doc["equivalence"][0];
    assert_eq!(eq["culprit"], "host fake-odd", "{eq:#}");
    assert_eq!(
        eq["odd_one_out"],
        serde_json::json!(["lang-a@fake-odd", "lang-b@fake-odd"])
    );
    let (_, junit, _) = repo.run(&["--case", "plain", "--format", "junit"]);
    assert!(
        junit.contains("name=\"hello::plain::lang-a::fake-odd\""),
        "{junit}"
    );
}

#[test]
fn a_host_lacking_an_import_makes_the_cell_unsupported_not_failed() {
    let repo = Repo::new(&[("lang-a", "Hello, Alice!")]);
    repo.manifest(
        serde_json::json!({"artifacts": [{"spec": "hello", "lang": "lang-a",
        "path": "target/plugins/lang-a/hello.wasm", "exports": ["greet"],
        "imports": [{"module": "extism:host/env", "name": "alloc"},
                    {"module": "extism:host/env", "name": "http_headers"}]}]}),
    );
    fake_host(&repo, "fake-old", "ok", r#""alloc""#);
    let (code, doc) = repo.json(&["--case", "plain", "--host", "fake-old"]);
    assert_eq!(code, 0, "{doc:#}");
    let cells = host_cells(&doc, "fake-old");
    assert_eq!(cells[0].1, "unsupported", "{cells:?}");
    assert!(
        cells[0]
            .2
            .contains("fake-old lacks extism:host/env http_headers"),
        "{cells:?}"
    );
}

/// The drivers run in their own folder (hosts/<name>/): a `--root` given
/// relative to where the suite started must still find the driver in its
/// state folder (`{state}` is target/hosts/<name>/) and the driver the artifact.
#[test]
fn a_relative_root_still_finds_a_driver_in_its_state_folder() {
    let repo = Repo::new(&[("lang-a", "Hello, Alice!")]);
    fake_host(&repo, "fake-ok", "ok", ALL_IMPORTS);
    // The driver answers `load` only for a wasm file it can see from its folder.
    let script = repo.path().join("hosts/fake-ok/driver.sh");
    let text = std::fs::read_to_string(&script).unwrap().replace(
        "*'\"load\"'*|",
        "*'\"load\"'*) wasm=${line#*\\\"wasm\\\":\\\"}; wasm=${wasm%%\\\"*}; \
         if [ -f \"$wasm\" ]; then echo '{\"ok\":true}'; else echo '{\"ok\":false,\"error\":\"no such file\"}'; fi ;;\n    ",
    );
    std::fs::write(repo.path().join("target/hosts/fake-ok/driver.sh"), text).unwrap();
    std::fs::remove_file(&script).unwrap();
    repo.write(
        "hosts/fake-ok/host.toml",
        "name = \"fake-ok\"\nabout = \"a fake host for tests\"\nrun = [\"bash\", \"{state}/driver.sh\", \"ok\"]\n",
    );
    let out = Command::new(env!("CARGO_BIN_EXE_polyplug-conformance"))
        .args(["--root", ".", "--format", "json", "--case", "plain"])
        .current_dir(repo.path())
        .env_remove("INSTA_UPDATE")
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let cells = host_cells(&doc, "fake-ok");
    assert!(
        !cells.is_empty() && cells.iter().all(|c| c.1 == "pass"),
        "{cells:?}"
    );
}

#[test]
fn a_broken_driver_is_an_error_cell_with_its_stderr_and_the_rest_runs() {
    for (mode, needle) in [
        (
            "garbage",
            "printed a line that is not protocol JSON: \"this is not the protocol\"",
        ),
        ("crash", "the driver fell over"),
        ("hang", "did not answer `call` within"),
    ] {
        let repo = Repo::new(&[("lang-a", "Hello, Alice!")]);
        repo.write(
            "fixtures/hello/spec.toml",
            &HELLO_SPEC.replace(
                "export = \"greet\"\n",
                "export = \"greet\"\ntimeout_ms = 100\n",
            ),
        );
        fake_host(&repo, "fake-bad", mode, ALL_IMPORTS);
        let started = std::time::Instant::now();
        let (code, doc) = repo.json(&[]);
        assert!(
            started.elapsed().as_secs() < 60,
            "{mode}: the suite must not hang"
        );
        assert_eq!(code, 1, "{mode}: {doc:#}");
        let cells = host_cells(&doc, "fake-bad");
        assert!(cells.iter().all(|c| c.1 == "error"), "{mode}: {cells:?}");
        assert!(cells[0].2.contains(needle), "{mode}: {cells:?}");
        assert!(
            host_cells(&doc, "polyplug").iter().any(|c| c.1 == "pass"),
            "{mode}: polyplug still runs: {doc:#}"
        );
    }
}

#[test]
fn a_declared_divergence_is_shown_and_fails_once_it_stops() {
    let spec = HELLO_SPEC.replace(
        "input = \"Alice\"\n",
        "input = \"Alice\"\ndiverges.fake-odd = { reason = \"it asks\", observed = 'output: \"Hello, Alice?\"' }\n",
    );
    let repo = Repo::new(&[("lang-a", "Hello, Alice!")]);
    repo.write("fixtures/hello/spec.toml", &spec);
    fake_host(&repo, "fake-odd", "odd", ALL_IMPORTS);
    let (code, doc) = repo.json(&["--case", "plain"]);
    assert_eq!(code, 0, "{doc:#}");
    let cells = host_cells(&doc, "fake-odd");
    assert_eq!(cells[0].1, "diverges", "{cells:?}");
    assert!(cells[0].2.contains("it asks"), "{cells:?}");

    // The host is fixed: the declaration is now wrong and must go, as insta does.
    fake_host(&repo, "fake-odd", "ok", ALL_IMPORTS);
    let (code, doc) = repo.json(&["--case", "plain"]);
    assert_eq!(code, 1, "{doc:#}");
    let cells = host_cells(&doc, "fake-odd");
    assert_eq!(cells[0].1, "fail", "{cells:?}");
    assert!(cells[0].2.contains("no longer happens"), "{cells:?}");
}

/// The official hosts set up in this checkout (`cargo xtask setup`), linked into
/// `repo` so the runner finds them there.
fn link_real_hosts(repo: &Repo) -> Vec<String> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut linked = Vec::new();
    let Ok(entries) = std::fs::read_dir(workspace.join("hosts")) else {
        return linked;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let state = workspace.join("target/hosts").join(&name);
        if !state.join(".ready").is_file() {
            continue;
        }
        std::fs::create_dir_all(repo.path().join("hosts")).unwrap();
        std::fs::create_dir_all(repo.path().join("target/hosts")).unwrap();
        std::os::unix::fs::symlink(entry.path(), repo.path().join("hosts").join(&name)).unwrap();
        std::os::unix::fs::symlink(&state, repo.path().join("target/hosts").join(&name)).unwrap();
        linked.push(name);
    }
    linked
}

#[test]
fn a_changed_output_fails_on_every_real_host_too() {
    let repo = Repo::new(&[("lang-a", "Goodbye!")]);
    let hosts = link_real_hosts(&repo);
    if hosts.is_empty() {
        // CI sets the hosts up first (.ci/run runs `cargo xtask setup`); there they must be here.
        assert!(
            std::env::var_os("CI").is_none(),
            "no official host is set up: run `cargo xtask setup`"
        );
        eprintln!("no official host is set up here (`cargo xtask setup`): only polyplug checked");
    }
    let (code, doc) = repo.json(&["--case", "plain"]);
    assert_eq!(code, 1, "{doc:#}");
    for host in hosts.iter().map(String::as_str).chain(["polyplug"]) {
        let cells = host_cells(&doc, host);
        assert_eq!(cells.len(), 1, "{host}: {doc:#}");
        assert_eq!(cells[0].1, "fail", "{host}: {cells:?}");
        assert!(cells[0].2.contains("Goodbye!"), "{host}: {cells:?}");
    }
}
