// Spec `log`: `{level}: {input}` at trace, debug, info, warn and error, in
// that order; outputs `done`. The host drops what is below its level.
import { Host, LogLevel, Memory } from "@extism/as-pdk";
import { error_set } from "@extism/as-pdk/lib/env";

// as-pdk 1.0.0's LogLevel stops at debug; trace is the host's own import.
@external("extism:host/env", "log_trace")
declare function log_trace(message: u64): void;

export function log(): i32 {
  const input = Host.inputString();
  log_trace(Memory.allocateString(`trace: ${input}`).offset);
  Host.log(LogLevel.Debug, `debug: ${input}`);
  Host.log(LogLevel.Info, `info: ${input}`);
  Host.log(LogLevel.Warn, `warn: ${input}`);
  Host.log(LogLevel.Error, `error: ${input}`);
  Host.output(Uint8Array.wrap(String.UTF8.encode("done")));
  return 0;
}

// The runtime's abort hook (built with `--use abort=log/index/myAbort`):
// a throw or a failed assertion becomes the call's error message, then a trap.
function myAbort(message: string | null, fileName: string | null, line: u32, column: u32): void {
  const where = fileName === null ? "" : ` (${fileName}:${line}:${column})`;
  error_set(Memory.allocateString((message === null ? "abort" : message) + where).offset);
  unreachable();
}
