package testutils

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/cilium/ebpf/btf"
)

// DuplicateStructs returns raw BTF holding every type of raw plus a second,
// identical copy of each named struct and of everything it refers to. That
// is what pahole's deduplication leaves behind in BTF made from the DWARF of
// some gcc-built older kernels (BTFHub's 4.19 archives among them): several
// definitions of task_struct that libbpf and cilium/ebpf's CO-RE both accept
// as candidates, and a validator must too.
func DuplicateStructs(raw []byte, names ...string) ([]byte, error) {
	spec, err := btf.LoadSpecFromReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("duplicate structs: %w", err)
	}
	var b btf.Builder
	for typ, err := range spec.All() {
		if err != nil {
			return nil, fmt.Errorf("duplicate structs: %w", err)
		}
		if _, err := b.Add(typ); err != nil {
			return nil, fmt.Errorf("duplicate structs: add %s: %w", typ, err)
		}
	}
	for _, name := range names {
		var s *btf.Struct
		if err := spec.TypeByName(name, &s); err != nil {
			return nil, fmt.Errorf("duplicate structs: %s: %w", name, err)
		}
		// Copy makes new values for the whole graph, which the builder
		// (deduplicating by identity only) adds as distinct types.
		if _, err := b.Add(btf.Copy(s)); err != nil {
			return nil, fmt.Errorf("duplicate structs: add copy of %s: %w", name, err)
		}
	}
	return b.Marshal(nil, nil)
}

// RawBTF assembles little-endian raw BTF from type records, each the u32
// words of one btf_type (name_off, info, size or type) and its kind's extra
// data. String offset 1 is the name "a".
func RawBTF(records ...[]uint32) []byte {
	var types bytes.Buffer
	for _, r := range records {
		binary.Write(&types, binary.LittleEndian, r)
	}
	strs := []byte("\x00a\x00")
	var out bytes.Buffer
	binary.Write(&out, binary.LittleEndian, uint16(0xeB9F))
	out.Write([]byte{1, 0})
	binary.Write(&out, binary.LittleEndian, []uint32{24, 0, uint32(types.Len()), uint32(types.Len()), uint32(len(strs))})
	out.Write(types.Bytes())
	out.Write(strs)
	return out.Bytes()
}

// BTFInfo is a btf_type info word.
func BTFInfo(kind, vlen int) uint32 { return uint32(kind)<<24 | uint32(vlen) }

// IntRecord is a 32-bit int named "a".
var IntRecord = []uint32{1, BTFInfo(1, 0), 4, 32}

// PointerChainBTF is an int (ID 1) and n pointers, pointer i referring to
// pointer i+1 and the last to the int: inflating the first pointer makes
// cilium/ebpf's decoder recurse n levels deep (hostile input: 300k levels
// overflow Go's stack, and the raw BTF xz-compresses to under 100 KB).
func PointerChainBTF(n int) []byte {
	records := [][]uint32{IntRecord}
	for i := 2; i <= n+1; i++ {
		ref := uint32(i + 1)
		if i == n+1 {
			ref = 1
		}
		records = append(records, []uint32{0, BTFInfo(2, 0), ref})
	}
	return RawBTF(records...)
}
