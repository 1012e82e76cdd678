// serve-go is the anchor of `cargo xtask bench-serve`: Extism plugins served
// over HTTP the way the official Go SDK's docs recommend, so `polyplug serve` is
// measured against the SDK's own way rather than against a straw man. One
// extism.NewCompiledPlugin per artifact at start; per request a fresh
// compiled.Instance, one call, then Close. Same routes as `polyplug serve`:
//
//	POST /v1/plugins/{name}/{export}  body = input; 200 = output bytes,
//	                                  422 {"error":"plugin-error","message":...},
//	                                  404 unknown plugin or export, 500 otherwise
//	GET  /healthz                     200
//
// A name may hold slashes (rust/count-vowels): the path splits at its last one.
//
// Usage: serve-go [-listen ADDR] NAME=PATH.wasm...
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"strings"

	extism "github.com/extism/go-sdk"
)

// maxInput bounds a request body; the bench's largest is 64 KiB.
const maxInput = 16 << 20

type server struct {
	plugins map[string]*extism.CompiledPlugin
}

func main() {
	listen := flag.String("listen", "127.0.0.1:7878", "address to listen on")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: serve-go [-listen ADDR] NAME=PATH.wasm...")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}

	ctx := context.Background()
	s := &server{plugins: map[string]*extism.CompiledPlugin{}}
	for _, arg := range flag.Args() {
		name, path, ok := strings.Cut(arg, "=")
		if !ok || name == "" || path == "" {
			log.Fatalf("serve-go: %q is not NAME=PATH.wasm", arg)
		}
		manifest := extism.Manifest{Wasm: []extism.Wasm{extism.WasmFile{Path: path}}}
		// WASI always: Go-built plugins import it, and the SDK instantiates it once
		// per CompiledPlugin, not per request.
		compiled, err := extism.NewCompiledPlugin(ctx, manifest, extism.PluginConfig{EnableWasi: true}, nil)
		if err != nil {
			log.Fatalf("serve-go: cannot load %s from %s: %v", name, path, err)
		}
		s.plugins[name] = compiled
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok\n")
	})
	// A {name...} wildcard must end a pattern, so the export is split off by hand.
	mux.HandleFunc("POST /v1/plugins/{rest...}", s.call)
	log.Printf("serve-go: %d plugin(s) on http://%s", len(s.plugins), *listen)
	log.Fatal(http.ListenAndServe(*listen, mux))
}

func (s *server) call(w http.ResponseWriter, r *http.Request) {
	rest := r.PathValue("rest")
	cut := strings.LastIndexByte(rest, '/')
	if cut < 0 {
		fail(w, http.StatusNotFound, "not-found", "expected /v1/plugins/{name}/{export}")
		return
	}
	name, export := rest[:cut], rest[cut+1:]
	compiled, ok := s.plugins[name]
	if !ok {
		fail(w, http.StatusNotFound, "not-found", "no plugin named "+name)
		return
	}
	input, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxInput))
	if err != nil {
		fail(w, http.StatusRequestEntityTooLarge, "input-too-large", err.Error())
		return
	}

	ctx := r.Context()
	plugin, err := compiled.Instance(ctx, extism.PluginInstanceConfig{})
	if err != nil {
		fail(w, http.StatusInternalServerError, "instance", err.Error())
		return
	}
	defer plugin.Close(ctx)
	if !plugin.FunctionExists(export) {
		fail(w, http.StatusNotFound, "not-found", fmt.Sprintf("%s has no export %s", name, export))
		return
	}
	rc, output, err := plugin.CallWithContext(ctx, export, input)
	switch {
	case err != nil && plugin.GetError() != "":
		fail(w, http.StatusUnprocessableEntity, "plugin-error", err.Error())
	case err != nil:
		fail(w, http.StatusInternalServerError, "trap", err.Error())
	case rc != 0:
		fail(w, http.StatusUnprocessableEntity, "plugin-error", fmt.Sprintf("%s returned %d", export, rc))
	default:
		// Set, so net/http does not sniff the body for a type on every response.
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(output)
	}
}

func fail(w http.ResponseWriter, status int, kind, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": kind, "message": message})
}
