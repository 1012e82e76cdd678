// Spec `json`: typed JSON in and out with encoding/json. Input that does not
// have the expected shape is a plugin error starting `invalid input`.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strings"

	"github.com/extism/go-pdk"
)

// scores is the input. Pointers tell a missing or null field (an error) from
// a zero value, which encoding/json would otherwise accept silently.
type scores struct {
	Name   *string     `json:"name"`
	Scores *[]*float64 `json:"scores"`
}

// summary is the output; field order is the key order every language shares.
type summary struct {
	Name  string   `json:"name"`
	Count int      `json:"count"`
	Sum   float64  `json:"sum"`
	Min   *float64 `json:"min"`
	Max   *float64 `json:"max"`
	Mean  *float64 `json:"mean"`
}

//go:wasmexport summarize
func summarize() int32 {
	name, values, err := parse(pdk.Input())
	if err != nil {
		pdk.SetErrorString("invalid input: " + err.Error())
		return 1
	}

	out := summary{Name: strings.ToUpper(name), Count: len(values)}
	if len(values) > 0 {
		low, high := math.Inf(1), math.Inf(-1)
		for _, v := range values {
			out.Sum += v
			low, high = math.Min(low, v), math.Max(high, v)
		}
		mean := out.Sum / float64(len(values))
		out.Min, out.Max, out.Mean = &low, &high, &mean
	}

	// An Encoder, unlike json.Marshal, can leave <, > and & unescaped, as
	// the other languages do.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		pdk.SetError(err)
		return 1
	}
	pdk.Output(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
	return 0
}

// parse checks the input's shape: {"name": string, "scores": [number, ...]}.
func parse(input []byte) (string, []float64, error) {
	var in scores
	if err := json.Unmarshal(input, &in); err != nil {
		return "", nil, err
	}
	if in.Name == nil || in.Scores == nil {
		return "", nil, errors.New(`expected {"name": string, "scores": [number, ...]}`)
	}
	values := make([]float64, len(*in.Scores))
	for i, v := range *in.Scores {
		if v == nil {
			return "", nil, errors.New("scores must be numbers, found null")
		}
		values[i] = *v
	}
	return *in.Name, values, nil
}

// main is never called: the module is a reactor the host calls into.
func main() {}
