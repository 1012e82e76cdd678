// Spec `raw-add`: a plain numeric export, no Extism ABI. i32 arithmetic
// wraps on overflow, as the spec asks.
//
// Nothing of common.ts is called here, but it holds the abort hook the build
// names (`--use abort=common/myAbort`). Nothing here can abort, so the hook
// is never compiled in and the module still imports nothing.
import "../common";

export function add(a: i32, b: i32): i32 {
  return a + b;
}
