//! The snapshot text of one case run. It must come out byte-identical for every
//! language that behaves per spec, so it shows the error *class* a case declares, never
//! the language's own category, and a message only where the case says it is stable.
//! Also here: the fixture's own expectations, checked before any snapshot is compared.

use std::fmt::Write as _;

use sha2::{Digest, Sha256};

use crate::fixture::{Call, Case, Compare, Expect, MessageCheck};
use crate::input::spaced_hex;
use crate::outcome::{CallResult, CaseRun};

/// Outputs up to this size that are printable text are shown verbatim.
const MAX_TEXT: usize = 1024;
/// Binary outputs up to this size are shown in full as hex.
const MAX_HEX: usize = 64;
/// Bytes of a large output's head shown next to its hash.
const HEAD: usize = 16;

/// The snapshot body for `run`, a run of `case`.
pub fn render_snapshot(case: &Case, run: &CaseRun) -> String {
    let mut out = String::new();
    for (i, (call, outcome)) in case.all_calls().zip(&run.calls).enumerate() {
        let _ = writeln!(out, "call {}: {}", i + 1, describe_call(call));
        match &outcome.result {
            CallResult::Output(bytes) => {
                out.push_str("  status: ok\n");
                match case.compare {
                    Compare::Json => match canonical_json(bytes) {
                        Ok(json) => {
                            let _ = writeln!(out, "  output (json): {json}");
                        }
                        Err(_) => {
                            let _ = writeln!(out, "  output (not json): {}", render_bytes(bytes));
                        }
                    },
                    Compare::Bytes => {
                        let _ = writeln!(out, "  output: {}", render_bytes(bytes));
                    }
                }
            }
            CallResult::Raw(vals) => {
                out.push_str("  status: ok\n");
                let _ = writeln!(out, "  output: [{}]", vals.join(", "));
            }
            CallResult::Error { category, message } => {
                out.push_str("  status: error\n");
                match &call.expect {
                    Expect::Error {
                        accepted,
                        class,
                        message: check,
                    } if accepted.contains(category) => {
                        let _ = writeln!(out, "  error: {class}");
                        match check {
                            Some(MessageCheck::Prefix(p)) if message.starts_with(p.as_str()) => {
                                let _ = writeln!(out, "  message: starts with {p:?}");
                            }
                            Some(_) => {
                                let _ = writeln!(out, "  message: {message:?}");
                            }
                            None => {}
                        }
                    }
                    Expect::Error { class, .. } => {
                        let _ = writeln!(out, "  error: {category} (expected {class})");
                        let _ = writeln!(out, "  message: {message:?}");
                    }
                    Expect::Success => {
                        let _ = writeln!(out, "  error: {category}");
                        let _ = writeln!(out, "  message: {message:?}");
                    }
                }
            }
        }
        if !outcome.logs.is_empty() {
            out.push_str("  logs:\n");
            for (level, msg) in &outcome.logs {
                let _ = writeln!(out, "    {level}: {msg:?}");
            }
        }
    }
    if run.calls.len() < case.all_calls().count() {
        let _ = writeln!(
            out,
            "(stopped after {} of {} calls)",
            run.calls.len(),
            case.all_calls().count()
        );
    }
    if let Some(kv) = &run.kv {
        out.push_str("kv after:\n");
        if kv.is_empty() {
            out.push_str("  (empty)\n");
        }
        for (k, v) in kv {
            let _ = writeln!(out, "  {} = {}", render_bytes(k), render_bytes(v));
        }
    }
    out
}

/// What the case's fixture demands that this run did not do, one line per problem.
pub fn check_expectations(case: &Case, run: &CaseRun) -> Vec<String> {
    let mut problems = Vec::new();
    for (i, (call, outcome)) in case.all_calls().zip(&run.calls).enumerate() {
        let at = format!("call {} ({})", i + 1, call.export);
        match (&call.expect, &outcome.result) {
            (Expect::Success, CallResult::Error { category, message }) => {
                problems.push(format!("{at}: expected success, got {category}: {message}"));
            }
            (Expect::Success, CallResult::Output(bytes)) if case.compare == Compare::Json => {
                if let Err(e) = canonical_json(bytes) {
                    problems.push(format!(
                        "{at}: the case compares JSON but the output is not JSON ({e}): {}",
                        render_bytes(bytes)
                    ));
                }
            }
            (Expect::Success, _) => {}
            (
                Expect::Error {
                    accepted, class, ..
                },
                CallResult::Output(_) | CallResult::Raw(_),
            ) => {
                problems.push(format!(
                    "{at}: expected error {class} ({}), got success",
                    accepted.join(" | ")
                ));
            }
            (
                Expect::Error {
                    accepted,
                    class,
                    message: check,
                },
                CallResult::Error { category, message },
            ) => {
                if !accepted.contains(category) {
                    problems.push(format!(
                        "{at}: expected error {class} ({}), got {category}: {message}",
                        accepted.join(" | ")
                    ));
                }
                match check {
                    Some(MessageCheck::Exact(m)) if message != m => {
                        problems.push(format!("{at}: expected message {m:?}, got {message:?}"));
                    }
                    Some(MessageCheck::Prefix(p)) if !message.starts_with(p.as_str()) => {
                        problems.push(format!(
                            "{at}: expected a message starting {p:?}, got {message:?}"
                        ));
                    }
                    _ => {}
                }
            }
        }
    }
    problems
}

