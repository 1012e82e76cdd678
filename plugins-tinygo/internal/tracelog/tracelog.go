// Package tracelog logs at trace level through the host. go-pdk v1.1.3 binds
// its own trace function to `log_error`, so pdk.Log(pdk.LogTrace, ...) arrives
// at error level on every runtime (docs/pdk-findings.md); this package imports
// the right function until the PDK is fixed.
package tracelog

import "github.com/extism/go-pdk"

//go:wasmimport extism:host/env log_trace
func extismLogTrace(offset uint64)

// Log logs message at trace level. Unlike pdk.Log it does not ask the host for
// its level first: the host drops messages below its level itself.
func Log(message string) {
	mem := pdk.AllocateString(message)
	extismLogTrace(mem.Offset())
}
