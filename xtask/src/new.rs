//! `cargo xtask new SPEC --export NAME[:raw]...`: starts a spec in one command
//! instead of nine hand-made files. It writes the fixture (one example case
//! per export), each language's plugin from that language's own template
//! (`Language::scaffold`, so nothing here names a language), the edits a
//! language's workspace needs (`Language::register`) and the docs/specs.md
//! row. Every check runs before the first write, and a write that fails
//! undoes the others: a refused or failed `new` leaves the tree as it was.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::flags;
use crate::lang::{self, Export};
use crate::project::Project;

/// The page whose table lists every spec (a conformance test checks that
/// its rows and the fixtures agree).
const DOCS: &str = "docs/specs.md";
/// The n/a reason of the languages `--lang` left out.
const NOT_WRITTEN: &str = "not written yet";

impl flags::New {
    pub fn run(self, project: &Project) -> Result<()> {
        let plan = plan(project, &self.spec, &self.export, &self.lang)?;
        apply(&project.root, &plan)?;
        for (path, _) in &plan.created {
            println!("new: created {}", path.display());
        }
        for (path, _) in &plan.edited {
            println!("new: edited {}", path.display());
        }
        if !plan.na.is_empty() {
            println!(
                "new: n/a in the fixture ({NOT_WRITTEN}): {}",
                plan.na.join(", ")
            );
        }
        let spec = &self.spec;
        println!("\nnext steps:");
        println!("  cargo xtask build-all --spec {spec}");
        println!("  cargo xtask conformance --spec {spec}   (every cell fails: not implemented)");
        println!(
            "  write the cases (fixtures/{spec}/spec.toml), the row in {DOCS}, then each plugin"
        );
        println!("  cargo test -p polyplug-conformance --test suite -- {spec}::   (records the snapshots)");
        println!("  cargo insta review   (read them and accept)");
        Ok(())
    }
}

/// What `new` writes: files that must not exist yet, and files that exist
/// with their new contents.
struct Plan {
    created: Vec<(PathBuf, String)>,
    edited: Vec<(PathBuf, String)>,
    /// Languages left out by `--lang`, declared n/a in the fixture.
    na: Vec<&'static str>,
}

fn plan(project: &Project, spec: &str, exports: &[String], langs: &[String]) -> Result<Plan> {
    check_spec_name(spec)?;
    let exports = parse_exports(exports)?;
    let chosen = lang::select(langs)?;
    let root = &project.root;

    let mut taken = Vec::new();
    let fixture_dir = Path::new("fixtures").join(spec);
    if root.join(&fixture_dir).exists() {
        taken.push(fixture_dir.display().to_string());
    }
    for language in lang::all() {
        let dir = Path::new(language.source_dir()).join(spec);
        if root.join(&dir).exists() {
            taken.push(dir.display().to_string());
        }
    }
    if !taken.is_empty() {
        bail!(
            "spec `{spec}` already exists ({}): pick another name, or edit what is there",
            taken.join(", ")
        );
    }

    // Every language must be able to declare the exports, even one left out
    // now: its plugin is still to be written against this fixture.
    let mut created = Vec::new();
    let mut edited = Vec::new();
    let mut na = Vec::new();
    for language in lang::all() {
        let files = language.scaffold(spec, &exports)?;
        if chosen.iter().any(|c| c.name() == language.name()) {
            created.extend(files);
            edited.extend(language.register(project, spec)?);
        } else {
            na.push(language.name());
        }
    }
    created.insert(
        0,
        (fixture_dir.join("spec.toml"), fixture(spec, &exports, &na)),
    );
    let docs = std::fs::read_to_string(root.join(DOCS))
        .with_context(|| format!("cannot read {DOCS}, which lists every spec"))?;
    edited.push((PathBuf::from(DOCS), docs_with_row(&docs, spec, &exports)?));

    for (path, _) in &created {
        if root.join(path).exists() {
            bail!(
                "{} already exists: remove it or pick another spec name",
                path.display()
            );
        }
    }
    Ok(Plan {
        created,
        edited,
        na,
    })
}

