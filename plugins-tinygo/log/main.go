// Spec `log`: one message per level through the host's logger. pdk.Log asks
// the host for its level first and skips messages it would drop.
package main

import "github.com/extism/go-pdk"

// log logs `{level}: {input}` at every level, lowest first, and returns `done`.
//
//go:wasmexport log
func log() int32 {
	input := pdk.InputString()
	logTrace("trace: " + input)
	pdk.Log(pdk.LogDebug, "debug: "+input)
	pdk.Log(pdk.LogInfo, "info: "+input)
	pdk.Log(pdk.LogWarn, "warn: "+input)
	pdk.Log(pdk.LogError, "error: "+input)
	pdk.OutputString("done")
	return 0
}

// extismLogTrace is the host's trace logger. go-pdk v1.1.3 binds its own
// trace function to `log_error`, so pdk.Log(pdk.LogTrace, ...) arrives at
// error level on every runtime (docs/pdk-findings.md); this declaration
// imports the right function until the PDK is fixed.
//
//go:wasmimport extism:host/env log_trace
func extismLogTrace(offset uint64)

// logTrace logs at trace level. Unlike pdk.Log it does not ask the host for
// its level first: the host drops messages below its level itself.
func logTrace(message string) {
	mem := pdk.AllocateString(message)
	extismLogTrace(mem.Offset())
}

// main is never called: the module is a reactor the host calls into.
func main() {}
