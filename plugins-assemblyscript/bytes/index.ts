// Spec `bytes`: binary-safe echo, reverse and length. The input stays a byte
// array end to end: never decoded as text, so NUL bytes and invalid UTF-8
// pass through unchanged.
import { Host, Memory } from "@extism/as-pdk";
import { error_set, input_length } from "@extism/as-pdk/lib/env";

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

// Not Host.outputString: as-pdk 1.0.0 passes the string's UTF-16 length as
// the byte length, so non-ASCII output is cut short or written past its block.
function output(text: string): void {
  Host.output(Uint8Array.wrap(String.UTF8.encode(text)));
}

// The runtime's abort hook (built with `--use abort=bytes/index/myAbort`):
// a throw or a failed assertion becomes the call's error message, then a trap.
function myAbort(message: string | null, fileName: string | null, line: u32, column: u32): void {
  const where = fileName === null ? "" : ` (${fileName}:${line}:${column})`;
  error_set(Memory.allocateString((message === null ? "abort" : message) + where).offset);
  unreachable();
}
