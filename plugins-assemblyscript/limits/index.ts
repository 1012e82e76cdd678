// Spec `limits`: runaway plugins the host must stop: an endless loop
// (timeout), unbounded allocation (memory limit) and unbounded recursion
// (a wasm stack overflow: AssemblyScript keeps its frames on the wasm stack).
//
// Nothing of common.ts is called here, but it holds the abort hook the
// build names (`--use abort=common/myAbort`).
import "../common";

export function spin(): i32 {
  let n: u64 = 0;
  while (true) {
    n++;
  }
  return <i32>n;
}

// Held by a global, so the collector can never give the chunks back.
const hoard = new Array<Uint8Array>();

export function grow(): i32 {
  while (true) {
    const chunk = new Uint8Array(1 << 20);
    chunk.fill(1);
    hoard.push(chunk);
  }
  return hoard.length;
}

export function recurse(): i32 {
  return deeper(0);
}

// Not a tail call (the `+ 1` runs after it), so no optimiser can make it a loop.
function deeper(depth: i32): i32 {
  return deeper(depth + 1) + 1;
}