/// A spec name is a folder in every language and a Rust crate name:
/// lowercase letters, digits and `-`, starting with a letter.
fn check_spec_name(spec: &str) -> Result<()> {
    let starts_with_letter = spec.starts_with(|c: char| c.is_ascii_lowercase());
    let valid = spec
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !starts_with_letter || !valid || spec.ends_with('-') {
        bail!(
            "invalid spec name {spec:?}: use lowercase letters, digits and `-`, starting with a letter (e.g. `count-vowels`)"
        );
    }
    Ok(())
}

/// `NAME` or `NAME:raw`; a name is an identifier every language can declare
/// and that no module exports on its own (`memory`).
fn parse_exports(given: &[String]) -> Result<Vec<Export>> {
    if given.is_empty() {
        bail!("name at least one export: `--export NAME` (an Extism function) or `--export NAME:raw` (a plain numeric export)");
    }
    let mut exports: Vec<Export> = Vec::new();
    for arg in given {
        let (name, raw) = match arg.split_once(':') {
            None => (arg.as_str(), false),
            Some((name, "raw")) => (name, true),
            Some((_, kind)) => {
                bail!("export {arg:?}: unknown kind `{kind}`; write NAME or NAME:raw")
            }
        };
        let identifier = name.starts_with(|c: char| c.is_ascii_alphabetic())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !identifier {
            bail!(
                "invalid export name {name:?}: use letters, digits and `_`, starting with a letter (e.g. `count_vowels`)"
            );
        }
        if name == "memory" {
            bail!("export `memory` is taken: every module exports its memory under that name");
        }
        if exports.iter().any(|e| e.name == name) {
            bail!("export `{name}` is given twice");
        }
        exports.push(Export {
            name: name.to_owned(),
            raw,
        });
    }
    Ok(exports)
}

/// An export as docs/specs.md and the fixture's comment show it.
fn shown(export: &Export) -> String {
    if export.raw {
        format!("{}(i32, i32) -> i32", export.name)
    } else {
        export.name.clone()
    }
}

/// fixtures/SPEC/spec.toml: a placeholder description, the left-out
/// languages as n/a, and one example case per export.
fn fixture(spec: &str, exports: &[Export], na: &[&str]) -> String {
    let mut text =
        String::from("# TODO: what each export does, one line each (docs/specs.md says it too).\n");
    for export in exports {
        let kind = if export.raw {
            " (a plain numeric export, no Extism ABI)"
        } else {
            ""
        };
        let _ = writeln!(text, "# {}: TODO{kind}", shown(export));
    }
    let _ = writeln!(
        text,
        "description = \"TODO: what the spec `{spec}` checks\""
    );
    if !na.is_empty() {
        let entries: Vec<String> = na
            .iter()
            .map(|l| format!("{l} = \"{NOT_WRITTEN}\""))
            .collect();
        let _ = writeln!(text, "na = {{ {} }}", entries.join(", "));
    }
    text.push_str(
        "\n# One example case per export: make them the spec's real cases. Until a\n\
         # plugin is written, its cells fail with `not implemented: SPEC/EXPORT`.\n",
    );
    let mut names: Vec<String> = Vec::new();
    for export in exports {
        // Case names are lowercase; two exports differing only in case get
        // distinct cases.
        let base = export.name.to_ascii_lowercase();
        let mut name = base.clone();
        let mut n = 1;
        while names.contains(&name) {
            n += 1;
            name = format!("{base}_{n}");
        }
        let _ = writeln!(text, "\n[[case]]\nname = \"{name}\"");
        if export.raw {
            let _ = writeln!(
                text,
                "description = \"TODO: the arguments and the result (raw-add's signature; change it with the plugins')\"\nexport = \"{}\"\nargs = [1, 2]",
                export.name
            );
        } else {
            let _ = writeln!(
                text,
                "description = \"TODO: what this case checks\"\nexport = \"{}\"\ninput = \"TODO\"",
                export.name
            );
        }
        names.push(name);
    }
    text
}

