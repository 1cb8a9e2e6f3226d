package btfhub

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/cilium/ebpf/btf"
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
	spec, err := btf.LoadSpecFromReader(bytes.NewReader(raw))
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
	for _, name := range BasicKernelTypes {
		var s *btf.Struct
		if err := spec.TypeByName(name, &s); err != nil {
			return fmt.Errorf("%w: no struct %s: %v", ErrInvalidBTF, name, err)
		}
	}
	return nil
}
