//! `polyplug test`: runs an xtp-test test plugin (it exports `test` and imports
//! `xtp:test/harness`) against a plugin on polyplug-host, offline. One line per
//! assertion, a summary, exit 1 on any failure; `--format junit` for CI.

mod mock_host;
mod report;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use polyplug_host::xtp::{self, Harness, PluginUnderTest};
use polyplug_host::{Engine, Manifest, Plugin, Wasm};

use crate::module_info;
use report::Outcome;

#[derive(Clone, Copy, clap::ValueEnum)]
enum Format {
    Text,
    Junit,
}

/// Arguments of `polyplug test`.
#[derive(clap::Args)]
pub struct Test {
    /// The plugin under test
    plugin: PathBuf,
    /// The test plugin: exports `test`, imports `xtp:test/harness` (e.g. built with the xtp-test crate)
    #[arg(long = "with", value_name = "TEST.wasm")]
    with: PathBuf,
    /// A plugin whose exports stand in for the host functions the plugin under test imports
    #[arg(long = "mock-host", value_name = "HOST.wasm")]
    mock_host: Option<PathBuf>,
    /// What the test's mock_input() returns
    #[arg(
        long = "mock-input-data",
        value_name = "S",
        conflicts_with = "mock_input_file"
    )]
    mock_input_data: Option<String>,
    /// What the test's mock_input() returns, from a file
    #[arg(long = "mock-input-file", value_name = "F")]
    mock_input_file: Option<PathBuf>,
    /// A host glob the plugin under test may reach with http_request
    #[arg(long = "allow-host", value_name = "H")]
    allow_host: Vec<String>,
    /// Link WASI for the plugin under test even if it does not import it
    #[arg(long)]
    wasi: bool,
    /// Milliseconds each call into the plugin under test may run
    #[arg(long, default_value_t = 30_000, value_name = "MS")]
    timeout: u64,
    /// Milliseconds the whole test may run, its calls included
    #[arg(long = "test-timeout", default_value_t = 300_000, value_name = "MS")]
    test_timeout: u64,
    /// How to print the results
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
}

impl Test {
    pub fn run(self) -> ExitCode {
        let outcome = match self.test() {
            Ok(o) => o,
            Err(e) => {
                eprintln!("error: {e:#}");
                return ExitCode::from(2);
            }
        };
        match self.format {
            Format::Text => print!("{}", outcome.text()),
            Format::Junit => print!("{}", outcome.junit()),
        }
        if outcome.passed() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        }
    }

    fn test(&self) -> Result<Outcome> {
        let engine = Engine::new().context("cannot start the polyplug engine")?;
        let mock_input = match (&self.mock_input_data, &self.mock_input_file) {
            (Some(s), _) => Some(s.clone().into_bytes()),
            (None, Some(f)) => Some(
                std::fs::read(f)
                    .with_context(|| format!("cannot read --mock-input-file {}", f.display()))?,
            ),
            (None, None) => None,
        };
        let plugin = self.plugin_under_test(&engine)?;
        let harness = Harness::new(Box::new(PluginUnderTest::new(plugin)), mock_input);

        let imports = read_imports(&self.with)?;
        if let Some(other) = imports.host.iter().find(|i| i.namespace != xtp::NAMESPACE) {
            bail!(
                "the test plugin {} imports `{}`.`{}`: a test plugin may import only {} (and the Extism kernel, WASI)",
                self.with.display(),
                other.namespace,
                other.name,
                xtp::NAMESPACE
            );
        }
        let started = Instant::now();
        let test_error = xtp::run_test(
            &engine,
            Wasm::file(&self.with),
            imports.wasi,
            self.test_timeout,
            &harness,
        )
        .with_context(|| format!("cannot run the test plugin {}", self.with.display()))?;
        Ok(Outcome {
            suite: stem(&self.with),
            record: harness.take_record(),
            test_error,
            seconds: started.elapsed().as_secs_f64(),
        })
    }

    fn plugin_under_test(&self, engine: &Engine) -> Result<Plugin> {
        let imports = read_imports(&self.plugin)?;
        let mut manifest = Manifest::new(Wasm::file(&self.plugin)).with_timeout_ms(self.timeout);
        for h in &self.allow_host {
            manifest = manifest.with_allowed_host(h);
        }
        let mut builder = Plugin::builder(engine, manifest).with_wasi(self.wasi || imports.wasi);
        match (&self.mock_host, imports.host.first()) {
            (Some(path), _) => {
                let host_imports = read_imports(path)?;
                let manifest = Manifest::new(Wasm::file(path)).with_timeout_ms(self.timeout);
                let host = Plugin::builder(engine, manifest)
                    .with_wasi(host_imports.wasi)
                    .build()
                    .with_context(|| format!("cannot load the mock host {}", path.display()))?;
                let shown = path.display().to_string();
                for f in mock_host::functions(host, &shown, &imports.host)? {
                    builder = builder.with_host_function(f);
                }
            }
            (None, Some(first)) => bail!(
                "the plugin under test {} imports the host function `{}`.`{}`: give --mock-host HOST.wasm, a plugin that exports `{}`",
                self.plugin.display(),
                first.namespace,
                first.name,
                first.name
            ),
            (None, None) => {}
        }
        builder
            .build()
            .with_context(|| format!("cannot load {}", self.plugin.display()))
    }
}

fn read_imports(path: &Path) -> Result<module_info::Imports> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    module_info::imports(&bytes).with_context(|| format!("{} is not a wasm module", path.display()))
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}
