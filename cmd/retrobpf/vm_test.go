package main

import (
	"path/filepath"

	"github.com/rogpeppe/go-internal/testscript"
)

// cmdVMSetup prepares a script for booting kernels ("vmsetup", after
// "[!exec:qemu-system-x86_64] skip"): it builds the static agent (the test
// binary itself cannot be the guest's init) and the guest test program,
// exports them as $RETROBPF_AGENT and $GUESTPROG, and points the script's
// kernel cache at the suite's shared one so kernels download once.
func cmdVMSetup(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: vmsetup")
	}
	// Built into the script's $WORK (removed with it); the test process's
	// Go build cache makes this a link step.
	dir := ts.Getenv("WORK")
	for out, pkg := range map[string]string{"retrobpf-agent": ".", "guestprog": "../../vmtest/testdata/guestprog"} {
		if b, err := buildStatic(pkg, filepath.Join(dir, out)); err != nil {
			ts.Fatalf("go build %s: %v\n%s", pkg, err, b)
		}
	}
	ts.Setenv(agentEnv, filepath.Join(dir, "retrobpf-agent"))
	ts.Setenv("GUESTPROG", filepath.Join(dir, "guestprog"))
	if err := sharedKernelCache(ts.Getenv("XDG_CACHE_HOME")); err != nil {
		ts.Fatalf("kernel cache: %v", err)
	}
}
