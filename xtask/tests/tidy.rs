//! Tidy checks run as tests, so `cargo test --workspace` is the one gate:
//! the workspace, the Rust plugins and the Go plugins are formatted, and no
//! Rust code outside a language's own file names that language.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn run(cmd: &mut Command, fix: &str) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && listed.trim().is_empty(),
        "{cmd:?} found unformatted code; fix it with `{fix}`:\n{listed}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn workspace_is_formatted() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    run(
        Command::new(&cargo)
            .current_dir(repo())
            .args(["fmt", "--all", "--check"]),
        "cargo fmt --all",
    );
    // The language files are modules build.rs includes, which cargo fmt never
    // reaches: rustfmt checks them one by one.
    let mut langs: Vec<_> = std::fs::read_dir(repo().join("xtask/src/lang"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .collect();
    langs.sort();
    run(
        Command::new("rustfmt")
            .args(["--check", "--edition", "2021"])
            .args(&langs),
        "rustfmt --edition 2021 xtask/src/lang/*.rs",
    );
}

#[test]
fn rust_plugins_are_formatted() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    run(
        Command::new(&cargo)
            .current_dir(repo().join("plugins-rust"))
            .args(["fmt", "--all", "--check"]),
        "cd plugins-rust && cargo fmt --all",
    );
}

#[test]
fn go_plugins_are_formatted() {
    run(
        Command::new("gofmt")
            .arg("-l")
            .arg(repo().join("plugins-tinygo")),
        "gofmt -w plugins-tinygo",
    );
}

/// `cargo xtask` builds xtask alone, so cargo resolves features for xtask's
/// dependencies alone; where that differs from `cargo test --workspace`, every
/// clean build compiles those crates twice (wasmparser at opt-level 2 among
/// them). xtask/Cargo.toml asks for the workspace's features; this checks that
/// each crate xtask builds (as a whole, and on the target side without proc
/// macros, where a feature can differ behind the host's copy) is a crate the
/// workspace builds with the same features.
#[test]
fn xtask_builds_its_dependencies_as_the_workspace_does() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let tree = |scope: &[&str], edges: &str| -> std::collections::BTreeSet<String> {
        let out = Command::new(&cargo)
            .current_dir(repo())
            .args([
                "tree",
                "--locked",
                "--prefix",
                "none",
                "-f",
                "{p} [{f}]",
                "-e",
                edges,
            ])
            .args(scope)
            .output()
            .expect("runs cargo tree");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| l.trim_end_matches(" (*)").to_string())
            .collect()
    };
    for edges in ["normal,build", "normal,no-proc-macro"] {
        let workspace = tree(&["--workspace"], edges);
        let own: Vec<String> = tree(&["-p", "xtask"], edges)
            .into_iter()
            .filter(|line| !line.starts_with("xtask ") && !workspace.contains(line))
            .collect();
        assert!(
            own.is_empty(),
            "`cargo xtask` builds these (-e {edges}) with features the workspace does not use, \
             so a clean build compiles them twice: add the workspace's features for them to \
             xtask/Cargo.toml (see `cargo tree --workspace -e features -i <crate>`):\n{}",
            own.join("\n")
        );
    }
}

/// Adding a language is one file in xtask/src/lang/ and one plugin folder:
/// nothing else may name a language. So a language's name (the file stem of
/// xtask/src/lang/<name>.rs, or another name of the same toolchain) and a
/// plugin folder (`plugins-*`) may appear in a string literal only in the
/// language files; everything else asks the `Language` trait or reads the
/// manifest's `languages`.
///
/// Exempt, because they exercise real languages by name rather than decide
/// anything about them: integration tests and benchmarks (`tests/` and
/// `benches/` folders, the `fixtures/tidy.rs` test target) and the plugins
/// themselves (`plugins-*/`, each inside its own language's folder). Also
/// exempt: the built-in JS compiler (crates/js, crates/js-engine), which is
/// that language's toolchain, as an external compiler would be. Unit tests in
/// `src/` are not exempt: they use made-up names.
#[test]
fn no_language_is_named_outside_its_own_file() {
    let root = repo();
    let lang_dir = root.join("xtask/src/lang");
    let mut names: Vec<(String, String)> = Vec::new();
    for entry in std::fs::read_dir(&lang_dir).unwrap() {
        let path = entry.unwrap().path();
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        if stem != "mod" && path.extension().is_some_and(|e| e == "rs") {
            names.push((stem.clone(), stem.clone()));
        }
    }
    // Other names of a language's toolchain, owned by that language's file.
    names.push(("tinygo".into(), "go".into()));
    assert!(names.len() >= 4, "languages found: {names:?}");

    let mut offences = Vec::new();
    let mut files = Vec::new();
    rust_files(&root, &root, &mut files);
    for file in files {
        let relative = file
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let own = relative
            .strip_prefix("xtask/src/lang/")
            .and_then(|f| f.strip_suffix(".rs"));
        let source = std::fs::read_to_string(&file).unwrap();
        for (line, literal) in string_literals(&source) {
            for token in tokens(&literal) {
                let named = names.iter().find(|(name, _)| name == token);
                let allowed = match (named, own) {
                    (Some((_, owner)), Some(own)) => owner == own,
                    (Some(_), None) => false,
                    // Plugin folders: any language file (the one that owns it).
                    (None, own) => !token.starts_with("plugins-") || own.is_some(),
                };
                if !allowed {
                    offences.push(format!("{relative}:{line}: {literal:?} names `{token}`"));
                }
            }
        }
    }
    assert!(
        offences.is_empty(),
        "language names in Rust code outside xtask/src/lang/<name>.rs; move the knowledge \
         behind the `Language` trait (or the manifest's `languages`):\n{}",
        offences.join("\n")
    );
}