/// docs/specs.md with a row for the spec after the last row of its table
/// (the one whose header starts `| spec |`).
fn docs_with_row(docs: &str, spec: &str, exports: &[Export]) -> Result<String> {
    let lines: Vec<&str> = docs.split_inclusive('\n').collect();
    let header = lines
        .iter()
        .position(|l| l.starts_with("| spec |"))
        .with_context(|| format!("{DOCS} has no table starting `| spec |`"))?;
    let rows = lines[header..]
        .iter()
        .take_while(|l| l.starts_with('|'))
        .count();
    let already = lines[header..header + rows]
        .iter()
        .any(|l| l.strip_prefix("| ").and_then(|l| l.split(" |").next()) == Some(spec));
    if already {
        bail!("{DOCS} already has a row for `{spec}`: remove it or pick another spec name");
    }
    let shown: Vec<String> = exports.iter().map(|e| format!("`{}`", shown(e))).collect();
    let mut row = format!(
        "| {spec} | {} | TODO: the behaviour the cases check |\n",
        shown.join(", ")
    );
    let last = header + rows - 1;
    if !lines[last].ends_with('\n') {
        row.insert(0, '\n');
    }
    let mut out: String = lines[..=last].concat();
    out.push_str(&row);
    out.push_str(&lines[last + 1..].concat());
    Ok(out)
}

/// What `apply` did so far, to undo it.
#[derive(Default)]
struct Undo {
    files: Vec<PathBuf>,
    dirs: Vec<PathBuf>,
    edited: Vec<(PathBuf, Vec<u8>)>,
}

impl Undo {
    /// Puts the tree back; returns what could not be put back.
    fn run(self) -> Vec<String> {
        let mut failed = Vec::new();
        for (path, old) in self.edited.iter().rev() {
            if let Err(e) = std::fs::write(path, old) {
                failed.push(format!("restore {}: {e}", path.display()));
            }
        }
        for path in self.files.iter().rev() {
            if let Err(e) = std::fs::remove_file(path) {
                failed.push(format!("remove {}: {e}", path.display()));
            }
        }
        // Only folders `apply` created, which hold nothing else.
        for dir in self.dirs.iter().rev() {
            if let Err(e) = std::fs::remove_dir_all(dir) {
                failed.push(format!("remove {}: {e}", dir.display()));
            }
        }
        failed
    }
}

/// Writes the plan under `root`, all of it or (after undoing) none.
fn apply(root: &Path, plan: &Plan) -> Result<()> {
    let mut undo = Undo::default();
    let result = write_all(root, plan, &mut undo);
    if let Err(e) = result {
        let failed = undo.run();
        if failed.is_empty() {
            return Err(e.context("nothing was written"));
        }
        return Err(e.context(format!(
            "and undoing the writes failed too; clean up by hand: {}",
            failed.join("; ")
        )));
    }
    Ok(())
}

