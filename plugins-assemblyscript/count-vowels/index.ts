// Spec `count-vowels`: counts the input's Unicode scalar values that are in
// the vowel set (config `vowels` or `aeiouAEIOU`) and keeps a running total,
// as decimal text, in var `total`. The output's bytes are shared by every
// language: {"count":C,"total":T,"vowels":V}, no spaces.
import { Config, Host, Var } from "@extism/as-pdk";
import { jsonString, output } from "../common";

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
