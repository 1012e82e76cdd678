// Spec `hello`: the smallest useful plugin. It reads its input, one config
// key with a default, and writes a string back: copy it to start a plugin.
package main

import "github.com/extism/go-pdk"

// greet greets the input (or `World` when it is empty) with config `greeting`.
//
//go:wasmexport greet
func greet() int32 {
	greeting, ok := pdk.GetConfig("greeting")
	if !ok {
		greeting = "Hello"
	}
	name := pdk.InputString()
	if name == "" {
		name = "World"
	}
	pdk.OutputString(greeting + ", " + name + "!")
	return 0
}

// main is never called: the module is a reactor the host calls into.
func main() {}