fn describe_call(call: &Call) -> String {
    match &call.args {
        Some(args) => format!(
            "{}({})",
            call.export,
            args.iter()
                .map(i32::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        None => format!("{}({})", call.export, call.input.label),
    }
}

/// Printable text verbatim (quoted, escaped); small binary as hex; large as length,
/// sha256 and a short head, so a 4 MiB output stays a one-line, reviewable snapshot.
pub fn render_bytes(bytes: &[u8]) -> String {
    if bytes.len() <= MAX_TEXT {
        if let Ok(s) = std::str::from_utf8(bytes) {
            if !s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
                return format!("{s:?}");
            }
        }
    }
    if bytes.len() <= MAX_HEX {
        return format!("{} bytes: {}", bytes.len(), spaced_hex(bytes));
    }
    let hash = Sha256::digest(bytes);
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{} bytes, sha256 {hex}, head {}",
        bytes.len(),
        spaced_hex(&bytes[..HEAD])
    )
}

/// Sorted keys, no spaces, integral numbers without a fraction (Go writes `3`, Rust
/// may write `3.0`; the spec means the same number).
pub fn canonical_json(bytes: &[u8]) -> Result<String, serde_json::Error> {
    let value: serde_json::Value = serde_json::from_slice(bytes)?;
    let mut out = String::new();
    write_canonical(&value, &mut out);
    Ok(out)
}

fn write_canonical(v: &serde_json::Value, out: &mut String) {
    use serde_json::Value;
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::to_string(k).unwrap_or_default());
                out.push(':');
                write_canonical(&map[k], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 9.0e15 => {
                let _ = write!(out, "{}", f as i64);
            }
            _ => out.push_str(&n.to_string()),
        },
        other => out.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_json_sorts_keys_and_normalises_integral_floats() {
        assert_eq!(
            canonical_json(br#"{"b": 3.0, "a": [1, 2.5, null]}"#).unwrap(),
            r#"{"a":[1,2.5,null],"b":3}"#
        );
    }

    #[test]
    fn bytes_render_by_shape() {
        assert_eq!(render_bytes(b"hi"), "\"hi\"");
        assert_eq!(render_bytes(&[0, 0xff]), "2 bytes: 00 ff");
        let big = crate::input::generate(100);
        assert!(render_bytes(&big).starts_with("100 bytes, sha256 "));
    }

    fn case_expecting(expect: Expect) -> Case {
        let src = "[[case]]\nname = \"c\"\nexport = \"f\"\n";
        let (spec, _) = crate::loader::parse_spec(
            "s",
            std::path::Path::new("."),
            std::path::Path::new("s.toml"),
            src,
            None,
        );
        let mut case = spec.unwrap().cases.remove(0);
        case.calls[0].expect = expect;
        case
    }

    fn failed(category: &str, message: &str) -> CaseRun {
        CaseRun {
            calls: vec![crate::outcome::CallOutcome {
                export: "f".into(),
                result: CallResult::Error {
                    category: category.into(),
                    message: message.into(),
                },
                logs: vec![("warn".into(), "careful".into())],
            }],
            kv: None,
            memory_warnings: Vec::new(),
        }
    }

    #[test]
    fn an_accepted_category_shows_the_class_never_the_language_category() {
        let case = case_expecting(Expect::Error {
            accepted: vec!["stack-overflow".into(), "memory-limit".into()],
            class: "stack-exhausted".into(),
            message: None,
        });
        let a = render_snapshot(&case, &failed("stack-overflow", "one language says this"));
        let b = render_snapshot(&case, &failed("memory-limit", "another says that"));
        assert_eq!(a, b);
        assert!(
            a.contains("error: stack-exhausted") && !a.contains("says"),
            "{a}"
        );
        assert!(a.contains("    warn: \"careful\""), "{a}");
        assert!(check_expectations(&case, &failed("memory-limit", "x")).is_empty());
    }

    #[test]
    fn an_unexpected_category_shows_in_the_snapshot_and_fails_the_fixture() {
        let case = case_expecting(Expect::Error {
            accepted: vec!["timeout".into()],
            class: "timeout".into(),
            message: None,
        });
        let r = render_snapshot(&case, &failed("trap", "unreachable"));
        assert!(r.contains("error: trap (expected timeout)"), "{r}");
        let problems = check_expectations(&case, &failed("trap", "unreachable"));
        assert_eq!(problems.len(), 1, "{problems:?}");
    }

    #[test]
    fn a_message_prefix_renders_the_prefix_only() {
        let case = case_expecting(Expect::Error {
            accepted: vec!["plugin-error".into()],
            class: "plugin-error".into(),
            message: Some(MessageCheck::Prefix("invalid input".into())),
        });
        let r = render_snapshot(
            &case,
            &failed("plugin-error", "invalid input: expected value at line 1"),
        );
        assert!(
            r.contains("message: starts with \"invalid input\"") && !r.contains("line 1"),
            "{r}"
        );
        assert_eq!(
            check_expectations(&case, &failed("plugin-error", "bad input")).len(),
            1
        );
    }
}
