//! The validated fixture model: what a case asks the runner to do and what it expects.
//! The raw TOML shapes live in `loader.rs`; everything here has already been checked,
//! so the runner never meets a half-valid case.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::input::Input;

/// Error categories polyplug-host reports (`ErrorKind::category`); a fixture naming
/// anything else is a typo, caught at load time.
pub const KNOWN_CATEGORIES: &[&str] = &[
    "timeout",
    "out-of-fuel",
    "memory-limit",
    "stack-overflow",
    "trap",
    "plugin-error",
    "http-denied",
    "http",
    "invalid-module",
    "missing-export",
    "unknown-import",
    "invalid-manifest",
    "io",
    "exit",
];

/// One `fixtures/<spec>/spec.toml`.
#[derive(Debug, Clone)]
pub struct Spec {
    pub name: String,
    /// `fixtures/<spec>`
    pub dir: PathBuf,
    /// `fixtures/<spec>/spec.toml`
    pub file: PathBuf,
    pub description: Option<String>,
    /// Language -> reason, for the whole spec.
    pub na: BTreeMap<String, String>,
    pub cases: Vec<Case>,
    /// Test plugins (xtp-test) that run against every language's artifact.
    pub xtp_tests: Vec<XtpTest>,
}

/// One `[[xtp_test]]`: the test plugin in tests-plugins/<plugin>/ (it exports
/// `test` and imports `xtp:test/harness`), run against each artifact of the
/// spec on each host; every assertion it makes is a result of its own.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct XtpTest {
    pub plugin: String,
    /// What the test's `mock_input()` returns.
    #[serde(default)]
    pub mock_input: Option<String>,
}

impl XtpTest {
    /// The name its results go under: `xtp-<plugin>`.
    pub fn case_name(&self) -> String {
        format!("xtp-{}", self.plugin)
    }
}

impl Spec {
    /// The n/a reason for `lang` on `case`, the case's own declaration first.
    pub fn na_reason<'a>(&'a self, case: &'a Case, lang: &str) -> Option<&'a str> {
        case.na
            .get(lang)
            .or_else(|| self.na.get(lang))
            .map(String::as_str)
    }
}

/// A case without `wait_ms` still cannot hang the suite: a call stuck in a loop
/// ends its cell after this long (as a `timeout` on polyplug, which takes it as
/// the manifest's timeout, or as a host that stopped answering).
pub const DEFAULT_WAIT_MS: u64 = 30_000;

/// One `[[case]]`: a fresh plugin instance, then `calls` repeated `repeat` times.
#[derive(Debug, Clone)]
pub struct Case {
    pub spec: String,
    pub name: String,
    /// 1-based line of the `[[case]]` in spec.toml, for messages.
    pub line: usize,
    pub description: Option<String>,
    pub calls: Vec<Call>,
    pub repeat: u32,
    pub config: BTreeMap<String, String>,
    pub allowed_hosts: Vec<String>,
    /// Guest path where the case's temporary folder (holding `files`) is mapped.
    pub allowed_path: Option<String>,
    pub files: Vec<(String, Vec<u8>)>,
    /// (link inside the data folder, what it points to, as given: it may
    /// lead outside the folder, which is what a case about escapes wants).
    pub symlinks: Vec<(String, String)>,
    /// The manifest's `timeout_ms`, when the case sets one.
    pub timeout_ms: Option<u64>,
    /// How long the runner waits for each call before it calls the host hung,
    /// when the case sets it (`wait_ms`); see [`Case::wait_ms`].
    pub wait_ms: Option<u64>,
    pub max_pages: Option<u32>,
    /// Some when the case provides the kv host functions, with the seeded entries.
    pub kv: Option<BTreeMap<String, String>>,
    /// Lowest level delivered to the logger; the suite captures everything by default.
    pub log_level: String,
    pub compare: Compare,
    pub na: BTreeMap<String, String>,
    /// Host -> how that host differs from the spec on this case.
    pub diverges: BTreeMap<String, Divergence>,
}

/// A host's known, declared difference from the spec on one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Divergence {
    pub reason: String,
    /// Text the host's rendering must contain (what it does instead), e.g.
    /// `output: "200 hello from polyplug"`: checked, so the data stays true.
    /// Several when the languages' plugins differ there: any one matches.
    pub observed: Vec<String>,
    /// Only these languages diverge (all when empty).
    pub langs: Vec<String>,
    /// A shorter `timeout_ms` on this host: one that never ends the case before
    /// its timeout (it never overflows, say) shows that as well in less time.
    pub timeout_ms: Option<u64>,
}

impl Divergence {
    /// Whether `text` (a rendering, or why the cell could not run) shows it.
    pub fn seen_in(&self, text: &str) -> bool {
        self.observed.iter().any(|o| text.contains(o.as_str()))
    }

    pub fn applies_to(&self, lang: &str) -> bool {
        self.langs.is_empty() || self.langs.iter().any(|l| l == lang)
    }
}

impl Case {
    /// How long the runner waits for each call of the case on any host: the
    /// case's `wait_ms` (never less than its `timeout_ms`), else its
    /// `timeout_ms`, else 30 s.
    /// It is not a manifest timeout: on the official runtimes one costs time
    /// on every host call (the Go SDK watches the context in a goroutine per
    /// call into the kernel: 10^6 logs took 27 s with one, 14 s without), so a
    /// case whose calls are only slow gives `wait_ms`, not `timeout_ms`.
    pub fn wait_ms(&self) -> u64 {
        match (self.wait_ms, self.timeout_ms) {
            (Some(wait), timeout) => wait.max(timeout.unwrap_or(0)),
            (None, Some(timeout)) => timeout,
            (None, None) => DEFAULT_WAIT_MS,
        }
    }

    /// The manifest timeout and the runner's wait for one language on one
    /// host: the case's own, unless a divergence there declares a shorter one.
    pub fn limits_on(&self, host: &str, lang: &str) -> (Option<u64>, u64) {
        let shorter = self
            .diverges
            .get(host)
            .filter(|d| d.applies_to(lang))
            .and_then(|d| d.timeout_ms);
        match shorter {
            Some(timeout) => (
                Some(timeout),
                self.wait_ms.map_or(timeout, |w| w.max(timeout)),
            ),
            None => (self.timeout_ms, self.wait_ms()),
        }
    }

    /// `hello::plain`
    pub fn id(&self) -> String {
        format!("{}::{}", self.spec, self.name)
    }

    /// Every call in order, `repeat` included.
    pub fn all_calls(&self) -> impl Iterator<Item = &Call> {
        (0..self.repeat).flat_map(move |_| self.calls.iter())
    }
}

/// One call on the case's instance.
#[derive(Debug, Clone)]
pub struct Call {
    pub export: String,
    pub input: Input,
    /// Raw numeric arguments: the call bypasses the Extism ABI (`call_raw`).
    pub args: Option<Vec<i32>>,
    pub expect: Expect,
}

/// How a successful output is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compare {
    #[default]
    Bytes,
    /// Parsed and re-serialised with sorted keys, so formatting differences vanish.
    Json,
}

/// What a call must end as, checked before the snapshot is compared.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Expect {
    #[default]
    Success,
    Error {
        /// Categories accepted from the host (one, or a set where languages differ).
        accepted: Vec<String>,
        /// What the snapshot shows: the category itself, or the declared class.
        class: String,
        message: Option<MessageCheck>,
    },
}

/// How an error message is checked, where it is stable across languages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageCheck {
    Exact(String),
    Prefix(String),
}
