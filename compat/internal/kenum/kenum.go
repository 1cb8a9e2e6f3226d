// Package kenum holds the kernel enumerations the feature catalog tracks one
// feature per value of: program types, map types, map flags and helpers.
//
// It is internal to compat so that the catalog (compat) and the probe
// (compat/probe) read the same tables without either exporting them.
package kenum

// Enum is one value of a kernel enum: the cilium/ebpf constant, its
// bpftool/libbpf name, the first upstream kernel, a description and an
// optional hint.
type Enum[T comparable] struct {
	Type  T
	Name  string // bpftool/libbpf name: the part of the feature ID after the colon
	Since string
	Desc  string
	Hint  string
}

// ByName returns the entry of table with bpftool name name.
func ByName[T comparable](table []Enum[T], name string) (Enum[T], bool) {
	for _, e := range table {
		if e.Name == name {
			return e, true
		}
	}
	return Enum[T]{}, false
}
