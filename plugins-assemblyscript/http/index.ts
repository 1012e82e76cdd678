// Spec `http`: GET the input URL through the host's http_request and output
// "{status} {body}". The host enforces allowed_hosts (redirects included): a
// denied request never comes back here.
import { Host, Memory } from "@extism/as-pdk";
import { error_set, http_request, length } from "@extism/as-pdk/lib/env";

// as-pdk 1.0.0 declares http_request but not the status it sets.
@external("extism:host/env", "http_status_code")
declare function http_status_code(): i32;

export function fetch(): i32 {
  const url = Host.inputString();
  const request = Memory.allocateString(`{"url":${jsonString(url)},"method":"GET","headers":{}}`);
  const response = http_request(request.offset, 0);
  const status = http_status_code();
  const size = response == 0 ? 0 : length(response);
  const body = size == 0 ? new Uint8Array(0) : new Memory(response, size).toUint8Array();

  const head = Uint8Array.wrap(String.UTF8.encode(`${status} `));
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  Host.output(out);
  return 0;
}

function jsonString(text: string): string {
  let out = '"';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c == 0x22 || c == 0x5c) out += "\\" + String.fromCharCode(c);
    else if (c < 0x20) out += "\\u00" + (c < 0x10 ? "0" : "") + c.toString(16);
    else out += String.fromCharCode(c);
  }
  return out + '"';
}

// The runtime's abort hook (built with `--use abort=http/index/myAbort`):
// a throw or a failed assertion becomes the call's error message, then a trap.
function myAbort(message: string | null, fileName: string | null, line: u32, column: u32): void {
  const where = fileName === null ? "" : ` (${fileName}:${line}:${column})`;
  error_set(Memory.allocateString((message === null ? "abort" : message) + where).offset);
  unreachable();
}
