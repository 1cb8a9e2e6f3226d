// Package initramfs builds the guest's initial RAM filesystem: a newc cpio
// archive holding the static retrobpf binary as /bin/retrobpf, /init as a
// symlink to it, the directories and device nodes the agent needs, the work
// plan (/plan.json) and the user's files.
//
// The image is two concatenated archives, which the kernel unpacks in turn:
// a base holding the agent (built once per agent binary, cached by content
// hash) and a small per-run overlay with the plan and files.
//
// The agent goes in stripped (only what its PT_LOAD segments cover: the
// kernel never maps the DWARF and symbol tables, a third of a Go binary),
// and the image is not compressed. Measured on 6.1 under TCG with a 15 MB
// stripped agent (kernel log "Trying to unpack rootfs" to "Freeing initrd
// memory", three boots each on a loaded 2-core host): uncompressed
// 0.16/0.38/0.50 s, gzip (6 MB) 0.44/0.57/0.81 s. Inflating under emulation
// costs more than copying; an uncompressed image costs the host only a
// file copy per run.
package initramfs
