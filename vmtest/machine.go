package vmtest

import (
	"fmt"
	"runtime"
	"time"

	"github.com/retrobpf/retrobpf/vmtest/kernels"
)

// Accel selects how QEMU executes the guest.
type Accel string

// Accelerators. AccelAuto uses KVM only when a short real boot proved it
// works on this host (see DetectAccel); otherwise TCG.
const (
	AccelAuto Accel = "auto"
	AccelKVM  Accel = "kvm"
	AccelTCG  Accel = "tcg"
)

// ParseAccel parses "auto", "kvm" or "tcg" ("" means auto).
func ParseAccel(s string) (Accel, error) {
	switch a := Accel(s); a {
	case "":
		return AccelAuto, nil
	case AccelAuto, AccelKVM, AccelTCG:
		return a, nil
	}
	return "", fmt.Errorf("accel %q: want auto, kvm or tcg", s)
}

// Machine describes the VM.
type Machine struct {
	Kernel *kernels.Kernel
	Accel  Accel // default AccelAuto

	MemoryMB int    // default 512
	CPUs     int    // default 1
	CPU      string // QEMU -cpu model; default DefaultCPUKVM or DefaultCPUTCG

	// BootTimeout bounds the time from QEMU's start to the agent's Ready
	// frame, RunTimeout the time from Ready to the agent's Done frame.
	// Zero means DefaultBootTimeout / DefaultRunTimeout, multiplied by
	// TCGSlowdown under TCG; explicit values are used as given.
	BootTimeout time.Duration
	RunTimeout  time.Duration

	Cmdline string // extra kernel command line, appended

	// Icount runs TCG with instruction counting (-icount shift=0,
	// sleep=off): the guest's clock advances one nanosecond per executed
	// instruction, so a time measured inside the guest is a function of
	// the work done, not of the host's load. Overhead measured so is in
	// icount-ns, never real nanoseconds. TCG only.
	Icount bool

	// WorkDir keeps the run's files (console.log, initramfs.cpio) when
	// set; otherwise a temporary directory is used and removed.
	WorkDir string

	// Agent is the static binary to use as /init; default: the running
	// executable (the retrobpf binary). Tests and benchmarks set it.
	Agent string

	// CacheDir holds the cached initramfs base and the accel probe's
	// answer; default $XDG_CACHE_HOME/retrobpf.
	CacheDir string

	// QEMU is the emulator binary; default "qemu-system-x86_64".
	QEMU string
}

// Defaults for Machine.
const (
	DefaultCPUKVM = "host"
	DefaultCPUTCG = "max"

	DefaultMemoryMB    = 512
	DefaultBootTimeout = 20 * time.Second
	DefaultRunTimeout  = 10 * time.Minute
	// TCGSlowdown scales the default deadlines under TCG.
	TCGSlowdown = 4
)

// DefaultJobs is the default number of VMs run at once: one per core.
func DefaultJobs() int { return runtime.NumCPU() }

func (m Machine) withDefaults(accel Accel) Machine {
	if m.MemoryMB <= 0 {
		m.MemoryMB = DefaultMemoryMB
	}
	if m.CPUs <= 0 {
		m.CPUs = 1
	}
	scale := time.Duration(1)
	if accel == AccelTCG {
		scale = TCGSlowdown
	}
	if m.BootTimeout <= 0 {
		m.BootTimeout = DefaultBootTimeout * scale
	}
	if m.RunTimeout <= 0 {
		m.RunTimeout = DefaultRunTimeout * scale
	}
	if m.CPU == "" {
		m.CPU = DefaultCPUTCG
		if accel == AccelKVM {
			m.CPU = DefaultCPUKVM
		}
	}
	if m.QEMU == "" {
		m.QEMU = "qemu-system-x86_64"
	}
	return m
}
