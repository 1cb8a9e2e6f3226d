package testutils

import (
	"os"
	"os/exec"
	"testing"

	"github.com/cilium/ebpf/features"

	"github.com/retrobpf/retrobpf/internal/kversion"
)

// RequireRoot skips the test unless it runs as root; why says what root is
// needed for ("load BPF programs").
func RequireRoot(tb testing.TB, why string) {
	tb.Helper()
	if os.Geteuid() != 0 {
		tb.Skipf("needs root to %s", why)
	}
}

// RequireQEMU skips the test unless qemu-system-x86_64 is on PATH.
func RequireQEMU(tb testing.TB) {
	tb.Helper()
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		tb.Skip("qemu-system-x86_64 not installed (make deps installs it)")
	}
}

// SkipOnOldKernel skips the test when the running kernel is older than min,
// naming the feature that needs it, in the manner of cilium/ebpf's
// testutils.SkipOnOldKernel.
func SkipOnOldKernel(tb testing.TB, min, feature string) {
	tb.Helper()
	want, err := kversion.Parse(min)
	if err != nil {
		tb.Fatalf("SkipOnOldKernel: %v", err)
	}
	code, err := features.LinuxVersionCode()
	if err != nil {
		tb.Fatalf("kernel version: %v", err)
	}
	if have := kversion.FromCode(code); have.Less(want) {
		tb.Skipf("%s needs kernel %s, running %s", feature, want, have)
	}
}
