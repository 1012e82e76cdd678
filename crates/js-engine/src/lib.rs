//! polyplug's JavaScript engine: QuickJS (through rquickjs) with the Extism
//! JS PDK API as globals, built once to wasm32-wasip1.
//!
//! polyplug-js pre-initialises this module with Wizer: `wizer-initialize`
//! reads a small header and the plugin's JS from stdin, evaluates it, and
//! remembers the exported functions; the snapshot then holds a ready
//! interpreter. At run time each plugin export is a shim that pushes its
//! arguments (`__arg_*`) and calls `__invoke_<result type>(index)` with the
//! export's position in the header.

mod describe;
mod extism;
mod header;
mod natives;

use std::cell::UnsafeCell;
use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};

use rquickjs::{Context, Ctx, Function, Object, Persistent, Runtime, Value};

pub use header::{Header, HostImport};

const PRELUDE: &str = include_str!("prelude.js");

struct Plugin {
    // Kept alive for the context; never touched after start-up.
    _runtime: Runtime,
    context: Context,
    exports: Vec<Persistent<Function<'static>>>,
    /// The prelude's `Math.random` reseeder, called once per instance.
    reseed: Persistent<Function<'static>>,
}

/// False in the snapshot, so every instance reseeds on its first call.
static SEEDED: AtomicBool = AtomicBool::new(false);

#[link(wasm_import_module = "wasi_snapshot_preview1")]
extern "C" {
    #[link_name = "random_get"]
    fn wasi_random_get(buf: *mut u8, len: usize) -> u16;
}

fn reseed(ctx: &Ctx<'_>, plugin: &Plugin) {
    if SEEDED.swap(true, Ordering::Relaxed) {
        return;
    }
    let mut seed = [0u8; 16];
    if unsafe { wasi_random_get(seed.as_mut_ptr(), seed.len()) } != 0 {
        return;
    }
    let word = |i: usize| u32::from_le_bytes([seed[i], seed[i + 1], seed[i + 2], seed[i + 3]]);
    if let Ok(f) = plugin.reseed.clone().restore(ctx) {
        let _: rquickjs::Result<Value> = f.call((word(0), word(4), word(8), word(12)));
    }
}

/// The engine is single-threaded wasm: a plain cell is enough, and it lands in
/// linear memory, which is exactly what the snapshot keeps.
struct Slot(UnsafeCell<Option<Plugin>>);
unsafe impl Sync for Slot {}
static PLUGIN: Slot = Slot(UnsafeCell::new(None));

fn plugin() -> Option<&'static Plugin> {
    unsafe { (*PLUGIN.0.get()).as_ref() }
}

#[export_name = "wizer-initialize"]
pub extern "C" fn wizer_initialize() {
    let mut input = Vec::new();
    if let Err(e) = std::io::stdin().read_to_end(&mut input) {
        eprintln!("cannot read the plugin source from stdin: {e}");
        std::process::exit(1);
    }
    match load(&input) {
        Ok(plugin) => unsafe { *PLUGIN.0.get() = Some(plugin) },
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(1);
        }
    }
}

fn load(input: &[u8]) -> Result<Plugin, String> {
    let (header, source) = Header::parse(input)?;
    let runtime = Runtime::new().map_err(|e| format!("cannot start QuickJS: {e}"))?;
    let context = Context::full(&runtime).map_err(|e| format!("cannot start QuickJS: {e}"))?;
    let (exports, reseed) = context.with(|ctx| evaluate(&ctx, &header, source))?;
    Ok(Plugin {
        _runtime: runtime,
        context,
        exports,
        reseed,
    })
}

type Saved = Persistent<Function<'static>>;

