// Self-test of driver.mjs: starts it as a child process and plays the runner.
//
//   node smoke.mjs [PLUGINS_DIR] [NODE_MODULES]
//
// PLUGINS_DIR holds built artifacts (rust/hello.wasm, ...), default ../../target/plugins;
// NODE_MODULES is where setup installed the SDK, default ../../target/hosts/extism-node/node_modules.
// Prints "N passed, M failed" and exits non-zero when a check fails.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

const here = new URL('.', import.meta.url).pathname;
const plugins = resolve(process.argv[2] ?? join(here, '../../target/plugins'));
const modules = resolve(process.argv[3] ?? join(here, '../../target/hosts/extism-node/node_modules'));

const child = spawn(process.execPath, [join(here, 'driver.mjs'), modules], { stdio: ['pipe', 'pipe', 'inherit'] });
const replies = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
const kv = new Map();
let failNext = null; // the next host_call is answered with this error

const enc = (s) => Buffer.from(s).toString('base64');
const dec = (s) => Buffer.from(s ?? '', 'base64').toString();

// One request; host_call requests in between are answered from `kv`.
async function request(message) {
  child.stdin.write(JSON.stringify(message) + '\n');
  for (;;) {
    const { value, done } = await replies.next();
    if (done) throw new Error('driver closed stdout');
    const reply = JSON.parse(value);
    if (reply.op !== 'host_call') return reply;
    const args = reply.args_b64.map(dec);
    let answer;
    if (failNext) {
      answer = { error: failNext };
      failNext = null;
    } else if (reply.name === 'kv_write') {
      kv.set(args[0], args[1]);
      answer = { results_b64: [] };
    } else if (reply.name === 'kv_read') {
      answer = { results_b64: [enc(kv.get(args[0]) ?? '')] };
    } else {
      answer = { error: `no host function ${reply.name}` };
    }
    child.stdin.write(JSON.stringify(answer) + '\n');
  }
}

const KV = [
  { namespace: 'extism:host/user', name: 'kv_read', params: 1, results: 1 },
  { namespace: 'extism:host/user', name: 'kv_write', params: 2, results: 0 },
];

const load = (lang, spec, extra = {}) =>
  request({ op: 'load', wasm: join(plugins, lang, `${spec}.wasm`), wasi: lang !== 'rust' || spec === 'wasi', config: {}, log_level: 'info', ...extra });
const call = (exp, input = '') => request({ op: 'call', export: exp, input_b64: enc(input) });

let passed = 0, failed = 0, skipped = 0;
async function check(name, fn) {
  try {
    const problem = await fn();
    if (problem === 'skip') {
      skipped++;
      console.log(`skip  ${name}`);
    } else if (problem) {
      failed++;
      console.log(`FAIL  ${name}: ${problem}`);
    } else {
      passed++;
      console.log(`ok    ${name}`);
    }
  } catch (err) {
    failed++;
    console.log(`FAIL  ${name}: ${err.stack ?? err}`);
  }
}

const expectOutput = (reply, want) =>
  reply.ok && dec(reply.output_b64) === want ? null : `want output ${JSON.stringify(want)}, got ${JSON.stringify(reply)}`;
const expectError = (reply, category, message) =>
  !reply.ok && reply.error?.category === category && (message === undefined || reply.error.message === message)
    ? null
    : `want ${category} ${message ?? ''}, got ${JSON.stringify(reply)}`;
const have = (lang, spec) => existsSync(join(plugins, lang, `${spec}.wasm`));

await check('describe lists the env functions the SDK links', async () => {
  const r = await request({ op: 'describe' });
  if (!r.ok || r.name !== 'extism-node' || !/@extism\/extism 1\.0\.3, Node /.test(r.version)) return JSON.stringify(r);
  for (const f of ['alloc', 'input_load_u64', 'output_set', 'error_set', 'config_get', 'var_set', 'log_info']) {
    if (!r.imports.includes(f)) return `imports lack ${f}`;
  }
  for (const f of ['http_headers', 'log_trace', 'get_log_level']) if (r.imports.includes(f)) return `imports claim ${f}`;
});

