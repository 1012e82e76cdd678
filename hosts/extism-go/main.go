// The extism-go host driver: polyplug's conformance runner talks to the official
// Go SDK (github.com/extism/go-sdk, on wazero) through this program.
//
//	driver                            speak the JSON-lines protocol of docs/hosts.md
//	driver call PLUGIN FUNCTION ...   a small `extism call` on the Go SDK (see cli.go)
//
// bench.go times the SDK itself for the bench request.
//
// Protocol mode reads one request per line on stdin and writes exactly one response
// per line on stdout; while a plugin runs, a user host function asks the runner with
// a host_call line and waits for its answer on stdin. End of stdin ends the driver.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"

	extism "github.com/extism/go-sdk"
	"github.com/tetratelabs/wazero"
)

// envImports are the extism:host/env functions go-sdk v1.7.1 links
// (instantiateEnvModule in its host.go).
var envImports = []string{
	"alloc", "config_get", "error_get", "error_set", "free", "get_log_level",
	"http_headers", "http_request", "http_status_code", "input_length",
	"input_load_u64", "input_load_u8", "input_offset", "input_set", "length",
	"length_unsafe", "load_u64", "load_u8", "log_debug", "log_error", "log_info",
	"log_trace", "log_warn", "memory_bytes", "output_length", "output_offset",
	"output_set", "reset", "store_u64", "store_u8", "var_get", "var_set",
}

func main() {
	// The SDK calls the kernel's exports from Go through ExportedFunction, which
	// makes a new wazero call engine each time: after every log call, it frees
	// the message that way. At Go's default GC pace a plugin logging 10^6 times
	// spends about a quarter of its time collecting those (measured on the
	// hostile spec's million_logs). A laxer pace leaves the SDK as it is; an
	// explicit GOGC still wins.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if len(os.Args) > 1 && os.Args[1] == "call" {
		os.Exit(runCLI(os.Args[2:]))
	}
	if len(os.Args) > 1 {
		fmt.Fprintln(os.Stderr, "usage: driver               (JSON-lines protocol on stdin/stdout)")
		fmt.Fprintln(os.Stderr, "       driver call PLUGIN.wasm FUNCTION [--input S] [--stdin] [--loop N] [--config K=V]...")
		fmt.Fprintln(os.Stderr, "                   [--wasi] [--allow-host H]... [--allow-path HOST[:GUEST]]... [--timeout MS]")
		fmt.Fprintln(os.Stderr, "                   [--memory-max PAGES] [--log-level L] [--manifest]")
		os.Exit(2)
	}

	// stdout belongs to the protocol. The SDK prints to os.Stdout in one error path
	// (SetInput), and EXTISM_ENABLE_WASI_OUTPUT would hand it to the guest: send
	// both to stderr instead.
	out := bufio.NewWriter(os.Stdout)
	os.Stdout = os.Stderr
	os.Unsetenv("EXTISM_ENABLE_WASI_OUTPUT")

	d := &driver{in: bufio.NewReader(os.Stdin), out: out, cache: openCache()}
	if err := d.serve(); err != nil {
		fmt.Fprintln(os.Stderr, "extism-go driver:", err)
		os.Exit(1)
	}
}

// openCache is wazero's compilation cache in `cache/` next to the driver binary
// ({state}/cache), so a module is compiled to machine code once, not per load.
func openCache() wazero.CompilationCache {
	exe, err := os.Executable()
	if err != nil {
		return nil
	}
	dir := filepath.Join(filepath.Dir(exe), "cache")
	if env := os.Getenv("EXTISM_GO_DRIVER_CACHE"); env != "" {
		dir = env
	}
	cache, err := wazero.NewCompilationCacheWithDir(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "extism-go driver: no compilation cache:", err)
		return nil
	}
	return cache
}

// versionString names the SDK, its kernel and wazero as linked into this binary.
func versionString() string {
	sdk, wz := "?", "?"
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			switch dep.Path {
			case "github.com/extism/go-sdk":
				sdk = dep.Version
			case "github.com/tetratelabs/wazero":
				wz = dep.Version
			}
		}
	}
	return fmt.Sprintf("go-sdk %s (kernel %s), wazero %s",
		sdk, strings.TrimSpace(extism.RuntimeVersion()), wz)
}

type driver struct {
	in    *bufio.Reader
	out   *bufio.Writer
	cache wazero.CompilationCache
	cur   *session // the loaded plugin, or nil
}

