// polyplug host driver for the official Extism Node SDK (npm @extism/extism 1.0.3).
//
// Speaks the JSON-lines protocol of docs/hosts.md on stdin/stdout: describe, load,
// call (with host_call round trips to the runner), call_raw, unload. End of stdin
// exits 0. stdout carries protocol lines only; diagnostics go to stderr.
//
//   node driver.mjs [NODE_MODULES]   (default: ./node_modules next to this file)
//
// How the SDK is used:
// - `call` runs the plugin with `runInWorker: true`: the SDK instantiates the module
//   in a worker thread and runs host functions (ours, and its HTTP implementation
//   with allowedHosts) in this thread, so a host function can await the runner's
//   answer on stdin. The foreground (same-thread) plugin of 1.0.3 has no HTTP.
// - 1.0.3 has no timeout option: the driver enforces timeout_ms itself by closing
//   the plugin (the SDK terminates its worker) and makes a new plugin for the next call.
// - 1.0.3 has no memory limit: a load with max_pages is answered `unsupported`.
// - `call_raw` uses a foreground plugin's `getInstance()` (the worker plugin of
//   1.0.3 throws "todo" there), made on first use from the same load request.

import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createInterface } from 'node:readline';
import { WASI } from 'node:wasi';

const ENV = 'extism:host/env';
const LEVELS = ['trace', 'debug', 'info', 'warn', 'error'];

// Every function of the current Extism kernel ABI (as polyplug-host defines it).
// `describe` reports the ones this SDK actually links, found by probing it.
const ABI_ENV_FUNCTIONS = [
  'alloc', 'free', 'length', 'length_unsafe', 'load_u8', 'load_u64', 'store_u8',
  'store_u64', 'input_length', 'input_load_u8', 'input_load_u64', 'input_offset',
  'input_set', 'output_set', 'output_length', 'output_offset', 'error_set',
  'error_get', 'reset', 'memory_bytes', 'config_get', 'var_get', 'var_set',
  'http_request', 'http_status_code', 'http_headers', 'log_trace', 'log_debug',
  'log_info', 'log_warn', 'log_error', 'get_log_level',
];

// --- the SDK --------------------------------------------------------------------

const modulesDir = resolve(process.argv[2] ?? new URL('./node_modules', import.meta.url).pathname);
const sdkDir = join(modulesDir, '@extism', 'extism');
const sdkVersion = JSON.parse(readFileSync(join(sdkDir, 'package.json'), 'utf8')).version;
// The package's `exports["node"]["import"]` entry.
const { createPlugin } = await import(pathToFileURL(join(sdkDir, 'dist', 'esm', 'mod.js')).href);

// Nothing but protocol lines may reach stdout.
console.log = console.info = console.debug = console.error;

// --- protocol I/O -----------------------------------------------------------------

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity })[Symbol.asyncIterator]();

async function readMessage() {
  for (;;) {
    const { value, done } = await lines.next();
    if (done) return null;
    if (value.trim() !== '') return JSON.parse(value);
  }
}

function send(message) {
  process.stdout.write(JSON.stringify(message) + '\n');
}

const b64 = (bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
const unb64 = (text) => Uint8Array.from(Buffer.from(text ?? '', 'base64'));

class Unsupported extends Error {}

class HostError extends Error {
  constructor(category, message) {
    super(message);
    this.category = category;
  }
}

// --- state ----------------------------------------------------------------------

let loaded = null; // { request, plugin, raw, logs, threshold }
let failPending = null; // rejects the request in flight when the worker dies unexpectedly

process.on('uncaughtException', (err) => {
  console.error('extism-node driver: uncaught', err);
  if (failPending) failPending(err);
  else process.exit(70);
});

// --- describe -------------------------------------------------------------------

let linkedEnv = null;

// A module with one import `extism:host/env::name` of type () -> (): JS functions
// link whatever their wasm signature, so this tells whether the SDK defines `name`.
function probeModule(name) {
  const str = (s) => [s.length, ...Buffer.from(s)];
  const section = (id, body) => [id, body.length, ...body];
  const type = section(1, [1, 0x60, 0, 0]);
  const imp = section(2, [1, ...str(ENV), ...str(name), 0, 0]);
  return new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, ...type, ...imp]);
}

