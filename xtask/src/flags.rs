//! Every `cargo xtask` command and flag, declared once: the doc comments below
//! are the `--help` text, and the structs after `generated start` are written
//! by xflags (`UPDATE_XFLAGS=1 cargo check -p xtask` regenerates them).

#![allow(unreachable_pub)]

use std::path::PathBuf;

xflags::xflags! {
    src "./src/flags.rs"

    /// Build polyplug's plugins in every language and run the conformance suite.
    cmd xtask {
        /// Project root to work on (default: the checkout holding xtask/, or
        /// the POLYPLUG_ROOT environment variable). Outputs go to ROOT/target/.
        optional --root root: PathBuf

        /// Show which toolchain each language would use, its version and the
        /// build strategy, with the command that installs a missing one.
        cmd doctor {
            /// Print one JSON object instead of a table.
            optional --json
        }

        /// Install the missing wasm toolchains without prompting (rustup
        /// targets, or Debian packages when running as root), and set up every
        /// official host under hosts/ (its host.toml's setup). Idempotent.
        cmd setup {
            /// Only this host (a folder of hosts/); repeatable. Toolchains are
            /// always checked, unless --hosts-only.
            repeated --host host: String
            /// Set up the hosts only, not the wasm toolchains (a CI job that
            /// runs the suite on artifacts built elsewhere).
            optional --hosts-only
        }

        /// Build every plugin of every language into target/plugins/ and write
        /// target/plugins/manifest.json. Unchanged plugins are not rebuilt.
        cmd build-all {
            /// Only this language (one of those `doctor` lists); repeatable.
            repeated --lang lang: String
            /// Only the plugin implementing this spec (e.g. count-vowels); repeatable.
            repeated --spec spec: String
            /// How many builds run at once (default: the number of cores).
            optional -j, --jobs jobs: usize
            /// Rebuild even the plugins whose inputs did not change.
            optional --force
        }

        /// Build the plugins (cached), set up the hosts, then run the conformance
        /// suite on every artifact and host and exit with its exit code. Its flags
        /// are the suite's own, declared once in crates/suite-args (see
        /// `cargo xtask conformance --help`): --lang, --host, --spec, --case,
        /// --format, --out, --shard, --deny-warnings, --skip-build.
        cmd conformance {}

        /// Measure every host on the same artifact (the first language's
        /// `bytes` plugin, export `echo`), in one run: warm call, fresh instance
        /// + call, 1 MiB echo, inside each host and through its driver, and the
        /// whole suite per host. Prints a Markdown table with ratios to polyplug
        /// (docs/bench.md keeps it).
        cmd bench-hosts {
            /// Skip the whole-suite timing.
            optional --no-suite
        }

        /// Measure `polyplug serve` against a server on the official Go SDK
        /// written the way its docs recommend (bench/serve-go: one compiled
        /// plugin per artifact, a fresh instance per request), both serving
        /// the same `count-vowels` and `bytes` artifacts: wrk's requests/s and
        /// p50/p99 latency at 1, 16 and 64 connections, and each server's RSS
        /// after 10^3 and 10^5 calls. Needs wrk. Prints Markdown tables with
        /// ratios (docs/bench.md keeps them).
        cmd bench-serve {
            /// The language whose artifacts are served (default: the first in
            /// the manifest's order, the first `doctor` lists).
            optional --lang lang: String
            /// Seconds per wrk run (default 10).
            optional --seconds seconds: u32
            /// Serve with this polyplug binary instead of building
            /// target/release/polyplug (e.g. an older build, to compare).
            optional --polyplug polyplug: PathBuf
        }

        /// Print the CI job matrix as JSON for `fromJSON`: one job per language
        /// that has plugins, per OS its toolchain runs on, per shard, with the
        /// setup each needs (used by .github/workflows/conformance.yml).
        cmd ci-matrix {
            /// Split each language's suite into N jobs (`--shard I/N`).
            optional --shards shards: usize
            /// Only ubuntu-latest jobs.
            optional --no-macos
            /// Instead of printing, check that this workflow runs ci-matrix and
            /// names no language the repo lacks.
            optional --check check: PathBuf
        }

        /// Merge artifacts built by separate CI jobs (folders holding
        /// manifest.json + <lang>/*.wasm) into target/plugins, for one suite
        /// run across every language.
        cmd gather {
            repeated dirs: PathBuf
        }

        /// Build the fuzz targets in fuzz/ (libFuzzer, instrumented on stable
        /// Rust: no nightly, no cargo-fuzz) and run each on its committed corpus
        /// for a while; prints executions per second, the coverage reached
        /// (libFuzzer's cov/ft) and the findings. Exits non-zero on a finding.
        cmd fuzz {
            /// One target (manifest, spec_toml, smith, kernel_diff); default: all.
            optional target: String
            /// Seconds of fuzzing per target (default 15).
            optional --seconds seconds: u64
        }

        /// Start a new spec: fixtures/SPEC/spec.toml with one example case per
        /// export, a plugin per language from its template (each export fails
        /// with `not implemented: SPEC/EXPORT` until written), the plugin's
        /// workspace entry and a docs/specs.md row. Refuses a spec that exists
        /// and writes nothing then.
        cmd new {
            /// The spec's name: lowercase letters, digits and `-`, starting with a letter.
            required spec: String
            /// An export the spec calls: NAME (an Extism function) or NAME:raw (a
            /// plain numeric export, as in raw-add); repeatable, at least one.
            repeated --export export: String
            /// Only a plugin in this language; the others are declared n/a in the
            /// fixture ("not written yet"). Repeatable; default: every language.
            repeated --lang lang: String
        }
    }
}
// generated start
// The following code is generated by `xflags` macro.
// Run `env UPDATE_XFLAGS=1 cargo build` to regenerate.
#[derive(Debug)]
pub struct Xtask {
    pub root: Option<PathBuf>,
    pub subcommand: XtaskCmd,
}

