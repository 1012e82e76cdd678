// The plugin side of driver.mjs, run in a worker thread so that the driver can stop a
// call that runs past timeout_ms (worker.terminate() interrupts running wasm).
//
// The SDK runs here in its default mode (runInWorker: false): the plugin is
// instantiated in this thread and host functions must answer synchronously. A host
// function posts {host_call} to the driver thread, waits on a shared flag with
// Atomics.wait, and takes the runner's answer with receiveMessageOnPort.
//
// Why not the SDK's own worker mode (runInWorker: true): in 1.0.3 it transfers every
// block the plugin made back to the caller after each call, detaching them in its
// worker, so vars do not survive from one call to the next; and a link error in its
// worker is an unhandled 'error' event.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parentPort, workerData, receiveMessageOnPort } from 'node:worker_threads';

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

const { sdkDir, flag: flagBuffer, answers } = workerData;
const sdkVersion = JSON.parse(readFileSync(join(sdkDir, 'package.json'), 'utf8')).version;
// The package's `exports["node"]["import"]` entry.
const { createPlugin } = await import(pathToFileURL(join(sdkDir, 'dist', 'esm', 'mod.js')).href);
const flag = new Int32Array(flagBuffer);

const b64 = (bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
const unb64 = (text) => Uint8Array.from(Buffer.from(text ?? '', 'base64'));

export class Unsupported extends Error {}

class HostError extends Error {
  constructor(category, message) {
    super(message);
    this.category = category;
  }
}

let loaded = null; // { request, wasm, plugin, logs, threshold }

// --- describe -------------------------------------------------------------------

// A module with one import `extism:host/env::name` of type () -> (): JS functions
// link whatever their wasm signature, so this tells whether the SDK defines `name`.
function probeModule(name) {
  const str = (s) => [s.length, ...Buffer.from(s)];
  const section = (id, body) => [id, body.length, ...body];
  const type = section(1, [1, 0x60, 0, 0]);
  const imp = section(2, [1, ...str(ENV), ...str(name), 0, 0]);
  return new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, ...type, ...imp]);
}

// Linked in this (same-thread) mode, but only as stubs that log "not enabled" and
// return 0: a plugin that needs HTTP cannot run here, so they are not reported.
const STUBS = ['http_request', 'http_status_code'];

async function describe() {
  const imports = [];
  for (const name of ABI_ENV_FUNCTIONS.filter((n) => !STUBS.includes(n))) {
    try {
      const plugin = await createPlugin({ wasm: [{ data: probeModule(name) }] });
      await plugin.close();
      imports.push(name);
    } catch (err) {
      if (!(err instanceof WebAssembly.LinkError)) throw err;
    }
  }
  return {
    ok: true,
    name: 'extism-node',
    version: `@extism/extism ${sdkVersion}, Node ${process.versions.node}`,
    imports,
    raw_calls: true,
  };
}

// --- load -----------------------------------------------------------------------

function makeLogger(state) {
  const log = (level) => (message) => {
    if (LEVELS.indexOf(level) >= state.threshold) state.logs.push({ level, message: String(message) });
  };
  return Object.fromEntries([...LEVELS, 'log'].map((l) => [l, log(l === 'log' ? 'info' : l)]));
}

// A host function of the case: its arguments go to the runner through the driver
// thread, this thread sleeps until the answer is there.
function hostFunction(name, results) {
  return (callContext, ...handles) => {
    const args_b64 = handles.map((h) => {
      const block = BigInt(h) === 0n ? null : callContext.read(h);
      return block ? b64(block.bytes()) : '';
    });
    Atomics.store(flag, 0, 0);
    parentPort.postMessage({ host_call: { op: 'host_call', name, args_b64 } });
    Atomics.wait(flag, 0, 0);
    const answer = receiveMessageOnPort(answers)?.message;
    if (!answer) throw new HostError('trap', `host function ${name}: no answer from the driver`);
    if (answer.error !== undefined) throw new HostError('trap', `host function ${name} failed: ${answer.error}`);
    if (results === 0) return undefined;
    const bytes = unb64(answer.results_b64?.[0]);
    return bytes.length === 0 ? 0n : callContext.store(bytes);
  };
}

async function load(request) {
  await unload();
  if (request.max_pages != null) {
    throw new Unsupported(`max_pages: @extism/extism ${sdkVersion} has no memory limit option`);
  }
  if (request.allowed_hosts?.length) {
    throw new Unsupported(
      `allowed_hosts: @extism/extism ${sdkVersion} has HTTP only in its worker mode, whose vars do not survive between calls`,
    );
  }
  const multi = (request.host_functions ?? []).find((f) => f.results > 1);
  if (multi) throw new Unsupported(`host function ${multi.name} with ${multi.results} results: the SDK returns at most one value`);
  const threshold = LEVELS.indexOf(request.log_level ?? 'info');
  if (threshold < 0) throw new HostError('invalid-manifest', `unknown log_level ${request.log_level}`);

  let wasm;
  try {
    wasm = readFileSync(request.wasm);
  } catch (err) {
    throw new HostError('io', `reading ${request.wasm}: ${err.message}`);
  }
  const functions = {};
  for (const f of request.host_functions ?? []) {
    functions[f.namespace] ??= {};
    functions[f.namespace][f.name] = hostFunction(f.name, f.results);
  }
  const state = { request, wasm, threshold, logs: [], plugin: null };
  state.plugin = await createPlugin({ wasm: [{ data: Uint8Array.from(wasm) }] }, {
    runInWorker: false,
    useWasi: Boolean(request.wasi),
    enableWasiOutput: false, // WASI stdio must never touch the protocol's stdin/stdout
    config: request.config ?? {},
    // The protocol maps host folder -> guest path (as Extism manifests do); the SDK
    // hands allowedPaths to node:wasi `preopens`, which maps guest path -> host folder.
    allowedPaths: Object.fromEntries(Object.entries(request.allowed_paths ?? {}).map(([h, g]) => [g, h])),
    functions,
    logger: makeLogger(state),
  });
  loaded = state;
  return { ok: true };
}