/// The words of a literal (letters, digits, `-`, `_`), leaving out file
/// extensions: `index.js` and `Node.js` name a file and a runtime, not a language.
/// No Rust code names an official host: hosts are the folders under `hosts/`,
/// found by discovery, so adding one is adding a folder. Tests and benchmarks
/// are exempt as above (they may drive a real host by name).
#[test]
fn no_host_is_named_in_rust_code() {
    let root = repo();
    let hosts: Vec<String> = std::fs::read_dir(root.join("hosts"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("host.toml").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(hosts.len() >= 3, "hosts found: {hosts:?}");
    let mut files = Vec::new();
    rust_files(&root, &root, &mut files);
    let mut offences = Vec::new();
    for file in files {
        let relative = file
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let source = std::fs::read_to_string(&file).unwrap();
        for (line, literal) in string_literals(&source) {
            for token in tokens(&literal) {
                if hosts.iter().any(|h| h == token) {
                    offences.push(format!(
                        "{relative}:{line}: {literal:?} names host `{token}`"
                    ));
                }
            }
        }
    }
    assert!(
        offences.is_empty(),
        "host names in Rust code; discover hosts from hosts/*/host.toml instead:\n{}",
        offences.join("\n")
    );
}

fn tokens(literal: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut start = None;
    for (i, c) in literal.char_indices().chain([(literal.len(), ' ')]) {
        let word = c.is_ascii_alphanumeric() || c == '-' || c == '_';
        match (word, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                if !literal[..s].ends_with('.') {
                    found.push(&literal[s..i]);
                }
                start = None;
            }
            _ => {}
        }
    }
    found
}

/// Every .rs file under `dir`, leaving out build outputs, dependencies,
/// integration tests and the plugins (see above).
fn rust_files(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            let skip = name.starts_with('.')
                || name.starts_with("plugins-")
                || matches!(
                    name.as_str(),
                    "target" | "node_modules" | "tests" | "benches"
                )
                || path == root.join("crates/js")
                || path == root.join("crates/js-engine");
            if !skip {
                rust_files(root, &path, out);
            }
        } else if name.ends_with(".rs") && path != root.join("fixtures/tidy.rs") {
            out.push(path);
        }
    }
}

/// The contents of the string literals in Rust source, with their line:
/// a small lexer that knows comments, raw strings, byte strings, chars and
/// lifetimes, which is all it takes to not mistake one for another.
fn string_literals(src: &str) -> Vec<(usize, String)> {
    let chars: Vec<char> = src.chars().collect();
    let mut found = Vec::new();
    let (mut i, mut line) = (0, 1);
    let at = |i: usize| chars.get(i).copied().unwrap_or('\0');
    while i < chars.len() {
        let c = chars[i];
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c == '/' && at(i + 1) == '/' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    line += usize::from(chars[i] == '\n');
                    i += 1;
                }
            }
        } else if (c == 'r' || (c == 'b' && at(i + 1) == 'r'))
            && !at(i.wrapping_sub(1)).is_alphanumeric()
            && matches!(at(i + 1 + usize::from(c == 'b')), '"' | '#')
        {
            // r"..." / r#"..."#: no escapes, ends at the quote and as many #.
            let mut j = i + 1 + usize::from(c == 'b');
            let mut hashes = 0;
            while at(j) == '#' {
                hashes += 1;
                j += 1;
            }
            if at(j) != '"' {
                i += 1;
                continue;
            }
            let start_line = line;
            let mut text = String::new();
            j += 1;
            while j < chars.len() {
                if chars[j] == '"' && (1..=hashes).all(|k| at(j + k) == '#') {
                    j += 1 + hashes;
                    break;
                }
                line += usize::from(chars[j] == '\n');
                text.push(chars[j]);
                j += 1;
            }
            found.push((start_line, text));
            i = j;
        } else if c == '"' {
            let start_line = line;
            let mut text = String::new();
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    // An escape: keep a space so tokens do not run together.
                    text.push(' ');
                    i += 1;
                }
                line += usize::from(at(i) == '\n');
                text.push(at(i));
                i += 1;
            }
            found.push((start_line, text));
            i += 1;
        } else if c == '\'' {
            // A char literal ('x', '\n', '\u{..}') or a lifetime ('a).
            if at(i + 1) == '\\' {
                i += 2;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if at(i + 2) == '\'' {
                i += 3;
            } else {
                i += 1;
            }
        } else {
            i += 1;
        }
    }
    found
}

#[test]
fn the_literal_lexer_skips_comments_and_chars() {
    let src = "// \"rust\"\nlet a = '\"'; /* \"go\" */ let b: &'static str = r#\"x \"js\"\"#;\nf(\"one\\\"two\");";
    let found = string_literals(src);
    assert_eq!(
        found,
        [(2, "x \"js\"".to_string()), (3, "one \"two".to_string())]
    );
}