fn write_all(root: &Path, plan: &Plan, undo: &mut Undo) -> Result<()> {
    for (relative, text) in &plan.created {
        let path = root.join(relative);
        let parent = path.parent().unwrap_or(root);
        // The highest folder that does not exist yet is the one to remove.
        if let Some(top) = parent.ancestors().take_while(|a| !a.exists()).last() {
            let top = top.to_path_buf();
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
            undo.dirs.push(top);
        }
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        undo.files.push(path.clone());
        file.write_all(text.as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    for (relative, text) in &plan.edited {
        let path = root.join(relative);
        let old =
            std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        undo.edited.push((path.clone(), old));
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn export(name: &str, raw: bool) -> Export {
        Export {
            name: name.into(),
            raw,
        }
    }

    #[test]
    fn spec_names_are_lowercase_words() {
        for good in ["a", "count-vowels", "raw-add2"] {
            check_spec_name(good).unwrap();
        }
        for bad in [
            "",
            "Count",
            "1st",
            "-x",
            "x-",
            "snake_case",
            "dot.ted",
            "../up",
        ] {
            let err = check_spec_name(bad).unwrap_err().to_string();
            assert!(err.contains("invalid spec name"), "{bad}: {err}");
        }
    }

    #[test]
    fn exports_are_identifiers_optionally_raw() {
        let given = ["greet".to_string(), "add:raw".into(), "Mixed_2".into()];
        assert_eq!(
            parse_exports(&given).unwrap(),
            [
                export("greet", false),
                export("add", true),
                export("Mixed_2", false)
            ]
        );
        for (bad, says) in [
            ("2x", "invalid export name"),
            ("a-b", "invalid export name"),
            ("_start", "invalid export name"),
            (":raw", "invalid export name"),
            ("f:wasm", "unknown kind `wasm`"),
            ("memory", "taken"),
        ] {
            let err = parse_exports(&[bad.to_string()]).unwrap_err().to_string();
            assert!(err.contains(says), "{bad}: {err}");
        }
        let twice = parse_exports(&["f".to_string(), "f:raw".into()]).unwrap_err();
        assert!(twice.to_string().contains("given twice"), "{twice}");
        assert!(parse_exports(&[]).is_err());
    }

    #[test]
    fn the_fixture_has_a_case_per_export_and_the_left_out_languages() {
        let text = fixture(
            "demo",
            &[
                export("greet", false),
                export("add", true),
                export("Greet", false),
            ],
            &["lang-b", "lang-c"],
        );
        let table: toml::Table = toml::from_str(&text).unwrap();
        assert_eq!(
            table["na"].to_string(),
            "{ lang-b = \"not written yet\", lang-c = \"not written yet\" }"
        );
        let cases = table["case"].as_array().unwrap();
        let names: Vec<&str> = cases.iter().map(|c| c["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["greet", "add", "greet_2"]);
        assert_eq!(cases[1]["args"].to_string(), "[1, 2]");
        assert_eq!(cases[0]["input"].as_str(), Some("TODO"));
        assert!(!fixture("demo", &[export("f", false)], &[]).contains("na ="));
    }

    #[test]
    fn the_docs_row_goes_after_the_last_row_of_the_spec_table() {
        let docs = "# Specs\n\n| spec | exports | behaviour |\n|---|---|---|\n| a | `f` | x |\n\n## Other\n\n| x | y |\n";
        let out = docs_with_row(docs, "b", &[export("g", false), export("add", true)]).unwrap();
        assert_eq!(
            out,
            "# Specs\n\n| spec | exports | behaviour |\n|---|---|---|\n| a | `f` | x |\n| b | `g`, `add(i32, i32) -> i32` | TODO: the behaviour the cases check |\n\n## Other\n\n| x | y |\n"
        );
        let err = docs_with_row(docs, "a", &[export("f", false)]).unwrap_err();
        assert!(err.to_string().contains("already has a row"), "{err}");
        assert!(docs_with_row("no table\n", "a", &[]).is_err());
    }

    /// A write that fails halfway leaves the tree as it was: created files
    /// and folders removed, edited files restored.
    #[test]
    fn a_failed_write_undoes_the_others() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join("list.txt"), "old\n").unwrap();
        std::fs::write(root.join("blocker"), "a file, not a folder").unwrap();
        let plan = Plan {
            created: vec![
                (PathBuf::from("fresh/deep/one.txt"), "1".into()),
                (PathBuf::from("blocker/two.txt"), "2".into()),
            ],
            edited: vec![(PathBuf::from("list.txt"), "new\n".into())],
            na: Vec::new(),
        };
        let err = format!("{:#}", apply(root, &plan).unwrap_err());
        assert!(err.contains("nothing was written"), "{err}");
        assert!(err.contains("blocker"), "{err}");
        assert!(!root.join("fresh").exists());
        assert_eq!(
            std::fs::read_to_string(root.join("list.txt")).unwrap(),
            "old\n"
        );

        // The edit comes last, so a failing edit undoes the created files.
        let plan = Plan {
            created: vec![(PathBuf::from("fresh/one.txt"), "1".into())],
            edited: vec![(PathBuf::from("missing/list.txt"), "new\n".into())],
            na: Vec::new(),
        };
        assert!(apply(root, &plan).is_err());
        assert!(!root.join("fresh").exists());

        let plan = Plan {
            created: vec![(PathBuf::from("fresh/one.txt"), "1".into())],
            edited: vec![(PathBuf::from("list.txt"), "new\n".into())],
            na: Vec::new(),
        };
        apply(root, &plan).unwrap();
        assert_eq!(
            std::fs::read_to_string(root.join("fresh/one.txt")).unwrap(),
            "1"
        );
        assert_eq!(
            std::fs::read_to_string(root.join("list.txt")).unwrap(),
            "new\n"
        );
    }
}
