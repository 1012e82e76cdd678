// Helpers for host functions, whose arguments and results are handles to
// blocks of host memory: read a block a handle points at, or copy a value into
// a new block and pass its handle on.

package pdk

import (
	"encoding/binary"
	"encoding/json"
)

// ParamBytes returns a copy of the block at `offset`.
func ParamBytes(offset uint64) []byte {
	mem := FindMemory(offset)
	return mem.ReadBytes()
}

// ParamString returns the block at `offset` as a string.
func ParamString(offset uint64) string {
	return string(ParamBytes(offset))
}

// ParamU32 reads the block at `offset` as a little-endian u32.
func ParamU32(offset uint64) uint32 {
	return binary.LittleEndian.Uint32(ParamBytes(offset))
}

// ParamU64 reads the block at `offset` as a little-endian u64.
func ParamU64(offset uint64) uint64 {
	return binary.LittleEndian.Uint64(ParamBytes(offset))
}

// JSONFrom decodes the block at `offset` as JSON into `v`.
func JSONFrom(offset uint64, v any) error {
	return json.Unmarshal(ParamBytes(offset), v)
}

// ResultBytes copies `d` into a new block and returns its handle.
func ResultBytes(d []byte) uint64 {
	mem := AllocateBytes(d)
	return mem.Offset()
}

// ResultString copies `s` into a new block and returns its handle.
func ResultString(s string) uint64 {
	return ResultBytes([]byte(s))
}

// ResultU32 stores `d` little-endian in a new block and returns its handle.
func ResultU32(d uint32) uint64 {
	return ResultBytes(binary.LittleEndian.AppendUint32(nil, d))
}

// ResultU64 stores `d` little-endian in a new block and returns its handle.
func ResultU64(d uint64) uint64 {
	return ResultBytes(binary.LittleEndian.AppendUint64(nil, d))
}

// AllocateJSON copies `v` encoded as JSON into a new block.
func AllocateJSON(v any) (Memory, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return Memory{}, err
	}
	return AllocateBytes(b), nil
}
