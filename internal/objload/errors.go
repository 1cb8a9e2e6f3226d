package objload

import "errors"

var (
	// ErrBadObject is returned for input the ELF or BTF reader refuses.
	ErrBadObject = errors.New("invalid BPF object")
	// ErrUnresolved is returned for a non-weak extern that the target does
	// not provide (a CONFIG_ option the target's config lacks, a kernel
	// variable its BTF lacks). The message names the extern.
	ErrUnresolved = errors.New("unresolved extern")
	// ErrUnsupportedExtern is returned for a __kconfig extern whose type or
	// name libbpf would refuse too (a struct, an unknown LINUX_ name).
	ErrUnsupportedExtern = errors.New("unsupported extern")
	// ErrBadValue is returned when the target's value does not fit the
	// extern's type (CONFIG_X=m for a bool, 300 for a u8).
	ErrBadValue = errors.New("extern value does not fit its type")
)
