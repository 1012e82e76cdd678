package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"strings"

	extism "github.com/extism/go-sdk"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/sys"
)

// session is one loaded plugin: the SDK's CompiledPlugin and its current instance.
type session struct {
	compiled  *extism.CompiledPlugin
	plugin    *extism.Plugin // nil after a failure that unwound the guest; made afresh on the next call
	maxPages  uint32
	usedPages uint32 // the larger memory's size when a failure was last judged
	level     extism.LogLevel

	// per call
	logs   []map[string]string
	export string
	inCall bool // the SDK's own pre-call messages are over, the plugin runs
}

var levelNames = map[string]extism.LogLevel{
	"trace": extism.LogLevelTrace, "debug": extism.LogLevelDebug, "info": extism.LogLevelInfo,
	"warn": extism.LogLevelWarn, "error": extism.LogLevelError, "off": extism.LogLevelOff,
}

func levelName(l extism.LogLevel) string { return strings.ToLower(l.String()) }

// manifestFor builds the SDK manifest for a load request.
func manifestFor(req *request, data []byte) extism.Manifest {
	m := extism.Manifest{
		Wasm:         []extism.Wasm{extism.WasmData{Data: data, Name: "main"}},
		Config:       req.Config,
		AllowedHosts: req.AllowedHosts,
		AllowedPaths: req.AllowedPaths,
		// The SDK reads -1 as "its default" for these two byte limits.
		Memory: &extism.ManifestMemory{MaxHttpResponseBytes: -1, MaxVarBytes: -1},
	}
	if req.TimeoutMs != nil {
		m.Timeout = *req.TimeoutMs
	}
	if req.MaxPages != nil {
		m.Memory.MaxPages = *req.MaxPages
	}
	return m
}

// pluginConfig is how this driver (and the CLI) configure the SDK: wazero's
// compilation cache, real clocks and randomness for WASI (wazero's defaults are fake
// ones), and response headers for http_headers (off by default in the SDK).
func pluginConfig(cache wazero.CompilationCache, wasi bool) extism.PluginConfig {
	rc := wazero.NewRuntimeConfig()
	if cache != nil {
		rc = rc.WithCompilationCache(cache)
	}
	return extism.PluginConfig{
		RuntimeConfig: rc,
		EnableWasi:    wasi,
		ModuleConfig: wazero.NewModuleConfig().
			WithSysWalltime().WithSysNanotime().WithSysNanosleep().WithRandSource(rand.Reader),
		EnableHttpResponseHeaders: true,
	}
}

func (d *driver) load(req *request) (*session, response) {
	level := extism.LogLevelTrace
	if req.LogLevel != nil {
		l, ok := levelNames[*req.LogLevel]
		if !ok {
			return nil, failure("invalid-manifest", "unknown log_level "+*req.LogLevel)
		}
		level = l
	}
	data, err := os.ReadFile(req.Wasm)
	if err != nil {
		return nil, failure("io", err.Error())
	}

	var fns []extism.HostFunction
	for _, spec := range req.HostFunctions {
		fns = append(fns, d.hostFunction(spec))
	}

	ctx := context.Background()
	cfg := pluginConfig(d.cache, req.Wasi)
	compiled, err := extism.NewCompiledPlugin(ctx, manifestFor(req, data), cfg, fns)
	if err != nil {
		return nil, failure(loadCategory(err), err.Error())
	}
	s := &session{compiled: compiled, level: level}
	if req.MaxPages != nil {
		s.maxPages = *req.MaxPages
	}
	if err := s.instantiate(cfg.ModuleConfig); err != nil {
		compiled.Close(ctx)
		return nil, failure(loadCategory(err), err.Error())
	}
	return s, nil
}

// loadCategory sorts errors from compiling and instantiating a module.
func loadCategory(err error) string {
	msg := err.Error()
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, fs.ErrPermission):
		return "io"
	case strings.Contains(msg, "building host module"):
		return "invalid-manifest"
	case strings.Contains(msg, "over limit"), strings.Contains(msg, "exceeds limit"):
		return "memory-limit"
	case strings.Contains(msg, "import "), strings.Contains(msg, "not instantiated"),
		strings.Contains(msg, "is not exported in module"):
		return "unknown-import"
	case strings.HasPrefix(msg, "instantiating module"):
		return "trap"
	default:
		return "invalid-module"
	}
}

var moduleConfig = pluginConfig(nil, false).ModuleConfig

// instantiate makes a fresh instance of the compiled plugin with this session's logger.
func (s *session) instantiate(mc wazero.ModuleConfig) error {
	if mc == nil {
		mc = moduleConfig
	}
	// The SDK's log level is process-wide; keep its instance-creation chatter out
	// of stderr, then set the level the plugin asked for.
	extism.SetLogLevel(extism.LogLevelOff)
	p, err := s.compiled.Instance(context.Background(), extism.PluginInstanceConfig{ModuleConfig: mc})
	if err != nil {
		return err
	}
	p.SetLogger(s.log)
	extism.SetLogLevel(s.level)
	s.plugin = p
	return nil
}

// log receives every message the SDK passes at or above the level: the plugin's
// own, and before the export runs the SDK's ("Calling function : greet", runtime
// initialisation). Those are not the plugin's logs, so they are left out.
func (s *session) log(level extism.LogLevel, message string) {
	if !s.inCall && isSDKMessage(message) {
		if message == "Calling function : "+s.export {
			s.inCall = true
		}
		return
	}
	s.logs = append(s.logs, map[string]string{"level": levelName(level), "message": message})
}

