// Package minimize shrinks a full kernel BTF to the types and members that
// the CO-RE relocations of a set of BPF objects need, like
// `bpftool gen min_core_btf` (BTFgen) but in pure Go, so no bpftool is needed
// at run time.
//
// For every relocation it visits each kernel type the relocation could be
// matched against (same essential name, as cilium/ebpf and libbpf search)
// and keeps exactly what the relocation algorithm reads:
//
//   - field relocations: the members along the accessor (including the
//     anonymous structs/unions they sit in), and for each member type its
//     layout (size, integer encoding, enum values, array bounds; pointers
//     become pointers to void unless their target is needed elsewhere);
//   - type_exists/type_size/target_type_id: the type's compatibility shape
//     (typedef, pointer, array and function-prototype chains down to the
//     first struct, union, enum or int, whose size is kept);
//   - type_matches: the members named in the local type, recursively;
//   - enum value relocations: the whole enum.
//
// Relocating the same objects against the result gives the same fixups as
// against the full BTF, except target_type_id values, which are IDs in the
// BTF used (as with BTFgen). Attach targets of fentry/tp_btf/LSM programs
// are resolved by the kernel against its own BTF, never against external
// BTF, so they are not kept.
package minimize

//go:generate sh -c "clang -O2 -g -target bpf -D__TARGET_ARCH_x86 -I/usr/include/$(uname -m)-linux-gnu -c testdata/core.c -o testdata/core.o && clang -O2 -g -target bpf -D__TARGET_ARCH_x86 -I/usr/include/$(uname -m)-linux-gnu -c testdata/bad.c -o testdata/bad.o"
