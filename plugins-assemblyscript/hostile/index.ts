// Spec `hostile`: a plugin that abuses the host, one export per abuse
// (docs/reliability.md). @extism/as-pdk exports the raw ABI (`lib/env`:
// alloc, free, error_set, var_set, output_set, http_request) beside its
// classes, so every case is here but the symlink one: as-pdk has no WASI,
// hence no file access.
import { Host, LogLevel, Memory, Var } from "@extism/as-pdk";
import { alloc, error_set, free, http_request, length, output_set, var_set } from "@extism/as-pdk/lib/env";
import { fail, jsonString, output } from "../common";

@external("extism:host/user", "kv_read")
declare function kv_read(key: u64): u64;

// A handle no alloc returned: far past anything a test allocates.
const FORGED: u64 = 0x7fff0000;

// 1 MiB blocks until the host refuses one: alloc answers 0.
export function alloc_loop(): i32 {
  while (alloc(1 << 20) != 0) {}
  return fail("alloc returned 0");
}

// One 64 MiB block, never written (zeros), set as the output.
export function output_64mib(): i32 {
  const block = Memory.allocate(64 << 20);
  if (block.offset == 0) return fail("alloc returned 0");
  Host.outputMemory(block);
  return 0;
}

// var `big` set to 1 MiB + 1 bytes: one past the default max_var_bytes.
export function var_too_big(): i32 {
  Var.set("big", new Uint8Array((1 << 20) + 1));
  output("set");
  return 0;
}

// 10^6 debug logs (below the case's log level, so none is kept). as-pdk does
// not check the level: every message reaches the host.
export function log_million(): i32 {
  for (let i = 0; i < 1000000; i++) {
    Host.log(LogLevel.Debug, "done");
  }
  output("done");
  return 0;
}

export function error_set_forged(): i32 {
  error_set(FORGED);
  return 1;
}

export function error_set_freed(): i32 {
  const message = Memory.allocateString("freed message");
  message.free();
  error_set(message.offset);
  return 1;
}

export function free_forged(): i32 {
  free(FORGED);
  output("survived");
  return 0;
}

export function free_twice(): i32 {
  const block = Memory.allocate(16);
  block.free();
  block.free();
  output("survived");
  return 0;
}

export function output_set_forged(): i32 {
  output_set(FORGED, 16);
  return 0;
}

export function output_set_freed(): i32 {
  const block = Memory.allocateString("freed output");
  block.free();
  Host.outputMemory(block);
  return 0;
}

export function var_set_forged(): i32 {
  var_set(FORGED, FORGED);
  output("survived");
  return 0;
}

export function var_set_freed(): i32 {
  const key = Memory.allocateString("big");
  const value = Memory.allocateString("survived");
  key.free();
  value.free();
  var_set(key.offset, value.offset);
  output("survived");
  return 0;
}

// Outputs the input.
export function echo(): i32 {
  Host.output(Host.input());
  return 0;
}

// Calls the host's kv_read forever: only the call's timeout ends it.
export function host_fn_spin(): i32 {
  const key = Memory.allocateString("key");
  while (true) {
    kv_read(key.offset);
  }
  return 0;
}

// Unbounded recursion with a host call at every level.
export function host_fn_recurse(): i32 {
  const key = Memory.allocateString("key");
  sink = deep(key.offset);
  output("returned");
  return 0;
}

let sink: u64 = 0;

function deep(key: u64): u64 {
  return kv_read(key) + deep(key);
}

// GET the input URL through the host's http_request (as-pdk declares it but
// has no HTTP class); the body is the output.
export function fetch(): i32 {
  const url = Host.inputString();
  const request = Memory.allocateString(`{"method":"GET","url":${jsonString(url)}}`);
  const response = http_request(request.offset, 0);
  output_set(response, response == 0 ? 0 : length(response));
  return 0;
}
