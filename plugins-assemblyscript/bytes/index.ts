// Spec `bytes`: binary-safe echo, reverse and length. The input stays a byte
// array end to end: never decoded as text, so NUL bytes and invalid UTF-8
// pass through unchanged.
import { Host } from "@extism/as-pdk";
import { input_length } from "@extism/as-pdk/lib/env";
import { output } from "../common";

export function echo(): i32 {
  Host.output(Host.input());
  return 0;
}

export function reverse(): i32 {
  const input = Host.input();
  input.reverse();
  Host.output(input);
  return 0;
}

// The host knows the length: no need to copy the input in.
export function length(): i32 {
  output(input_length().toString());
  return 0;
}
