"""polyplug host driver: the official Rust runtime (libextism) through the Python SDK.

Speaks the JSON-lines protocol of docs/hosts.md on stdin/stdout: describe, load, call
(with host_call round trips while the plugin runs), call_raw (unsupported), bench,
unload. End of stdin exits 0.

    {state}/venv/bin/python driver.py {state}

The compiled-module cache lives in {state}/cache ({state} defaults to the folder that
holds the venv).

What the SDK (extism 1.1.1 on libextism 1.41) cannot express, and how this driver copes:
- Plain numeric exports: libextism calls an export with no arguments, so `call_raw` is
  unsupported.
- A failing host function: the C API has no way to make one fail, so the plugin gets an
  empty result (handle 0) and runs on; the call is then reported as a trap naming
  the runner's error.
- Traps come back as a bare wasm backtrace; the cause ("call stack exhausted", "HTTP
  request to ... is not allowed") is only in libextism's error log, which this driver
  captures next to the plugin's logs to classify the error.
- Logging is process-global and set once: everything from the plugin is captured at
  trace and filtered per call to the level `load` asked for.
- libextism keeps the instance after a timeout or a trap (polyplug starts afresh):
  a guest runtime interrupted mid-call (Go, QuickJS) may fail the calls after it.
- Response headers: the driver opts in (extism_plugin_allow_http_response_headers),
  as polyplug always gives them to http_headers.
"""
import base64
import json
import os
import re
import sys
import time

# Before libextism loads: no Rust backtraces in error logs (slow, and noise), and a
# compiled-module cache under {state}/cache instead of the user's home.
os.environ.setdefault("RUST_LIB_BACKTRACE", "0")


def _state_dir():
    """{state}: the argument, else the folder holding the venv this runs in."""
    if len(sys.argv) > 1 and "{" not in sys.argv[1]:
        return os.path.abspath(sys.argv[1])
    if os.path.basename(sys.prefix) == "venv" and sys.prefix != sys.base_prefix:
        return os.path.dirname(sys.prefix)
    return None


if _state_dir():
    _cache = os.path.join(_state_dir(), "cache")
    os.makedirs(_cache, exist_ok=True)
    _cache_toml = os.path.join(_cache, "wasmtime-cache.toml")
    if not os.path.exists(_cache_toml):
        _tmp = f"{_cache_toml}.{os.getpid()}"  # drivers may start side by side
        with open(_tmp, "w") as f:
            f.write("[cache]\ndirectory = %s\n" % json.dumps(os.path.join(_cache, "wasmtime")))
        os.replace(_tmp, _cache_toml)
    os.environ["EXTISM_CACHE_CONFIG"] = _cache_toml

import extism  # noqa: E402
from extism.extism import CompiledPlugin  # noqa: E402  (1.1.1 has it, unexported)
from extism_sys import ffi, lib  # noqa: E402
from importlib.metadata import version as _pkg_version  # noqa: E402

NAME = "extism-python"
LEVELS = ["trace", "debug", "info", "warn", "error"]
ENV = "extism:host/env"

# Every function of extism:host/env an Extism PDK may import; `describe` reports those
# this libextism really links (probed, not assumed).
ENV_CANDIDATES = [
    "alloc", "free", "length", "length_unsafe", "load_u8", "load_u64", "store_u8",
    "store_u64", "input_offset", "input_length", "input_load_u8", "input_load_u64",
    "output_set", "error_set", "error_get", "config_get", "var_get", "var_set",
    "http_request", "http_status_code", "http_headers", "log_trace", "log_debug",
    "log_info", "log_warn", "log_error", "get_log_level", "memory_bytes", "reset",
]


# ---------------------------------------------------------------- protocol I/O

# The protocol owns the real stdout; anything else printing (a cffi traceback, a
# stray print) lands on stderr instead.
_proto_out = os.fdopen(os.dup(1), "w", encoding="utf-8", newline="\n")
os.dup2(2, 1)
sys.stdout = sys.stderr
_proto_in = sys.stdin.buffer


