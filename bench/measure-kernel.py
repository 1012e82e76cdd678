"""Run the kernel-memory probes of crates/host/tests/kernel/official.toml on the official
Extism runtime and compare what each one observes with what the file records.

Each probe is a small WAT plugin (export `run`, `() -> i32`) that calls functions of
`extism:host/env` at out-of-block and out-of-range positions and reports what it saw
in its output (usually one 8-byte little-endian slot per observed value, named in the
probe's `[probe.values]` table). The recorded observation of a probe is its status
("ok" | "error"), its output bytes and its error message.

Run (python 3.11+, `extism` 1.1.1 which bundles libextism 1.41, `wasmtime` for WAT):
    python3 -m venv /work/venv-extism
    /work/venv-extism/bin/pip install extism==1.1.1 wasmtime
    /work/venv-extism/bin/python bench/measure-kernel.py           # diff, exit 1 if any
    /work/venv-extism/bin/python bench/measure-kernel.py --write   # record observations
    /work/venv-extism/bin/python bench/measure-kernel.py NAME...   # only these probes

To add a probe, append a [[probe]] table (name, about, export, input, layout_dependent,
wat; and a [probe.values] table naming the output's 8-byte slots, any placeholder
value) and run --write NAME.

Every probe runs in its own child process on a fresh plugin instance, so a probe that
crashes the runtime is recorded (status "crash") instead of ending the run.
"""
import json, os, struct, subprocess, sys, tomllib
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "crates", "host", "tests", "kernel", "official.toml")

# Fields in the order they are written; the observed ones are rewritten by --write.
AUTHORED = ["name", "about", "export", "input", "input_hex", "config", "log_level", "layout_dependent", "notes"]
OBSERVED = ["status", "rc", "output", "output_hex", "output_length", "error_kind", "error", "error_hex"]


def input_bytes(p):
    if "input_hex" in p:
        return bytes.fromhex(p["input_hex"])
    return p.get("input", "").encode()


def run_one(p):
    """In the child: instantiate the probe on the official runtime and call it through
    libextism's C API (the SDK's `Plugin.call` cannot show an output longer than memory,
    an error message that is not UTF-8, or a non-zero return code without a message)."""
    import extism, wasmtime
    from extism_sys import lib, ffi
    if p.get("log_level"):
        extism.set_log_file("stderr", p["log_level"])
    wasm = bytes(wasmtime.wat2wasm(p["wat"]))
    plugin = extism.Plugin(wasm, wasi=False, config=p.get("config"), functions=[])
    data = input_bytes(p)
    rc = lib.extism_plugin_call(plugin.plugin, p.get("export", "run").encode(), data, len(data))
    err = lib.extism_plugin_error(plugin.plugin)
    obs = {"rc": rc}
    if err != ffi.NULL:
        obs["error"] = ffi.string(err).hex()
    if err == ffi.NULL and rc == 0:
        n = lib.extism_plugin_output_length(plugin.plugin)
        obs["output_length"] = n
        if n <= 1 << 30:
            obs["output"] = bytes(ffi.buffer(lib.extism_plugin_output_data(plugin.plugin), n)).hex()
    return obs


def observe(p):
    """In the parent: run one probe in a child process."""
    r = subprocess.run([sys.executable, __file__, "--child"], input=json.dumps(p).encode(),
                       capture_output=True, timeout=120)
    if r.returncode != 0:
        tail = r.stderr.decode(errors="replace").strip().splitlines()[-1:] or [""]
        return {"crash": f"exit {r.returncode}: {tail[0]}"}
    return json.loads(r.stdout)


def slots(b):
    if len(b) % 8:
        return None
    return [fmt_u64(struct.unpack_from("<Q", b, i)[0]) for i in range(0, len(b), 8)]


def fmt_u64(v):
    return str(v) if v < 0x10000 else f"0x{v:016x}"


def text(b):
    """b as a TOML-friendly string if it is printable UTF-8, else None."""
    try:
        s = b.decode()
    except UnicodeDecodeError:
        return None
    return s if all(c.isprintable() or c == "\n" for c in s) else None


