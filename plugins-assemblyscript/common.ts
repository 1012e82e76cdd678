// What every AssemblyScript plugin shares: writing text out, failing with a
// message, JSON string literals, and the runtime's abort hook. A top-level
// file, not a folder, so build-all never takes it for a plugin; it is an
// input of every plugin, so an edit here rebuilds them all. Each plugin
// imports what it uses from "../common"; one that uses none of it still
// writes `import "../common";`, since the build names the abort hook here.
import { Host, Memory } from "@extism/as-pdk";
import { error_set } from "@extism/as-pdk/lib/env";

/**
 * Sets the call's output to `text`, UTF-8 encoded. Not Host.outputString:
 * as-pdk 1.0.0 passes the string's UTF-16 length as the byte length, so
 * non-ASCII output is cut short or written past its block.
 */
export function output(text: string): void {
  Host.output(Uint8Array.wrap(String.UTF8.encode(text)));
}

/**
 * Sets `message` as the call's error and returns 1: an export that returns
 * it (`return fail(...)`) is a plugin error the host reports with that
 * message, and the instance stays usable. as-pdk 1.0.0 has no error helper.
 */
export function fail(message: string): i32 {
  error_set(Memory.allocateString(message).offset);
  return 1;
}

/**
 * A JSON string literal as serde_json writes it: quotes, backslashes and
 * control characters escaped, everything else as it is.
 */
export function jsonString(text: string): string {
  let out = '"';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c == 0x22) out += '\\"';
    else if (c == 0x5c) out += "\\\\";
    else if (c == 0x0a) out += "\\n";
    else if (c == 0x0d) out += "\\r";
    else if (c == 0x09) out += "\\t";
    else if (c == 0x08) out += "\\b";
    else if (c == 0x0c) out += "\\f";
    else if (c < 0x20) out += "\\u00" + (c < 0x10 ? "0" : "") + c.toString(16);
    else out += String.fromCharCode(c);
  }
  return out + '"';
}

/**
 * The runtime's abort hook (build-all passes `--use abort=common/myAbort`;
 * asc's default imports env.abort, which no Extism host provides): a throw
 * or a failed assertion becomes the call's error message, then a trap. It is
 * compiled only into a plugin that can abort, so a plugin that never throws
 * (raw-add) gets none of its Extism imports.
 */
export function myAbort(message: string | null, fileName: string | null, line: u32, column: u32): void {
  const where = fileName === null ? "" : ` (${fileName}:${line}:${column})`;
  error_set(Memory.allocateString((message === null ? "abort" : message) + where).offset);
  unreachable();
}
