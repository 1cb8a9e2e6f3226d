// Package agent is the guest side of vmtest: the code the retrobpf binary
// runs when the kernel starts it as PID 1 from the initramfs.
//
// Main sends a Ready frame on /dev/ttyS1 the moment it runs (the host times
// the boot by it), mounts the pseudo filesystems the kernel has (devtmpfs,
// proc, sysfs, tmpfs, debugfs, tracefs, bpffs, cgroup2; a missing one is
// recorded in the Setup frame, not an error), raises RLIMIT_MEMLOCK and
// RLIMIT_NOFILE, runs the steps of /plan.json one by one and streams each
// result back (see package proto), then powers the machine off. PID 1 must
// never exit (the kernel would panic), so every failure, a Go panic
// included, is reported as a Fatal frame and followed by a power-off.
//
// Importing the package is enough: its init function starts the agent when
// the process is PID 1, before the binary's heavier packages initialize.
package agent
