//! The `extism:host/env` functions, implemented natively on [`Kernel`] memory and
//! linked once per engine.
//!
//! Outside strict mode, the hot accessors (`load_*`, `store_*`, `input_load_*`)
//! are the wasm ones of `accessor.rs` instead, inlined into the plugin
//! (inline.rs) or in an instance beside it; the native ones here type-check the
//! plugin's imports when it is built and behave the same.
//!
//! The semantics follow the official kernel, measured and written down in
//! docs/kernel-memory.md: handles are offsets, 0 is null, `free` and `length`
//! ignore unknown handles, and no kernel-memory access traps (`kernel.rs`).
//! `config_get`/`var_get`/`var_set`/`log_*` take ownership of the handles they
//! are given, and fail the call on something that is not a handle, as the
//! official host functions do.
//!
//! [`Kernel`]: crate::kernel::Kernel

use wasmtime::{Caller, Engine, Linker, Store};

use crate::accessor;

use crate::current_plugin::{not_a_handle, over_limit, CurrentPlugin};
use crate::error::{Error, ErrorKind};
use crate::http;
use crate::inline::KERNEL;
use crate::kernel::ACCESSORS;
use crate::log::LogLevel;

pub(crate) const ENV: &str = "extism:host/env";

/// Names of every function this module defines, for unknown-import messages.
pub(crate) const NAMES: &[&str] = &[
    "alloc",
    "free",
    "length",
    "length_unsafe",
    "load_u8",
    "load_u64",
    "store_u8",
    "store_u64",
    "input_length",
    "input_load_u8",
    "input_load_u64",
    "input_offset",
    "input_set",
    "output_set",
    "output_length",
    "output_offset",
    "error_set",
    "error_get",
    "reset",
    "memory_bytes",
    "config_get",
    "var_get",
    "var_set",
    "http_request",
    "http_status_code",
    "http_headers",
    "log_trace",
    "log_debug",
    "log_info",
    "log_warn",
    "log_error",
    "get_log_level",
];

type C<'a> = Caller<'a, CurrentPlugin>;
type R<T> = wasmtime::Result<T>;

pub(crate) fn linker(engine: &Engine) -> Result<Linker<CurrentPlugin>, Error> {
    let mut l = Linker::new(engine);
    define(&mut l).map_err(|e| {
        Error::new(
            ErrorKind::InvalidManifest,
            format!("cannot link {ENV}: {e:#}"),
        )
    })?;
    define_kernel(&mut l, engine).map_err(|e| {
        Error::new(
            ErrorKind::InvalidManifest,
            format!("cannot link {KERNEL}: {e:#}"),
        )
    })?;
    Ok(l)
}

/// What the accessors import (accessor.rs, and plugins they are inlined into):
/// the slow path, and a stand-in for the kernel memory so such a plugin's
/// imports type-check when it is built; each instance binds its own memory.
fn define_kernel(l: &mut Linker<CurrentPlugin>, engine: &Engine) -> wasmtime::Result<()> {
    l.func_wrap(
        KERNEL,
        "slow",
        |mut c: C<'_>, code: i64, at: i64, value: i64| -> i64 {
            c.data_mut()
                .kernel
                .slow(code as u64, at as u64, value as u64) as i64
        },
    )?;
    let scratch = Store::new(engine, CurrentPlugin::scratch());
    let memory = accessor::new_memory(engine).map_err(wasmtime::Error::msg)?;
    l.define(&scratch, KERNEL, "memory", memory)?;
    Ok(())
}

