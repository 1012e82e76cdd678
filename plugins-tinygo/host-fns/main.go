// Spec `host-fns`: calling functions the host application provides. They are
// imported from `extism:host/user`; arguments and results are handles to
// blocks of host memory, so values are copied in and out through pdk.Memory.
package main

import (
	"strings"

	"github.com/extism/go-pdk"
)

//go:wasmimport extism:host/user kv_write
func kvWrite(key, value uint64)

//go:wasmimport extism:host/user kv_read
func kvRead(key uint64) uint64

// remember stores `v` under `k` for input `k=v` (split at the first `=`).
//
//go:wasmexport remember
func remember() int32 {
	input := pdk.InputString()
	key, value, ok := strings.Cut(input, "=")
	if !ok {
		pdk.SetErrorString("invalid input \"" + input + "\": expected key=value")
		return 1
	}
	k, v := pdk.AllocateString(key), pdk.AllocateString(value)
	kvWrite(k.Offset(), v.Offset())
	k.Free()
	v.Free()
	pdk.OutputString("ok")
	return 0
}

// recall outputs the value stored under the input key, or `<missing>`.
//
//go:wasmexport recall
func recall() int32 {
	key := pdk.AllocateString(pdk.InputString())
	found := pdk.FindMemory(kvRead(key.Offset()))
	key.Free()
	// The host answers an unknown key with an empty value.
	if found.Length() == 0 {
		pdk.OutputString("<missing>")
		return 0
	}
	pdk.Output(found.ReadBytes())
	return 0
}

// main is never called: the module is a reactor the host calls into.
func main() {}
