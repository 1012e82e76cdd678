// Spec `http`: a GET through the host. The host decides whether the URL may be
// fetched (the manifest's `allowed_hosts`); a refused request fails the call
// inside the host, so this code only sees requests that were sent.
package main

import (
	"strconv"

	"github.com/extism/go-pdk"
)

// fetch GETs the input URL and outputs `{status} {body}`, the body as raw bytes.
//
//go:wasmexport fetch
func fetch() int32 {
	response := pdk.NewHTTPRequest(pdk.MethodGet, pdk.InputString()).Send()
	output := strconv.AppendUint(nil, uint64(response.Status()), 10)
	output = append(output, ' ')
	pdk.Output(append(output, response.Body()...))
	return 0
}

// main is never called: the module is a reactor the host calls into.
func main() {}