def send(obj):
    _proto_out.write(json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n")
    _proto_out.flush()


def receive():
    """The next request, or None at end of input."""
    while True:
        line = _proto_in.readline()
        if not line:
            return None
        if line.strip():
            return json.loads(line)


def b64(data):
    return base64.b64encode(bytes(data)).decode("ascii")


def unb64(text):
    return base64.b64decode(text or "", validate=True)


def failure(category, message, **extra):
    return dict(ok=False, error={"category": category, "message": message}, **extra)


def unsupported(what, **extra):
    return dict(ok=False, unsupported=what, **extra)


# ---------------------------------------------------------------- logs

class LogBuffer:
    """libextism buffers log events process-wide; drain() hands them over, parsed."""

    LINE = re.compile(
        r'^\S+\s+(TRACE|DEBUG|INFO|WARN|ERROR) ([\w:]+): (.*?)(?: plugin="([0-9a-f-]+)")?\n?$',
        re.S)

    def __init__(self):
        self.events = []  # (level, target, message, plugin id)

        @ffi.callback("void(char*, ExtismSize)")
        def collect(ptr, length):
            text = ffi.unpack(ptr, length).decode("utf-8", "replace")
            m = self.LINE.match(text)
            if m:
                self.events.append((m.group(1).lower(), m.group(2), m.group(3), m.group(4)))
            else:
                self.events.append(("info", "?", text, None))

        self._collect = collect
        # The plugin's own logs at every level; libextism's call diagnostics, which
        # carry what the call's error message leaves out (the cause of a trap, a WASI
        # exit code).
        lib.extism_log_custom(b"extism::pdk=trace,extism::plugin=debug")

    def drain(self):
        lib.extism_log_drain(self._collect)
        events, self.events = self.events, []
        return events


# ---------------------------------------------------------------- errors

def classify_load_error(message):
    m = message
    if "unknown import" in m or "Invalid function import" in m or "types incompatible" in m:
        return "unknown-import"
    if "Unable to load Wasm file" in m or "No such file" in m or "os error" in m:
        return "io"
    if "Unable to compile" in m or "WebAssembly" in m or "manifest format" in m:
        return "invalid-module"
    return "invalid-manifest"


def classify_call_error(export, rc, message, runtime_log):
    """The protocol category of a failed call, from the SDK's message and libextism's
    log of the call (its `Caused by:` says what a trap was)."""
    log = "\n".join(runtime_log)
    if f"call to {export} returned with error message" in log:
        return "plugin-error"  # error_set and a non-zero return
    exit_code = re.search(r"WASI exit code: (-?\d+)", log)
    if exit_code and exit_code.group(1) != "0":
        return "exit"
    if message is None:
        return "plugin-error"  # non-zero return without a message
    cause = log.split("Caused by:", 1)[1] if "Caused by:" in log else ""
    if message == "timeout" or cause.strip() == "timeout":
        return "timeout"  # also a timeout inside a host call (an HTTP request)
    if message == "oom":
        return "memory-limit"
    if message.startswith("Function not found"):
        return "missing-export"
    if re.search(r"HTTP request to .* is not allowed", cause):
        return "http-denied"
    if "call stack exhausted" in cause:
        return "stack-overflow"
    if "memory" in cause and ("limit" in cause or "grow" in cause):
        return "memory-limit"
    if cause and (cause.lstrip().startswith("io:") or "http" in cause.lower()):
        return "http"
    if message.startswith("error while executing at wasm backtrace") or "wasm trap" in cause:
        return "trap"
    return "plugin-error"  # error_set with a non-zero return, as classified above


def explain(message, rc, runtime_log):
    """The SDK's message, followed by what libextism logged about it: the cause of a
    trap, or the WASI exit code."""
    if message is None:
        return f"plugin returned {rc}"
    log = "\n".join(runtime_log)
    if "Caused by:" in log and "Caused by:" not in message:
        cause = log.split("Caused by:", 1)[1].strip()
        return f"{message}\n\nCaused by:\n    {cause}"
    exit_code = re.search(r"WASI exit code: (-?\d+)", log)
    if exit_code:
        return f"{message}\n\nWASI exit code: {exit_code.group(1)}"
    return message


# ---------------------------------------------------------------- host functions

class HostCalls:
    """User host functions whose work the runner does: each call is a host_call round
    trip on the protocol while the plugin waits."""

    def __init__(self):
        self.failed = None  # the first host function error of the current call

    def function(self, spec):
        ns, name = spec.get("namespace", "extism:host/user"), spec["name"]
        params, results = int(spec.get("params", 0)), int(spec.get("results", 0))

        @extism.host_fn(name=name, namespace=ns,
                        signature=([extism.ValType.I64] * params, [extism.ValType.I64] * results),
                        user_data=[name.encode()])
        def run(current, inputs, outputs, fn_name):
            fn_name = fn_name.decode()
            for out in outputs:
                out.value = 0
            if self.failed is not None:
                return  # already failed: the call is reported as failed anyway
            args = [b64(current.input_bytes(v)) if v.value else "" for v in inputs]
            send({"op": "host_call", "name": fn_name, "args_b64": args})
            answer = receive()
            if answer is None:
                os._exit(0)  # the runner went away mid-call
            if "error" in answer:
                self.failed = f"host function {fn_name} failed: {answer['error']}"
                return
            got = [unb64(r) for r in answer.get("results_b64", [])]
            if len(got) != len(outputs):
                self.failed = (f"host function {fn_name}: the runner gave {len(got)} "
                               f"results, {len(outputs)} expected")
                return
            for out, data in zip(outputs, got):
                if data:
                    current.return_bytes(out, data)
        return run


# ---------------------------------------------------------------- the driver

class Driver:
    def __init__(self):
        self.logs = LogBuffer()
        self.hosts = HostCalls()
        self.plugin = None
        self.level = 0

    def describe(self, req):
        return {
            "ok": True,
            "name": NAME,
            "version": f"extism {_pkg_version('extism')} (extism-sys {_pkg_version('extism-sys')}), "
                       f"libextism {extism.extism_version()}",
            "imports": linked_env_functions(),
            "raw_calls": False,
        }

    LOAD_FIELDS = {"op", "wasm", "wasi", "config", "allowed_hosts", "allowed_paths",
                   "timeout_ms", "max_pages", "log_level", "host_functions"}

    def load(self, req):
        self.plugin = None
        self.logs.drain()
        extra = sorted(k for k, v in req.items() if k not in self.LOAD_FIELDS and v not in (None, [], {}))
        if extra:
            return unsupported("load fields this host does not know: " + ", ".join(extra))
        level = req.get("log_level") or "trace"
        if level not in LEVELS:
            return failure("invalid-manifest", f"unknown log_level {level!r}")
        manifest = {"wasm": [{"path": req["wasm"]}]}
        if req.get("config"):
            manifest["config"] = req["config"]
        if req.get("allowed_hosts") is not None:
            manifest["allowed_hosts"] = req["allowed_hosts"]
        if req.get("allowed_paths"):
            manifest["allowed_paths"] = req["allowed_paths"]
        if req.get("timeout_ms") is not None:
            manifest["timeout_ms"] = int(req["timeout_ms"])
        if req.get("max_pages") is not None:
            manifest["memory"] = {"max_pages": int(req["max_pages"])}
        functions = [self.hosts.function(f) for f in req.get("host_functions") or []]
        try:
            self.plugin = extism.Plugin(manifest, wasi=bool(req.get("wasi")), functions=functions)
        except extism.Error as e:
            self.logs.drain()
            return failure(classify_load_error(str(e)), str(e))
        self.functions = functions  # kept alive as long as the plugin
        # libextism hides response headers from http_headers unless the host opts in;
        # polyplug always gives them.
        lib.extism_plugin_allow_http_response_headers(self.plugin.plugin)
        self.level = LEVELS.index(level)
        self.logs.drain()
        return {"ok": True}

    def call(self, req):
        if self.plugin is None:
            return failure("invalid-manifest", "call before load")
        export = req["export"]
        data = unb64(req.get("input_b64"))
        self.logs.drain()
        self.hosts.failed = None
        rc = lib.extism_plugin_call_with_host_context(
            self.plugin.plugin, export.encode(), data, len(data), ffi.NULL)
        err = lib.extism_plugin_error(self.plugin.plugin)
        message = ffi.string(err).decode("utf-8", "replace") if err != ffi.NULL else None
        output = b""
        if err == ffi.NULL and rc == 0:
            n = lib.extism_plugin_output_length(self.plugin.plugin)
            if n:
                output = ffi.unpack(ffi.cast("char*", lib.extism_plugin_output_data(self.plugin.plugin)), n)
        logs, runtime_log = [], []
        plugin_id = str(self.plugin.id)
        for level, target, text, pid in self.logs.drain():
            if pid not in (None, plugin_id):
                continue
            if target == "extism::pdk":
                if LEVELS.index(level) >= self.level:
                    logs.append({"level": level, "message": text})
            else:
                runtime_log.append(text)
        if self.hosts.failed is not None:
            return failure("trap", self.hosts.failed, logs=logs)
        if err != ffi.NULL or rc != 0:
            category = classify_call_error(export, rc, message, runtime_log)
            return failure(category, explain(message, rc, runtime_log), logs=logs)
        return {"ok": True, "output_b64": b64(output), "logs": logs}

    def bench(self, req):
        """Times the SDK itself, apart from the protocol (docs/hosts.md, "bench"), on a
        plugin of its own (the loaded one is left as it is). warm: one Plugin, one
        unmeasured call, then `warm` timed Plugin.call; fresh: `fresh` rounds of
        Plugin(compiled) + call + free on one CompiledPlugin made before timing, the
        SDK's way to make many instances of one module. The times include libextism's
        log capture this driver sets up once for the whole process (LogBuffer)."""
        export, data = req["export"], unb64(req.get("input_b64"))
        warm, fresh = int(req.get("warm") or 0), int(req.get("fresh") or 0)
        try:
            compiled = CompiledPlugin({"wasm": [{"path": req["wasm"]}]},
                                      wasi=bool(req.get("wasi")), functions=[])
        except extism.Error as e:
            self.logs.drain()
            return failure(classify_load_error(str(e)), str(e))
        try:
            warm_ns = fresh_ns = 0
            if warm > 0:
                with extism.Plugin(compiled) as plugin:
                    plugin.call(export, data)
                    start = time.perf_counter_ns()  # monotonic
                    for _ in range(warm):
                        plugin.call(export, data)
                    warm_ns = (time.perf_counter_ns() - start) / warm
            if fresh > 0:
                start = time.perf_counter_ns()
                for _ in range(fresh):
                    with extism.Plugin(compiled) as plugin:
                        plugin.call(export, data)
                fresh_ns = (time.perf_counter_ns() - start) / fresh
        except extism.Error as e:
            return failure(classify_call_error(export, 1, str(e), []), str(e))
        finally:
            self.logs.drain()  # libextism's log of the bench's calls, not any plugin's
        return {"ok": True, "warm_ns": warm_ns, "fresh_ns": fresh_ns}

    def call_raw(self, req):
        return unsupported("plain numeric exports: libextism calls an export without "
                           "arguments (extism_plugin_call has no way to pass them)")

    def unload(self, req):
        self.plugin = None
        self.logs.drain()
        return {"ok": True}

    def serve(self):
        while True:
            try:
                req = receive()
            except (ValueError, UnicodeDecodeError) as e:
                send(failure("invalid-manifest", f"bad request line: {e}"))
                continue
            if req is None:
                return
            op = req.get("op") if isinstance(req, dict) else None
            ops = ("describe", "load", "call", "call_raw", "bench", "unload")
            handler = getattr(self, op, None) if op in ops else None
            if handler is None:
                send(unsupported(f"op {op!r}"))
                continue
            try:
                send(handler(req))
            except (KeyError, TypeError, ValueError) as e:
                send(failure("invalid-manifest", f"bad {op} request: {type(e).__name__}: {e}"))


# ---------------------------------------------------------------- import probe

def linked_env_functions():
    """The extism:host/env functions libextism links: a one-import module per candidate,
    typed () -> () on purpose; a linked name fails with a type mismatch, an unknown one
    with 'Invalid function import'."""
    linked = []
    for name in ENV_CANDIDATES:
        try:
            extism.Plugin(_one_import_module(ENV, name), wasi=False, functions=[])
            linked.append(name)
        except extism.Error as e:
            if "Invalid function import" not in str(e) and "unknown import" not in str(e):
                linked.append(name)
    return linked


def _one_import_module(module, name):
    def leb(n):
        out = bytearray()
        while True:
            byte, n = n & 0x7F, n >> 7
            out.append(byte | (0x80 if n else 0))
            if not n:
                return bytes(out)

    def string(s):
        return leb(len(s.encode())) + s.encode()

    def section(id, body):
        return bytes([id]) + leb(len(body)) + body

    types = section(1, b"\x01\x60\x00\x00")                       # one type: () -> ()
    imports = section(2, b"\x01" + string(module) + string(name) + b"\x00\x00")
    return b"\0asm\1\0\0\0" + types + imports


if __name__ == "__main__":
    Driver().serve()
    sys.exit(0)