def record(p, obs):
    """The observed fields of probe p for observation obs (what --write stores)."""
    r = {}
    if "crash" in obs:
        return {"status": "crash", "error": obs["crash"]}
    failed = obs["rc"] != 0 or "error" in obs
    r["status"] = "error" if failed else "ok"
    if failed:
        if obs["rc"] != 0:
            r["rc"] = obs["rc"]
        if "error" in obs:
            msg = bytes.fromhex(obs["error"])
            # a trap reports the wasm backtrace; error_set reports the plugin's message
            r["error_kind"] = "trap" if b"wasm backtrace" in msg else "plugin-error"
            if text(msg) is not None:
                r["error"] = text(msg)
            else:
                r["error_hex"] = msg.hex()
        else:
            r["error_kind"] = "plugin-error"
        return r
    if "output" not in obs:
        r["output_length"] = str(obs["output_length"])
        return r
    out = bytes.fromhex(obs["output"])
    if "values" in p:
        r["output_hex"] = out.hex()
        got = slots(out) or []
        r["values"] = {l: (got[i] if i < len(got) else "missing") for i, l in enumerate(p["values"])}
    elif text(out) is not None:
        r["output"] = text(out)
    else:
        r["output_hex"] = out.hex()
    return r


def apply(p, obs):
    for k in OBSERVED:
        p.pop(k, None)
    r = record(p, obs)
    labels = p.pop("values", None)
    p.update(r)
    if labels is not None and "values" not in p:
        p["values"] = {l: "not reached" for l in labels}


def diff(p, obs):
    """Differences between a probe's record and an observation, as lines."""
    r = record(p, obs)
    d = []
    for k in OBSERVED + ["values"]:
        if k == "values" and k not in r:
            continue
        if p.get(k) != r.get(k):
            if k == "values":
                for label, want in p[k].items():
                    if r[k].get(label) != want:
                        d.append(f"{label}: recorded {want}, observed {r[k].get(label)}")
            else:
                d.append(f"{k}: recorded {p.get(k)!r}, observed {r.get(k)!r}")
    return d


HEADER = """
Kernel-memory probes: what the official Extism runtime (Python `extism` 1.1.1,
libextism 1.41) does when a plugin calls `extism:host/env` functions at out-of-block
and out-of-range positions. Written by bench/measure-kernel.py --write; the observed
fields (status, output/output_hex, error, the values of [probe.values]) are its
output, the rest is authored. docs/kernel-memory.md summarises them.

Each probe: a WAT module exporting `run` (() -> i32), called once with `input` on a
fresh plugin instance (no WASI, no host functions, manifest config = `config`).
[probe.values] names the 8-byte little-endian slots of the output, in order, with the
value observed (decimal below 65536, else hex). layout_dependent = true: the result
depends on the official allocator's layout (block headers between blocks, handle
numbers, page growth, stale bytes), so another allocator may differ and still be
compatible; false: any compatible host must produce exactly this.
"""


# --- TOML writer (the file is regenerated by --write; keep it stable and readable) ---

def tstr(s):
    return json.dumps(s, ensure_ascii=False)


def tval(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return tstr(v)
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{tstr(k)} = {tval(x)}" for k, x in v.items()) + " }"
    raise TypeError(v)


def dump(doc):
    out = ["# " + l if l else "#" for l in HEADER.strip().splitlines()]
    for p in doc["probe"]:
        out.append("")
        out.append("[[probe]]")
        for k in AUTHORED + OBSERVED:
            if k in p:
                out.append(f"{k} = {tval(p[k])}")
        assert "'''" not in p["wat"]
        out.append("wat = '''\n" + p["wat"].strip("\n") + "\n'''")
        if "values" in p:
            out.append("[probe.values]")
            for k, v in p["values"].items():
                out.append(f"{tstr(k)} = {tstr(v)}")
    return "\n".join(out) + "\n"


def load():
    with open(DATA, "rb") as f:
        doc = tomllib.load(f)
    return doc


def main(argv):
    if argv[:1] == ["--child"]:
        p = json.loads(sys.stdin.buffer.read())
        sys.stdout.write(json.dumps(run_one(p)))
        return 0
    write = "--write" in argv
    names = [a for a in argv if not a.startswith("--")]
    doc = load()
    probes = [p for p in doc["probe"] if not names or p["name"] in names]
    unknown = set(names) - {p["name"] for p in probes}
    if unknown:
        print(f"no such probe: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        results = list(pool.map(observe, probes))
    ndiff = 0
    for p, obs in zip(probes, results):
        d = diff(p, obs)
        if d:
            ndiff += 1
            print(f"{p['name']}:")
            for line in d:
                print(f"  {line}")
        if write:
            apply(p, obs)
    if write:
        with open(DATA, "w") as f:
            f.write(dump(doc))
        print(f"{len(probes)} probes run, {ndiff} changed; wrote {os.path.relpath(DATA)}")
        return 0
    print(f"{len(probes)} probes run, {ndiff} with differences")
    return 1 if ndiff else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