func isSDKMessage(m string) bool {
	for _, prefix := range []string{"Calling ", "Initializing runtime for ",
		"Initialized Haskell language runtime.", "Error running reactor _initialize: "} {
		if strings.HasPrefix(m, prefix) {
			return true
		}
	}
	return false
}

func (s *session) close() {
	ctx := context.Background()
	if s.plugin != nil {
		s.plugin.Close(ctx)
		s.plugin = nil
	}
	s.compiled.Close(ctx)
}

// ready makes sure there is a live instance (a fresh one after a failure that
// unwound the guest: a trap, timeout, memory limit or exit).
func (s *session) ready() response {
	if s.plugin != nil {
		return nil
	}
	if err := s.instantiate(nil); err != nil {
		return failure(loadCategory(err), err.Error())
	}
	return nil
}

func (s *session) beginCall(export string) {
	s.logs = []map[string]string{}
	s.export = export
	s.inCall = false
}

func (s *session) call(export string, input []byte) response {
	if fail := s.ready(); fail != nil {
		return fail
	}
	s.beginCall(export)
	if !s.plugin.FunctionExists(export) {
		return s.finish(failure("missing-export", "unknown function: "+export))
	}
	rc, output, err := s.plugin.CallWithContext(context.Background(), export, input)
	if err == nil && rc != 0 {
		return s.finish(failure("plugin-error", fmt.Sprintf("%s returned %d", export, rc)))
	}
	if err != nil {
		return s.finish(s.failed(err))
	}
	return s.finish(response{"ok": true, "output_b64": output})
}

func (s *session) finish(r response) response {
	r["logs"] = s.logs
	s.inCall = false
	return r
}

// failed turns the SDK's error for a call into the protocol's category, keeping the
// SDK's message (without wazero's stack trace). Any failure but a plugin error
// unwound the guest mid-call; that instance is dropped and the next call gets a new
// one, as on polyplug.
func (s *session) failed(err error) response {
	category := s.category(err)
	if category != "plugin-error" && s.plugin != nil {
		s.plugin.Close(context.Background())
		s.plugin = nil
	}
	msg := err.Error()
	if i := strings.Index(msg, "\nwasm stack trace:"); i >= 0 {
		msg = msg[:i]
	}
	if category == "memory-limit" && s.usedPages > 0 {
		msg = fmt.Sprintf("%s (memory at %d of max_pages %d)", msg, s.usedPages, s.maxPages)
	}
	return failure(category, msg)
}

func (s *session) category(err error) string {
	// error_set: the SDK hands back exactly the message the plugin set, and only
	// when the export returned normally.
	if set := s.plugin.GetError(); set != "" && set == err.Error() {
		// A guest that catches a refused memory.grow (QuickJS: "InternalError: out
		// of memory") reports it this way; see nearMemoryLimit.
		if strings.Contains(strings.ToLower(set), "out of memory") && s.nearMemoryLimit() {
			return "memory-limit"
		}
		return "plugin-error"
	}
	var exit *sys.ExitError
	var urlErr *url.Error
	var tooBig *http.MaxBytesError
	msg := err.Error()
	switch {
	case errors.As(err, &exit) && exit.ExitCode() == sys.ExitCodeDeadlineExceeded:
		return "timeout"
	case errors.As(err, &tooBig), strings.Contains(msg, "Variable store is full"):
		return "memory-limit"
	case strings.Contains(msg, "HTTP request to '") && strings.Contains(msg, "' is not allowed"):
		return "http-denied"
	case errors.As(err, &urlErr), strings.Contains(msg, "invalid http request"),
		strings.Contains(msg, "invalid url"):
		return "http"
	case strings.Contains(msg, "params, but passed"), strings.Contains(msg, "results, expected 0 or 1"):
		return "missing-export"
	case s.nearMemoryLimit():
		return "memory-limit"
	// The SDK wraps an exit during runtime initialisation with %v, so also by text.
	case exit != nil, strings.Contains(msg, "exit_code("):
		return "exit"
	default:
		return "trap"
	}
}

// nearMemoryLimit tells whether the instance's memory stands at its max_pages.
// wazero refuses a memory.grow past the limit by returning -1 to the guest, which
// then fails its own way (Rust aborts with `unreachable`, Go's runtime throws,
// QuickJS raises "out of memory"); the SDK reports only that trap or error. So a
// trap or exit (or an "out of memory" plugin error) with memory within 64 pages
// (4 MiB, Go's heap arena on wasm) of max_pages is counted as the memory limit.
// The plugin's memory and the SDK kernel's memory are each checked: wazero caps
// each memory at max_pages on its own.
func (s *session) nearMemoryLimit() bool {
	if s.maxPages == 0 || s.plugin == nil {
		return false
	}
	const margin = 64
	s.usedPages = 0
	if mem := s.plugin.Memory(); mem != nil {
		s.usedPages = mem.Size() / 65536
	}
	if mod := mainModule(s.plugin); mod != nil && mod.Memory() != nil {
		s.usedPages = max(s.usedPages, mod.Memory().Size()/65536)
	}
	return s.usedPages+margin >= s.maxPages
}
