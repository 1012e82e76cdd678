// Spec `count-vowels`: counts the input's characters that are vowels and keeps
// a running total in a plugin var, so state survives across calls on one
// instance. The output's bytes must match every other language exactly.
package main

import (
	"strconv"
	"strings"

	"github.com/extism/go-pdk"
)

const defaultVowels = "aeiouAEIOU"

//go:wasmexport count_vowels
func countVowels() int32 {
	vowels, ok := pdk.GetConfig("vowels")
	if !ok {
		vowels = defaultVowels
	}
	count := 0
	for _, r := range pdk.InputString() {
		if strings.ContainsRune(vowels, r) {
			count++
		}
	}

	// The total is stored as decimal text so every language reads the same var.
	total := count
	if text := pdk.GetVar("total"); text != nil {
		previous, err := strconv.Atoi(string(text))
		if err != nil {
			pdk.SetErrorString("var total is not a decimal number: " + err.Error())
			return 1
		}
		total += previous
	}
	pdk.SetVar("total", []byte(strconv.Itoa(total)))

	// Built by hand to fix the key order and the escaping (see jsonString).
	pdk.OutputString(`{"count":` + strconv.Itoa(count) + `,"total":` + strconv.Itoa(total) +
		`,"vowels":` + jsonString(vowels) + `}`)
	return 0
}

// jsonString quotes s as a JSON string escaping only what JSON requires, like
// JavaScript's JSON.stringify and Rust's serde_json (encoding/json would also
// escape <, >, & and U+2028/U+2029, and give different bytes).
func jsonString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r < 0x20:
			b.WriteString(`\u00`)
			b.WriteByte("0123456789abcdef"[r>>4])
			b.WriteByte("0123456789abcdef"[r&0xf])
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// main is never called: the module is a reactor the host calls into.
func main() {}