async function envFunctions() {
  if (linkedEnv) return linkedEnv;
  linkedEnv = [];
  for (const name of ABI_ENV_FUNCTIONS) {
    try {
      const plugin = await createPlugin({ wasm: [{ data: probeModule(name) }] }, { runInWorker: false });
      await plugin.close();
      linkedEnv.push(name);
    } catch (err) {
      if (!(err instanceof WebAssembly.LinkError)) throw err;
    }
  }
  return linkedEnv;
}

async function describe() {
  return {
    ok: true,
    name: 'extism-node',
    version: `@extism/extism ${sdkVersion}, Node ${process.versions.node}`,
    imports: await envFunctions(),
    raw_calls: true,
  };
}

// --- load -----------------------------------------------------------------------

const WASI_FUNCTIONS = new Set(Object.keys(new WASI({ version: 'preview1' }).wasiImport));

// What the SDK would link, checked before the worker starts: in 1.0.3 a link error
// inside the worker is an unhandled 'error' event that would take the driver down.
async function checkImports(module, request) {
  const env = new Set(await envFunctions());
  const user = new Set((request.host_functions ?? []).map((f) => `${f.namespace}::${f.name}`));
  const missing = WebAssembly.Module.imports(module).filter(({ module: ns, name, kind }) => {
    if (kind !== 'function') return true;
    if (ns === ENV) return !env.has(name);
    if (ns === 'wasi_snapshot_preview1') return !(request.wasi && WASI_FUNCTIONS.has(name));
    return !user.has(`${ns}::${name}`);
  });
  if (missing.length > 0) {
    const names = missing.map(({ module: ns, name, kind }) => `${ns}::${name}${kind === 'function' ? '' : ` (${kind})`}`);
    throw new HostError(
      'unknown-import',
      `the module imports ${names.join(', ')}, which @extism/extism ${sdkVersion} does not provide` +
        (!request.wasi && missing.some((m) => m.module === 'wasi_snapshot_preview1') ? ' (WASI is off for this plugin)' : ''),
    );
  }
}

function makeLogger(state) {
  const log = (level) => (message) => {
    if (LEVELS.indexOf(level) >= state.threshold) state.logs.push({ level, message: String(message) });
  };
  return Object.fromEntries([...LEVELS, 'log'].map((l) => [l, log(l === 'log' ? 'info' : l)]));
}

// A host function of the case: its arguments go to the runner, its answer comes back.
function hostFunction(name, results) {
  return async (callContext, ...handles) => {
    const args_b64 = handles.map((h) => {
      const block = BigInt(h) === 0n ? null : callContext.read(h);
      return block ? b64(block.bytes()) : '';
    });
    send({ op: 'host_call', name, args_b64 });
    const answer = await readMessage();
    if (answer === null) throw new Error('stdin closed while waiting for a host_call answer');
    if (answer.error !== undefined) throw new HostError('trap', `host function ${name} failed: ${answer.error}`);
    if (results === 0) return undefined;
    const bytes = unb64(answer.results_b64?.[0]);
    return bytes.length === 0 ? 0n : callContext.store(bytes);
  };
}

function pluginOptions(request, state, { worker }) {
  const functions = {};
  for (const f of request.host_functions ?? []) {
    functions[f.namespace] ??= {};
    functions[f.namespace][f.name] = worker
      ? hostFunction(f.name, f.results)
      : () => {
          throw new Error(`host function ${f.name} is not available to call_raw on this driver`);
        };
  }
  // The protocol maps host folder -> guest path (as Extism manifests do); the SDK
  // hands allowedPaths to node:wasi `preopens`, which maps guest path -> host folder.
  const allowedPaths = Object.fromEntries(Object.entries(request.allowed_paths ?? {}).map(([h, g]) => [g, h]));
  return {
    runInWorker: worker,
    useWasi: Boolean(request.wasi),
    enableWasiOutput: false, // WASI stdio must never touch the protocol's stdin/stdout
    config: request.config ?? {},
    allowedHosts: request.allowed_hosts ?? [],
    allowedPaths,
    functions,
    logger: makeLogger(state),
  };
}

async function newPlugin(state, worker) {
  const options = pluginOptions(state.request, state, { worker });
  return createPlugin({ wasm: [{ module: state.module }] }, options);
}