// request holds every field any op may carry; which ones an op reads is up to it.
type request struct {
	Op string `json:"op"`

	// load
	Wasm          string            `json:"wasm"`
	Wasi          bool              `json:"wasi"`
	Config        map[string]string `json:"config"`
	AllowedHosts  []string          `json:"allowed_hosts"`
	AllowedPaths  map[string]string `json:"allowed_paths"`
	TimeoutMs     *uint64           `json:"timeout_ms"`
	MaxPages      *uint32           `json:"max_pages"`
	LogLevel      *string           `json:"log_level"`
	HostFunctions []hostFnSpec      `json:"host_functions"`

	// call, call_raw
	Export   string     `json:"export"`
	InputB64 []byte     `json:"input_b64"` // encoding/json reads standard base64 into []byte
	Args     []rawValue `json:"args"`

	// bench (with wasm, wasi, export, input_b64)
	Warm  int `json:"warm"`
	Fresh int `json:"fresh"`
}

type hostFnSpec struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Params    int    `json:"params"`
	Results   int    `json:"results"`
}

type response map[string]any

func failure(category, message string) response {
	return response{"ok": false, "error": map[string]string{"category": category, "message": message}}
}

func unsupported(what string) response {
	return response{"ok": false, "unsupported": what}
}

func (d *driver) serve() error {
	for {
		line, err := d.in.ReadBytes('\n')
		if len(strings.TrimSpace(string(line))) == 0 {
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			continue
		}
		if err := d.write(d.handle(line)); err != nil {
			return err
		}
		if err == io.EOF {
			return nil
		}
	}
}

func (d *driver) write(v any) error {
	enc := json.NewEncoder(d.out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil { // Encode ends the line
		return err
	}
	return d.out.Flush()
}

func (d *driver) handle(line []byte) response {
	var probe struct {
		Op string `json:"op"`
	}
	if err := json.Unmarshal(line, &probe); err != nil {
		return failure("invalid-manifest", "request is not JSON: "+err.Error())
	}
	// Decode strictly: a field this driver does not know is one the SDK cannot express.
	var req request
	dec := json.NewDecoder(strings.NewReader(string(line)))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(&req); err != nil {
		if strings.HasPrefix(err.Error(), "json: unknown field") {
			return unsupported(probe.Op + ": " + strings.TrimPrefix(err.Error(), "json: "))
		}
		return failure("invalid-manifest", "bad "+probe.Op+" request: "+err.Error())
	}

	switch req.Op {
	case "describe":
		imports := append([]string(nil), envImports...)
		sort.Strings(imports)
		return response{"ok": true, "name": "extism-go", "version": versionString(),
			"imports": imports, "raw_calls": rawCallsAvailable()}
	case "load":
		d.unload()
		s, fail := d.load(&req)
		if fail != nil {
			return fail
		}
		d.cur = s
		return response{"ok": true}
	case "call":
		if d.cur == nil {
			return failure("invalid-manifest", "call before load")
		}
		return d.cur.call(req.Export, req.InputB64)
	case "call_raw":
		if d.cur == nil {
			return failure("invalid-manifest", "call_raw before load")
		}
		return d.cur.callRaw(req.Export, req.Args)
	case "bench":
		return d.bench(&req)
	case "unload":
		d.unload()
		return response{"ok": true}
	default:
		return unsupported(fmt.Sprintf("op %q", req.Op))
	}
}

func (d *driver) unload() {
	if d.cur != nil {
		d.cur.close()
		d.cur = nil
	}
}

// hostCall asks the runner to run a host function and waits for its answer.
func (d *driver) hostCall(name string, args [][]byte) ([][]byte, error) {
	if err := d.write(map[string]any{"op": "host_call", "name": name, "args_b64": args}); err != nil {
		return nil, err
	}
	line, err := d.in.ReadBytes('\n')
	if err != nil && len(line) == 0 {
		return nil, fmt.Errorf("no answer to host_call %s: %w", name, err)
	}
	var answer struct {
		Results [][]byte `json:"results_b64"`
		Error   *string  `json:"error"`
	}
	if err := json.Unmarshal(line, &answer); err != nil {
		return nil, fmt.Errorf("bad answer to host_call %s: %w", name, err)
	}
	if answer.Error != nil {
		return nil, errors.New(*answer.Error)
	}
	return answer.Results, nil
}
