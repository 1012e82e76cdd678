//! `xtp:test/harness`, as the xtp-test libraries import it: the test plugin
//! calls the plugin under test, times it, asserts, groups and resets. Every
//! value crosses as an Extism memory handle in the test plugin's memory.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use anyhow::Context;
use polyplug_host::{CurrentPlugin, Error, ErrorKind, HostFunction, Plugin, Val, ValType};

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

struct State {
    /// The plugin under test, never called itself: `reset` takes a fresh copy.
    template: Plugin,
    /// The instance calls go to; vars persist across calls until `reset`.
    current: Plugin,
    mock_input: Option<Vec<u8>>,
    group: Option<String>,
    record: Record,
}

#[derive(Clone)]
pub struct Harness(Arc<Mutex<State>>);

impl Harness {
    pub fn new(plugin: Plugin, mock_input: Option<Vec<u8>>) -> Harness {
        Harness(Arc::new(Mutex::new(State {
            current: plugin.fresh(),
            template: plugin,
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
        let reset = HostFunction::new("reset", [], [], move |_, _, _| {
            h.reset();
            Ok(())
        });
        let h = self.clone();
        let group = HostFunction::new("group", [I64], [], move |p, args, _| {
            let name = string(p, args, 0)?;
            h.reset();
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
    fn reset(&self) {
        let mut s = self.state();
        s.current = s.template.fresh();
        s.group = None;
    }

    /// Calls the plugin under test: its output (None when the call failed, as
    /// recorded) and the nanoseconds it took. Calling an export the plugin does
    /// not have stops the test with a message naming it.
    fn call(&self, name: &str, input: &[u8]) -> anyhow::Result<(Option<Vec<u8>>, u64)> {
        let mut s = self.state();
        if !s.template.function_exists(name) {
            let exports = s.template.functions().join(", ");
            return Err(Error::new(
                ErrorKind::MissingExport,
                format!(
                    "the test calls `{name}`, which the plugin under test does not export (it exports {exports})"
                ),
            )
            .into());
        }
        let started = Instant::now();
        let result = s.current.call(name, input);
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
