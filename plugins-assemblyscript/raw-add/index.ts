// Spec `raw-add`: a plain numeric export, no Extism ABI. i32 arithmetic
// wraps on overflow, as the spec asks.
export function add(a: i32, b: i32): i32 {
  return a + b;
}

// The runtime's abort hook (built with `--use abort=raw-add/index/myAbort`).
// This plugin has no Extism import to report through, so it only traps.
function myAbort(message: string | null, fileName: string | null, line: u32, column: u32): void {
  unreachable();
}
