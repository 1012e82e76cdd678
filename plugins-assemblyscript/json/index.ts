// Spec `json`: {"name":s,"scores":[n...]} -> {"name":UPPER,"count","sum","min",
// "max","mean"}, min/max/mean null when there are no scores. Input of any
// other shape is a plugin error starting `invalid input`, never a trap.
//
// A small strict parser for exactly this shape, so the plugin needs nothing
// beyond the PDK.
import { Host } from "@extism/as-pdk";
import { fail, jsonString, output } from "../common";

export function summarize(): i32 {
  const parser = new Parser(Host.inputString());
  if (!parser.scores()) {
    return fail(`invalid input: ${parser.error}`);
  }
  const scores = parser.values;
  let sum = 0.0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < scores.length; i++) {
    const x = scores[i];
    sum += x;
    if (x < min) min = x;
    if (x > max) max = x;
  }
  const empty = scores.length == 0;
  const mean = empty ? 0.0 : sum / scores.length;
  const out =
    `{"name":${jsonString(parser.name.toUpperCase())},"count":${scores.length},` +
    `"sum":${number(sum)},"min":${empty ? "null" : number(min)},` +
    `"max":${empty ? "null" : number(max)},"mean":${empty ? "null" : number(mean)}}`;
  output(out);
  return 0;
}

// Numbers as JavaScript writes them: AssemblyScript's f64.toString() gives
// integers a trailing `.0`, which JSON readers would still take, but other
// languages write `25`.
function number(x: f64): string {
  const text = x.toString();
  return text.endsWith(".0") ? text.slice(0, text.length - 2) : text;
}

class Parser {
  pos: i32 = 0;
  error: string = "";
  name: string = "";
  values: f64[] = [];
  hasName: bool = false;
  hasScores: bool = false;

  constructor(public text: string) {}

  // The whole input: one object with a string `name` and an array of
  // numbers `scores` (other keys are ignored, as serde does).
  scores(): bool {
    this.space();
    if (!this.eat(0x7b)) return this.fail("expected an object");
    this.space();
    if (!this.eat(0x7d)) {
      while (true) {
        this.space();
        const key = this.string();
        if (key === null) return false;
        this.space();
        if (!this.eat(0x3a)) return this.fail("expected `:`");
        this.space();
        if (key == "name") {
          const name = this.string();
          if (name === null) return this.fail("`name` must be a string");
          this.name = name;
          this.hasName = true;
        } else if (key == "scores") {
          if (!this.numbers()) return false;
          this.hasScores = true;
        } else if (!this.skipValue()) {
          return false;
        }
        this.space();
        if (this.eat(0x7d)) break;
        if (!this.eat(0x2c)) return this.fail("expected `,` or `}`");
      }
    }
    this.space();
    if (this.pos != this.text.length) return this.fail("trailing characters");
    if (!this.hasName) return this.fail("missing field `name`");
    if (!this.hasScores) return this.fail("missing field `scores`");
    return true;
  }

  numbers(): bool {
    if (!this.eat(0x5b)) return this.fail("`scores` must be an array of numbers");
    this.space();
    if (this.eat(0x5d)) return true;
    while (true) {
      this.space();
      if (!this.number()) return false;
      this.space();
      if (this.eat(0x5d)) return true;
      if (!this.eat(0x2c)) return this.fail("expected `,` or `]`");
    }
  }

  number(): bool {
    const start = this.pos;
    this.eat(0x2d);
    let digits = this.digits();
    if (digits == 0) return this.fail("`scores` must hold numbers only");
    if (this.eat(0x2e) && this.digits() == 0) return this.fail("a digit must follow `.`");
    if (this.eat(0x65) || this.eat(0x45)) {
      if (!this.eat(0x2b)) this.eat(0x2d);
      if (this.digits() == 0) return this.fail("a digit must follow the exponent");
    }
    this.values.push(parseFloat(this.text.slice(start, this.pos)));
    return true;
  }

  digits(): i32 {
    let n = 0;
    while (this.pos < this.text.length) {
      const c = this.text.charCodeAt(this.pos);
      if (c < 0x30 || c > 0x39) break;
      this.pos++;
      n++;
    }
    return n;
  }

  string(): string | null {
    if (!this.eat(0x22)) {
      this.fail("expected a string");
      return null;
    }
    let out = "";
    while (this.pos < this.text.length) {
      const c = this.text.charCodeAt(this.pos++);
      if (c == 0x22) return out;
      if (c < 0x20) break;
      if (c != 0x5c) {
        out += String.fromCharCode(c);
        continue;
      }
      if (this.pos >= this.text.length) break;
      const e = this.text.charCodeAt(this.pos++);
      if (e == 0x6e) out += "\n";
      else if (e == 0x74) out += "\t";
      else if (e == 0x72) out += "\r";
      else if (e == 0x62) out += "\b";
      else if (e == 0x66) out += "\f";
      else if (e == 0x22 || e == 0x5c || e == 0x2f) out += String.fromCharCode(e);
      else if (e == 0x75 && this.pos + 4 <= this.text.length) {
        const hex = this.text.slice(this.pos, this.pos + 4);
        const unit = I32.parseInt(hex, 16);
        if (isNaN(<f64>unit) || !isHex(hex)) break;
        out += String.fromCharCode(unit);
        this.pos += 4;
      } else break;
    }
    this.fail("bad string");
    return null;
  }

  // Any JSON value, for keys this plugin does not read.
  skipValue(): bool {
    this.space();
    if (this.pos >= this.text.length) return this.fail("unexpected end");
    const c = this.text.charCodeAt(this.pos);
    if (c == 0x22) return this.string() !== null;
    if (c == 0x7b || c == 0x5b) {
      const close: i32 = c == 0x7b ? 0x7d : 0x5d;
      this.pos++;
      this.space();
      if (this.eat(close)) return true;
      while (true) {
        this.space();
        if (c == 0x7b) {
          if (this.string() === null) return false;
          this.space();
          if (!this.eat(0x3a)) return this.fail("expected `:`");
        }
        if (!this.skipValue()) return false;
        this.space();
        if (this.eat(close)) return true;
        if (!this.eat(0x2c)) return this.fail("expected `,`");
      }
    }
    if (this.word("true") || this.word("false") || this.word("null")) return true;
    const count = this.values.length;
    if (!this.number()) return false;
    this.values.length = count;
    return true;
  }

  word(w: string): bool {
    if (this.text.startsWith(w, this.pos)) {
      this.pos += w.length;
      return true;
    }
    return false;
  }

  eat(c: i32): bool {
    if (this.pos < this.text.length && this.text.charCodeAt(this.pos) == c) {
      this.pos++;
      return true;
    }
    return false;
  }

  space(): void {
    while (this.pos < this.text.length) {
      const c = this.text.charCodeAt(this.pos);
      if (c != 0x20 && c != 0x0a && c != 0x0d && c != 0x09) break;
      this.pos++;
    }
  }

  fail(message: string): bool {
    if (this.error.length == 0) this.error = `${message} at character ${this.pos}`;
    return false;
  }
}

function isHex(text: string): bool {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i) | 0x20;
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return false;
  }
  return true;
}
