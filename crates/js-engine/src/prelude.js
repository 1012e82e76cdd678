// The Extism JS PDK API as globals, the way extism-js exposes it, so one
// plugin source runs under either compiler. `native` is the hidden Rust half
// (natives.rs); it is reachable only through these closures.
(function (native) {
  "use strict";

  function toBuffer(data) {
    if (typeof data === "string") return native.encode(data);
    if (data instanceof ArrayBuffer) return data;
    if (ArrayBuffer.isView(data)) {
      return data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength);
    }
    throw new TypeError("expected a string, an ArrayBuffer or a typed array");
  }

  function utf8Label(label) {
    const l = String(label).trim().toLowerCase();
    if (l !== "utf-8" && l !== "utf8" && l !== "unicode-1-1-utf-8") {
      throw new RangeError(`TextDecoder: encoding "${label}" is not supported, only utf-8 is`);
    }
    return "utf-8";
  }

  class TextEncoder {
    get encoding() { return "utf-8"; }
    encode(input = "") { return new Uint8Array(native.encode(String(input))); }
    encodeInto(input, dest) {
      const bytes = this.encode(input);
      const n = Math.min(bytes.length, dest.length);
      dest.set(bytes.subarray(0, n));
      return { read: String(input).length, written: n };
    }
  }

  class TextDecoder {
    constructor(label = "utf-8", options = {}) {
      this._encoding = utf8Label(label);
      this._fatal = !!(options && options.fatal);
      this._ignoreBOM = !!(options && options.ignoreBOM);
    }
    get encoding() { return this._encoding; }
    get fatal() { return this._fatal; }
    get ignoreBOM() { return this._ignoreBOM; }
    decode(input) {
      if (input === undefined || input === null) return "";
      const s = native.decode(toBuffer(input), this._fatal);
      return !this._ignoreBOM && s.charCodeAt(0) === 0xfeff ? s.slice(1) : s;
    }
  }

  const decoder = new TextDecoder();

  class MemoryHandle {
    constructor(offset, len) {
      this.offset = offset;
      this.len = len;
    }
    readBytes() { return native.memRead(this.offset); }
    readString() { return decoder.decode(this.readBytes()); }
    readJsonObject() { return JSON.parse(this.readString()); }
    readUInt32() { return new DataView(this.readBytes()).getUint32(0, true); }
    readUInt64() { return new DataView(this.readBytes()).getBigUint64(0, true); }
    readFloat32() { return new DataView(this.readBytes()).getFloat32(0, true); }
    readFloat64() { return new DataView(this.readBytes()).getFloat64(0, true); }
    // The kernel frees every block when the call ends.
    free() {}
  }

  function numberBuffer(setter, value, size) {
    const view = new DataView(new ArrayBuffer(size));
    view[setter](0, value, true);
    return view.buffer;
  }

  const Memory = {
    fromBuffer(bytes) {
      const buf = toBuffer(bytes);
      return new MemoryHandle(native.memAlloc(buf), buf.byteLength);
    },
    fromString(str) { return Memory.fromBuffer(native.encode(String(str))); },
    fromJsonObject(obj) { return Memory.fromString(JSON.stringify(obj)); },
    allocUInt32(i) { return Memory.fromBuffer(numberBuffer("setUint32", i, 4)); },
    allocUInt64(i) { return Memory.fromBuffer(numberBuffer("setBigUint64", BigInt(i), 8)); },
    allocFloat32(i) { return Memory.fromBuffer(numberBuffer("setFloat32", i, 4)); },
    allocFloat64(i) { return Memory.fromBuffer(numberBuffer("setFloat64", i, 8)); },
    find(offset) { return new MemoryHandle(offset, native.memLength(offset)); },
  };

  const hostFunctions = {};
  native.hostFunctions.forEach(([name, hasResult], index) => {
    hostFunctions[name] = hasResult
      ? (...args) => native.hostCall(index, ...args)
      : (...args) => { native.hostCall(index, ...args); };
  });

  const Host = {
    inputBytes() { return native.inputBytes(); },
    inputString() { return native.inputString(); },
    outputBytes(bytes) { native.output(toBuffer(bytes)); return true; },
    outputString(str) { native.output(native.encode(String(str))); return true; },
    getFunctions() { return hostFunctions; },
  };

  const Config = {
    get(key) { return native.configGet(String(key)); },
  };

  const Var = {
    set(key, value) {
      native.varSet(String(key), value === null || value === undefined ? undefined : toBuffer(value));
    },
    setString(key, value) { Var.set(key, String(value)); },
    setBytes(key, value) { Var.set(key, value); },
    getBytes(key) { return native.varGet(String(key)); },
    getString(key) {
      const bytes = native.varGet(String(key));
      return bytes === null ? null : decoder.decode(bytes);
    },
  };

  const Http = {
    request(req, body) {
      if (req === null || typeof req !== "object" || typeof req.url !== "string") {
        throw new TypeError("Http.request expects {url, method?, headers?}");
      }
      const request = JSON.stringify({
        url: req.url,
        method: req.method ? String(req.method).toUpperCase() : "GET",
        headers: req.headers || {},
      });
      const [status, bytes] = native.http(
        request,
        body === null || body === undefined ? undefined : toBuffer(body),
      );
      return { status, body: decoder.decode(bytes) };
    },
  };

  function show(value) {
    if (typeof value === "string") return value;
    if (value instanceof Error) return value.stack ? `${value}\n${value.stack}` : String(value);
    if (value !== null && typeof value === "object") {
      try { return JSON.stringify(value); } catch (_) { return String(value); }
    }
    return String(value);
  }
  const logAt = (level) => (...args) => native.log(level, args.map(show).join(" "));
  const console = {
    trace: logAt(0),
    debug: logAt(1),
    log: logAt(2),
    info: logAt(2),
    warn: logAt(3),
    error: logAt(4),
  };

  // Math.random: QuickJS seeds it when the context is made, which is at build
  // time, so every instance would replay one sequence. The engine reseeds
  // this xoshiro128** from WASI randomness before each instance's first call.
  const rng = new Uint32Array([0x9e3779b9, 0x243f6a88, 0xb7e15162, 1]);
  const rotl = (x, k) => (x << k) | (x >>> (32 - k));
  function next32() {
    const result = Math.imul(rotl(Math.imul(rng[1], 5), 7), 9) >>> 0;
    const t = rng[1] << 9;
    rng[2] ^= rng[0];
    rng[3] ^= rng[1];
    rng[1] ^= rng[2];
    rng[0] ^= rng[3];
    rng[2] ^= t;
    rng[3] = rotl(rng[3], 11);
    return result;
  }
  Object.defineProperty(Math, "random", {
    value: function random() {
      return ((next32() >>> 5) * 67108864 + (next32() >>> 6)) / 9007199254740992;
    },
    writable: true,
    configurable: true,
  });
  globalThis.__polyplug_reseed = (a, b, c, d) => {
    rng.set([a, b, c, d]);
    if ((a | b | c | d) === 0) rng[0] = 1;
  };

  const module = { exports: {} };
  const globals = {
    TextEncoder, TextDecoder, MemoryHandle, Memory, Host, Config, Var, Http, console,
    module, exports: module.exports, global: globalThis,
  };
  for (const [name, value] of Object.entries(globals)) {
    Object.defineProperty(globalThis, name, { value, writable: true, configurable: true });
  }
})(globalThis.__polyplug_native);
delete globalThis.__polyplug_native;