fn evaluate<'js>(
    ctx: &Ctx<'js>,
    header: &Header,
    source: &[u8],
) -> Result<(Vec<Saved>, Saved), String> {
    let internal = |e: rquickjs::Error| describe::build_error(ctx, e, "polyplug:prelude.js");
    let native = natives::install(ctx, &header.imports).map_err(internal)?;
    ctx.globals()
        .set("__polyplug_native", native)
        .map_err(internal)?;
    run_script(ctx, PRELUDE.as_bytes(), "polyplug:prelude.js")?;
    let reseed: Function = ctx.globals().get("__polyplug_reseed").map_err(internal)?;
    ctx.globals()
        .remove("__polyplug_reseed")
        .map_err(internal)?;
    let reseed = Persistent::save(ctx, reseed);
    run_script(ctx, source, &header.file)?;

    let file = &header.file;
    let module: Object = ctx.globals().get("module").map_err(internal)?;
    let exports: Value = module.get("exports").map_err(internal)?;
    let Some(exports) = exports.as_object() else {
        return Err(format!(
            "{file}: module.exports is not an object: assign `module.exports = {{ ... }}`"
        ));
    };
    let mut found = Vec::new();
    for key in exports.keys::<String>() {
        let key = key.map_err(internal)?;
        let value: Value = exports.get(key.as_str()).map_err(internal)?;
        if value.is_function() {
            found.push(key);
        }
    }

    let mut problems = Vec::new();
    for name in &header.exports {
        if !found.contains(name) {
            problems.push(format!(
                "export `{name}` is declared in index.d.ts but {file} does not export it: add it to module.exports"
            ));
        }
    }
    for name in &found {
        if !header.exports.contains(name) {
            problems.push(format!(
                "{file} exports `{name}` but index.d.ts does not declare it: add `export function {name}(): I32;` to `declare module \"main\"`"
            ));
        }
    }
    if !problems.is_empty() {
        return Err(problems.join("\n"));
    }

    let exports = header
        .exports
        .iter()
        .map(|name| {
            let f: Function = exports.get(name.as_str()).map_err(internal)?;
            Ok(Persistent::save(ctx, f))
        })
        .collect::<Result<_, String>>()?;
    Ok((exports, reseed))
}

fn run_script(ctx: &Ctx<'_>, source: &[u8], file: &str) -> Result<(), String> {
    let mut options = rquickjs::context::EvalOptions::default();
    options.global = true;
    options.strict = false;
    options.filename = Some(file.to_string());
    let result: rquickjs::Result<Value> = ctx.eval_with_options(source.to_vec(), options);
    drain_jobs(ctx);
    result
        .map(drop)
        .map_err(|e| describe::build_error(ctx, e, file))
}

fn drain_jobs(ctx: &Ctx<'_>) {
    while ctx.execute_pending_job() {}
}

/// Arguments of the next call, pushed one by one by an export shim
/// (`__arg_start`, then `__arg_i32` and friends) before `__invoke_*`.
enum Arg {
    I32(i32),
    I64(i64),
    F32(f32),
    F64(f64),
}

struct Args(UnsafeCell<Vec<Arg>>);
unsafe impl Sync for Args {}
static ARGS: Args = Args(UnsafeCell::new(Vec::new()));

fn push_arg(arg: Arg) {
    unsafe { (*ARGS.0.get()).push(arg) }
}

#[export_name = "__arg_start"]
pub extern "C" fn arg_start() {
    unsafe { (*ARGS.0.get()).clear() }
}
#[export_name = "__arg_i32"]
pub extern "C" fn arg_i32(v: i32) {
    push_arg(Arg::I32(v))
}
#[export_name = "__arg_i64"]
pub extern "C" fn arg_i64(v: i64) {
    push_arg(Arg::I64(v))
}
#[export_name = "__arg_f32"]
pub extern "C" fn arg_f32(v: f32) {
    push_arg(Arg::F32(v))
}
#[export_name = "__arg_f64"]
pub extern "C" fn arg_f64(v: f64) {
    push_arg(Arg::F64(v))
}

