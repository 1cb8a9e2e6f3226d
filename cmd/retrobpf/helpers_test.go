package main

import (
	"os"
	"os/exec"
	"path/filepath"

	"github.com/retrobpf/retrobpf/vmtest/kernels/kernelstest"
)

// buildStatic builds package pkg (relative to this directory) as a static
// binary at out, as make build does: what a VM's init or a test that
// signals a real process needs (the test binary is neither).
func buildStatic(pkg, out string) ([]byte, error) {
	cmd := exec.Command("go", "build", "-trimpath", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	return cmd.CombinedOutput()
}

// sharedKernelCache makes $xdg/retrobpf/kernels the test suite's shared
// kernel cache, so kernels download once per machine whatever
// XDG_CACHE_HOME a test gives retrobpf.
func sharedKernelCache(xdg string) error {
	shared := kernelstest.CacheDir()
	if err := os.MkdirAll(shared, 0o755); err != nil {
		return err
	}
	mine := filepath.Join(xdg, "retrobpf", "kernels")
	if err := os.MkdirAll(filepath.Dir(mine), 0o755); err != nil {
		return err
	}
	if err := os.Symlink(shared, mine); err != nil && !os.IsExist(err) {
		return err
	}
	return nil
}
