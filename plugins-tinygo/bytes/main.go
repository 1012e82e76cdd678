// Spec `bytes`: input and output are raw bytes (NUL, invalid UTF-8, megabytes),
// so every function works on []byte and never converts to a string.
package main

import (
	"strconv"

	"github.com/extism/go-pdk"
)

// echo returns the input unchanged.
//
//go:wasmexport echo
func echo() int32 {
	pdk.Output(pdk.Input())
	return 0
}

// reverse returns the input's bytes in reverse order.
//
//go:wasmexport reverse
func reverse() int32 {
	data := pdk.Input()
	for i, j := 0, len(data)-1; i < j; i, j = i+1, j-1 {
		data[i], data[j] = data[j], data[i]
	}
	pdk.Output(data)
	return 0
}

// length returns the input's length in bytes as decimal text.
//
//go:wasmexport length
func length() int32 {
	pdk.OutputString(strconv.Itoa(len(pdk.Input())))
	return 0
}

// main is never called: the module is a reactor the host calls into.
func main() {}
