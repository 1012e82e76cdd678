// Spec `kitchen-sink`: every function of the official go-pdk once (input and
// output as bytes and as text, config, vars, logs, HTTP, errors), with outputs
// every language gives byte for byte.
package main

import (
	"strconv"

	"github.com/extism/go-pdk"

	"polyplug.dev/plugins/internal/tracelog"
)

const missing = "<missing>"

// echoBytes outputs the input bytes unchanged, through the byte APIs.
//
//go:wasmexport echo_bytes
func echoBytes() int32 {
	pdk.Output(pdk.Input())
	return 0
}

// echoString outputs `string: {input}`, through the string APIs.
//
//go:wasmexport echo_string
func echoString() int32 {
	pdk.OutputString("string: " + pdk.InputString())
	return 0
}

// config outputs `{key}={value}` for the config key named by the input, or
// `{key} missing`. (go-pdk reads an empty value as missing too.)
//
//go:wasmexport config
func config() int32 {
	key := pdk.InputString()
	if value, ok := pdk.GetConfig(key); ok {
		pdk.OutputString(key + "=" + value)
	} else {
		pdk.OutputString(key + " missing")
	}
	return 0
}

// readVar is the var's value, or `<missing>` (go-pdk reads an empty value as
// missing too).
func readVar(key string) string {
	if value := pdk.GetVar(key); value != nil {
		return string(value)
	}
	return missing
}

// vars reads var `ks`, sets it, reads it, overwrites it, reads it again, then
// leaves the input in it for the next call.
//
//go:wasmexport vars
func vars() int32 {
	input := pdk.InputString()
	before := readVar("ks")
	pdk.SetVar("ks", []byte("one"))
	set := readVar("ks")
	pdk.SetVar("ks", []byte("two"))
	overwrite := readVar("ks")
	pdk.SetVar("ks", []byte(input))
	pdk.OutputString("before=" + before + " set=" + set + " overwrite=" + overwrite)
	return 0
}

// varRemove sets var `gone`, removes it, and reads it back.
//
//go:wasmexport var_remove
func varRemove() int32 {
	pdk.SetVar("gone", []byte("here"))
	before := readVar("gone")
	pdk.RemoveVar("gone")
	pdk.OutputString("before=" + before + " after=" + readVar("gone"))
	return 0
}

// log logs `ks {level}: {input}` at every level, lowest first.
//
//go:wasmexport log
func log() int32 {
	input := pdk.InputString()
	tracelog.Log("ks trace: " + input)
	pdk.Log(pdk.LogDebug, "ks debug: "+input)
	pdk.Log(pdk.LogInfo, "ks info: "+input)
	pdk.Log(pdk.LogWarn, "ks warn: "+input)
	pdk.Log(pdk.LogError, "ks error: "+input)
	pdk.OutputString("logged")
	return 0
}

// httpGet GETs the input URL and outputs `{status} {body}`.
//
//go:wasmexport http_get
func httpGet() int32 {
	response := pdk.NewHTTPRequest(pdk.MethodGet, pdk.InputString()).Send()
	output := strconv.AppendUint(nil, uint64(response.Status()), 10)
	output = append(output, ' ')
	pdk.Output(append(output, response.Body()...))
	return 0
}

// httpHeader GETs the input URL and outputs `{status} content-type={value}
// {body}`, the header read through the host's `http_headers` (names are lower
// case).
//
//go:wasmexport http_header
func httpHeader() int32 {
	response := pdk.NewHTTPRequest(pdk.MethodGet, pdk.InputString()).Send()
	contentType, ok := response.Headers()["content-type"]
	if !ok {
		contentType = missing
	}
	output := strconv.AppendUint(nil, uint64(response.Status()), 10)
	output = append(output, " content-type="+contentType+" "...)
	pdk.Output(append(output, response.Body()...))
	return 0
}

// fail fails with the message `kitchen-sink failed: {input}`.
//
//go:wasmexport fail
func fail() int32 {
	pdk.SetErrorString("kitchen-sink failed: " + pdk.InputString())
	return 1
}

// main is never called: the module is a reactor the host calls into.
func main() {}
