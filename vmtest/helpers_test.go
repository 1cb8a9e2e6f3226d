package vmtest

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/retrobpf/retrobpf/vmtest/kernels"
	"github.com/retrobpf/retrobpf/vmtest/kernels/kernelstest"
)

var (
	buildDir  string
	buildMu   sync.Mutex
	buildDone = map[string]string{}
)

func TestMain(m *testing.M) {
	d, err := os.MkdirTemp("", "vmtest-bin-*")
	if err != nil {
		panic(err)
	}
	buildDir = d
	code := m.Run()
	os.RemoveAll(d)
	os.Exit(code)
}

// goBuild builds a static binary of pkg (relative to the module root) once
// per test process.
func goBuild(t testing.TB, pkg string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := buildDone[pkg]; ok {
		return p
	}
	out := filepath.Join(buildDir, strings.NewReplacer("/", "_", ".", "_").Replace(pkg))
	cmd := exec.Command("go", "build", "-trimpath", "-o", out, pkg)
	cmd.Dir = moduleRoot(t)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	buildDone[pkg] = out
	return out
}

func moduleRoot(t testing.TB) string {
	wd, _ := os.Getwd()
	return filepath.Dir(wd)
}

// agentBinary is the retrobpf binary, the real guest agent.
func agentBinary(t testing.TB) string { return goBuild(t, "./cmd/retrobpf") }

// testKernel returns the Debian kernel for alias ("6.1") from the shared
// test cache, or skips when QEMU or the kernel is unavailable.
func testKernel(t testing.TB, alias string) *kernels.Kernel {
	t.Helper()
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		t.Skip("qemu-system-x86_64 not installed")
	}
	return kernelstest.Get(t, alias)
}

type kernelsKernel = kernels.Kernel

func errorsIs(err, target error) bool { return errors.Is(err, target) }
