// Spec `hostile`: the abuses go-pdk's exported API can express
// (docs/reliability.md). pdk.Allocate, pdk.NewMemory, Memory.Free and
// pdk.OutputMemory take and hand out raw handles, so the alloc loop and the
// free and output_set cases with forged or freed handles are here too;
// error_set and var_set are only reached through strings and byte slices
// (pdk.SetErrorString, pdk.SetVar), so those cases are n/a for Go.
package main

import (
	"os"

	"github.com/extism/go-pdk"
)

//go:wasmimport extism:host/user kv_read
func kvRead(key uint64) uint64

// forged is a handle no alloc returned: far past anything a test allocates.
const forged = 0x7fff0000

// alloc_loop allocates 1 MiB blocks until the host refuses one (alloc
// answers 0) and reports it.
//
//go:wasmexport alloc_loop
func allocLoop() int32 {
	for {
		block := pdk.Allocate(1 << 20)
		if block.Offset() == 0 {
			break
		}
	}
	pdk.SetErrorString("alloc returned 0")
	return 1
}

// output_64mib sets one 64 MiB block, never written (zeros), as the output:
// pdk.Output would copy 64 MiB through the host 8 bytes at a time.
//
//go:wasmexport output_64mib
func output64MiB() int32 {
	block := pdk.Allocate(64 << 20)
	if block.Offset() == 0 {
		pdk.SetErrorString("alloc returned 0")
		return 1
	}
	pdk.OutputMemory(block)
	return 0
}

// var_too_big sets var `big` to 1 MiB + 1 bytes: one past the default
// max_var_bytes.
//
//go:wasmexport var_too_big
func varTooBig() int32 {
	pdk.SetVar("big", make([]byte, 1<<20+1))
	pdk.OutputString("set")
	return 0
}

// log_million logs 10^6 debug messages (below the case's log level: go-pdk
// checks the level before calling the host, but allocates each message).
//
//go:wasmexport log_million
func logMillion() int32 {
	for i := 0; i < 1_000_000; i++ {
		pdk.Log(pdk.LogDebug, "done")
	}
	pdk.OutputString("done")
	return 0
}

// free_forged frees a handle no alloc returned.
//
//go:wasmexport free_forged
func freeForged() int32 {
	block := pdk.NewMemory(forged, 16)
	block.Free()
	pdk.OutputString("survived")
	return 0
}

// free_twice frees one block twice.
//
//go:wasmexport free_twice
func freeTwice() int32 {
	block := pdk.Allocate(16)
	block.Free()
	block.Free()
	pdk.OutputString("survived")
	return 0
}

// output_set_forged sets a handle no alloc returned as the output.
//
//go:wasmexport output_set_forged
func outputSetForged() int32 {
	pdk.OutputMemory(pdk.NewMemory(forged, 16))
	return 0
}

// output_set_freed sets a freed block as the output.
//
//go:wasmexport output_set_freed
func outputSetFreed() int32 {
	block := pdk.AllocateString("freed output")
	block.Free()
	pdk.OutputMemory(block)
	return 0
}

// echo outputs the input.
//
//go:wasmexport echo
func echo() int32 {
	pdk.Output(pdk.Input())
	return 0
}

// host_fn_spin calls the host's kv_read forever: only the call's timeout
// ends it.
//
//go:wasmexport host_fn_spin
func hostFnSpin() int32 {
	key := pdk.AllocateString("key")
	for {
		kvRead(key.Offset())
	}
}

// host_fn_recurse recurses without bound, calling kv_read at every level.
//
//go:wasmexport host_fn_recurse
func hostFnRecurse() int32 {
	key := pdk.AllocateString("key")
	sink = deep(key.Offset(), 0)
	pdk.OutputString("returned")
	return 0
}

var sink uint64

//go:noinline
func deep(key, n uint64) uint64 {
	value := kvRead(key)
	return deep(key, n+1) ^ value
}

// fetch GETs the input URL; the body is the output.
//
//go:wasmexport fetch
func fetch() int32 {
	response := pdk.NewHTTPRequest(pdk.MethodGet, pdk.InputString()).Send()
	pdk.Output(response.Body())
	return 0
}

// read_file outputs the bytes of the file at the guest path given as input.
//
//go:wasmexport read_file
func readFile() int32 {
	path := pdk.InputString()
	data, err := os.ReadFile(path)
	if err != nil {
		pdk.SetErrorString("cannot read " + path + ": " + err.Error())
		return 1
	}
	pdk.Output(data)
	return 0
}

// main is never called: the module is a reactor the host calls into.
func main() {}
