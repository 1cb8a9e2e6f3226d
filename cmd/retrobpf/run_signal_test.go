package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/retrobpf/retrobpf/matrix"
	"github.com/retrobpf/retrobpf/reports"
	"github.com/retrobpf/retrobpf/vmtest/kernels/kernelstest"
)

// TestRunSIGINTKeepsFinishedKernels sends a real SIGINT to `retrobpf run`
// once the first kernel's results are on disk: the finished kernel stays a
// valid results file, nothing half-written is left, and the exit code is 3.
func TestRunSIGINTKeepsFinishedKernels(t *testing.T) {
	if testing.Short() {
		t.Skip("boots kernels in QEMU (-short)")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to load BPF in the guest's kernel and use the shared kernel cache")
	}
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		t.Skip("qemu-system-x86_64 not installed")
	}
	kernelstest.Get(t, "6.1")
	kernelstest.Get(t, "5.10")

	tmp := t.TempDir()
	bin := filepath.Join(tmp, "retrobpf")
	if out, err := buildStatic(".", bin); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cache := filepath.Join(tmp, "cache")
	if err := sharedKernelCache(cache); err != nil {
		t.Fatal(err)
	}

	outDir := filepath.Join(tmp, "out")
	cmd := exec.Command(bin, "run", "--manifest", "../../matrix/testdata/host.yaml",
		"--kernels", "6.1,5.10", "--jobs", "1", "--accel", "tcg", "--verifier-only", "--output-dir", outDir)
	cmd.Env = append(os.Environ(), "XDG_CACHE_HOME="+cache)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{"6.1": filepath.Join(outDir, matrix.FileName("6.1")), "5.10": filepath.Join(outDir, matrix.FileName("5.10"))}
	finished := ""
	deadline := time.Now().Add(8 * time.Minute)
	for finished == "" && time.Now().Before(deadline) {
		for k, f := range files {
			if _, err := os.Stat(f); err == nil {
				finished = k
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	if finished == "" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("no kernel finished in time; stderr:\n%s", stderr.String())
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(2 * time.Minute):
		cmd.Process.Kill()
		t.Fatalf("run did not stop within 2 minutes of SIGINT; stderr:\n%s", stderr.String())
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("exit: %v, want exit code 3; stderr:\n%s", err, stderr.String())
	}

	res, err := reports.Load(files[finished])
	if err != nil {
		t.Fatalf("finished kernel %s: %v", finished, err)
	}
	if len(res.Kernels) != 1 || res.Kernels[0].Outcome != reports.OutcomeOK || len(res.Kernels[0].Variants) == 0 {
		t.Fatalf("finished kernel %s: %+v", finished, res.Kernels)
	}
	for k, f := range files {
		if k == finished {
			continue
		}
		if r, err := reports.Load(f); err == nil && r.Kernels[0].Outcome == reports.OutcomeOK {
			t.Errorf("kernel %s finished although SIGINT came first", k)
		}
	}
	// The combined file of an interrupted run is valid and keeps the finished kernel.
	all, err := reports.Load(filepath.Join(outDir, "results.json"))
	if err != nil {
		t.Fatalf("results.json: %v", err)
	}
	if k := all.Kernel(finished); k == nil || k.Outcome != reports.OutcomeOK {
		t.Errorf("results.json lost the finished kernel %s: %+v", finished, k)
	}
	if !strings.Contains(stderr.String(), "--resume") {
		t.Errorf("stderr does not say how to continue:\n%s", stderr.String())
	}
	entries, _ := os.ReadDir(outDir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("half-written file left behind: %s", e.Name())
		}
	}
}
