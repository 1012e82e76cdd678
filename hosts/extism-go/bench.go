package main

import (
	"context"
	"fmt"
	"os"
	"time"

	extism "github.com/extism/go-sdk"
)

// bench times the SDK itself, apart from the protocol (docs/hosts.md, "bench"). Its
// plugin is its own: the loaded session, if any, is left as it is.
//
//	warm:  one instance, one unmeasured call, then `warm` timed calls (mean)
//	fresh: `fresh` rounds of compiled.Instance + call + Close on one CompiledPlugin
//	       made before timing, the SDK's way to serve many requests (mean)
func (d *driver) bench(req *request) response {
	data, err := os.ReadFile(req.Wasm)
	if err != nil {
		return failure("io", err.Error())
	}
	ctx := context.Background()
	cfg := pluginConfig(d.cache, req.Wasi)
	// manifestFor with no config, hosts, paths or limits: a bench request has none.
	compiled, err := extism.NewCompiledPlugin(ctx, manifestFor(req, data), cfg, nil)
	if err != nil {
		return failure(loadCategory(err), err.Error())
	}
	defer compiled.Close(ctx)

	// The SDK's log level is process-wide: quiet while timing, then the loaded
	// plugin's own again.
	extism.SetLogLevel(extism.LogLevelOff)
	if d.cur != nil {
		defer extism.SetLogLevel(d.cur.level)
	}
	instance := func() (*extism.Plugin, response) {
		p, err := compiled.Instance(ctx, extism.PluginInstanceConfig{ModuleConfig: cfg.ModuleConfig})
		if err != nil {
			return nil, failure(loadCategory(err), err.Error())
		}
		return p, nil
	}
	call := func(p *extism.Plugin) response {
		if !p.FunctionExists(req.Export) {
			return failure("missing-export", "unknown function: "+req.Export)
		}
		rc, _, err := p.CallWithContext(ctx, req.Export, req.InputB64)
		switch {
		case err != nil && p.GetError() != "":
			return failure("plugin-error", err.Error())
		case err != nil:
			return failure("trap", err.Error())
		case rc != 0:
			return failure("plugin-error", fmt.Sprintf("%s returned %d", req.Export, rc))
		}
		return nil
	}

	var warmNs, freshNs float64
	if req.Warm > 0 {
		p, fail := instance()
		if fail != nil {
			return fail
		}
		defer p.Close(ctx)
		if fail := call(p); fail != nil {
			return fail
		}
		start := time.Now() // monotonic
		for i := 0; i < req.Warm; i++ {
			if fail := call(p); fail != nil {
				return fail
			}
		}
		warmNs = float64(time.Since(start).Nanoseconds()) / float64(req.Warm)
	}
	if req.Fresh > 0 {
		start := time.Now()
		for i := 0; i < req.Fresh; i++ {
			p, fail := instance()
			if fail != nil {
				return fail
			}
			fail = call(p)
			p.Close(ctx)
			if fail != nil {
				return fail
			}
		}
		freshNs = float64(time.Since(start).Nanoseconds()) / float64(req.Fresh)
	}
	return response{"ok": true, "warm_ns": warmNs, "fresh_ns": freshNs}
}
