//! What running a case produced (per call: output or error, and the logs), and the
//! verdict for one cell of the spec x language matrix.

use std::collections::BTreeMap;

/// One call's observable result. Ports and temp paths are already masked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallResult {
    Output(Vec<u8>),
    /// Results of a raw numeric export, rendered (`3`, `-2147483648`).
    Raw(Vec<String>),
    Error {
        category: String,
        message: String,
    },
}

#[derive(Debug, Clone)]
pub struct CallOutcome {
    pub export: String,
    pub result: CallResult,
    /// (level, message) in the order the plugin logged them.
    pub logs: Vec<(String, String)>,
}

/// Everything one case run on one artifact produced.
#[derive(Debug, Clone, Default)]
pub struct CaseRun {
    pub calls: Vec<CallOutcome>,
    /// The kv store after the last call, when the case provides the kv host functions.
    pub kv: Option<BTreeMap<Vec<u8>, Vec<u8>>>,
    /// What the kernel-memory sanitizer recorded (accesses outside their block).
    pub memory_warnings: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CellStatus {
    Pass,
    Fail,
    /// Could not run: missing artifact, missing export, plugin failed to load, bad fixture.
    Error,
    Na,
    /// The host lacks something the artifact needs (env imports, raw calls): not an
    /// error and not a silent skip; the reason names what is missing.
    Unsupported,
    /// The host behaves differently from the spec, as the fixture declares with a reason.
    Diverges,
}

impl CellStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CellStatus::Pass => "pass",
            CellStatus::Fail => "fail",
            CellStatus::Error => "error",
            CellStatus::Na => "na",
            CellStatus::Unsupported => "unsupported",
            CellStatus::Diverges => "diverges",
        }
    }
}

/// One spec x case x language x host verdict.
#[derive(Debug, Clone)]
pub struct CellResult {
    pub spec: String,
    pub case: String,
    pub lang: String,
    pub host: String,
    pub status: CellStatus,
    /// Why it failed: fixture violations, the snapshot diff, or the error.
    pub detail: String,
    /// The n/a, unsupported or divergence reason.
    pub reason: Option<String>,
    pub ms: u64,
    /// The snapshot text this run rendered (for the cross-language check).
    pub rendered: Option<String>,
    /// Memory warnings from the sanitizer: the cell's result is still the
    /// official runtime's, but the plugin touched kernel memory outside a block.
    pub warnings: Vec<String>,
}

impl CellResult {
    /// Who ran the cell, as the cross-language and cross-host check names it:
    /// `go` on polyplug, `go@extism-node` elsewhere.
    pub fn who(&self) -> String {
        if self.host == crate::hosts::IN_PROCESS {
            self.lang.clone()
        } else {
            format!("{}@{}", self.lang, self.host)
        }
    }

    /// `pass`, or `pass (2 memory warnings)`.
    pub fn label(&self) -> String {
        match self.warnings.len() {
            0 => self.status.as_str().to_string(),
            1 => format!("{} (1 memory warning)", self.status.as_str()),
            n => format!("{} ({n} memory warnings)", self.status.as_str()),
        }
    }
}
