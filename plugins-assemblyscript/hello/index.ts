// Spec `hello`: "{greeting}, {input}!", greeting from config `greeting` or
// `Hello`; an empty input greets `World`.
import { Config, Host, Memory } from "@extism/as-pdk";
import { error_set } from "@extism/as-pdk/lib/env";

export function greet(): i32 {
  const name = Host.inputString();
  const configured = Config.get("greeting");
  const greeting = configured === null ? "Hello" : configured;
  output(`${greeting}, ${name.length == 0 ? "World" : name}!`);
  return 0;
}

// Not Host.outputString: as-pdk 1.0.0 passes the string's UTF-16 length as
// the byte length, so non-ASCII output is cut short or written past its block.
function output(text: string): void {
  Host.output(Uint8Array.wrap(String.UTF8.encode(text)));
}

// The runtime's abort hook (built with `--use abort=hello/index/myAbort`): a
// throw or a failed assertion becomes the call's error message, then a trap.
function myAbort(message: string | null, fileName: string | null, line: u32, column: u32): void {
  const where = fileName === null ? "" : ` (${fileName}:${line}:${column})`;
  error_set(Memory.allocateString((message === null ? "abort" : message) + where).offset);
  unreachable();
}
