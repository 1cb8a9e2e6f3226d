// Package vmlinuz reads what a kernel image holds without booting it: the
// vmlinux ELF compressed inside an x86 bzImage and, from it, the kernel's
// own BTF (its .BTF section, what /sys/kernel/btf/vmlinux serves once it
// runs).
//
// The payload is located by the boot protocol's setup header
// (payload_offset, payload_length, 2.08+) and decompressed by its magic:
// gzip, xz, zstd, bzip2, lzma and LZ4's legacy frames (what the kernel's
// own KERNEL_LZ4 writes: Debian's 5.10 and 6.1 images). Every size read is
// bounded.
package vmlinuz
