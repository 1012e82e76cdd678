package main

// `driver call PLUGIN FUNCTION [flags]`: the `extism call` command on the Go SDK,
// with its flags. Each output is printed with a newline after it; an error goes to
// stderr as "category: message" and the exit status is 1.

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	extism "github.com/extism/go-sdk"
)

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func runCLI(args []string) int {
	fs := flag.NewFlagSet("driver call", flag.ContinueOnError)
	input := fs.String("input", "", "input data")
	fs.StringVar(input, "i", "", "input data (short for --input)")
	stdin := fs.Bool("stdin", false, "read the input from stdin")
	loop := fs.Int("loop", 1, "number of times to call the function")
	var configs, hosts, paths listFlag
	fs.Var(&configs, "config", "set a config value, KEY=VALUE (repeatable)")
	setConfig := fs.String("set-config", "", "config as a JSON object, merged under --config")
	wasi := fs.Bool("wasi", false, "enable WASI")
	fs.Var(&hosts, "allow-host", "allow HTTP requests to a host, globs allowed (repeatable)")
	fs.Var(&paths, "allow-path", "allow a path, HOST_PATH or HOST_PATH:GUEST_PATH (repeatable)")
	timeout := fs.Uint64("timeout", 0, "timeout in milliseconds")
	memoryMax := fs.Uint("memory-max", 0, "maximum number of 64 KiB memory pages")
	httpMax := fs.Int64("http-response-max", -1, "maximum HTTP response size in bytes")
	varMax := fs.Int64("var-max", -1, "maximum size in bytes of the var store")
	logLevel := fs.String("log-level", "", "log level: trace, debug, info, warn, error")
	manifest := fs.Bool("manifest", false, "PLUGIN is a JSON Extism manifest, not a wasm file")
	fs.BoolVar(manifest, "m", false, "short for --manifest")

	// Flags may come before, between or after the two positional arguments.
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return 2
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(positional) != 2 {
		fmt.Fprintln(os.Stderr, "usage: driver call PLUGIN.wasm FUNCTION [flags]")
		return 2
	}
	pluginPath, function := positional[0], positional[1]

	fail := func(category, message string) int {
		fmt.Fprintf(os.Stderr, "%s: %s\n", category, message)
		return 1
	}

	var m extism.Manifest
	if *manifest {
		data, err := os.ReadFile(pluginPath)
		if err != nil {
			return fail("io", err.Error())
		}
		if err := json.Unmarshal(data, &m); err != nil {
			return fail("invalid-manifest", err.Error())
		}
	} else {
		data, err := os.ReadFile(pluginPath)
		if err != nil {
			return fail("io", err.Error())
		}
		m.Wasm = []extism.Wasm{extism.WasmData{Data: data, Name: "main"}}
	}
	if m.Memory == nil {
		m.Memory = &extism.ManifestMemory{MaxHttpResponseBytes: -1, MaxVarBytes: -1}
	}
	m.AllowedHosts = append(m.AllowedHosts, hosts...)
	if len(paths) > 0 && m.AllowedPaths == nil {
		m.AllowedPaths = map[string]string{}
	}
	for _, p := range paths {
		host, guest, found := strings.Cut(p, ":")
		if !found {
			guest = host
		}
		m.AllowedPaths[host] = guest
	}
	if m.Config == nil {
		m.Config = map[string]string{}
	}
	if *setConfig != "" {
		if err := json.Unmarshal([]byte(*setConfig), &m.Config); err != nil {
			return fail("invalid-manifest", "--set-config: "+err.Error())
		}
	}
	for _, kv := range configs {
		k, v, _ := strings.Cut(kv, "=")
		m.Config[k] = v
	}
	if *timeout > 0 {
		m.Timeout = *timeout
	}
	if *memoryMax > 0 {
		m.Memory.MaxPages = uint32(*memoryMax)
	}
	if *httpMax >= 0 {
		m.Memory.MaxHttpResponseBytes = *httpMax
	}
	if *varMax >= 0 {
		m.Memory.MaxVarBytes = *varMax
	}
	level := extism.LogLevelOff
	if *logLevel != "" {
		l, ok := levelNames[*logLevel]
		if !ok {
			return fail("invalid-manifest", "unknown --log-level "+*logLevel)
		}
		level = l
	}

	ctx := context.Background()
	cfg := pluginConfig(openCache(), *wasi)
	compiled, err := extism.NewCompiledPlugin(ctx, m, cfg, nil)
	if err != nil {
		return fail(loadCategory(err), err.Error())
	}
	defer compiled.Close(ctx)
	// The session prints logs to stderr as they come instead of collecting them.
	s := &session{compiled: compiled, level: level, maxPages: m.Memory.MaxPages}
	if err := s.instantiate(cfg.ModuleConfig); err != nil {
		return fail(loadCategory(err), err.Error())
	}
	s.plugin.SetLogger(func(l extism.LogLevel, msg string) {
		fmt.Fprintf(os.Stderr, "[%s] %s\n", levelName(l), msg)
	})

	data := []byte(*input)
	if *stdin {
		if data, err = io.ReadAll(os.Stdin); err != nil {
			return fail("io", "reading stdin: "+err.Error())
		}
	}
	if !s.plugin.FunctionExists(function) {
		return fail("missing-export", "unknown function: "+function)
	}
	for i := 0; i < *loop; i++ {
		rc, out, err := s.plugin.CallWithContext(ctx, function, data)
		if err == nil && rc != 0 {
			return fail("plugin-error", fmt.Sprintf("%s returned %d", function, rc))
		}
		if err != nil {
			r := s.failed(err)
			e := r["error"].(map[string]string)
			return fail(e["category"], e["message"])
		}
		os.Stdout.Write(append(out, '\n'))
	}
	return 0
}