async function unload() {
  const state = loaded;
  loaded = null;
  await state?.plugin.close().catch(() => {});
  return { ok: true };
}

// --- call -----------------------------------------------------------------------

// The SDK's errors, back to the protocol's categories.
function classify(err) {
  if (err instanceof HostError) return { category: err.category, message: err.message };
  const message = String(err?.message ?? err);
  const rules = [
    [/^Plugin-originated error: /, 'plugin-error', (m) => m.replace(/^Plugin-originated error: /, '')],
    [/^Plugin error: (target|function) .* does not exist/, 'missing-export'],
    [/Maximum call stack size exceeded/, 'stack-overflow'],
    [/out of memory|Cannot allocate Wasm memory|Maximum memory size exceeded/i, 'memory-limit'],
  ];
  for (const [pattern, category, rewrite] of rules) {
    if (pattern.test(message)) return { category, message: rewrite ? rewrite(message) : message };
  }
  if (err instanceof WebAssembly.CompileError) return { category: 'invalid-module', message };
  if (err instanceof WebAssembly.LinkError) return { category: 'unknown-import', message };
  if (err instanceof WebAssembly.RuntimeError) return { category: 'trap', message };
  if (/proc_exit|exit code/i.test(message)) return { category: 'exit', message };
  // Errors thrown by the SDK's own env functions (a bad handle from the guest) stop
  // the wasm call like a trap.
  return { category: 'trap', message: `${err?.name ?? 'Error'}: ${message}` };
}

async function call(request) {
  const state = loaded;
  if (!state) throw new HostError('invalid-manifest', 'call before load');
  state.logs = [];
  try {
    const input = unb64(request.input_b64);
    const output = await state.plugin.call(request.export, input.length ? input : undefined);
    const bytes = output ? output.bytes() : new Uint8Array();
    return { ok: true, output_b64: b64(bytes), logs: state.logs };
  } catch (err) {
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

// Calls a plain numeric export on the loaded plugin's instance (SDK `getInstance()`).
async function callRaw(request) {
  const state = loaded;
  if (!state) throw new HostError('invalid-manifest', 'call_raw before load');
  state.logs = [];
  try {
    const signature = exportSignatures(state.wasm)[request.export];
    if (!signature) throw new HostError('missing-export', `no function export named ${request.export}`);
    const instance = await state.plugin.getInstance();
    const result = instance.exports[request.export](...(request.args ?? []).map(toJs));
    const values = signature.results.length === 1 ? [result] : (result ?? []);
    return { ok: true, results: signature.results.map((type, i) => fromJs(type, values[i])), logs: state.logs };
  } catch (err) {
    if (err instanceof Unsupported) throw err;
    return { ok: false, error: classify(err), logs: state.logs };
  }
}

// --- bench ------------------------------------------------------------------------

// Times the SDK itself, apart from the protocol (docs/hosts.md, "bench"), on a plugin
// of its own: the loaded one is left as it is. warm: one plugin, one unmeasured call,
// then `warm` timed calls; fresh: `fresh` rounds of createPlugin + call + close on one
// WebAssembly.Module compiled before timing (the SDK takes it as { wasm: [{ module }] }).
async function bench(request) {
  let bytes;
  try {
    bytes = readFileSync(request.wasm);
  } catch (err) {
    throw new HostError('io', `reading ${request.wasm}: ${err.message}`);
  }
  const module = await WebAssembly.compile(bytes);
  const quiet = Object.fromEntries([...LEVELS, 'log'].map((l) => [l, () => {}]));
  const make = () => createPlugin({ wasm: [{ module }] }, {
    runInWorker: false, useWasi: Boolean(request.wasi), enableWasiOutput: false, logger: quiet,
  });
  const input = unb64(request.input_b64);
  const callOnce = (plugin) => plugin.call(request.export, input.length ? input : undefined);
  const mean = async (rounds, round) => {
    const start = process.hrtime.bigint(); // monotonic
    for (let i = 0; i < rounds; i++) await round();
    return Number(process.hrtime.bigint() - start) / rounds;
  };
  const closing = async (plugin, use) => {
    try {
      return await use(plugin);
    } finally {
      await plugin.close();
    }
  };

  let warm_ns = 0;
  let fresh_ns = 0;
  if (request.warm > 0) {
    warm_ns = await closing(await make(), async (plugin) => {
      await callOnce(plugin);
      return mean(request.warm, () => callOnce(plugin));
    });
  }
  if (request.fresh > 0) {
    fresh_ns = await mean(request.fresh, async () => closing(await make(), callOnce));
  }
  return { ok: true, warm_ns, fresh_ns };
}

// --- requests from the driver thread ---------------------------------------------------

const OPS = { describe, load, call, call_raw: callRaw, bench, unload };

parentPort.on('message', async (request) => {
  let response;
  try {
    const op = OPS[request.op];
    response = op ? await op(request) : { ok: false, unsupported: `op ${JSON.stringify(request.op)}` };
  } catch (err) {
    if (err instanceof Unsupported) response = { ok: false, unsupported: err.message };
    else response = { ok: false, error: classify(err) };
  }
  parentPort.postMessage({ response });
});
parentPort.postMessage({ ready: true });