async function load(request) {
  await unload();
  if (request.max_pages != null) {
    throw new Unsupported(`max_pages: @extism/extism ${sdkVersion} has no memory limit option`);
  }
  const multi = (request.host_functions ?? []).find((f) => f.results > 1);
  if (multi) throw new Unsupported(`host function ${multi.name} with ${multi.results} results: the SDK returns at most one value`);
  const threshold = LEVELS.indexOf(request.log_level ?? 'info');
  if (threshold < 0) throw new HostError('invalid-manifest', `unknown log_level ${request.log_level}`);

  let bytes;
  try {
    bytes = readFileSync(request.wasm);
  } catch (err) {
    throw new HostError('io', `reading ${request.wasm}: ${err.message}`);
  }
  let module;
  try {
    module = await WebAssembly.compile(bytes);
  } catch (err) {
    throw new HostError('invalid-module', err.message);
  }
  await checkImports(module, request);

  const state = { request, module, threshold, logs: [], plugin: null, raw: null };
  state.plugin = await newPlugin(state, true);
  loaded = state;
  return { ok: true };
}

async function unload() {
  const state = loaded;
  loaded = null;
  if (state) {
    await state.plugin?.close().catch(() => {});
    await state.raw?.close().catch(() => {});
  }
  return { ok: true };
}

// --- call -----------------------------------------------------------------------

// The SDK's errors, back to the protocol's categories. In worker mode the SDK passes
// errors from the worker as plain {message, originalStack} objects, so the kind of
// error is read from the first line of the stack.
function classify(err) {
  if (err instanceof HostError) return { category: err.category, message: err.message };
  const message = String(err?.message ?? err);
  const kind = err?.name && err.name !== 'Error' ? err.name : String(err?.originalStack ?? '').split(/[:\n]/)[0];
  const rules = [
    [/^Plugin-originated error: /, 'plugin-error', (m) => m.replace(/^Plugin-originated error: /, '')],
    [/^Call error: HTTP request to .* is not allowed/, 'http-denied'],
    [/^Plugin error: (target|function) .* does not exist/, 'missing-export'],
    [/^host function .* failed: /, 'trap'],
    [/Maximum call stack size exceeded/, 'stack-overflow'],
    [/out of memory|Cannot allocate Wasm memory|Maximum memory size exceeded/i, 'memory-limit'],
  ];
  for (const [pattern, category, rewrite] of rules) {
    if (pattern.test(message)) return { category, message: rewrite ? rewrite(message) : message };
  }
  if (kind === 'TypeError' && /fetch failed/.test(message)) {
    const cause = err?.cause?.message ? `: ${err.cause.message}` : '';
    return { category: 'http', message: message + cause };
  }
  if (/exit/i.test(kind) || /proc_exit|exit code/i.test(message)) return { category: 'exit', message };
  // RuntimeError (unreachable, out-of-bounds, ...) and errors thrown by the SDK's
  // own env functions (a bad handle from the guest) alike stop the wasm call.
  return { category: 'trap', message: kind && kind !== 'RuntimeError' ? `${kind}: ${message}` : message };
}

// Runs `work` until it settles, the timeout passes, or the worker dies.
function bounded(work, timeoutMs, onTimeout) {
  return new Promise((resolvePromise, reject) => {
    let timer = null;
    if (timeoutMs != null) {
      timer = setTimeout(() => {
        onTimeout();
        reject(new HostError('timeout', `the call ran past timeout_ms = ${timeoutMs} (the driver closed the SDK's worker)`));
      }, timeoutMs);
    }
    failPending = (err) => reject(err);
    work.then(resolvePromise, reject).finally(() => clearTimeout(timer));
  }).finally(() => {
    failPending = null;
  });
}

async function call(request) {
  const state = loaded;
  if (!state) throw new HostError('invalid-manifest', 'call before load');
  state.logs = [];
  try {
    // The SDK closes its worker when a host function fails; a timeout closes it too.
    if (!state.plugin) state.plugin = await newPlugin(state, true);
    const plugin = state.plugin;
    const input = unb64(request.input_b64);
    const kill = () => {
      state.plugin = null;
      plugin.close().catch(() => {});
    };
    const worker = plugin.worker;
    const died = (err) => failPending?.(err ?? new Error('the SDK worker exited'));
    worker?.once('error', died);
    let output;
    try {
      output = await bounded(plugin.call(request.export, input.length ? input : undefined), state.request.timeout_ms, kill);
    } finally {
      worker?.off('error', died);
    }
    const bytes = output ? output.bytes() : new Uint8Array();
    return { ok: true, output_b64: b64(bytes), logs: state.logs };
  } catch (err) {
    if (state.plugin && !state.plugin.worker) state.plugin = null; // closed by the SDK
    if (err instanceof Unsupported) throw err;
    return { ok: false, error: classify(err), logs: state.logs };
  }
}