for (const lang of ['rust', 'go']) {
  await check(`${lang}/hello greet "Bob"`, async () => {
    if (!have(lang, 'hello')) return 'skip';
    const l = await load(lang, 'hello');
    return l.ok ? expectOutput(await call('greet', 'Bob'), 'Hello, Bob!') : JSON.stringify(l);
  });
  await check(`${lang}/hello config greeting`, async () => {
    if (!have(lang, 'hello')) return 'skip';
    await load(lang, 'hello', { config: { greeting: 'Howdy' } });
    return expectOutput(await call('greet', 'Bob'), 'Howdy, Bob!');
  });
  await check(`${lang}/host-fns remember then recall through the runner`, async () => {
    if (!have(lang, 'host-fns')) return 'skip';
    kv.clear();
    const l = await load(lang, 'host-fns', { host_functions: KV });
    if (!l.ok) return JSON.stringify(l);
    const r = await call('remember', 'k=v');
    if (!r.ok) return JSON.stringify(r);
    if (kv.get('k') !== 'v') return `kv holds ${JSON.stringify([...kv])}`;
    return expectOutput(await call('recall', 'k'), 'v');
  });
  await check(`${lang}/errors fail "boom" is a plugin error`, async () => {
    if (!have(lang, 'errors')) return 'skip';
    await load(lang, 'errors');
    return expectError(await call('fail', 'boom'), 'plugin-error', 'failed: boom');
  });
  await check(`${lang}/limits spin stops at timeout_ms 200, the next call runs`, async () => {
    if (!have(lang, 'limits')) return 'skip';
    await load(lang, 'limits', { timeout_ms: 200 });
    const started = Date.now();
    const problem = expectError(await call('spin'), 'timeout');
    if (problem) return problem;
    if (Date.now() - started > 5000) return `took ${Date.now() - started} ms`;
    return expectError(await call('spin'), 'timeout');
  });
}

await check('a failing host function (runner answers error) traps, the next call runs', async () => {
  kv.clear();
  await load('rust', 'host-fns', { host_functions: [{ ...KV[0], name: 'kv_read' }, { ...KV[1], name: 'kv_write' }] });
  failNext = 'store is down';
  const r = await call('recall', 'k');
  return expectError(r, 'trap') ?? (/store is down/.test(r.error.message) ? null : r.error.message) ?? expectOutput(await call('remember', 'a=b'), 'ok');
});

await check('rust/errors panic is a trap and the instance goes on', async () => {
  await load('rust', 'errors');
  return expectError(await call('panic', 'oops'), 'trap') ?? expectError(await call('fail', 'after'), 'plugin-error', 'failed: after');
});

await check('rust/hello unknown export is missing-export', async () => {
  await load('rust', 'hello');
  return expectError(await call('nope'), 'missing-export');
});

await check('rust/count-vowels vars persist across calls', async () => {
  await load('rust', 'count-vowels');
  await call('count_vowels', 'Hello, World!');
  const r = await call('count_vowels', 'Hello, World!');
  return r.ok && JSON.parse(dec(r.output_b64)).total === 6 ? null : JSON.stringify(r);
});

await check('rust/bytes echoes 4 MiB with NUL and invalid UTF-8', async () => {
  await load('rust', 'bytes');
  const big = Buffer.alloc(4 << 20, 0);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
  const r = await request({ op: 'call', export: 'echo', input_b64: big.toString('base64') });
  return r.ok && Buffer.from(r.output_b64, 'base64').equals(big) ? null : `${r.ok} ${r.error?.message}`;
});

