//! The native half of the JS API: small Rust functions on a hidden object that
//! `prelude.js` wraps into the public `Host`, `Config`, `Var`, `Http`,
//! `Memory`, `console`, `TextEncoder` and `TextDecoder` globals.
//!
//! Keeping the public surface in JS keeps it close to the extism-js prelude it
//! mirrors; keeping the byte moving here keeps it fast.

use rquickjs::function::Rest;
use rquickjs::{ArrayBuffer, Ctx, Exception, Function, Object, Result, Value};

use crate::extism;
use crate::HostImport;

#[link(wasm_import_module = "polyplug:js-engine")]
extern "C" {
    /// Replaced by polyplug-js with a dispatcher over the plugin's
    /// `extism:host/user` imports; it never reaches a runtime.
    fn host_call(index: i32, a0: i64, a1: i64, a2: i64, a3: i64, a4: i64) -> i64;
}

/// Most arguments a user host function may take: the dispatcher's arity.
pub const MAX_HOST_PARAMS: usize = 5;

pub fn install<'js>(ctx: &Ctx<'js>, imports: &[HostImport]) -> Result<Object<'js>> {
    let n = Object::new(ctx.clone())?;
    n.set("inputBytes", Function::new(ctx.clone(), input_bytes)?)?;
    n.set("inputString", Function::new(ctx.clone(), input_string)?)?;
    n.set("output", Function::new(ctx.clone(), output)?)?;
    n.set("configGet", Function::new(ctx.clone(), config_get)?)?;
    n.set("varGet", Function::new(ctx.clone(), var_get)?)?;
    n.set("varSet", Function::new(ctx.clone(), var_set)?)?;
    n.set("http", Function::new(ctx.clone(), http)?)?;
    n.set("log", Function::new(ctx.clone(), log)?)?;
    n.set("encode", Function::new(ctx.clone(), encode)?)?;
    n.set("decode", Function::new(ctx.clone(), decode)?)?;
    n.set("memAlloc", Function::new(ctx.clone(), mem_alloc)?)?;
    n.set("memLength", Function::new(ctx.clone(), mem_length)?)?;
    n.set("memRead", Function::new(ctx.clone(), mem_read)?)?;
    n.set("hostCall", Function::new(ctx.clone(), call_host)?)?;
    let list = rquickjs::Array::new(ctx.clone())?;
    for (i, import) in imports.iter().enumerate() {
        let entry = rquickjs::Array::new(ctx.clone())?;
        entry.set(0, import.name.as_str())?;
        entry.set(1, import.has_result)?;
        list.set(i, entry)?;
    }
    n.set("hostFunctions", list)?;
    Ok(n)
}

fn bytes_of(buf: &ArrayBuffer<'_>) -> Vec<u8> {
    // Copied out at once: no JS runs while the slice is alive.
    unsafe { buf.as_bytes() }
        .map(<[u8]>::to_vec)
        .unwrap_or_default()
}

fn input_bytes<'js>(ctx: Ctx<'js>) -> Result<ArrayBuffer<'js>> {
    ArrayBuffer::new(ctx, extism::input())
}

fn input_string(_ctx: Ctx<'_>) -> String {
    String::from_utf8_lossy(&extism::input()).into_owned()
}

fn output(buf: ArrayBuffer<'_>) {
    extism::output(&bytes_of(&buf))
}

fn config_get<'js>(ctx: Ctx<'js>, key: String) -> Result<Value<'js>> {
    match extism::config(&key) {
        Some(v) => {
            rquickjs::String::from_str(ctx, &String::from_utf8_lossy(&v)).map(|s| s.into_value())
        }
        None => Ok(Value::new_null(ctx)),
    }
}

fn var_get<'js>(ctx: Ctx<'js>, key: String) -> Result<Value<'js>> {
    match extism::var(&key) {
        Some(v) => ArrayBuffer::new(ctx, v).map(|b| b.into_value()),
        None => Ok(Value::new_null(ctx)),
    }
}

fn var_set(key: String, value: Option<ArrayBuffer<'_>>) {
    let value = value.map(|b| bytes_of(&b));
    extism::set_var(&key, value.as_deref())
}

/// Returns `[status, body]`; the prelude builds the `{status, body}` object.
fn http<'js>(
    ctx: Ctx<'js>,
    request_json: String,
    body: Option<ArrayBuffer<'js>>,
) -> Result<rquickjs::Array<'js>> {
    let body = body.map(|b| bytes_of(&b));
    let (status, response) = extism::http(request_json.as_bytes(), body.as_deref());
    let out = rquickjs::Array::new(ctx.clone())?;
    out.set(0, status)?;
    out.set(1, ArrayBuffer::new(ctx, response)?)?;
    Ok(out)
}

fn log(level: u32, message: String) {
    extism::log(level, &message)
}

fn encode<'js>(ctx: Ctx<'js>, text: String) -> Result<ArrayBuffer<'js>> {
    ArrayBuffer::new(ctx, text.into_bytes())
}

fn decode<'js>(ctx: Ctx<'js>, buf: ArrayBuffer<'js>, fatal: Option<bool>) -> Result<String> {
    let bytes = bytes_of(&buf);
    match String::from_utf8(bytes) {
        Ok(s) => Ok(s),
        Err(e) if fatal.unwrap_or(false) => Err(Exception::throw_type(
            &ctx,
            &format!("The encoded data was not valid utf-8: {e}"),
        )),
        Err(e) => Ok(String::from_utf8_lossy(e.as_bytes()).into_owned()),
    }
}

fn mem_alloc(buf: ArrayBuffer<'_>) -> f64 {
    extism::alloc_block(&bytes_of(&buf)) as f64
}

fn mem_length(offset: f64) -> f64 {
    extism::block_length(offset as u64) as f64
}

fn mem_read<'js>(ctx: Ctx<'js>, offset: f64) -> Result<ArrayBuffer<'js>> {
    ArrayBuffer::new(ctx, extism::load(offset as u64))
}

fn call_host<'js>(ctx: Ctx<'js>, index: i32, args: Rest<Value<'js>>) -> Result<f64> {
    if args.0.len() > MAX_HOST_PARAMS {
        return Err(Exception::throw_range(
            &ctx,
            &format!("host functions take at most {MAX_HOST_PARAMS} arguments"),
        ));
    }
    let mut a = [0i64; MAX_HOST_PARAMS];
    for (slot, value) in a.iter_mut().zip(args.0.iter()) {
        *slot = to_i64(&ctx, value)?;
    }
    let result = unsafe { host_call(index, a[0], a[1], a[2], a[3], a[4]) };
    Ok(result as f64)
}

fn to_i64<'js>(ctx: &Ctx<'js>, value: &Value<'js>) -> Result<i64> {
    if let Some(n) = value.as_int() {
        return Ok(n as i64);
    }
    if let Some(n) = value.as_float() {
        return Ok(n as i64);
    }
    if let Some(b) = value.as_big_int() {
        return b.clone().to_i64();
    }
    if let Some(b) = value.as_bool() {
        return Ok(b as i64);
    }
    Err(Exception::throw_type(
        ctx,
        "host function arguments must be numbers or BigInts (memory offsets)",
    ))
}
