// Spec `errors`: `fail` reports a plugin error `failed: {input}` and leaves
// the instance usable; `panic` throws, which AssemblyScript turns into a call
// to the abort hook and a trap.
import { Host, Memory } from "@extism/as-pdk";
import { error_set } from "@extism/as-pdk/lib/env";

export function fail(): i32 {
  error_set(Memory.allocateString(`failed: ${Host.inputString()}`).offset);
  return 1;
}

export function panic(): i32 {
  throw new Error(`panic: ${Host.inputString()}`);
}

// The runtime's abort hook (built with `--use abort=errors/index/myAbort`):
// a throw or a failed assertion becomes the call's error message, then a trap.
function myAbort(message: string | null, fileName: string | null, line: u32, column: u32): void {
  const where = fileName === null ? "" : ` (${fileName}:${line}:${column})`;
  error_set(Memory.allocateString((message === null ? "abort" : message) + where).offset);
  unreachable();
}
