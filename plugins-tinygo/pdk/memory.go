// Blocks of the host's kernel memory. Plugin data crosses the boundary by
// copying into or out of a block, eight bytes per host call where it can.

package pdk

import "encoding/binary"

// Memory is a block of host memory: a handle and the block's length in bytes.
type Memory struct {
	offset uint64
	length uint64
}

// NewMemory wraps a block the caller already knows the handle and length of.
func NewMemory(offset uint64, length uint64) Memory {
	return Memory{offset: offset, length: length}
}

// Allocate reserves an uninitialised block of `length` bytes on the host.
func Allocate(length int) Memory {
	n := uint64(length)
	return Memory{offset: extismAlloc(n), length: n}
}

// AllocateBytes copies `data` into a new block on the host.
func AllocateBytes(data []byte) Memory {
	mem := Allocate(len(data))
	mem.Store(data)
	return mem
}

// AllocateString copies the UTF-8 bytes of `data` into a new block on the host.
func AllocateString(data string) Memory {
	return AllocateBytes([]byte(data))
}

// FindMemory looks up the block at `offset`; unknown handles give an empty Memory.
func FindMemory(offset uint64) Memory {
	length := extismLength(offset)
	if length == 0 {
		return Memory{}
	}
	return Memory{offset: offset, length: length}
}

// Load copies the block's first len(buffer) bytes into `buffer`.
func (m *Memory) Load(buffer []byte) {
	load(m.offset, buffer, extismLoadU64, extismLoadU8)
}

// Store copies `data` into the start of the block.
func (m *Memory) Store(data []byte) {
	words := len(data) &^ 7
	for i := 0; i < words; i += 8 {
		extismStoreU64(m.offset+uint64(i), binary.LittleEndian.Uint64(data[i:]))
	}
	for i := words; i < len(data); i++ {
		extismStoreU8(m.offset+uint64(i), uint32(data[i]))
	}
}

// ReadBytes returns a copy of the whole block.
func (m *Memory) ReadBytes() []byte {
	buf := make([]byte, m.length)
	m.Load(buf)
	return buf
}

// Free returns the block to the host; the handle must not be used afterwards.
func (m *Memory) Free() {
	extismFree(m.offset)
}

// Length is the block's size in bytes.
func (m *Memory) Length() uint64 {
	return m.length
}

// Offset is the block's handle, the value host functions take and return.
func (m *Memory) Offset() uint64 {
	return m.offset
}

// load fills `buf` from host memory starting at `offset`, through the given
// word and byte readers (kernel blocks and the call's input use different ones).
func load(offset uint64, buf []byte, loadWord func(uint64) uint64, loadByte func(uint64) uint32) {
	words := len(buf) &^ 7
	for i := 0; i < words; i += 8 {
		binary.LittleEndian.PutUint64(buf[i:], loadWord(offset+uint64(i)))
	}
	for i := words; i < len(buf); i++ {
		buf[i] = uint8(loadByte(offset + uint64(i)))
	}
}