#[derive(Debug)]
pub enum XtaskCmd {
    Doctor(Doctor),
    Setup(Setup),
    BuildAll(BuildAll),
    Conformance(Conformance),
    BenchHosts(BenchHosts),
    BenchServe(BenchServe),
    CiMatrix(CiMatrix),
    Gather(Gather),
    Fuzz(Fuzz),
    New(New),
}

#[derive(Debug)]
pub struct Doctor {
    pub json: bool,
}

#[derive(Debug)]
pub struct Setup {
    pub host: Vec<String>,
    pub hosts_only: bool,
}

#[derive(Debug)]
pub struct BuildAll {
    pub lang: Vec<String>,
    pub spec: Vec<String>,
    pub jobs: Option<usize>,
    pub force: bool,
}

#[derive(Debug)]
pub struct Conformance;

#[derive(Debug)]
pub struct BenchHosts {
    pub no_suite: bool,
}

#[derive(Debug)]
pub struct BenchServe {
    pub lang: Option<String>,
    pub seconds: Option<u32>,
    pub polyplug: Option<PathBuf>,
}

#[derive(Debug)]
pub struct CiMatrix {
    pub shards: Option<usize>,
    pub no_macos: bool,
    pub check: Option<PathBuf>,
}

#[derive(Debug)]
pub struct Gather {
    pub dirs: Vec<PathBuf>,
}

#[derive(Debug)]
pub struct Fuzz {
    pub target: Option<String>,

    pub seconds: Option<u64>,
}

#[derive(Debug)]
pub struct New {
    pub spec: String,

    pub export: Vec<String>,
    pub lang: Vec<String>,
}

impl Xtask {
    #[allow(dead_code)]
    pub fn from_env_or_exit() -> Self {
        Self::from_env_or_exit_()
    }

    #[allow(dead_code)]
    pub fn from_env() -> xflags::Result<Self> {
        Self::from_env_()
    }

    #[allow(dead_code)]
    pub fn from_vec(args: Vec<std::ffi::OsString>) -> xflags::Result<Self> {
        Self::from_vec_(args)
    }
}
// generated end
