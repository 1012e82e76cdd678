// Spec `count-vowels`: counts the input's Unicode scalar values that are in
// the vowel set (config `vowels` or `aeiouAEIOU`) and keeps a running total,
// as decimal text, in var `total`. The output's bytes are shared by every
// language: {"count":C,"total":T,"vowels":V}, no spaces.
import { Config, Host, Memory, Var } from "@extism/as-pdk";
import { error_set } from "@extism/as-pdk/lib/env";

const DEFAULT_VOWELS = "aeiouAEIOU";

export function count_vowels(): i32 {
  const input = Host.inputString();
  const configured = Config.get("vowels");
  const vowels = configured === null ? DEFAULT_VOWELS : configured;
  const set = new Set<i32>();
  const wanted = codePoints(vowels);
  for (let i = 0; i < wanted.length; i++) set.add(wanted[i]);

  let count: u64 = 0;
  const points = codePoints(input);
  for (let i = 0; i < points.length; i++) {
    if (set.has(points[i])) count++;
  }

  const previous = Var.getString("total");
  const total = (previous === null ? <u64>0 : U64.parseInt(previous)) + count;
  Var.set("total", Uint8Array.wrap(String.UTF8.encode(total.toString())));

  output(`{"count":${count},"total":${total},"vowels":${jsonString(vowels)}}`);
  return 0;
}

// Strings are UTF-16: a character outside the BMP is two code units but one
// scalar value, and counts once.
function codePoints(text: string): i32[] {
  const out = new Array<i32>();
  for (let i = 0; i < text.length; ) {
    const point = text.codePointAt(i);
    out.push(point);
    i += point >= 0x10000 ? 2 : 1;
  }
  return out;
}

// A JSON string literal as serde_json writes it: quotes, backslashes and
// control characters escaped, everything else as it is.
function jsonString(text: string): string {
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

// Not Host.outputString: as-pdk 1.0.0 passes the string's UTF-16 length as
// the byte length, so non-ASCII output is cut short or written past its block.
function output(text: string): void {
  Host.output(Uint8Array.wrap(String.UTF8.encode(text)));
}

// The runtime's abort hook (built with `--use abort=count-vowels/index/myAbort`):
// a throw or a failed assertion becomes the call's error message, then a trap.
function myAbort(message: string | null, fileName: string | null, line: u32, column: u32): void {
  const where = fileName === null ? "" : ` (${fileName}:${line}:${column})`;
  error_set(Memory.allocateString((message === null ? "abort" : message) + where).offset);
  unreachable();
}
