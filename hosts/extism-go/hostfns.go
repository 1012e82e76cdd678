package main

import (
	"context"
	"fmt"

	extism "github.com/extism/go-sdk"
)

// hostFunction makes a user host function that the runner serves: each i64
// parameter is a memory handle whose bytes go to the runner in a host_call; each
// answer is written to new plugin memory and returned as a handle (empty -> 0).
// A runner error, or an answer of the wrong shape, fails the host function, which
// the SDK turns into a trap of the call.
func (d *driver) hostFunction(spec hostFnSpec) extism.HostFunction {
	params := make([]extism.ValueType, spec.Params)
	for i := range params {
		params[i] = extism.ValueTypePTR
	}
	results := make([]extism.ValueType, spec.Results)
	for i := range results {
		results[i] = extism.ValueTypePTR
	}
	label := spec.Namespace + "::" + spec.Name

	fn := extism.NewHostFunctionWithStack(spec.Name,
		func(ctx context.Context, p *extism.CurrentPlugin, stack []uint64) {
			args := make([][]byte, spec.Params)
			for i := range args {
				b, err := p.ReadBytes(stack[i])
				if err != nil {
					panic(fmt.Errorf("host function %s: argument %d: %w", label, i, err))
				}
				args[i] = b
			}
			answers, err := d.hostCall(spec.Name, args)
			if err != nil {
				panic(fmt.Errorf("host function %s failed: %w", label, err))
			}
			if len(answers) != spec.Results {
				panic(fmt.Errorf("host function %s: the runner gave %d results for %d",
					label, len(answers), spec.Results))
			}
			for i, answer := range answers {
				if len(answer) == 0 {
					stack[i] = 0
					continue
				}
				handle, err := p.WriteBytes(answer)
				if err != nil {
					panic(fmt.Errorf("host function %s: result %d: %w", label, i, err))
				}
				stack[i] = handle
			}
		},
		params, results)
	fn.SetNamespace(spec.Namespace)
	return fn
}
