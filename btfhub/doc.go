// Package btfhub brings external kernel BTF to kernels that have none
// (no /sys/kernel/btf/vmlinux, e.g. Debian 10's 4.19), so that CO-RE
// programs can still relocate there.
//
// It maps a kernel (os-release ID and VERSION_ID, uname -m, uname -r) to its
// file in a BTFHub-layout archive (<id>/<version>/<arch>/<release>.btf.tar.xz),
// fetches it from a configured archive base URL or a local mirror, extracts
// and validates it strictly, and keeps it in a cache whose lock file records
// the SHA256 of every fetched tarball (the archive publishes no checksums).
//
// KernelTypes picks the kernel types for a load in a fixed order (explicit
// file, RETROBPF_BTF, /sys/kernel/btf/vmlinux, cache/hub) and says which
// source it used; ClassifyLoadError turns the verifier's "bad CO-RE
// relocation" into a COREError naming the types and fields that did not
// match. Package btfhub/minimize shrinks a full BTF to what a set of objects
// needs (BTFgen, in pure Go).
package btfhub
