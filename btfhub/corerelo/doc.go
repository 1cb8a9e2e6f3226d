// Package corerelo reads the CO-RE relocations of BPF objects as plain data
// (kind, accessor, local type) so that retrobpf can reason about them: the
// minimizer keeps the kernel types they need, the load-error classifier
// names the field that did not match.
//
// cilium/ebpf attaches a *btf.CORERelocation to every relocated instruction
// (btf.CORERelocationMetadata) but keeps its fields unexported; Decode reads
// them read-only through reflection, and the tests fail loudly if the
// library's layout ever changes.
package corerelo
