// Spec `http`: GET the input URL through the host's http_request and output
// "{status} {body}". The host enforces allowed_hosts (redirects included): a
// denied request never comes back here.
import { Host, Memory } from "@extism/as-pdk";
import { http_request, length } from "@extism/as-pdk/lib/env";
import { jsonString } from "../common";

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
