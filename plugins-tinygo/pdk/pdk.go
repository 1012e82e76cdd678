// Package pdk is the polyplug stand-in for the official Extism Go PDK
// (github.com/extism/go-pdk): the same names and signatures for the subset
// polyplug's plugins use, written against the same `extism:host/env` imports.
// See README.md for why it exists and how to switch to the official module.
package pdk

import (
	"encoding/binary"
	"encoding/json"
)

// LogLevel is the severity of a log message, from LogTrace (lowest) to LogError.
type LogLevel int

const (
	LogTrace LogLevel = iota
	LogDebug
	LogInfo
	LogWarn
	LogError
)

// Input returns the bytes the host passed to this call.
func Input() []byte {
	buf := make([]byte, extismInputLength())
	load(0, buf, extismInputLoadU64, extismInputLoadU8)
	return buf
}

// InputString returns the call's input as a string (bytes are not validated).
func InputString() string {
	return string(Input())
}

// InputJSON decodes the call's input as JSON into `v`.
func InputJSON(v any) error {
	return json.Unmarshal(Input(), v)
}

// Output sets the call's output to `data`.
func Output(data []byte) {
	OutputMemory(AllocateBytes(data))
}

// OutputString sets the call's output to the bytes of `s`.
func OutputString(s string) {
	Output([]byte(s))
}

// OutputJSON sets the call's output to `v` encoded as JSON.
func OutputJSON(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	Output(b)
	return nil
}

// OutputMemory sets the call's output to a block; the caller still owns it.
func OutputMemory(mem Memory) {
	extismOutputSet(mem.offset, mem.length)
}

// SetError makes this call fail with `err`'s message; the export should then
// return a non-zero status.
func SetError(err error) {
	SetErrorString(err.Error())
}

// SetErrorString makes this call fail with message `err`.
func SetErrorString(err string) {
	// Not freed: the host reads the message after the export returns.
	mem := AllocateString(err)
	extismErrorSet(mem.offset)
}

// GetConfig returns the value of config `key`, and false when it is not set
// (or empty).
func GetConfig(key string) (string, bool) {
	value := get(extismConfigGet, key)
	return string(value), value != nil
}

// GetVar returns the value of plugin var `key`, or nil when it is not set.
// Vars live as long as the plugin instance.
func GetVar(key string) []byte {
	return get(extismVarGet, key)
}

// SetVar sets plugin var `key` to `value`.
func SetVar(key string, value []byte) {
	k, v := AllocateString(key), AllocateBytes(value)
	extismVarSet(k.offset, v.offset)
}

// GetVarInt returns plugin var `key` read as a little-endian u64, or 0.
func GetVarInt(key string) int {
	value := GetVar(key)
	if len(value) < 8 {
		return 0
	}
	return int(binary.LittleEndian.Uint64(value))
}

// SetVarInt stores `value` in plugin var `key` as a little-endian u64.
func SetVarInt(key string, value int) {
	SetVar(key, binary.LittleEndian.AppendUint64(nil, uint64(value)))
}

// RemoveVar deletes plugin var `key`.
func RemoveVar(key string) {
	extismVarSet(AllocateString(key).offset, 0)
}

// Log sends `s` to the host's logger at `level`, unless the host filters it out.
func Log(level LogLevel, s string) {
	if level < LogLevel(extismGetLogLevel()) {
		return // skip the copy for a message the host would drop
	}
	LogMemory(level, AllocateString(s))
}

// LogMemory sends the contents of a block to the host's logger at `level`.
func LogMemory(level LogLevel, mem Memory) {
	if level < LogLevel(extismGetLogLevel()) {
		return
	}
	switch level {
	case LogTrace:
		extismLogTrace(mem.offset)
	case LogDebug:
		extismLogDebug(mem.offset)
	case LogInfo:
		extismLogInfo(mem.offset)
	case LogWarn:
		extismLogWarn(mem.offset)
	case LogError:
		extismLogError(mem.offset)
	}
}

// get looks `key` up with config_get or var_get; nil means absent or empty.
func get(lookup func(uint64) uint64, key string) []byte {
	// Not freed: the host takes ownership of the key block and frees it.
	offset := lookup(AllocateString(key).offset)
	if offset == 0 {
		return nil
	}
	mem := FindMemory(offset)
	if mem.length == 0 {
		return nil
	}
	return mem.ReadBytes()
}
