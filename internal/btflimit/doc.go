// Package btflimit bounds what retrobpf hands to cilium/ebpf's BTF decoder.
//
// The decoder inflates a type by recursing into every type it refers to, so
// the depth of its Go stack follows the longest chain of references in the
// BTF. A crafted file with a chain of a few hundred thousand pointers (an
// 87 KB .tar.xz is enough) exhausts Go's 1 GB stack and kills the process
// with a fatal "stack overflow" that no recover can catch. Check scans the
// raw type section without building any Type values, and refuses data that
// is too large, has too many types, whose reference chains could be deeper
// than the decoder survives, or that holds a cycle no C type can have (a
// typedef that names itself, a struct that contains itself by value).
//
// Upstream-style report (cilium/ebpf v0.22.0, btf/unmarshal.go
// decoder.inflateType): "inflateType recurses through fixup() for every
// referenced type ID; on BTF with a long reference chain (e.g. 300k
// PTR -> PTR -> ... records, 3.6 MB raw) LoadSpecFromReader succeeds but
// the first Spec.All/TypeByID dies with 'goroutine stack exceeds
// 1000000000-byte limit'. An iterative inflation (explicit work stack) or a
// depth limit returning an error would make untrusted BTF safe to load."
// TestDecoderStackOverflow keeps the reproducer.
package btflimit
