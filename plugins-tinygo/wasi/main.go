// Spec `wasi`: reading a file with plain os.ReadFile. Go's wasip1 port always
// uses WASI, and the host maps folders into the guest (`allowed_paths`);
// anything outside those folders does not exist for the plugin.
package main

import (
	"os"

	"github.com/extism/go-pdk"
)

// read_file outputs the bytes of the file at the guest path given as input.
//
//go:wasmexport read_file
func readFile() int32 {
	data, err := os.ReadFile(pdk.InputString())
	if err != nil {
		pdk.SetError(err) // e.g. "open /etc/passwd: Bad file number"
		return 1
	}
	pdk.Output(data)
	return 0
}

// main is never called: the module is a reactor the host calls into.
func main() {}
