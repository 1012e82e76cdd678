// polyplug host driver for the official Extism Node SDK (npm @extism/extism 1.0.3).
//
// Speaks the JSON-lines protocol of docs/hosts.md on stdin/stdout: describe, load,
// call (with host_call round trips to the runner), call_raw, bench, unload. End of
// stdin exits 0. stdout carries protocol lines only; diagnostics go to stderr.
//
//   node driver.mjs [NODE_MODULES]   (default: ./node_modules next to this file)
//
// This thread does the protocol I/O and keeps time; the SDK runs in a worker thread
// (plugin-worker.mjs) in its default, same-thread mode. SDK 1.0.3 has no timeout
// option, so timeout_ms is enforced here: a call that runs past it gets `timeout`,
// the worker is terminated (that interrupts running wasm) and a new one loads the
// same plugin afresh for the next call.

import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { MessageChannel, Worker } from 'node:worker_threads';

const modulesDir = resolve(process.argv[2] ?? new URL('./node_modules', import.meta.url).pathname);
const sdkDir = join(modulesDir, '@extism', 'extism');

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

// --- the plugin worker ------------------------------------------------------------

class PluginWorker {
  constructor() {
    this.flag = new Int32Array(new SharedArrayBuffer(4));
    const { port1, port2 } = new MessageChannel();
    this.answers = port1;
    this.worker = new Worker(new URL('./plugin-worker.mjs', import.meta.url), {
      workerData: { sdkDir, flag: this.flag.buffer, answers: port2 },
      transferList: [port2],
      stdout: true, // anything the worker prints goes to our stderr, never to the protocol
    });
    this.worker.stdout.pipe(process.stderr);
    this.events = []; // messages and failures not yet taken by next()
    this.waiting = null;
    this.worker.on('message', (m) => this.#push({ message: m }));
    this.worker.on('error', (err) => this.#push({ failure: err }));
    this.worker.on('exit', (code) => this.#push({ failure: new Error(`the plugin worker exited with code ${code}`) }));
    this.ready = this.next();
  }

  #push(event) {
    if (this.waiting) {
      const wake = this.waiting;
      this.waiting = null;
      wake(event);
    } else {
      this.events.push(event);
    }
  }

  // The worker's next message, or a failure when it died.
  next() {
    if (this.events.length) return Promise.resolve(this.events.shift());
    return new Promise((wake) => (this.waiting = wake));
  }

  answer(message) {
    this.answers.postMessage(message);
    Atomics.store(this.flag, 0, 1);
    Atomics.notify(this.flag, 0);
  }

  async stop() {
    this.worker.removeAllListeners('exit');
    await this.worker.terminate();
    this.answers.close();
  }
}

let worker = null;
let lastLoad = null; // replayed into a fresh worker after a timeout

async function freshWorker() {
  if (worker) await worker.stop();
  worker = new PluginWorker();
  const { failure } = await worker.ready;
  if (failure) throw failure;
  if (lastLoad) {
    worker.worker.postMessage(lastLoad);
    const event = await worker.next();
    if (event.failure || !event.message.response?.ok) {
      throw event.failure ?? new Error(`reloading after a timeout: ${JSON.stringify(event.message.response)}`);
    }
  }
}

function timeoutError(ms) {
  return {
    ok: false,
    error: {
      category: 'timeout',
      message: `the call ran past timeout_ms = ${ms} (@extism/extism 1.0.3 has no timeout: the driver stopped the plugin's thread)`,
    },
    logs: [],
  };
}

// One request through the worker, serving host_call round trips with the runner.
async function forward(request) {
  if (!worker) await freshWorker();
  const ms = request.op === 'call' || request.op === 'call_raw' ? lastLoad?.timeout_ms ?? null : null;
  let timedOut = false;
  let timer = null;
  const expired = new Promise((wake) => {
    if (ms != null) timer = setTimeout(() => wake({ expired: true }), ms);
  });
  try {
    worker.worker.postMessage(request);
    for (;;) {
      const event = await Promise.race([worker.next(), expired]);
      if (event.expired) {
        timedOut = true;
        break;
      }
      if (event.failure) {
        worker = null; // a new worker (and the plugin reloaded) for the next request
        return { ok: false, error: { category: 'trap', message: `the plugin worker died: ${event.failure.message ?? event.failure}` }, logs: [] };
      }
      const { host_call, response } = event.message;
      if (response) return response;
      send(host_call);
      const answer = await readMessage();
      if (answer === null) throw new Error('stdin closed while waiting for a host_call answer');
      worker.answer(answer);
    }
  } finally {
    clearTimeout(timer);
  }
  if (timedOut) {
    await worker.stop();
    worker = null;
    return timeoutError(ms);
  }
}

// --- main loop --------------------------------------------------------------------

for (;;) {
  let request;
  try {
    request = await readMessage();
  } catch (err) {
    send({ ok: false, error: { category: 'invalid-manifest', message: `bad request line: ${err.message}` } });
    continue;
  }
  if (request === null) break;
  if (request.op === 'load') lastLoad = null;
  let response;
  try {
    response = await forward(request);
  } catch (err) {
    console.error('extism-node driver:', err);
    response = { ok: false, error: { category: 'trap', message: String(err?.message ?? err) } };
    await worker?.stop().catch(() => {});
    worker = null;
  }
  if (request.op === 'load' && response.ok) lastLoad = request;
  if (request.op === 'unload') lastLoad = null;
  send(response);
}
await worker?.stop();
process.exit(0);
