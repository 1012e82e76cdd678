//! How a `polyplug test` run is shown: one line per assertion and a summary,
//! or JUnit XML.

use std::fmt::Write;

use polyplug_host::xtp::{Assertion, Record};

/// The outcome of one test plugin against one plugin.
pub struct Outcome {
    pub suite: String,
    pub record: Record,
    /// Why the test itself failed (its `test` export returned an error), if it did.
    pub test_error: Option<String>,
    pub seconds: f64,
}

impl Outcome {
    pub fn failed(&self) -> usize {
        self.record.assertions.iter().filter(|a| !a.passed).count()
    }

    /// Whether anything went wrong: a failed assertion, a failed call, a
    /// failed test, or a test that asserted nothing.
    pub fn passed(&self) -> bool {
        self.failed() == 0
            && self.record.failed_calls.is_empty()
            && self.test_error.is_none()
            && !self.record.assertions.is_empty()
    }

    pub fn text(&self) -> String {
        let mut out = String::new();
        for a in &self.record.assertions {
            let status = if a.passed { "PASS" } else { "FAIL" };
            let _ = write!(out, "{status}  {}", label(a));
            if !a.passed {
                let _ = write!(out, ": {}", a.reason);
            }
            out.push('\n');
        }
        for c in &self.record.failed_calls {
            let _ = writeln!(out, "ERROR {c}");
        }
        if let Some(e) = &self.test_error {
            let _ = writeln!(out, "ERROR the test failed: {e}");
        }
        if self.record.assertions.is_empty() {
            out.push_str("ERROR the test made no assertions\n");
        }
        let passed = self.record.assertions.len() - self.failed();
        let _ = writeln!(
            out,
            "{}: {passed} passed, {} failed{} in {:.2} s",
            self.suite,
            self.failed(),
            match self.record.failed_calls.len() + usize::from(self.test_error.is_some()) {
                0 => String::new(),
                n => format!(", {n} errors"),
            },
            self.seconds
        );
        out
    }

    pub fn junit(&self) -> String {
        let mut cases = String::new();
        for a in &self.record.assertions {
            let _ = write!(
                cases,
                "    <testcase classname=\"{}\" name=\"{}\"",
                escape(a.group.as_deref().unwrap_or(&self.suite)),
                escape(&a.name)
            );
            if a.passed {
                cases.push_str("/>\n");
            } else {
                let _ = write!(
                    cases,
                    ">\n      <failure message=\"{}\"/>\n    </testcase>\n",
                    escape(&a.reason)
                );
            }
        }
        let mut errors: Vec<String> = self.record.failed_calls.clone();
        errors.extend(
            self.test_error
                .iter()
                .map(|e| format!("the test failed: {e}")),
        );
        if self.record.assertions.is_empty() {
            errors.push("the test made no assertions".to_string());
        }
        for e in &errors {
            let _ = write!(
                cases,
                "    <testcase classname=\"{0}\" name=\"{0}\">\n      <error message=\"{1}\"/>\n    </testcase>\n",
                escape(&self.suite),
                escape(e)
            );
        }
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" time=\"{:.3}\">\n{cases}  </testsuite>\n</testsuites>\n",
            escape(&self.suite),
            self.record.assertions.len() + errors.len(),
            self.failed(),
            errors.len(),
            self.seconds
        )
    }
}

fn label(a: &Assertion) -> String {
    match &a.group {
        Some(g) => format!("[{g}] {}", a.name),
        None => a.name.clone(),
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
