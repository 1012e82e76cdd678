//! Tests as plugins: `xtp:test/harness`, as the xtp-test libraries import it.
//! A test plugin exports `test`; through the harness it calls the plugin under
//! test, times it, asserts, groups and resets. Every value crosses as an
//! Extism memory handle in the test plugin's memory. The plugin under test is
//! anything behind [`UnderTest`]: a polyplug [`Plugin`] ([`PluginUnderTest`]),
//! or another runtime (the conformance suite drives the official ones).

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use anyhow::Context;

use crate::{
    CurrentPlugin, Engine, Error, ErrorKind, HostFunction, Manifest, Plugin, Val, ValType, Wasm,
};

pub const NAMESPACE: &str = "xtp:test/harness";

/// One `assert` the test made.
#[derive(Clone, Debug)]
pub struct Assertion {
    pub group: Option<String>,
    pub name: String,
    pub passed: bool,
    pub reason: String,
}

/// What a test run recorded.
#[derive(Default)]
pub struct Record {
    pub assertions: Vec<Assertion>,
    /// Calls into the plugin under test that failed, and why.
    pub failed_calls: Vec<String>,
}

/// The plugin a test exercises: calls go to one instance (vars persist) until
/// `reset` makes a fresh one.
pub trait UnderTest: Send {
    fn call(&mut self, export: &str, input: &[u8]) -> Result<Vec<u8>, Error>;
    fn reset(&mut self) -> Result<(), Error>;
    /// The exports a test may call, to name the ones it calls that do not exist.
    fn exports(&self) -> Vec<String>;
}

/// A polyplug plugin under test: `reset` is a [`Plugin::fresh`] copy.
pub struct PluginUnderTest {
    template: Plugin,
    current: Plugin,
}

impl PluginUnderTest {
    pub fn new(plugin: Plugin) -> PluginUnderTest {
        PluginUnderTest {
            current: plugin.fresh(),
            template: plugin,
        }
    }
}

impl UnderTest for PluginUnderTest {
    fn call(&mut self, export: &str, input: &[u8]) -> Result<Vec<u8>, Error> {
        self.current.call(export, input)
    }

    fn reset(&mut self) -> Result<(), Error> {
        self.current = self.template.fresh();
        Ok(())
    }

    fn exports(&self) -> Vec<String> {
        self.template.functions()
    }
}

struct State {
    under: Box<dyn UnderTest>,
    mock_input: Option<Vec<u8>>,
    group: Option<String>,
    record: Record,
}

#[derive(Clone)]
pub struct Harness(Arc<Mutex<State>>);