// --- call_raw ---------------------------------------------------------------------

// Function signatures of a module's exports, read from its binary: the JS API of
// Node 20 has no type reflection, and results must be tagged i32/i64/f32/f64.
function exportSignatures(bytes) {
  let pos = 8;
  const u32 = () => {
    let result = 0, shift = 0, byte;
    do {
      byte = bytes[pos++];
      result |= (byte & 0x7f) << shift;
      shift += 7;
    } while (byte & 0x80);
    return result >>> 0;
  };
  const name = () => {
    const len = u32();
    const s = Buffer.from(bytes.subarray(pos, pos + len)).toString('utf8');
    pos += len;
    return s;
  };
  const VAL = { 0x7f: 'i32', 0x7e: 'i64', 0x7d: 'f32', 0x7c: 'f64', 0x7b: 'v128', 0x70: 'funcref', 0x6f: 'externref' };
  const types = [], funcs = [], exports = {};
  while (pos < bytes.length) {
    const id = bytes[pos++];
    const size = u32();
    const end = pos + size;
    if (id === 1) {
      for (let n = u32(); n > 0; n--) {
        pos++; // 0x60
        const params = Array.from({ length: u32() }, () => VAL[bytes[pos++]]);
        const results = Array.from({ length: u32() }, () => VAL[bytes[pos++]]);
        types.push({ params, results });
      }
    } else if (id === 2) {
      for (let n = u32(); n > 0; n--) {
        name();
        name();
        const kind = bytes[pos++];
        if (kind === 0) funcs.push(u32());
        else if (kind === 1) { pos++; const flags = u32(); u32(); if (flags & 1) u32(); }
        else if (kind === 2) { const flags = u32(); u32(); if (flags & 1) u32(); }
        else if (kind === 3) pos += 2;
        else pos++; // tag
      }
    } else if (id === 3) {
      for (let n = u32(); n > 0; n--) funcs.push(u32());
    } else if (id === 7) {
      for (let n = u32(); n > 0; n--) {
        const exportName = name();
        const kind = bytes[pos++];
        const index = u32();
        if (kind === 0) exports[exportName] = types[funcs[index]];
      }
    }
    pos = end;
  }
  return exports;
}

const toJs = (value) => {
  const [[type, v]] = Object.entries(value);
  if (type === 'i64') return BigInt(v);
  if (type === 'i32' || type === 'f32' || type === 'f64') return Number(v);
  throw new Unsupported(`argument type ${type}`);
};

function fromJs(type, value) {
  if (type === 'i64' && !Number.isSafeInteger(Number(value))) {
    throw new Unsupported(`i64 result ${value}: beyond what a JSON number carries exactly here`);
  }
  return { [type]: Number(value) };
}

async function callRaw(request) {
  const state = loaded;
  if (!state) throw new HostError('invalid-manifest', 'call_raw before load');
  state.logs = [];
  try {
    const signature = exportSignatures(readFileSync(state.request.wasm))[request.export];
    if (!signature) throw new HostError('missing-export', `no function export named ${request.export}`);
    state.raw ??= await newPlugin(state, false);
    const instance = await state.raw.getInstance();
    let result = instance.exports[request.export](...(request.args ?? []).map(toJs));
    const values = signature.results.length === 1 ? [result] : (result ?? []);
    return { ok: true, results: signature.results.map((type, i) => fromJs(type, values[i])), logs: state.logs };
  } catch (err) {
    if (err instanceof Unsupported) throw err;
    return { ok: false, error: classify(err), logs: state.logs };
  }
}

// --- main loop --------------------------------------------------------------------

const OPS = { describe, load, call, call_raw: callRaw, unload };

for (;;) {
  let request;
  try {
    request = await readMessage();
  } catch (err) {
    send({ ok: false, error: { category: 'invalid-manifest', message: `bad request line: ${err.message}` } });
    continue;
  }
  if (request === null) break;
  const op = OPS[request.op];
  let response;
  try {
    response = op ? await op(request) : { ok: false, unsupported: `op ${JSON.stringify(request.op)}` };
  } catch (err) {
    if (err instanceof Unsupported) response = { ok: false, unsupported: err.message };
    else response = { ok: false, error: classify(err) };
  }
  send(response);
}
await unload();
process.exit(0);
