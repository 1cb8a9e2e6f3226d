package testutils

import (
	"bytes"
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