impl Harness {
    pub fn new(under: Box<dyn UnderTest>, mock_input: Option<Vec<u8>>) -> Harness {
        Harness(Arc::new(Mutex::new(State {
            under,
            mock_input,
            group: None,
            record: Record::default(),
        })))
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn take_record(&self) -> Record {
        std::mem::take(&mut self.state().record)
    }

    /// The host functions the test plugin imports.
    pub fn functions(&self) -> Vec<HostFunction> {
        use ValType::I64;
        let h = self.clone();
        let call = HostFunction::new("call", [I64, I64], [I64], move |p, args, out| {
            let (name, input) = (string(p, args, 0)?, bytes(p, args, 1)?);
            let output = h.call(&name, &input)?.0;
            out[0] = Val::I64(match output {
                Some(bytes) => p.memory_new(&bytes)? as i64,
                None => 0,
            });
            Ok(())
        });
        let h = self.clone();
        let time = HostFunction::new("time", [I64, I64], [I64], move |p, args, out| {
            let (name, input) = (string(p, args, 0)?, bytes(p, args, 1)?);
            let nanos = h.call(&name, &input)?.1;
            out[0] = Val::I64(nanos as i64);
            Ok(())
        });
        let h = self.clone();
        let assert = HostFunction::new("assert", [I64, I64, I64], [], move |p, args, _| {
            let name = string(p, args, 0)?;
            let passed = !matches!(args.get(1), Some(Val::I64(0)) | Some(Val::I32(0)));
            let reason = string(p, args, 2)?;
            let mut s = h.state();
            let group = s.group.clone();
            s.record.assertions.push(Assertion {
                group,
                name,
                passed,
                reason,
            });
            Ok(())
        });
        let h = self.clone();
        let reset = HostFunction::new("reset", [], [], move |_, _, _| Ok(h.reset()?));
        let h = self.clone();
        let group = HostFunction::new("group", [I64], [], move |p, args, _| {
            let name = string(p, args, 0)?;
            h.reset()?;
            h.state().group = Some(name);
            Ok(())
        });
        let h = self.clone();
        let mock_input = HostFunction::new("mock_input", [], [I64], move |p, _, out| {
            let input = h.state().mock_input.clone();
            out[0] = Val::I64(match input {
                Some(bytes) => p.memory_new(&bytes)? as i64,
                None => 0,
            });
            Ok(())
        });
        [call, time, assert, reset, group, mock_input]
            .into_iter()
            .map(|f| f.with_namespace(NAMESPACE))
            .collect()
    }

    /// A fresh instance of the plugin under test. It also ends the current
    /// group: xtp-test's `group(name, f)` is reset, group, f, reset, so what
    /// follows a group is asserted outside it.
    fn reset(&self) -> Result<(), Error> {
        let mut s = self.state();
        s.group = None;
        s.under.reset()
    }

    /// Calls the plugin under test: its output (None when the call failed, as
    /// recorded) and the nanoseconds it took. Calling an export the plugin does
    /// not have stops the test with a message naming it.
    fn call(&self, name: &str, input: &[u8]) -> anyhow::Result<(Option<Vec<u8>>, u64)> {
        let mut s = self.state();
        let exports = s.under.exports();
        if !exports.iter().any(|e| e == name) {
            let exports = exports.join(", ");
            return Err(Error::new(
                ErrorKind::MissingExport,
                format!(
                    "the test calls `{name}`, which the plugin under test does not export (it exports {exports})"
                ),
            )
            .into());
        }
        let started = Instant::now();
        let result = s.under.call(name, input);
        let nanos = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        match result {
            Ok(output) => Ok((Some(output), nanos)),
            Err(e) => {
                s.record
                    .failed_calls
                    .push(format!("call `{name}` failed: {e}"));
                Ok((None, nanos))
            }
        }
    }
}

fn handle(args: &[Val], i: usize) -> anyhow::Result<u64> {
    match args.get(i) {
        Some(Val::I64(h)) => Ok(*h as u64),
        other => anyhow::bail!("argument {i} should be an i64 memory handle, got {other:?}"),
    }
}

fn bytes(p: &CurrentPlugin, args: &[Val], i: usize) -> anyhow::Result<Vec<u8>> {
    let h = handle(args, i)?;
    Ok(p.memory_bytes(h)
        .with_context(|| format!("argument {i}"))?
        .to_vec())
}

fn string(p: &CurrentPlugin, args: &[Val], i: usize) -> anyhow::Result<String> {
    Ok(String::from_utf8_lossy(&bytes(p, args, i)?).into_owned())
}

/// Runs the test plugin `test` (its `test` export) against the harness's
/// plugin under test, on `engine`. Ok(None) when `test` returned success,
/// Ok(Some(why)) when it failed; Err when the test plugin cannot be loaded or
/// has no `test` export.
pub fn run_test(
    engine: &Engine,
    test: Wasm,
    wasi: bool,
    timeout_ms: u64,
    harness: &Harness,
) -> Result<Option<String>, Error> {
    let mut builder =
        Plugin::builder(engine, Manifest::new(test).with_timeout_ms(timeout_ms)).with_wasi(wasi);
    for f in harness.functions() {
        builder = builder.with_host_function(f);
    }
    let mut plugin = builder.build()?;
    if !plugin.function_exists("test") {
        return Err(Error::new(
            ErrorKind::MissingExport,
            format!(
                "the test plugin has no export `test` (it exports {}): an xtp-test test exports `test`",
                plugin.functions().join(", ")
            ),
        ));
    }
    Ok(plugin.call("test", b"").err().map(|e| e.to_string()))
}
