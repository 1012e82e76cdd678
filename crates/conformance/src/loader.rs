//! Reading `fixtures/<spec>/spec.toml` strictly: unknown keys, wrong types and
//! contradictory cases are errors naming the file and line, and one bad fixture (or one
//! bad case) never stops the others from loading.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::de::{DeTable, DeValue, ValueDeserializer};
use toml::Spanned;

use crate::fixture::{Call, Case, Compare, Expect, MessageCheck, Spec, XtpTest, KNOWN_CATEGORIES};
use crate::input::{Input, InputSource};

/// A fixture problem, located as precisely as the TOML parser allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    /// The spec the problem belongs to (the fixture folder's name).
    pub spec: String,
    pub file: PathBuf,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(col) = self.column {
                write!(f, ":{col}")?;
            }
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for LoadError {}

/// Everything that loaded, and everything that did not.
#[derive(Debug, Default)]
pub struct Loaded {
    pub specs: Vec<Spec>,
    pub errors: Vec<LoadError>,
}

/// The spec-level keys; `[[case]]` entries are read one by one (see `parse_spec`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SpecHeader {
    description: Option<String>,
    #[serde(default)]
    na: BTreeMap<String, String>,
    /// `[[xtp_test]]`: test plugins from tests-plugins/ run against each artifact.
    #[serde(default)]
    xtp_test: Vec<XtpTest>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseToml {
    name: String,
    description: Option<String>,
    export: Option<String>,
    input: Option<InputSource>,
    args: Option<Vec<i64>>,
    calls: Option<Vec<CallToml>>,
    #[serde(rename = "loop")]
    repeat: Option<u32>,
    #[serde(default)]
    config: BTreeMap<String, String>,
    #[serde(default)]
    allowed_hosts: Vec<String>,
    allowed_path: Option<String>,
    #[serde(default)]
    files: BTreeMap<String, InputSource>,
    #[serde(default)]
    symlinks: BTreeMap<String, String>,
    timeout_ms: Option<u64>,
    wait_ms: Option<u64>,
    max_pages: Option<u32>,
    #[serde(default)]
    host_functions: Vec<String>,
    #[serde(default)]
    kv: BTreeMap<String, String>,
    log_level: Option<String>,
    compare: Option<CompareToml>,
    expect: Option<ExpectToml>,
    #[serde(default)]
    na: BTreeMap<String, String>,
    #[serde(default)]
    diverges: BTreeMap<String, DivergesToml>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DivergesToml {
    reason: String,
    observed: OneOrMany,
    #[serde(default)]
    langs: Vec<String>,
    timeout_ms: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CallToml {
    export: String,
    input: Option<InputSource>,
    args: Option<Vec<i64>>,
    expect: Option<ExpectToml>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum CompareToml {
    Bytes,
    Json,
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct ExpectToml {
    error: Option<OneOrMany>,
    class: Option<String>,
    message: Option<String>,
    message_prefix: Option<String>,
}

#[derive(Deserialize, Clone)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

/// Loads every `fixtures/*/spec.toml` under `fixtures_dir`, sorted by spec name.
///
/// `languages` are the names a fixture's `na` may use: the languages build-all
/// knows (`Artifacts::known_languages`); any other name is a load error listing
/// them. `None` is for callers that read the cases only and have no manifest
/// (tidy checks): then `na` names are not checked.
pub fn load_fixtures(fixtures_dir: &Path, languages: Option<&[String]>) -> Loaded {
    let mut loaded = Loaded::default();
    let entries = match std::fs::read_dir(fixtures_dir) {
        Ok(e) => e,
        Err(e) => {
            loaded.errors.push(LoadError {
                spec: String::new(),
                file: fixtures_dir.to_owned(),
                line: None,
                column: None,
                message: format!(
                    "cannot read the fixtures folder: {e}: pass --root pointing at the repository"
                ),
            });
            return loaded;
        }
    };
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for dir in dirs {
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let file = dir.join("spec.toml");
        if !file.exists() {
            loaded.errors.push(LoadError {
                spec: name,
                file: dir.clone(),
                line: None,
                column: None,
                message: "a fixture folder without spec.toml: add one or remove the folder".into(),
            });
            continue;
        }
        match std::fs::read_to_string(&file) {
            Ok(src) => {
                let (spec, errors) = parse_spec(&name, &dir, &file, &src, languages);
                loaded.errors.extend(errors);
                if let Some(spec) = spec {
                    loaded.specs.push(spec);
                }
            }
            Err(e) => loaded.errors.push(LoadError {
                spec: name,
                file,
                line: None,
                column: None,
                message: format!("cannot read: {e}"),
            }),
        }
    }
    loaded
}

/// Parses one spec.toml. Cases that fail validation are dropped with an error each;
/// a file that does not parse gives no spec at all.
pub(crate) fn parse_spec(
    name: &str,
    dir: &Path,
    file: &Path,
    src: &str,
    languages: Option<&[String]>,
) -> (Option<Spec>, Vec<LoadError>) {
    let err_at = |span: Option<Range<usize>>, message: String| {
        let (line, column) = match span {
            Some(s) => {
                let (l, c) = line_col(src, s.start);
                (Some(l), Some(c))
            }
            None => (None, None),
        };
        LoadError {
            spec: name.to_owned(),
            file: file.to_owned(),
            line,
            column,
            message,
        }
    };
    // Parse the document first (syntax errors lose the whole file), then deserialize
    // the header and each case on its own, so a wrong key or type drops one case only.
    let root = match DeTable::parse(src) {
        Ok(r) => r,
        Err(e) => {
            return (
                None,
                vec![err_at(e.span(), e.message().trim_end().to_owned())],
            )
        }
    };
    let root_span = root.span();
    let mut rest = DeTable::new();
    let mut case_values = None;
    for (key, value) in root.into_inner() {
        if key.get_ref().as_ref() == "case" {
            case_values = Some(value);
        } else {
            rest.insert(key, value);
        }
    }
    let mut errors = Vec::new();
    let header = match SpecHeader::deserialize(toml::de::Deserializer::from(Spanned::new(
        root_span, rest,
    ))) {
        Ok(h) => h,
        Err(e) => {
            errors.push(err_at(e.span(), e.message().trim_end().to_owned()));
            SpecHeader {
                description: None,
                na: BTreeMap::new(),
                xtp_test: Vec::new(),
            }
        }
    };
    if let Err(m) = check_na(&header.na, languages) {
        errors.push(err_at(None, format!("[na]: {m}")));
    }
    let raw_cases = match case_values.map(|v| (v.span(), v.into_inner())) {
        None => Vec::new(),
        Some((_, DeValue::Array(items))) => items.iter().cloned().collect(),
        Some((span, _)) => {
            errors.push(err_at(
                Some(span),
                "`case` must be a list of [[case]] tables".into(),
            ));
            Vec::new()
        }
    };
    let mut seen = BTreeSet::new();
    let mut cases = Vec::new();
    for value in raw_cases {
        let span = value.span();
        let line = line_col(src, span.start).0;
        let case = match CaseToml::deserialize(ValueDeserializer::from(value)) {
            Ok(c) => c,
            Err(e) => {
                errors.push(err_at(
                    e.span().or(Some(span)),
                    format!("in the case at line {line}: {}", e.message().trim_end()),
                ));
                continue;
            }
        };
        let case_name = case.name.clone();
        match validate_case(name, dir, line, case, languages) {
            Ok(case) => {
                if seen.insert(case.name.clone()) {
                    cases.push(case);
                } else {
                    errors.push(err_at(
                        Some(span),
                        format!(
                            "case `{case_name}` is declared twice: give each case its own name"
                        ),
                    ));
                }
            }
            Err(m) => errors.push(err_at(Some(span), format!("case `{case_name}`: {m}"))),
        }
    }
    for t in &header.xtp_test {
        let folder = dir.join("../../tests-plugins").join(&t.plugin);
        if !folder.join("Cargo.toml").is_file() {
            errors.push(err_at(
                None,
                format!(
                    "[[xtp_test]] plugin `{}`: there is no tests-plugins/{}/Cargo.toml: write the test plugin there, or fix the name",
                    t.plugin, t.plugin
                ),
            ));
        }
    }
    if cases.is_empty() && errors.is_empty() {
        errors.push(err_at(
            None,
            "no [[case]] in this fixture: add at least one".into(),
        ));
    }
    let spec = Spec {
        name: name.to_owned(),
        dir: dir.to_owned(),
        file: file.to_owned(),
        description: header.description,
        na: header.na,
        cases,
        xtp_tests: header.xtp_test,
    };
    (Some(spec), errors)
}

fn validate_case(
    spec: &str,
    dir: &Path,
    line: usize,
    c: CaseToml,
    languages: Option<&[String]>,
) -> Result<Case, String> {
    if c.name.is_empty()
        || !c
            .name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
    {
        return Err(
            "a case name uses only a-z, 0-9, - and _ (it names tests and snapshot files)".into(),
        );
    }
    let default_expect = c.expect.map(validate_expect).transpose()?;
    let calls = match c.calls {
        Some(calls) => {
            if c.export.is_some() || c.input.is_some() || c.args.is_some() {
                return Err(
                    "`calls` replaces `export`, `input` and `args`: move them into the calls"
                        .into(),
                );
            }
            if calls.is_empty() {
                return Err("`calls` is empty: list at least one call".into());
            }
            calls
                .into_iter()
                .enumerate()
                .map(|(i, call)| {
                    let expect = match call.expect {
                        Some(e) => validate_expect(e)?,
                        None => default_expect.clone().unwrap_or_default(),
                    };
                    make_call(dir, call.export, call.input, call.args, expect)
                        .map_err(|m| format!("call {}: {m}", i + 1))
                })
                .collect::<Result<Vec<_>, _>>()?
        }
        None => {
            let export = c
                .export
                .ok_or("missing `export` (or `calls`): name the function to call")?;
            vec![make_call(
                dir,
                export,
                c.input,
                c.args,
                default_expect.unwrap_or_default(),
            )?]
        }
    };
    let repeat = c.repeat.unwrap_or(1);
    if !(1..=10_000).contains(&repeat) {
        return Err(format!("loop = {repeat}: use 1 to 10000"));
    }
    check_na(&c.na, languages)?;
    let mut diverges = BTreeMap::new();
    for (host, d) in c.diverges {
        let observed = match d.observed {
            OneOrMany::One(one) => vec![one],
            OneOrMany::Many(many) => many,
        };
        if d.reason.trim().is_empty()
            || observed.is_empty()
            || observed.iter().any(|o| o.trim().is_empty())
        {
            return Err(format!(
                "diverges.{host}: give a reason and what the host does instead (`observed`)"
            ));
        }
        check_na(
            &d.langs
                .iter()
                .map(|l| (l.clone(), "x".to_owned()))
                .collect(),
            languages,
        )
        .map_err(|m| format!("diverges.{host}.langs: {m}"))?;
        if let Some(shorter) = d.timeout_ms {
            match c.timeout_ms {
                Some(timeout) if (1..timeout).contains(&shorter) => {}
                Some(timeout) => {
                    return Err(format!(
                        "diverges.{host}.timeout_ms = {shorter}: give one between 1 and the case's timeout_ms ({timeout}), or leave it out"
                    ))
                }
                None => {
                    return Err(format!(
                        "diverges.{host}.timeout_ms shortens the case's timeout_ms, which the case does not set: set timeout_ms, or leave this out"
                    ))
                }
            }
        }
        diverges.insert(
            host,
            crate::fixture::Divergence {
                reason: d.reason,
                observed,
                langs: d.langs,
                timeout_ms: d.timeout_ms,
            },
        );
    }
    for hf in &c.host_functions {
        if hf != "kv" {
            return Err(format!(
                "unknown host function set `{hf}`: the runner provides \"kv\" (kv_read, kv_write)"
            ));
        }
    }
    let kv = if c.host_functions.iter().any(|h| h == "kv") {
        Some(c.kv)
    } else if !c.kv.is_empty() {
        return Err("`kv` seeds need host_functions = [\"kv\"]".into());
    } else {
        None
    };
    let log_level = c.log_level.unwrap_or_else(|| "trace".into());
    if !["trace", "debug", "info", "warn", "error"].contains(&log_level.as_str()) {
        return Err(format!(
            "log_level = {log_level:?}: use trace, debug, info, warn or error"
        ));
    }
    if c.timeout_ms == Some(0) || c.wait_ms == Some(0) || c.max_pages == Some(0) {
        return Err("timeout_ms, wait_ms and max_pages must be above 0".into());
    }
    let mut files = Vec::new();
    for (name, src) in &c.files {
        if name.is_empty() || name.starts_with('/') || name.split('/').any(|p| p == "..") {
            return Err(format!(
                "file {name:?}: use a relative path inside the data folder"
            ));
        }
        files.push((
            name.clone(),
            src.resolve(dir)
                .map_err(|m| format!("file {name:?}: {m}"))?
                .bytes,
        ));
    }
    for (name, target) in &c.symlinks {
        if name.is_empty() || name.starts_with('/') || name.split('/').any(|p| p == "..") {
            return Err(format!(
                "symlink {name:?}: use a relative path inside the data folder"
            ));
        }
        if target.is_empty() {
            return Err(format!(
                "symlink {name:?} has an empty target: give the path it points to"
            ));
        }
    }
    let allowed_path = match c.allowed_path {
        Some(p) if !p.starts_with('/') => {
            return Err(format!(
                "allowed_path = {p:?}: use an absolute guest path such as \"/data\""
            ))
        }
        Some(p) => Some(p),
        None if !files.is_empty() || !c.symlinks.is_empty() => Some("/data".to_owned()),
        None => None,
    };
    Ok(Case {
        spec: spec.to_owned(),
        name: c.name,
        line,
        description: c.description,
        calls,
        repeat,
        config: c.config,
        allowed_hosts: c.allowed_hosts,
        allowed_path,
        files,
        symlinks: c.symlinks.into_iter().collect(),
        timeout_ms: c.timeout_ms,
        wait_ms: c.wait_ms,
        max_pages: c.max_pages,
        kv,
        log_level,
        compare: match c.compare {
            Some(CompareToml::Json) => Compare::Json,
            _ => Compare::Bytes,
        },
        na: c.na,
        diverges,
    })
}

fn make_call(
    dir: &Path,
    export: String,
    input: Option<InputSource>,
    args: Option<Vec<i64>>,
    expect: Expect,
) -> Result<Call, String> {
    if export.is_empty() {
        return Err("`export` is empty: name the function to call".into());
    }
    let args = match args {
        Some(_) if input.is_some() => {
            return Err("`args` calls a raw numeric export and takes no `input`".into())
        }
        Some(a) => Some(
            a.into_iter()
                .map(|v| {
                    i32::try_from(v).map_err(|_| format!("argument {v} does not fit in an i32"))
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
        None => None,
    };
    let input = match input {
        Some(src) => src.resolve(dir)?,
        None => Input::text(""),
    };
    Ok(Call {
        export,
        input,
        args,
        expect,
    })
}

fn validate_expect(e: ExpectToml) -> Result<Expect, String> {
    let message = match (e.message, e.message_prefix) {
        (Some(_), Some(_)) => {
            return Err("expect: give `message` or `message_prefix`, not both".into())
        }
        (Some(m), None) => Some(MessageCheck::Exact(m)),
        (None, Some(p)) => Some(MessageCheck::Prefix(p)),
        (None, None) => None,
    };
    let accepted = match e.error {
        None if message.is_some() || e.class.is_some() => {
            return Err(
                "expect: `message` and `class` describe an error: add `error = \"<category>\"`"
                    .into(),
            )
        }
        None => return Ok(Expect::Success),
        Some(OneOrMany::One(c)) => vec![c],
        Some(OneOrMany::Many(v)) => v,
    };
    if accepted.is_empty() {
        return Err("expect.error is an empty list: name at least one category".into());
    }
    for c in &accepted {
        if !KNOWN_CATEGORIES.contains(&c.as_str()) {
            return Err(format!(
                "expect.error: unknown category `{c}`: use one of {}",
                KNOWN_CATEGORIES.join(", ")
            ));
        }
    }
    let class = match (e.class, accepted.len()) {
        (Some(c), _) => c,
        (None, 1) => accepted[0].clone(),
        (None, _) => {
            return Err("expect.error accepts several categories: add `class = \"...\"`, the name the shared snapshot shows".into())
        }
    };
    Ok(Expect::Error {
        accepted,
        class,
        message,
    })
}

fn check_na(na: &BTreeMap<String, String>, languages: Option<&[String]>) -> Result<(), String> {
    for (lang, reason) in na {
        if let Some(known) = languages.filter(|known| !known.contains(lang)) {
            return Err(format!(
                "na: unknown language `{lang}`: the languages that exist are {} (from target/plugins/manifest.json)",
                known.join(", ")
            ));
        }
        if reason.trim().is_empty() {
            return Err(format!(
                "na.{lang} has no reason: say why the language cannot pass"
            ));
        }
    }
    Ok(())
}

fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let before = &src[..offset.min(src.len())];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0)
        + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(src: &str) -> (Option<Spec>, Vec<LoadError>) {
        let known = ["lang-a".to_string(), "lang-b".to_string()];
        parse_spec(
            "t",
            Path::new("fixtures/t"),
            Path::new("fixtures/t/spec.toml"),
            src,
            Some(&known),
        )
    }

    #[test]
    fn unknown_key_names_file_and_line_and_spares_the_other_cases() {
        let (spec, errors) = parse("[[case]]\nname = \"a\"\nexport = \"greet\"\ninptu = \"x\"\n\n[[case]]\nname = \"b\"\nexport = \"greet\"\n");
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].line, Some(4), "{errors:?}");
        assert_eq!(spec.unwrap().cases.len(), 1);
        let msg = errors[0].to_string();
        assert!(msg.starts_with("fixtures/t/spec.toml:"), "{msg}");
        assert!(msg.contains("inptu"), "{msg}");
    }

    #[test]
    fn syntax_error_has_line_and_column() {
        let (spec, errors) = parse("[[case]]\nname = \"a\"\nexport = greet\n");
        assert!(spec.is_none());
        assert_eq!(errors[0].line, Some(3), "{errors:?}");
    }

    #[test]
    fn bad_case_is_dropped_and_others_load() {
        let src = "[[case]]\nname = \"ok\"\nexport = \"f\"\n\n[[case]]\nname = \"bad\"\nexport = \"f\"\nexpect = { error = [\"trap\", \"timeout\"] }\n";
        let (spec, errors) = parse(src);
        assert_eq!(spec.unwrap().cases.len(), 1);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].line, Some(5), "{errors:?}");
        assert!(errors[0].message.contains("class"), "{errors:?}");
    }

    #[test]
    fn input_forms_resolve() {
        let src = "[[case]]\nname = \"a\"\ncalls = [\n { export = \"e\", input = { hex = \"00ff\" } },\n { export = \"e\", input = { generate = 10 } },\n { export = \"e\", input = { base64 = \"AAE=\" } },\n]\n";
        let (spec, errors) = parse(src);
        assert!(errors.is_empty(), "{errors:?}");
        let calls = &spec.unwrap().cases[0].calls;
        assert_eq!(calls[0].input.bytes, vec![0, 255]);
        assert_eq!(calls[1].input.bytes.len(), 10);
        assert_eq!(calls[2].input.bytes, vec![0, 1]);
    }

    #[test]
    fn file_inputs_are_read_relative_to_the_fixture() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("data")).unwrap();
        std::fs::write(dir.path().join("data/in.bin"), [0u8, 1, 2]).unwrap();
        let src = "[[case]]\nname = \"a\"\nexport = \"e\"\ninput = { file = \"data/in.bin\" }\n\n[[case]]\nname = \"b\"\nexport = \"e\"\ninput = { file = \"data/gone.bin\" }\n";
        let (spec, errors) = parse_spec("t", dir.path(), &dir.path().join("spec.toml"), src, None);
        assert_eq!(spec.unwrap().cases[0].calls[0].input.bytes, vec![0, 1, 2]);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].message.contains("gone.bin") && errors[0].line == Some(6),
            "{errors:?}"
        );
    }

    #[test]
    fn input_table_with_two_sources_is_refused() {
        let (_, errors) = parse(
            "[[case]]\nname = \"a\"\nexport = \"e\"\ninput = { hex = \"00\", text = \"x\" }\n",
        );
        assert!(errors[0].message.contains("exactly one"), "{errors:?}");
    }

    #[test]
    fn wait_ms_is_a_wait_not_a_manifest_timeout() {
        let (spec, errors) = parse(
            "[[case]]\nname = \"slow\"\nexport = \"e\"\nwait_ms = 120000\n\n[[case]]\nname = \"spin\"\nexport = \"e\"\ntimeout_ms = 45000\nwait_ms = 100\n\n[[case]]\nname = \"plain\"\nexport = \"e\"\n\n[[case]]\nname = \"quick\"\nexport = \"e\"\ntimeout_ms = 100\n",
        );
        assert!(errors.is_empty(), "{errors:?}");
        let cases = spec.unwrap().cases;
        assert_eq!((cases[0].timeout_ms, cases[0].wait_ms()), (None, 120_000));
        // Never shorter than the timeout it waits for.
        assert_eq!(
            (cases[1].timeout_ms, cases[1].wait_ms()),
            (Some(45_000), 45_000)
        );
        assert_eq!((cases[2].timeout_ms, cases[2].wait_ms()), (None, 30_000));
        // A timeout alone is waited for as it is.
        assert_eq!(cases[3].wait_ms(), 100);
        let (_, errors) = parse("[[case]]\nname = \"a\"\nexport = \"e\"\nwait_ms = 0\n");
        assert!(errors[0].message.contains("wait_ms"), "{errors:?}");
    }

    #[test]
    fn a_divergence_may_shorten_the_timeout_on_its_host_only() {
        let case = |timeout: &str, shorter: &str| {
            format!(
                "[[case]]\nname = \"c\"\nexport = \"e\"\n{timeout}\nexpect = {{ error = \"timeout\" }}\n\
                 diverges.host-a = {{ reason = \"r\", observed = \"error: timeout\", langs = [\"lang-a\"], {shorter} }}\n"
            )
        };
        let (spec, errors) = parse(&case("timeout_ms = 10000", "timeout_ms = 2000"));
        assert!(errors.is_empty(), "{errors:?}");
        let c = &spec.unwrap().cases[0];
        assert_eq!(c.limits_on("host-a", "lang-a"), (Some(2_000), 2_000));
        assert_eq!(c.limits_on("host-a", "lang-b"), (Some(10_000), 10_000));
        assert_eq!(c.limits_on("host-b", "lang-a"), (Some(10_000), 10_000));
        // An explicit wait stays, never shorter than the shorter timeout.
        let (spec, _) = parse(&case(
            "timeout_ms = 10000\nwait_ms = 20000",
            "timeout_ms = 2000",
        ));
        assert_eq!(
            spec.unwrap().cases[0].limits_on("host-a", "lang-a"),
            (Some(2_000), 20_000)
        );

        for (timeout, shorter, says) in [
            (
                "timeout_ms = 1000",
                "timeout_ms = 1000",
                "between 1 and the case's timeout_ms (1000)",
            ),
            ("timeout_ms = 1000", "timeout_ms = 0", "between 1 and"),
            ("", "timeout_ms = 100", "which the case does not set"),
        ] {
            let (_, errors) = parse(&case(timeout, shorter));
            assert!(
                errors.iter().any(|e| e.message.contains(says)),
                "{timeout} {shorter}: {errors:?}"
            );
        }
    }

    #[test]
    fn na_needs_a_known_language_and_a_reason() {
        let (_, errors) = parse("[na]\nlang-a = \"\"\n[[case]]\nname = \"a\"\nexport = \"e\"\n");
        assert!(errors[0].message.contains("reason"), "{errors:?}");
        let (_, errors) =
            parse("[[case]]\nname = \"a\"\nexport = \"e\"\nna = { lang-c = \"x\" }\n");
        assert!(
            errors[0].message.contains("unknown language `lang-c`"),
            "{errors:?}"
        );
        assert!(errors[0].message.contains("lang-a, lang-b"), "{errors:?}");
        let (_, errors) =
            parse("[na]\nlang-b = \"cannot\"\n[[case]]\nname = \"a\"\nexport = \"e\"\n");
        assert!(
            errors.is_empty(),
            "any known language may be n/a: {errors:?}"
        );
    }
}

#[cfg(test)]
mod repository {
    /// The fixtures this repository ships must load without a single error.
    #[test]
    fn shipped_fixtures_load_cleanly() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
        let loaded = super::load_fixtures(&dir, None);
        let errors: Vec<String> = loaded.errors.iter().map(ToString::to_string).collect();
        assert!(errors.is_empty(), "{}", errors.join("\n"));
        // Every spec row of docs/specs.md's table has a fixture, and no more.
        let doc = std::fs::read_to_string(dir.join("../docs/specs.md")).unwrap();
        let mut documented: Vec<String> = doc
            .lines()
            .filter_map(|l| l.strip_prefix("| "))
            .filter_map(|l| l.split(" |").next())
            .filter(|name| *name != "spec" && !name.starts_with("---"))
            .map(str::to_string)
            .collect();
        documented.sort();
        let mut shipped: Vec<String> = loaded.specs.iter().map(|s| s.name.clone()).collect();
        shipped.sort();
        assert_eq!(shipped, documented, "one fixture per spec in docs/specs.md");
    }
}
