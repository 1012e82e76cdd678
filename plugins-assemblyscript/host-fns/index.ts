// Spec `host-fns`: a key-value store that lives in the host, reached through
// the user host functions kv_write and kv_read (memory handles both ways).
import { Host, Memory } from "@extism/as-pdk";
import { length } from "@extism/as-pdk/lib/env";
import { fail, output } from "../common";

@external("extism:host/user", "kv_write")
declare function kv_write(key: u64, value: u64): void;

@external("extism:host/user", "kv_read")
declare function kv_read(key: u64): u64;

const EQUALS: u8 = 0x3d;

// "k=v" (split at the first `=`) -> kv_write(k, v); outputs `ok`.
export function remember(): i32 {
  const input = Host.input();
  const at = input.indexOf(EQUALS);
  if (at < 0) {
    return fail("invalid input: expected key=value");
  }
  const key = Memory.allocateBytes(input.subarray(0, at));
  const value = Memory.allocateBytes(input.subarray(at + 1));
  kv_write(key.offset, value.offset);
  output("ok");
  return 0;
}

// "k" -> the stored value, or `<missing>` when the host answers empty.
export function recall(): i32 {
  const key = Memory.allocateBytes(Host.input());
  const found = kv_read(key.offset);
  const size = found == 0 ? 0 : length(found);
  if (size == 0) {
    output("<missing>");
  } else {
    Host.outputMemory(new Memory(found, size));
  }
  return 0;
}
