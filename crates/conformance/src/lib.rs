//! The polyplug conformance suite as a library: the fixture model and its strict loader,
//! the runner that plays every case on every language's artifact through polyplug-host,
//! the snapshot text a case renders to (one per case, never per language), and the
//! report formats the `polyplug-conformance` binary prints.
//!
//! ```no_run
//! use polyplug_conformance::{Filter, Suite};
//!
//! let suite = Suite::load(std::path::Path::new("."))?;
//! let results = suite.run(&Filter::default())?;
//! assert!(results.ok());
//! # Ok::<(), anyhow::Error>(())
//! ```
//!
//! Invariants: a snapshot never names a language, and nothing here writes a snapshot
//! (the insta test harness in `tests/suite.rs` is the only writer).

mod artifacts;
mod equivalence;
mod fixture;
pub mod hosts;
mod http_server;
mod input;
mod loader;
mod outcome;
mod progress;
mod render;
pub mod report;
mod runner;
mod snapfile;
mod suite;
pub mod xtp;

pub use artifacts::{Artifact, ArtifactFailure, Artifacts, LanguageInfo};
pub use equivalence::{check_equivalence, Equivalence};
pub use fixture::{
    Call, Case, Compare, Divergence, Expect, MessageCheck, Spec, XtpTest, KNOWN_CATEGORIES,
};
pub use hosts::{Compiler, Skip};
pub use http_server::HttpServer;
pub use loader::{load_fixtures, LoadError, Loaded};
pub use outcome::{CallOutcome, CallResult, CaseRun, CellResult, CellStatus};
pub use render::{canonical_json, check_expectations, render_bytes, render_snapshot};
pub use runner::{Runner, Services};
pub use snapfile::{snapshot_file, snapshot_name, SnapFile};
pub use suite::{cell_workers, estimated_cost, evaluate, Filter, Results, Shard, Suite};

/// Parses one spec.toml's text exactly as [`load_fixtures`] does, with `dir` as
/// its fixture folder (file inputs are read from it): what the fuzzer drives.
pub fn parse_spec_text(
    name: &str,
    dir: &std::path::Path,
    text: &str,
    languages: Option<&[String]>,
) -> (Option<Spec>, Vec<LoadError>) {
    loader::parse_spec(name, dir, &dir.join("spec.toml"), text, languages)
}
