package btfhub

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cilium/ebpf/btf"

	"github.com/retrobpf/retrobpf/internal/btflimit"
)

// ErrInvalidBTF is returned for data that does not parse as BTF or lacks the
// basic kernel types.
var ErrInvalidBTF = errors.New("invalid kernel BTF")

// BasicKernelTypes are the structs every vmlinux BTF has; a file without them
// is not kernel BTF (or was cut short).
var BasicKernelTypes = []string{"task_struct", "pt_regs"}

// ValidateBTF parses raw (raw BTF or an ELF with a .BTF section) and checks
// that it is kernel BTF: it must contain the structs in BasicKernelTypes.
func ValidateBTF(raw []byte) (*btf.Spec, error) {
	if len(raw) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrInvalidBTF)
	}
	spec, err := btflimit.Load(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidBTF, err)
	}
	if err := CheckKernelSpec(spec); err != nil {
		return nil, err
	}
	return spec, nil
}

// CheckKernelSpec returns ErrInvalidBTF unless spec has BasicKernelTypes.
func CheckKernelSpec(spec *btf.Spec) error {
	if missing := MissingKernelTypes(spec); len(missing) > 0 {
		return fmt.Errorf("%w: no struct %s", ErrInvalidBTF, strings.Join(missing, ", "))
	}
	return nil
}

// MissingKernelTypes returns the BasicKernelTypes spec has no struct for.
func MissingKernelTypes(spec *btf.Spec) []string {
	var missing []string
	for _, name := range BasicKernelTypes {
		if !HasStruct(spec, name) {
			missing = append(missing, name)
		}
	}
	return missing
}

// HasStruct reports whether spec defines at least one struct called name.
// Several definitions are normal: pahole's deduplication leaves identical
// copies of some structs in BTF made from a gcc-built older kernel's DWARF
// (BTFHub's 4.19 archives), and libbpf and cilium/ebpf's CO-RE take every
// one of them as a candidate, so Spec.TypeByName's ErrMultipleMatches must
// not count as "missing".
func HasStruct(spec *btf.Spec, name string) bool {
	types, err := spec.AnyTypesByName(name)
	if err != nil {
		return false
	}
	for _, t := range types {
		if _, ok := t.(*btf.Struct); ok {
			return true
		}
	}
	return false
}
