// Package agent is the guest side of vmtest: the code the retrobpf binary
// runs when the kernel starts it as PID 1 from the initramfs.
//
// Main mounts the pseudo filesystems the kernel has (proc, sysfs, devtmpfs,
// debugfs, tracefs, bpffs, cgroup2), raises RLIMIT_MEMLOCK and
// RLIMIT_NOFILE, sends a Ready frame on /dev/ttyS1, runs the steps of
// /plan.json one by one and streams each result back (see package proto),
// then powers the machine off. PID 1 must never exit (the kernel would
// panic), so every failure, including a Go panic, is reported as a Fatal
// frame and followed by a power-off.
package agent
