package main

import (
	"errors"
	"os"
	"os/exec"
	"strconv"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/retrobpf/retrobpf/internal/testutils"
	"github.com/retrobpf/retrobpf/vmtest/kernels/kernelstest"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"retrobpf":                  func() { os.Exit(run(os.Args)) },
		"retrobpf-interrupt-helper": interruptHelper, // interrupt_test.go
	})
}

// TestScripts runs the CLI end to end from testdata/*.txtar.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata",
		Setup: func(env *testscript.Env) error {
			env.Setenv("XDG_CACHE_HOME", env.WorkDir+"/.cache")
			env.Setenv("NO_COLOR", "1")
			env.Setenv("KERNEL_CACHE", kernelstest.CacheDir()) // shared, so kernels download once
			if root, err := os.Getwd(); err == nil {
				env.Setenv("REPO", root+"/../..")
			}
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exits":       cmdExits,
			"vmsetup":     cmdVMSetup, // vm_test.go
			"btfdup":      cmdBTFDup,
			"btfdeep":     cmdBTFDeep,
			"hostilehub":  cmdHostileHub,  // hostilehub_test.go
			"debmirror":   cmdDebMirror,   // debmirror_test.go
			"fakebzimage": cmdFakeBzImage, // debmirror_test.go
			"btftypedefcycle": func(ts *testscript.TestScript, neg bool, args []string) {
				// Two typedefs naming each other: no compiler emits that.
				ts.Check(os.WriteFile(ts.MkAbs(args[0]), testutils.RawBTF(
					[]uint32{1, testutils.BTFInfo(8, 0), 2},
					[]uint32{1, testutils.BTFInfo(8, 0), 1}), 0o644))
			},
		},
		Condition: func(cond string) (bool, error) {
			switch cond {
			case "root":
				return os.Geteuid() == 0, nil
			case "debian": // the Debian mirror answers
				return kernelstest.MirrorReachable(), nil
			case "vmlinuxbtf": // the host kernel has its own BTF
				_, err := os.Stat("/sys/kernel/btf/vmlinux")
				return err == nil, nil
			}
			return false, errors.New("unknown condition " + cond)
		},
	})
}

// cmdExits runs "exits CODE PROG ARGS..." and fails unless PROG exits with
// CODE; its stdout and stderr become the script's stdout and stderr.
func cmdExits(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits CODE PROG [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exits: bad code %q", args[0])
	}
	cmd := exec.Command(args[1], args[2:]...)
	cmd.Dir = ts.MkAbs(".") // the script's current directory (PWD is not in its env)
	cmd.Env = os.Environ()
	for _, k := range []string{"PATH", "HOME", "XDG_CACHE_HOME", "NO_COLOR", "REPO", "WORK", "RETROBPF_AGENT"} {
		cmd.Env = append(cmd.Env, k+"="+ts.Getenv(k))
	}
	cmd.Stdout, cmd.Stderr = ts.Stdout(), ts.Stderr()
	err = cmd.Run()
	got := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		got = ee.ExitCode()
	} else if err != nil {
		ts.Fatalf("exits: %v", err)
	}
	if got != want {
		ts.Fatalf("%s exited %d, want %d", args[1], got, want)
	}
}

// cmdBTFDup runs "btfdup IN OUT STRUCT...": OUT is the BTF of IN with a
// second copy of each STRUCT, as pahole leaves in BTF of older kernels.
func cmdBTFDup(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 3 {
		ts.Fatalf("usage: btfdup IN OUT STRUCT...")
	}
	raw, err := os.ReadFile(ts.MkAbs(args[0]))
	ts.Check(err)
	dup, err := testutils.DuplicateStructs(raw, args[2:]...)
	ts.Check(err)
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), dup, 0o644))
}

// cmdBTFDeep runs "btfdeep OUT N": OUT is raw BTF with a chain of N
// pointers, deep enough (300000) to crash cilium/ebpf's decoder.
func cmdBTFDeep(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: btfdeep OUT N")
	}
	n, err := strconv.Atoi(args[1])
	ts.Check(err)
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), testutils.PointerChainBTF(n), 0o644))
}
