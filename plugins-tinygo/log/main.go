// Spec `log`: one message per level through the host's logger. pdk.Log asks
// the host for its level first and skips messages it would drop.
package main

import (
	"github.com/extism/go-pdk"

	"polyplug.dev/plugins/internal/tracelog"
)

// log logs `{level}: {input}` at every level, lowest first, and returns `done`.
//
//go:wasmexport log
func log() int32 {
	input := pdk.InputString()
	tracelog.Log("trace: " + input)
	pdk.Log(pdk.LogDebug, "debug: "+input)
	pdk.Log(pdk.LogInfo, "info: "+input)
	pdk.Log(pdk.LogWarn, "warn: "+input)
	pdk.Log(pdk.LogError, "error: "+input)
	pdk.OutputString("done")
	return 0
}

// main is never called: the module is a reactor the host calls into.
func main() {}
