// Spec `errors`: the two ways a call fails. SetError plus a non-zero return is
// a plugin error the host reports with its message; a Go panic ends the whole
// module (the runtime prints it and exits), which the host sees as a trap.
package main

import "github.com/extism/go-pdk"

// fail fails with the message `failed: {input}`.
//
//go:wasmexport fail
func fail() int32 {
	pdk.SetErrorString("failed: " + pdk.InputString())
	return 1
}

// panicking panics, as a bug in a plugin would.
//
//go:wasmexport panic
func panicking() int32 {
	panic("panicked: " + pdk.InputString())
}

// main is never called: the module is a reactor the host calls into.
func main() {}
