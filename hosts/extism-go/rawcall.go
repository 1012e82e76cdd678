package main

// Raw calls: a plain numeric export such as add(i32, i32) -> i32.
//
// go-sdk v1.7.1 calls exports only through the Extism ABI (no arguments, an i32
// status). Plugin.Module() exposes export names but not the functions, so this file
// reaches the plugin's wazero instance through the Plugin struct's unexported
// fields, read with reflect. It checks the fields' types first: if a future SDK
// renames them, describe says raw_calls: false and call_raw answers unsupported.

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"unsafe"

	extism "github.com/extism/go-sdk"
	"github.com/tetratelabs/wazero/api"
)

// rawValue is one typed wasm value: {"i32": 1}, {"i64": 2}, {"f32": 1.5}, {"f64": 2.5}.
type rawValue map[string]json.Number

var moduleType = reflect.TypeOf((*api.Module)(nil)).Elem()

func rawCallsAvailable() bool {
	t := reflect.TypeOf(extism.Plugin{})
	for _, name := range []string{"mainModule", "extism"} {
		f, ok := t.FieldByName(name)
		if !ok || f.Type != moduleType {
			return false
		}
	}
	g, ok := t.FieldByName("guestRuntime")
	if !ok {
		return false
	}
	init, ok1 := g.Type.FieldByName("init")
	done, ok2 := g.Type.FieldByName("initialized")
	return ok1 && ok2 && init.Type == reflect.TypeOf(func(context.Context) error { return nil }) &&
		done.Type.Kind() == reflect.Bool
}

// open makes an unexported field usable (it lives in an addressable struct).
func open(v reflect.Value) reflect.Value {
	return reflect.NewAt(v.Type(), unsafe.Pointer(v.UnsafeAddr())).Elem()
}

func pluginField(p *extism.Plugin, name string) reflect.Value {
	return open(reflect.ValueOf(p).Elem().FieldByName(name))
}

// mainModule is the plugin's own wazero module instance, or nil.
func mainModule(p *extism.Plugin) api.Module {
	if !rawCallsAvailable() {
		return nil
	}
	m, _ := pluginField(p, "mainModule").Interface().(api.Module)
	return m
}

// initGuest runs the guest runtime's initialisation (_initialize for a WASI
// reactor) once, as Plugin.Call does before the first export.
func initGuest(ctx context.Context, p *extism.Plugin) error {
	g := pluginField(p, "guestRuntime")
	done := open(g.FieldByName("initialized"))
	if done.Bool() {
		return nil
	}
	init := open(g.FieldByName("init")).Interface().(func(context.Context) error)
	if init != nil {
		if err := init(ctx); err != nil {
			return fmt.Errorf("failed to initialize runtime: %v", err)
		}
	}
	done.SetBool(true)
	return nil
}

func (s *session) callRaw(export string, args []rawValue) response {
	if !rawCallsAvailable() {
		return unsupported("call_raw: this go-sdk build hides its wazero module")
	}
	if fail := s.ready(); fail != nil {
		return fail
	}
	s.beginCall(export)
	p := s.plugin
	fn := mainModule(p).ExportedFunction(export)
	if fn == nil {
		return s.finish(failure("missing-export", "unknown function: "+export))
	}
	def := fn.Definition()
	if len(args) != len(def.ParamTypes()) {
		return s.finish(failure("missing-export", fmt.Sprintf("%s takes %d parameters (%s), not %d",
			export, len(def.ParamTypes()), typeNames(def.ParamTypes()), len(args))))
	}
	stack := make([]uint64, max(len(def.ParamTypes()), len(def.ResultTypes())))
	for i, t := range def.ParamTypes() {
		v, err := encodeValue(args[i], t)
		if err != nil {
			return s.finish(failure("missing-export", fmt.Sprintf("%s parameter %d: %v", export, i, err)))
		}
		stack[i] = v
	}

	// The same context Plugin.Call builds, so env functions work if the export uses them.
	ctx := context.WithValue(context.Background(), extism.PluginCtxKey("extism"),
		pluginField(p, "extism").Interface().(api.Module))
	ctx = context.WithValue(ctx, extism.PluginCtxKey("plugin"), p)
	if p.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.Timeout)
		defer cancel()
	}
	if err := initGuest(ctx, p); err != nil {
		return s.finish(s.failed(err))
	}
	s.inCall = true // from here on, every message is the plugin's
	if err := fn.CallWithStack(ctx, stack); err != nil {
		return s.finish(s.failed(err))
	}
	results := []map[string]any{}
	for i, t := range def.ResultTypes() {
		results = append(results, decodeValue(stack[i], t))
	}
	return s.finish(response{"ok": true, "results": results})
}

func typeNames(ts []api.ValueType) string {
	out := ""
	for i, t := range ts {
		if i > 0 {
			out += ", "
		}
		out += api.ValueTypeName(t)
	}
	return out
}

func encodeValue(v rawValue, t api.ValueType) (uint64, error) {
	name := api.ValueTypeName(t)
	n, ok := v[name]
	if !ok || len(v) != 1 {
		return 0, fmt.Errorf("expected {%q: number}, got %v", name, map[string]json.Number(v))
	}
	switch t {
	case api.ValueTypeI32:
		i, err := n.Int64()
		return api.EncodeI32(int32(i)), err
	case api.ValueTypeI64:
		i, err := n.Int64()
		return api.EncodeI64(i), err
	case api.ValueTypeF32:
		f, err := n.Float64()
		return api.EncodeF32(float32(f)), err
	case api.ValueTypeF64:
		f, err := n.Float64()
		return api.EncodeF64(f), err
	}
	return 0, fmt.Errorf("cannot pass a %s", name)
}

func decodeValue(v uint64, t api.ValueType) map[string]any {
	name := api.ValueTypeName(t)
	switch t {
	case api.ValueTypeI32:
		return map[string]any{name: api.DecodeI32(v)}
	case api.ValueTypeI64:
		return map[string]any{name: int64(v)}
	case api.ValueTypeF32:
		return map[string]any{name: api.DecodeF32(v)}
	case api.ValueTypeF64:
		return map[string]any{name: api.DecodeF64(v)}
	}
	return map[string]any{name: v}
}
