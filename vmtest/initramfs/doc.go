// Package initramfs builds the guest's initial RAM filesystem: a newc cpio
// archive holding the static retrobpf binary as /bin/retrobpf, /init as a
// symlink to it, the directories and device nodes the agent needs, the work
// plan (/plan.json) and the user's files.
//
// The image is two concatenated archives, which the kernel unpacks in turn:
// a base holding the agent (built once per agent binary, cached by content
// hash) and a small per-run overlay with the plan and files. The base is not
// compressed: measured with scripts/bench-boot.sh, unpacking a gzip'd 20-30 MB
// binary costs the guest hundreds of milliseconds under TCG, while handing
// QEMU an uncompressed image costs the host only a file copy.
package initramfs
