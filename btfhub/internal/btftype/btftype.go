// Package btftype holds small questions about cilium/ebpf BTF types that
// both the CO-RE relocation explainer and the BTF minimizer ask.
package btftype

import "github.com/cilium/ebpf/btf"

// Members returns the members of a struct or union, nil for any other type.
func Members(t btf.Type) []btf.Member {
	switch u := t.(type) {
	case *btf.Struct:
		return u.Members
	case *btf.Union:
		return u.Members
	}
	return nil
}