/// Calls the plugin's export number `index` with the pushed arguments and
/// hands its JS result to `convert`. A thrown exception goes to `error_set`
/// and gives `None`.
fn invoke<T>(index: i32, convert: impl for<'js> FnOnce(&Ctx<'js>, Value<'js>) -> T) -> Option<T> {
    let args = unsafe { std::mem::take(&mut *ARGS.0.get()) };
    let Some(plugin) = plugin() else {
        extism::set_error(
            "the JS engine was not pre-initialised: build the plugin with polyplug-js",
        );
        return None;
    };
    let Some(function) = plugin.exports.get(index as usize) else {
        extism::set_error(&format!(
            "the JS engine has no export number {index}: rebuild the plugin"
        ));
        return None;
    };
    plugin.context.with(|ctx| {
        reseed(&ctx, plugin);
        let outcome = function.clone().restore(&ctx).and_then(|f| {
            let mut js_args = rquickjs::function::Args::new(ctx.clone(), args.len());
            for arg in args {
                match arg {
                    Arg::I32(v) => js_args.push_arg(v)?,
                    Arg::I64(v) => js_args.push_arg(rquickjs::BigInt::from_i64(ctx.clone(), v)?)?,
                    Arg::F32(v) => js_args.push_arg(v as f64)?,
                    Arg::F64(v) => js_args.push_arg(v)?,
                }
            }
            let value: Value = f.call_arg(js_args)?;
            drain_jobs(&ctx);
            settle(&ctx, value)
        });
        match outcome {
            Ok(value) => Some(convert(&ctx, value)),
            Err(e) => {
                extism::set_error(&describe::call_error(&ctx, e));
                None
            }
        }
    })
}

fn number(value: &Value<'_>) -> Option<f64> {
    if let Some(b) = value.as_big_int() {
        return b.clone().to_i64().ok().map(|n| n as f64);
    }
    value
        .as_number()
        .or_else(|| value.as_bool().map(|b| b as u8 as f64))
}

/// The `(): I32` of Extism exports, and any export declared to return I32:
/// the JS result as an i32 (`undefined` is 0, success); 1 after a throw,
/// which Extism reads as a plugin error.
#[export_name = "__invoke_i32"]
pub extern "C" fn invoke_i32(index: i32) -> i32 {
    invoke(index, |_, v| number(&v).map_or(0, |n| n as i64 as i32)).unwrap_or(1)
}

#[export_name = "__invoke_i64"]
pub extern "C" fn invoke_i64(index: i32) -> i64 {
    let big = |v: &Value<'_>| v.as_big_int().and_then(|b| b.clone().to_i64().ok());
    invoke(index, |_, v| {
        big(&v)
            .or_else(|| number(&v).map(|n| n as i64))
            .unwrap_or(0)
    })
    .unwrap_or_else(trap)
}

#[export_name = "__invoke_f32"]
pub extern "C" fn invoke_f32(index: i32) -> f32 {
    invoke(index, |_, v| number(&v).unwrap_or(f64::NAN) as f32).unwrap_or_else(trap)
}

#[export_name = "__invoke_f64"]
pub extern "C" fn invoke_f64(index: i32) -> f64 {
    invoke(index, |_, v| number(&v).unwrap_or(f64::NAN)).unwrap_or_else(trap)
}

/// `() -> ()` exports: Extism reads an error from `error_set` alone.
#[export_name = "__invoke_void"]
pub extern "C" fn invoke_void(index: i32) {
    let _ = invoke(index, |_, _| ());
}

/// A numeric export has no status to return: after a throw (already passed
/// to `error_set`) the call traps.
fn trap<T>() -> T {
    std::process::abort()
}

/// An async export is done once its promise settles: its value is the
/// result, a rejection is an error.
fn settle<'js>(ctx: &Ctx<'js>, value: Value<'js>) -> rquickjs::Result<Value<'js>> {
    let Some(promise) = value.as_promise() else {
        return Ok(value);
    };
    match promise.result::<Value>() {
        Some(result) => result,
        None => Err(rquickjs::Exception::throw_message(
            ctx,
            "the export returned a promise that never settled: await everything it starts",
        )),
    }
}
