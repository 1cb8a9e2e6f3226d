// Package vmtest boots real kernels in QEMU and runs work inside them.
//
// Run builds an initramfs whose /init is the static retrobpf binary itself
// (package agent runs when it is PID 1), boots the kernel with it under KVM
// or TCG, and reads the agent's framed results from the second serial port
// (package proto) while the first serial port, the console, goes to
// console.log. No disk, network, 9p or virtio device is used, so stock
// distribution kernels whose virtio drivers are modules boot as they are.
//
// The agent sends a Ready frame as soon as it runs: Result.BootToReady
// (host clock), GuestReady (guest clock) and ReadyCPU (QEMU's CPU time)
// time the boot, and the boot deadline ends there; the run deadline covers
// the steps. Default deadlines are scaled by TCGSlowdown under TCG.
// scripts/bench-boot.sh compares the boot against a bare init.
//
// Every run ends in one Outcome: ok, failed (a step failed), kernel-panic,
// oops, timeout (boot deadline until the agent's Ready frame, then a run
// deadline) or infra-error (QEMU missing or crashed, agent never reported),
// always with the console tail.
//
//	res, err := vmtest.Run(ctx, vmtest.Machine{Kernel: k}, vmtest.Plan{
//		Steps: []vmtest.Step{{Name: "uname", Args: []string{"/bin/retrobpf", "probe", "--format", "json"}}},
//	})
//
// err is only for bad input (a missing kernel file, a relative guest path);
// everything that happens to the VM is in the Result.
package vmtest
