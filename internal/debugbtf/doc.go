// Package debugbtf makes a Debian kernel's BTF the way BTFHub makes it:
// pahole --btf_encode_detached over the DWARF vmlinux of the kernel's
// -dbg package, downloaded with apt from the system's own sources. Tests
// and bench-accuracy use it for BTF nobody here wrote.
package debugbtf