await check('rust/wasi reads a file through allowed_paths', async () => {
  if (!have('rust', 'wasi')) return 'skip';
  const dir = mkdtempSync(join(tmpdir(), 'extism-node-smoke-'));
  try {
    writeFileSync(join(dir, 'hello.txt'), 'hello from a file\n');
    const l = await load('rust', 'wasi', { allowed_paths: { [dir]: '/data' } });
    if (!l.ok) return JSON.stringify(l);
    return expectOutput(await call('read_file', '/data/hello.txt'), 'hello from a file\n') ?? expectError(await call('read_file', '/etc/hostname'), 'plugin-error');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

await check('raw add(i32, i32) wraps', async () => {
  await load('rust', 'raw-add');
  const r = await request({ op: 'call_raw', export: 'add', args: [{ i32: 2147483647 }, { i32: 1 }] });
  return r.ok && r.results?.[0]?.i32 === -2147483648 ? null : JSON.stringify(r);
});

// Every log/log artifact imports log_trace or get_log_level, which 1.0.3 lacks.
await check('log/log cannot link here: unknown-import names the missing functions', async () => {
  const r = await load('rust', 'log', { log_level: 'trace' });
  return r.ok || r.error.category !== 'unknown-import' || !/log_trace|get_log_level/.test(r.error.message) ? JSON.stringify(r) : null;
});

// A module made here that logs at every level the SDK links: checks level filtering.
await check('logs at the requested level and above', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'extism-node-smoke-'));
  try {
    writeFileSync(join(dir, 'logs.wasm'), loggingModule(['log_debug', 'log_info', 'log_warn', 'log_error']));
    const l = await request({ op: 'load', wasm: join(dir, 'logs.wasm'), wasi: false, log_level: 'info' });
    if (!l.ok) return JSON.stringify(l);
    const r = await call('run');
    const got = JSON.stringify(r.logs);
    const want = JSON.stringify(['info', 'warn', 'error'].map((level) => ({ level, message: `log_${level}` })));
    return r.ok && got === want ? null : `want logs ${want}, got ${JSON.stringify(r)}`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

await check('bench rust/bytes echo: positive times, the loaded plugin untouched', async () => {
  await load('rust', 'hello');
  const r = await request({ op: 'bench', wasm: join(plugins, 'rust', 'bytes.wasm'), wasi: false, export: 'echo', input_b64: enc('hello'), warm: 20, fresh: 3 });
  if (!r.ok || !(r.warm_ns > 0) || !(r.fresh_ns > 0)) return JSON.stringify(r);
  return expectOutput(await call('greet', 'Bob'), 'Hello, Bob!');
});

await check('unload, then end of stdin exits 0', async () => {
  const r = await request({ op: 'unload' });
  if (!r.ok) return JSON.stringify(r);
  child.stdin.end();
  const code = await new Promise((res) => child.on('exit', res));
  return code === 0 ? null : `exit code ${code}`;
});

console.log(`${passed} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : ''));
process.exit(failed ? 1 : 0);

// A wasm module exporting `run`, which for each named log function stores the name
// into a fresh Extism block and calls it: (alloc, store_u8, log_*) from extism:host/env.
function loggingModule(logFns) {
  const u = (n) => { const out = []; do { let b = n & 0x7f; n >>>= 7; if (n) b |= 0x80; out.push(b); } while (n); return out; };
  const s = (n) => { const out = []; for (;;) { const b = n & 0x7f; n >>= 7; if ((n === 0 && !(b & 0x40)) || (n === -1 && b & 0x40)) { out.push(b); return out; } out.push(b | 0x80); } };
  const str = (x) => [...u(x.length), ...Buffer.from(x)];
  const vec = (items) => [...u(items.length), ...items.flat()];
  const section = (id, body) => [id, ...u(body.length), ...body];
  const I64 = 0x7e, I32 = 0x7f;
  // types: 0 (i64)->i64 alloc, 1 (i64,i32)->() store_u8, 2 (i64)->() log_*, 3 ()->i32 run
  const types = vec([[0x60, 1, I64, 1, I64], [0x60, 2, I64, I32, 0], [0x60, 1, I64, 0], [0x60, 0, 1, I32]]);
  const env = 'extism:host/env';
  const imports = vec([
    [...str(env), ...str('alloc'), 0, 0],
    [...str(env), ...str('store_u8'), 0, 1],
    ...logFns.map((f) => [...str(env), ...str(f), 0, 2]),
  ]);
  const run = 2 + logFns.length;
  const body = [1, 1, I64]; // one local: the block address
  logFns.forEach((f, i) => {
    const bytes = Buffer.from(f);
    body.push(0x42, ...s(bytes.length), 0x10, 0, 0x21, 0); // local0 = alloc(len)
    bytes.forEach((b, k) => body.push(0x20, 0, 0x42, ...s(k), 0x7c, 0x41, ...s(b), 0x10, 1)); // store_u8(local0+k, b)
    body.push(0x20, 0, 0x10, 2 + i); // log_*(local0)
  });
  body.push(0x41, 0, 0x0b); // return 0
  const code = vec([[...u(body.length), ...body]]);
  return new Uint8Array([
    0, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
    ...section(1, types), ...section(2, imports), ...section(3, vec([[3]])),
    ...section(7, vec([[...str('run'), 0, ...u(run)]])), ...section(10, code),
  ]);
}
