// Spec `raw-add`: a plain numeric export, no Extism ABI at all: the host calls
// `add(i32, i32) -> i32` directly. Overflow wraps, as in every language.
package main

//go:wasmexport add
func add(a, b int32) int32 {
	return a + b
}

// main is never called: the module is a reactor the host calls into.
func main() {}