fn define(l: &mut Linker<CurrentPlugin>) -> wasmtime::Result<()> {
    l.func_wrap(ENV, "alloc", |mut c: C<'_>, n: i64| -> R<i64> {
        // The official kernel answers an allocation it cannot make with 0.
        Ok(c.data_mut().kernel.alloc(n as u64).unwrap_or(0) as i64)
    })?;
    l.func_wrap(ENV, "free", |mut c: C<'_>, h: i64| {
        c.data_mut().kernel.free(h as u64)
    })?;
    l.func_wrap(ENV, "length", |c: C<'_>, h: i64| {
        c.data().kernel.length(h as u64) as i64
    })?;
    l.func_wrap(ENV, "length_unsafe", |c: C<'_>, h: i64| {
        c.data().kernel.length(h as u64) as i64
    })?;

    // The hot accessors: every plugin in strict mode, and the type check of all
    // the others, which bind the wasm ones (accessor.rs) with the same results.
    for &(name, n, input) in &ACCESSORS {
        match (input, n, name.starts_with("store")) {
            (true, 1, _) => l.func_wrap(ENV, name, move |mut c: C<'_>, i: i64| {
                c.data_mut().kernel.input_load(name, i as u64, 1) as i32
            })?,
            (true, _, _) => l.func_wrap(ENV, name, move |mut c: C<'_>, i: i64| {
                c.data_mut().kernel.input_load(name, i as u64, 8) as i64
            })?,
            (false, 1, false) => l.func_wrap(ENV, name, move |mut c: C<'_>, p: i64| {
                c.data_mut().kernel.access(name, p as u64, 1, None) as i32
            })?,
            (false, _, false) => l.func_wrap(ENV, name, move |mut c: C<'_>, p: i64| {
                c.data_mut().kernel.access(name, p as u64, 8, None) as i64
            })?,
            (false, 1, true) => l.func_wrap(ENV, name, move |mut c: C<'_>, p: i64, v: i32| {
                c.data_mut()
                    .kernel
                    .access(name, p as u64, 1, Some(v as u8 as u64));
            })?,
            (false, _, true) => l.func_wrap(ENV, name, move |mut c: C<'_>, p: i64, v: i64| {
                c.data_mut()
                    .kernel
                    .access(name, p as u64, 8, Some(v as u64));
            })?,
        };
    }

    l.func_wrap(ENV, "input_length", |c: C<'_>| {
        c.data().kernel.input().1 as i64
    })?;
    l.func_wrap(ENV, "input_offset", |c: C<'_>| {
        c.data().kernel.input().0 as i64
    })?;
    l.func_wrap(ENV, "input_set", |mut c: C<'_>, p: i64, len: i64| {
        c.data_mut().kernel.input_set(p as u64, len as u64)
    })?;
    l.func_wrap(ENV, "output_set", |mut c: C<'_>, p: i64, len: i64| {
        c.data_mut().kernel.output_set(p as u64, len as u64)
    })?;
    l.func_wrap(ENV, "output_length", |c: C<'_>| {
        c.data().kernel.output.1 as i64
    })?;
    l.func_wrap(ENV, "output_offset", |c: C<'_>| {
        c.data().kernel.output.0 as i64
    })?;

    l.func_wrap(ENV, "error_set", |mut c: C<'_>, h: i64| {
        c.data_mut().kernel.error_set(h as u64)
    })?;
    l.func_wrap(ENV, "error_get", |c: C<'_>| c.data().kernel.error as i64)?;
    l.func_wrap(ENV, "reset", |mut c: C<'_>| c.data_mut().kernel.reset())?;
    l.func_wrap(ENV, "memory_bytes", |c: C<'_>| {
        c.data().kernel.memory_bytes() as i64
    })?;

    l.func_wrap(ENV, "config_get", |mut c: C<'_>, h: i64| -> R<i64> {
        let s = c.data_mut();
        if h == 0 {
            return Ok(0);
        }
        let key = take_key(s, "config_get", h as u64)?;
        let value = s
            .shared
            .manifest
            .config
            .get(&key)
            .map(|v| v.as_bytes().to_vec());
        new_or_null(s, value)
    })?;
    l.func_wrap(ENV, "var_get", |mut c: C<'_>, h: i64| -> R<i64> {
        let s = c.data_mut();
        if h == 0 {
            return Ok(0);
        }
        let key = take_key(s, "var_get", h as u64)?;
        let value = s.vars.get(&key).cloned();
        new_or_null(s, value)
    })?;
    l.func_wrap(ENV, "var_set", |mut c: C<'_>, k: i64, v: i64| -> R<()> {
        var_set(c.data_mut(), k as u64, v as u64)
    })?;

    l.func_wrap(
        ENV,
        "http_request",
        |mut c: C<'_>, req: i64, body: i64| -> R<i64> {
            let s = c.data_mut();
            match http::request(s, req as u64, body as u64) {
                Ok(h) => Ok(h as i64),
                Err(e) => Err(s.fail(e)),
            }
        },
    )?;
    l.func_wrap(ENV, "http_status_code", |c: C<'_>| {
        c.data().http_status as i32
    })?;
    l.func_wrap(ENV, "http_headers", |mut c: C<'_>| -> R<i64> {
        let s = c.data_mut();
        let Some(headers) = &s.http_headers else {
            return Ok(0);
        };
        let json = serde_json::to_vec(headers).unwrap_or_default();
        new_or_null(s, Some(json))
    })?;

    for (name, level) in [
        ("log_trace", LogLevel::Trace),
        ("log_debug", LogLevel::Debug),
        ("log_info", LogLevel::Info),
        ("log_warn", LogLevel::Warn),
        ("log_error", LogLevel::Error),
    ] {
        l.func_wrap(ENV, name, move |mut c: C<'_>, h: i64| -> R<()> {
            log(c.data_mut(), name, level, h as u64)
        })?;
    }
    l.func_wrap(ENV, "get_log_level", |c: C<'_>| {
        c.data().shared.logger.level.abi()
    })?;
    Ok(())
}

