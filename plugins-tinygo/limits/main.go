// Spec `limits`: plugins that never finish on their own, so the host's limits
// (timeout, memory cap, stack) must stop them. Results go to package-level
// variables so the compiler cannot prove the work useless and drop it.
package main

import (
	"strconv"

	"github.com/extism/go-pdk"
)

var (
	counter uint64
	hoard   [][]byte
)

// spin loops forever.
//
//go:wasmexport spin
func spin() int32 {
	for {
		counter++
	}
}

// grow allocates 1 MiB blocks and keeps them all until memory runs out.
//
//go:wasmexport grow
func grow() int32 {
	for {
		hoard = append(hoard, make([]byte, 1<<20))
	}
}

// recurse recurses until a stack runs out: the engine's call stack, or the
// goroutine stack Go keeps in linear memory.
//
//go:wasmexport recurse
func recurse() int32 {
	pdk.OutputString(strconv.FormatUint(depth(0), 10))
	return 0
}

// depth uses its result after the call, so no frame can be reused.
func depth(n uint64) uint64 {
	return depth(n+1) ^ n
}

// main is never called: the module is a reactor the host calls into.
func main() {}
