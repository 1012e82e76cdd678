// hostile: the abuses the Extism JS API can express (docs/reliability.md).
// It has no raw alloc, free, error_set, var_set or output_set on a handle
// (MemoryHandle.free() does nothing, as in extism-js) and no file access, so
// the alloc loop, the forged and freed handle cases and the symlink case are
// n/a for JavaScript (fixtures/hostile/spec.toml).
const { kv_read } = Host.getFunctions();

// 64 MiB of zeros as the output.
function output_64mib() {
  Host.outputBytes(new ArrayBuffer(64 << 20));
}

// var `big` set to 1 MiB + 1 bytes: one past the default max_var_bytes.
function var_too_big() {
  Var.set("big", new ArrayBuffer((1 << 20) + 1));
  Host.outputString("set");
}

// 10^6 debug logs (below the case's log level, so none is kept).
function log_million() {
  for (let i = 0; i < 1000000; i++) {
    console.debug("done");
  }
  Host.outputString("done");
}

// Outputs the input.
function echo() {
  Host.outputBytes(Host.inputBytes());
}

// Calls the host's kv_read forever: only the call's timeout ends it.
function host_fn_spin() {
  const key = Memory.fromString("key");
  for (;;) {
    kv_read(key.offset);
  }
}

// Unbounded recursion with a host call at every level.
function deep(key) {
  return kv_read(key) + deep(key);
}

function host_fn_recurse() {
  Host.outputString(String(deep(Memory.fromString("key").offset)));
}

// GET the input URL; the body is the output.
function fetch() {
  const response = Http.request({ url: Host.inputString(), method: "GET" });
  Host.outputString(response.body);
}

module.exports = { output_64mib, var_too_big, log_million, echo, host_fn_spin, host_fn_recurse, fetch };