/// Reads a key block as text and frees it: the callee owns key handles.
fn take_key(s: &mut CurrentPlugin, function: &str, h: u64) -> wasmtime::Result<String> {
    let key = match s.kernel.block(h) {
        Some(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        None => return Err(s.fail(not_a_handle(function, h))),
    };
    s.kernel.free(h);
    Ok(key)
}

fn new_or_null(s: &mut CurrentPlugin, value: Option<Vec<u8>>) -> wasmtime::Result<i64> {
    let Some(value) = value else { return Ok(0) };
    match s.kernel.write_new(&value) {
        Ok(h) => Ok(h as i64),
        Err(e) => Err(s.fail(over_limit(e))),
    }
}

fn var_set(s: &mut CurrentPlugin, k: u64, v: u64) -> wasmtime::Result<()> {
    let limit = s.shared.max_var_bytes;
    if limit == 0 {
        let err = Error::new(
            ErrorKind::MemoryLimit,
            "var_set: vars are disabled (memory.max_var_bytes = 0)",
        );
        return Err(s.fail(err));
    }
    let key = take_key(s, "var_set", k)?;
    if v == 0 {
        s.vars.remove(&key);
        return Ok(());
    }
    let Some(value) = s.kernel.block(v).map(<[u8]>::to_vec) else {
        return Err(s.fail(not_a_handle("var_set", v)));
    };
    s.kernel.free(v);
    let others: u64 = s
        .vars
        .iter()
        .filter(|(k, _)| **k != key)
        .map(|(k, v)| (k.len() + v.len()) as u64)
        .sum();
    let total = others + (key.len() + value.len()) as u64;
    if total > limit {
        let err = Error::new(
            ErrorKind::MemoryLimit,
            format!(
                "var_set: setting var `{key}` would make the vars {total} bytes, over memory.max_var_bytes = {limit}"
            ),
        );
        return Err(s.fail(err));
    }
    s.vars.insert(key, value);
    Ok(())
}

fn log(s: &mut CurrentPlugin, function: &str, level: LogLevel, h: u64) -> wasmtime::Result<()> {
    if !s.shared.logger.enabled(level) {
        s.kernel.free(h);
        return Ok(());
    }
    let Some(bytes) = s.kernel.block(h) else {
        if h == 0 {
            return Ok(());
        }
        return Err(s.fail(not_a_handle(function, h)));
    };
    let msg = String::from_utf8_lossy(bytes);
    (s.shared.logger.sink)(level, &msg);
    s.kernel.free(h);
    Ok(())
}
