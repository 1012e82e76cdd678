// Spec `kitchen-sink`: every function of @extism/as-pdk 1.0.0 once (input and
// output as bytes and as text, config, vars, logs, errors), with outputs every
// language gives byte for byte. HTTP goes through the raw env imports: as-pdk
// 1.0.0 declares http_request but neither the status nor the headers.
//
// Text goes out as UTF-8 bytes through common.ts's output, never
// Host.outputString: as-pdk 1.0.0's outputString passes the string's UTF-16
// length as the byte length, which is wrong for any non-ASCII text
// (docs/pdk-findings.md).
import { Config, Host, LogLevel, Memory, Var } from "@extism/as-pdk";
import { http_request, length } from "@extism/as-pdk/lib/env";
import { fail as failWith, jsonString, output } from "../common";

const MISSING = "<missing>";

@external("extism:host/env", "http_status_code")
declare function http_status_code(): i32;

@external("extism:host/env", "http_headers")
declare function http_headers(): u64;

// as-pdk 1.0.0 has no trace level (LogLevel is Info, Warn, Debug, Error), so
// trace goes straight to the host's function (docs/pdk-findings.md).
@external("extism:host/env", "log_trace")
declare function log_trace(offset: u64): void;

// The input bytes unchanged, through the byte APIs.
export function echo_bytes(): i32 {
  Host.output(Host.input());
  return 0;
}

// `string: {input}`, through the string APIs.
export function echo_string(): i32 {
  output("string: " + Host.inputString());
  return 0;
}

// `{key}={value}` for the config key named by the input, or `{key} missing`.
export function config(): i32 {
  const key = Host.inputString();
  const value = Config.get(key);
  output(value === null ? key + " missing" : key + "=" + value);
  return 0;
}

function readVar(key: string): string {
  const value = Var.getString(key);
  return value === null ? MISSING : value;
}

function setVar(key: string, value: string): void {
  Var.set(key, Uint8Array.wrap(String.UTF8.encode(value)));
}

// Reads var `ks`, sets it, reads it, overwrites it, reads it again, then
// leaves the input in it for the next call.
export function vars(): i32 {
  const input = Host.inputString();
  const before = readVar("ks");
  setVar("ks", "one");
  const set = readVar("ks");
  setVar("ks", "two");
  const overwrite = readVar("ks");
  setVar("ks", input);
  output("before=" + before + " set=" + set + " overwrite=" + overwrite);
  return 0;
}

// Sets var `gone`, removes it, and reads it back.
export function var_remove(): i32 {
  setVar("gone", "here");
  const before = readVar("gone");
  Var.remove("gone");
  output("before=" + before + " after=" + readVar("gone"));
  return 0;
}

// `ks {level}: {input}` at every level, lowest first. The host drops messages
// below its level.
export function log(): i32 {
  const input = Host.inputString();
  log_trace(Memory.allocateString("ks trace: " + input).offset);
  Host.log(LogLevel.Debug, "ks debug: " + input);
  Host.log(LogLevel.Info, "ks info: " + input);
  Host.log(LogLevel.Warn, "ks warn: " + input);
  Host.log(LogLevel.Error, "ks error: " + input);
  output("logged");
  return 0;
}

// Fails with the message `kitchen-sink failed: {input}`: as-pdk 1.0.0 has no
// error helper, so common.ts's sets it through the host's error_set.
export function fail(): i32 {
  return failWith("kitchen-sink failed: " + Host.inputString());
}

// GETs the input URL; outputs `{status} {body}`.
export function http_get(): i32 {
  const body = get(Host.inputString());
  Host.output(concat(`${http_status_code()} `, body));
  return 0;
}

// GETs the input URL; outputs `{status} content-type={value} {body}`, the value
// read from the host's http_headers JSON (names are lower case).
export function http_header(): i32 {
  const body = get(Host.inputString());
  const status = http_status_code();
  const headers = http_headers();
  let value = MISSING;
  if (headers != 0) {
    const json = new Memory(headers, length(headers)).toString();
    const key = '"content-type":"';
    const at = json.indexOf(key);
    if (at >= 0) {
      const start = at + key.length;
      value = json.substring(start, json.indexOf('"', start));
    }
  }
  Host.output(concat(`${status} content-type=${value} `, body));
  return 0;
}

function get(url: string): Uint8Array {
  const request = Memory.allocateString(`{"url":${jsonString(url)},"method":"GET","headers":{}}`);
  const response = http_request(request.offset, 0);
  const size = response == 0 ? 0 : length(response);
  return size == 0 ? new Uint8Array(0) : new Memory(response, size).toUint8Array();
}

function concat(head: string, body: Uint8Array): Uint8Array {
  const h = Uint8Array.wrap(String.UTF8.encode(head));
  const out = new Uint8Array(h.length + body.length);
  out.set(h);
  out.set(body, h.length);
  return out;
}
