"""Smoke test of the extism-python driver: plays the runner over the protocol.

    {state}/venv/bin/python smoke.py [ARTIFACTS_DIR] [STATE_DIR]

ARTIFACTS_DIR defaults to ../../target/plugins (relative to this folder), the built
plugins (rust/hello.wasm, ...). STATE_DIR (optional) is passed on to the driver.
Prints "N passed, M failed" and exits non-zero when something failed.
"""
import base64
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ARTIFACTS = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", "target", "plugins"))
STATE = sys.argv[2:3]


def wasi_flags():
    """path under ARTIFACTS -> whether the artifact needs WASI (from manifest.json)."""
    try:
        with open(os.path.join(ARTIFACTS, "manifest.json")) as f:
            arts = json.load(f)["artifacts"]
    except (OSError, ValueError, KeyError):
        return {}
    return {os.path.relpath(a["path"], "target/plugins"): bool(a.get("wasi")) for a in arts}


WASI = wasi_flags()


class Driver:
    def __init__(self):
        self.proc = subprocess.Popen([sys.executable, os.path.join(HERE, "driver.py"), *STATE],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=HERE)
        self.kv = {}

    def request(self, req):
        self.proc.stdin.write((json.dumps(req) + "\n").encode())
        self.proc.stdin.flush()
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError("driver exited")
            msg = json.loads(line)
            if msg.get("op") != "host_call":
                return msg
            self.proc.stdin.write((json.dumps(self.host_call(msg)) + "\n").encode())
            self.proc.stdin.flush()

    def host_call(self, msg):
        """The runner's kv store behind kv_read / kv_write."""
        args = [base64.b64decode(a) for a in msg["args_b64"]]
        if msg["name"] == "kv_read" and args[0] == b"explode":
            return {"error": "the store is on fire"}
        if msg["name"] == "kv_read":
            return {"results_b64": [base64.b64encode(self.kv.get(args[0], b"")).decode()]}
        if msg["name"] == "kv_write":
            self.kv[args[0]] = args[1]
            return {"results_b64": []}
        return {"error": f"no host function {msg['name']}"}

    def load(self, plugin, **fields):
        req = {"op": "load", "wasm": os.path.join(ARTIFACTS, plugin), "wasi": WASI.get(plugin, plugin.startswith("go/")),
               "config": {}, "allowed_hosts": [], "allowed_paths": {}, "timeout_ms": 30000,
               "max_pages": None, "log_level": "trace", "host_functions": []}
        req.update(fields)
        return self.request(req)

    def call(self, export, data=b""):
        r = self.request({"op": "call", "export": export, "input_b64": base64.b64encode(data).decode()})
        if r.get("ok"):
            r["output"] = base64.b64decode(r["output_b64"])
        return r

    def close(self):
        self.proc.stdin.close()
        return self.proc.wait(timeout=30)


KV = [{"namespace": "extism:host/user", "name": "kv_read", "params": 1, "results": 1},
      {"namespace": "extism:host/user", "name": "kv_write", "params": 2, "results": 0}]

passed = failed = 0


def check(what, cond, got=None):
    global passed, failed
    if cond:
        passed += 1
        print(f"ok    {what}")
    else:
        failed += 1
        print(f"FAIL  {what}: {json.dumps(got)[:300] if got is not None else ''}")


def error_of(r):
    return (r.get("error") or {}).get("category"), (r.get("error") or {}).get("message")


d = Driver()

r = d.request({"op": "describe"})
check("describe names the host and links http_headers",
      r.get("ok") and r.get("name") == "extism-python" and "http_headers" in r.get("imports", [])
      and r.get("raw_calls") is False, r)

r = d.load("rust/hello.wasm")
check("load rust/hello", r.get("ok"), r)
r = d.call("greet", b"Bob")
check('greet "Bob" -> "Hello, Bob!"', r.get("ok") and r["output"] == b"Hello, Bob!", r)
r = d.call("nope")
check("a missing export is missing-export", error_of(r)[0] == "missing-export", r)

