// Spec `errors`: `fail` reports a plugin error `failed: {input}` and leaves
// the instance usable; `panic` throws, which AssemblyScript turns into a call
// to the abort hook and a trap.
import { Host } from "@extism/as-pdk";
import { fail as failWith } from "../common";

export function fail(): i32 {
  return failWith(`failed: ${Host.inputString()}`);
}

export function panic(): i32 {
  throw new Error(`panic: ${Host.inputString()}`);
}
