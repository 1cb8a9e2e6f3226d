package bpf

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/retrobpf/retrobpf/internal/kversion"
	"github.com/retrobpf/retrobpf/vmtest"
	"github.com/retrobpf/retrobpf/vmtest/kernels"
	"github.com/retrobpf/retrobpf/vmtest/kernels/kernelstest"
)

// inGuestEnv is set for the test binary running inside a VM, so it does not
// try to boot VMs itself.
const inGuestEnv = "RETROBPF_BPF_IN_GUEST"

// vmKernels is the default kernel matrix (Makefile KERNELS).
var vmKernels = []string{"5.10", "6.1", "6.12"}

// buildStatic builds pkg (test binary when test is set) with CGO_ENABLED=0.
func buildStatic(t *testing.T, out string, test bool, pkg string) string {
	t.Helper()
	goBin := "go" // from PATH, like the Makefile
	args := []string{"build", "-trimpath", "-o", out, pkg}
	if test {
		args = []string{"test", "-c", "-trimpath", "-o", out, pkg}
	}
	cmd := exec.Command(goBin, args...)
	wd, _ := os.Getwd()
	cmd.Dir = filepath.Dir(wd) // module root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, b)
	}
	return out
}

var resultLine = regexp.MustCompile(`^\s*--- (PASS|FAIL|SKIP): (\S+)`)

// parseResults maps "TestX/variant" to PASS, FAIL or SKIP from -test.v output.
func parseResults(out []byte) map[string]string {
	res := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if m := resultLine.FindStringSubmatch(sc.Text()); m != nil {
			res[m[2]] = m[1]
		}
	}
	return res
}

// functionalTests names the Go test that exercises each program.
var functionalTests = map[string]string{
	"execsnoop": "TestExecsnoop", "opensnoop": "TestOpensnoop", "runqlat": "TestRunqlat",
	"tcpconnect": "TestTcpconnect", "biolatency": "TestBiolatency",
	"xdpfilter": "TestXdpfilter", "tcclass": "TestTcclass",
}

// allowedSkips are guest skips that are documented behaviour, not a broken
// variant: from that kernel on, with that reason in the output.
var allowedSkips = map[string]struct{ from, reason string }{
	// do_sys_open is inlined into the open syscalls of newer kernels; the
	// legacy-openat2 variant is the 5.6+ fallback.
	"TestOpensnoop/legacy": {"5.6", "kprobe do_sys_open saw no open at all"},
}

// TestInKernels compiles this package's tests into a static binary and runs
// them inside the Debian kernels of the default matrix (QEMU, TCG). The
// binary must exit 0, and every variant whose intended minimum kernel is at
// most the guest's must PASS there -- a skip is a failure, since these
// kernels have kprobes, trampolines and BTF (allowedSkips lists the
// documented exceptions). The diskless guest gets the kernel's own loop
// module so biolatency has a block device to measure.
func TestInKernels(t *testing.T) {
	if os.Getenv(inGuestEnv) != "" {
		t.Skip("already inside a VM")
	}
	if testing.Short() {
		t.Skip("boots QEMU kernels; skipped with -short")
	}
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		t.Skip("qemu-system-x86_64 not installed")
	}
	dir := t.TempDir()
	testBin := buildStatic(t, filepath.Join(dir, "bpf.test"), true, "./bpf")
	agent := buildStatic(t, filepath.Join(dir, "retrobpf"), false, "./cmd/retrobpf")

	for _, alias := range vmKernels {
		t.Run(alias, func(t *testing.T) {
			k := kernelstest.GetWith(t, alias, kernels.ResolveOptions{Modules: true})
			loopKO, err := k.Module("loop")
			if err != nil {
				t.Fatal(err)
			}
			// One vCPU: TCG with several vCPUs races the kernel's live text
			// patching (int3 oopses while kprobes/trampolines attach).
			// no_timer_check: a loaded host can make the emulated timer look
			// broken at boot ("IO-APIC + timer doesn't work" panic).
			m := vmtest.Machine{Kernel: k, Accel: vmtest.AccelTCG, Agent: agent, CacheDir: t.TempDir(),
				CPUs: 1, MemoryMB: 768, Cmdline: "no_timer_check"}
			plan := vmtest.Plan{
				Files: []vmtest.File{{Path: "/bpf.test", Source: testBin}, {Path: "/loop.ko", Data: loopKO}},
				Steps: []vmtest.Step{{
					Name:    "bpf.test",
					Args:    []string{"/bpf.test", "-test.v", "-test.count=1", "-test.skip", "^TestInKernels$", "-test.timeout", "4m"},
					Env:     []string{inGuestEnv + "=1", loopModuleEnv + "=/loop.ko"},
					Dir:     "/tmp",
					Timeout: 5 * time.Minute,
				}},
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			res, err := vmtest.Run(ctx, m, plan)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Steps) != 1 {
				t.Fatalf("kernel %s: %s: %s\nconsole:\n%s", alias, res.Outcome, res.Reason, res.ConsoleTail)
			}
			st := res.Steps[0]
			out := append(append([]byte{}, st.Stdout...), st.Stderr...)
			t.Logf("kernel %s (%s): %s in %s, tests took %s", alias, res.Release, res.Outcome, res.Total.Round(time.Second), st.Duration.Round(time.Millisecond))
			if res.Outcome != vmtest.OutcomeOK {
				t.Errorf("kernel %s: %s: %s (exit %d %s)\n%s\nconsole:\n%s", alias, res.Outcome, res.Reason, st.ExitCode, st.Error, out, res.ConsoleTail)
			}
			results := parseResults(out)
			v := kversion.MustParse(alias)
			for _, in := range intents {
				name := functionalTests[in.program] + "/" + in.variant
				got, want := results[name], "PASS"
				if v.Less(in.minVersion()) {
					want = "SKIP"
				}
				if a, ok := allowedSkips[name]; ok && got == "SKIP" && want == "PASS" &&
					!v.Less(kv(a.from)) && bytes.Contains(out, []byte(a.reason)) {
					t.Logf("%s: skipped as documented on %s+: %s", name, a.from, a.reason)
					continue
				}
				if got != want {
					t.Errorf("kernel %s: %s %s, want %s", alias, name, orNone(got), want)
				}
			}
			// Tests beyond the variant table that must pass on every kernel.
			for _, name := range []string{"TestExecsnoopExternalBTF"} {
				if got := results[name]; got != "PASS" {
					t.Errorf("kernel %s: %s %s, want PASS", alias, name, orNone(got))
				}
			}
			if t.Failed() {
				t.Logf("guest output:\n%s", out)
			}
		})
	}
}

func orNone(s string) string {
	if s == "" {
		return "did not run"
	}
	return s
}
