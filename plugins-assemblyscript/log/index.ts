// Spec `log`: `{level}: {input}` at trace, debug, info, warn and error, in
// that order; outputs `done`. The host drops what is below its level.
import { Host, LogLevel, Memory } from "@extism/as-pdk";
import { output } from "../common";

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
  output("done");
  return 0;
}