r = d.load("rust/hello.wasm", config={"greeting": "Howdy"})
r = d.call("greet", b"Bob")
check('config greeting: "Howdy, Bob!"', r.get("ok") and r["output"] == b"Howdy, Bob!", r)

for lang in ("rust", "go"):
    d.kv.clear()
    r = d.load(f"{lang}/host-fns.wasm", host_functions=KV)
    check(f"load {lang}/host-fns with kv host functions", r.get("ok"), r)
    r1, r2 = d.call("remember", b"k=v"), d.call("recall", b"k")
    check(f"{lang} kv round trip: remember k=v, recall k -> v",
          r1.get("ok") and r2.get("ok") and r2["output"] == b"v" and d.kv == {b"k": b"v"}, [r1, r2])
    r = d.call("recall", b"absent")
    check(f"{lang} recall of a missing key -> <missing>", r.get("ok") and r["output"] == b"<missing>", r)

r = d.call("recall", b"explode")
check("a host function the runner fails fails the call (as a trap)",
      error_of(r)[0] == "trap" and "the store is on fire" in error_of(r)[1], r)
r = d.call("recall", b"k")
check("the next call after a failed host function runs", r.get("ok") and r["output"] == b"v", r)

r = d.load("rust/host-fns.wasm")
check("host-fns without host functions is unknown-import", error_of(r)[0] == "unknown-import", r)

r = d.load("rust/errors.wasm")
r = d.call("fail", b"boom")
check('errors/fail "boom" -> plugin-error "failed: boom"', error_of(r) == ("plugin-error", "failed: boom"), r)
r = d.call("panic", b"oops")
check("errors/panic (rust) is a trap", error_of(r)[0] == "trap", r)
r = d.call("fail", b"after")
check("the plugin still runs after a trap", error_of(r) == ("plugin-error", "failed: after"), r)

r = d.load("rust/limits.wasm", timeout_ms=200)
r = d.call("spin")
check("limits/spin with timeout_ms 200 -> timeout", error_of(r)[0] == "timeout", r)
r = d.load("rust/limits.wasm", max_pages=512, timeout_ms=10000)
r = d.call("grow")
check("limits/grow with max_pages 512 -> memory-limit", error_of(r)[0] == "memory-limit", r)

levels = ["trace", "debug", "info", "warn", "error"]
r = d.load("rust/log.wasm", log_level="trace")
r = d.call("log", b"hi")
check("log/log at trace: all five levels in order",
      r.get("ok") and r["logs"] == [{"level": l, "message": f"{l}: hi"} for l in levels], r)
r = d.load("rust/log.wasm", log_level="warn")
r = d.call("log", b"hi")
check("log/log at warn: warn and error only",
      r.get("ok") and r["logs"] == [{"level": l, "message": f"{l}: hi"} for l in ("warn", "error")], r)

r = d.load("rust/http.wasm", allowed_hosts=["example.invalid"])
r = d.call("fetch", b"http://127.0.0.1:9/text")
check("http to a host outside allowed_hosts -> http-denied, with libextism's cause",
      error_of(r)[0] == "http-denied" and "is not allowed" in error_of(r)[1], r)

r = d.load("rust/hello.wasm")
r = d.request({"op": "bench", "wasm": os.path.join(ARTIFACTS, "rust/bytes.wasm"), "wasi": False,
               "export": "echo", "input_b64": base64.b64encode(b"hello").decode(), "warm": 20, "fresh": 3})
after = d.call("greet", b"Bob")
check("bench rust/bytes echo: positive times, the loaded plugin untouched",
      r.get("ok") and r["warm_ns"] > 0 and r["fresh_ns"] > 0 and after.get("output") == b"Hello, Bob!",
      [r, after])

r = d.request({"op": "call_raw", "export": "add", "args": [{"i32": 1}, {"i32": 2}]})
check("call_raw is unsupported", r.get("ok") is False and "unsupported" in r, r)
check("unload", d.request({"op": "unload"}).get("ok"))
check("end of input exits 0", d.close() == 0)

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
