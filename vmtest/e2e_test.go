package vmtest

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The end-to-end tests boot the Debian kernels under TCG (KVM is not
// assumed; TestDetectAccel covers it) and assert facts only a real guest
// can produce. Each boot takes a few seconds; the tests run in parallel up
// to -parallel (GOMAXPROCS).

func tcgMachine(t *testing.T, alias string) Machine {
	t.Helper()
	return Machine{Kernel: testKernel(t, alias), Accel: AccelTCG, Agent: agentBinary(t), CacheDir: t.TempDir()}
}

func guestprog(t *testing.T) File {
	return File{Path: "/guestprog", Source: goBuild(t, "./vmtest/testdata/guestprog")}
}

func TestKernels(t *testing.T) {
	for _, alias := range []string{"5.10", "6.1", "6.12"} {
		t.Run(alias, func(t *testing.T) {
			t.Parallel()
			m := tcgMachine(t, alias)
			plan := Plan{
				Files: []File{guestprog(t), {Path: "/etc/hello.txt", Data: []byte("hello from the host\n")}},
				Steps: []Step{
					{Name: "ringbuf", Args: []string{"/guestprog", "ringbuf"}},
					{Name: "exit7", Args: []string{"guestprog", "exit", "7"}, Dir: "/tmp"},
					{Name: "collect", Args: []string{"/guestprog", "exit", "0"}, Collect: []string{"/proc/version", "/etc/hello.txt", "/proc/self/limits"}},
					{Name: "step-timeout", Args: []string{"/guestprog", "hang"}, Timeout: 2 * time.Second},
					{Name: "missing", Args: []string{"/no/such/binary"}},
				},
			}
			res, err := Run(context.Background(), m, plan)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %s (%s), boot to agent %s, total %s", alias, res.Outcome, res.Reason, res.BootToReady, res.Total)
			if res.Release != m.Kernel.Release {
				t.Errorf("uname -r in the guest = %q, want the package's %q", res.Release, m.Kernel.Release)
			}
			if res.Outcome != OutcomeFailed || !strings.Contains(res.Reason, "exit7") {
				t.Fatalf("outcome %s (%s), want failed because of step exit7\nconsole:\n%s", res.Outcome, res.Reason, res.ConsoleTail)
			}
			if len(res.Steps) != len(plan.Steps) {
				t.Fatalf("%d step results, want %d", len(res.Steps), len(plan.Steps))
			}
			rb := res.Steps[0]
			if rb.ExitCode != 0 || !strings.Contains(string(rb.Stdout), "ringbuf: ok") {
				t.Errorf("ring buffer map in %s: exit %d, stdout %q, stderr %q", alias, rb.ExitCode, rb.Stdout, rb.Stderr)
			}
			if s := res.Steps[1]; s.ExitCode != 7 || !strings.Contains(string(s.Stdout), "exiting with 7") {
				t.Errorf("exit7: exit %d, stdout %q, error %q", s.ExitCode, s.Stdout, s.Error)
			}
			files := res.Steps[2].Files
			if !strings.Contains(string(files["/proc/version"]), m.Kernel.Release) {
				t.Errorf("/proc/version = %q, want release %s", files["/proc/version"], m.Kernel.Release)
			}
			if string(files["/etc/hello.txt"]) != "hello from the host\n" {
				t.Errorf("/etc/hello.txt = %q", files["/etc/hello.txt"])
			}
			if !strings.Contains(string(files["/proc/self/limits"]), "Max locked memory         unlimited") {
				t.Errorf("RLIMIT_MEMLOCK not raised:\n%s", files["/proc/self/limits"])
			}
			if s := res.Steps[3]; !s.TimedOut || s.Duration > 10*time.Second {
				t.Errorf("step-timeout: timed out %v after %s", s.TimedOut, s.Duration)
			}
			if s := res.Steps[4]; s.ExitCode != -1 || !strings.Contains(s.Error, "no such file") {
				t.Errorf("missing binary: exit %d, error %q", s.ExitCode, s.Error)
			}
			if len(res.MissingFS) != 0 {
				t.Errorf("filesystems missing in %s: %v", alias, res.MissingFS)
			}
		})
	}
}

func TestPanickingInit(t *testing.T) {
	t.Parallel()
	m := tcgMachine(t, "6.1")
	m.Agent = goBuild(t, "./vmtest/testdata/guestprog")
	m.Cmdline = "guestprog=panic"
	res, err := Run(context.Background(), m, Plan{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != OutcomeKernelPanic || !strings.Contains(res.Reason, "Attempted to kill init") {
		t.Fatalf("outcome %s (%s), want kernel-panic\nconsole:\n%s", res.Outcome, res.Reason, res.ConsoleTail)
	}
	if !strings.Contains(res.ConsoleTail, "guestprog: exiting as init") {
		t.Errorf("console tail lacks the init's last words:\n%s", res.ConsoleTail)
	}
}

// TestSilentAgent boots an init that says Ready and powers off without a
// report: the host must call that an infrastructure error, not success.
func TestSilentAgent(t *testing.T) {
	t.Parallel()
	m := tcgMachine(t, "6.12")
	m.Agent = goBuild(t, "./vmtest/testdata/guestprog")
	m.Cmdline = "guestprog=silent"
	res, err := Run(context.Background(), m, Plan{Steps: []Step{{Name: "never", Args: []string{"/x"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != OutcomeInfraError || !strings.Contains(res.Reason, "without the agent's final report") || res.Release != "silent" {
		t.Fatalf("outcome %s (%s), release %q; want infra-error after Ready\n%s", res.Outcome, res.Reason, res.Release, res.ConsoleTail)
	}
}

// TestAgentPanic makes the real agent panic after Ready: the panic must be
// reported and the VM powered off, never a kernel panic (PID 1 exiting).
func TestAgentPanic(t *testing.T) {
	t.Parallel()
	m := tcgMachine(t, "5.10")
	m.Cmdline = "RETROBPF_AGENT_TEST_PANIC=1"
	res, err := Run(context.Background(), m, Plan{Steps: []Step{{Name: "never", Args: []string{"/x"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != OutcomeInfraError || !strings.Contains(res.Reason, "agent failed: deliberate panic") {
		t.Fatalf("outcome %s (%s), want infra-error: agent failed\n%s", res.Outcome, res.Reason, res.ConsoleTail)
	}
	if !strings.Contains(res.ConsoleTail, "reboot: Power down") {
		t.Errorf("the VM did not power off:\n%s", res.ConsoleTail)
	}
}

func TestCrashStep(t *testing.T) {
	t.Parallel()
	m := tcgMachine(t, "5.10")
	res, err := Run(context.Background(), m, Plan{Files: []File{guestprog(t)},
		Steps: []Step{{Name: "crash", Args: []string{"/guestprog", "crash"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != OutcomeKernelPanic && res.Outcome != OutcomeOops {
		t.Fatalf("outcome %s (%s), want kernel-panic or oops\nconsole:\n%s", res.Outcome, res.Reason, res.ConsoleTail)
	}
	if !strings.Contains(res.ConsoleTail, "sysrq") {
		t.Errorf("console tail does not show the sysrq crash:\n%s", res.ConsoleTail)
	}
}

func TestHangingInit(t *testing.T) {
	t.Parallel()
	m := tcgMachine(t, "6.1")
	m.Agent = goBuild(t, "./vmtest/testdata/guestprog")
	m.Cmdline = "guestprog=hang"
	m.BootTimeout = 8 * time.Second
	res, err := Run(context.Background(), m, Plan{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != OutcomeTimeout || !strings.Contains(res.Reason, "boot deadline") {
		t.Fatalf("outcome %s (%s), want a boot timeout", res.Outcome, res.Reason)
	}
	if res.Total > m.BootTimeout+5*time.Second {
		t.Errorf("took %s with a %s boot deadline", res.Total, m.BootTimeout)
	}
}

func TestRunDeadline(t *testing.T) {
	t.Parallel()
	m := tcgMachine(t, "6.12")
	m.RunTimeout = 4 * time.Second
	res, err := Run(context.Background(), m, Plan{Files: []File{guestprog(t)},
		Steps: []Step{{Name: "hang", Args: []string{"/guestprog", "hang"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != OutcomeTimeout || !strings.Contains(res.Reason, "run deadline") {
		t.Fatalf("outcome %s (%s), want a run timeout", res.Outcome, res.Reason)
	}
	if res.Total-res.BootToReady > m.RunTimeout+5*time.Second {
		t.Errorf("ran %s after boot with a %s run deadline", res.Total-res.BootToReady, m.RunTimeout)
	}
}

// TestCancel checks that cancelling the context kills QEMU promptly and
// leaves no temporary directory behind.
func TestCancel(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	m := tcgMachine(t, "6.1")
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Second)
	defer cancel()
	res, err := Run(ctx, m, Plan{Files: []File{guestprog(t)}, Steps: []Step{{Name: "hang", Args: []string{"/guestprog", "hang"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != OutcomeInfraError || !strings.Contains(res.Reason, "canceled") {
		t.Fatalf("outcome %s (%s), want infra-error: canceled", res.Outcome, res.Reason)
	}
	if res.Total > 10*time.Second {
		t.Errorf("cancel took effect after %s", res.Total)
	}
	left, _ := filepath.Glob(filepath.Join(tmp, "retrobpf-vm-*"))
	if len(left) != 0 {
		t.Errorf("temporary directories left behind: %v", left)
	}
}

func TestQEMUMissing(t *testing.T) {
	kernel := filepath.Join(t.TempDir(), "vmlinuz")
	os.WriteFile(kernel, []byte("not booted"), 0o644)
	m := Machine{Kernel: &kernelsKernel{Vmlinuz: kernel}, Accel: AccelTCG, Agent: agentBinary(t),
		CacheDir: t.TempDir(), QEMU: "qemu-system-does-not-exist"}
	res, err := Run(context.Background(), m, Plan{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != OutcomeInfraError || !strings.Contains(res.Reason, "QEMU not found") {
		t.Fatalf("outcome %s (%s), want infra-error: QEMU not found", res.Outcome, res.Reason)
	}
}

func TestBadInput(t *testing.T) {
	for name, m := range map[string]Machine{
		"no kernel":      {},
		"missing kernel": {Kernel: &kernelsKernel{Vmlinuz: "/no/such/vmlinuz"}},
		"bad accel":      {Kernel: &kernelsKernel{Vmlinuz: "/dev/null"}, Accel: "hvf"},
	} {
		if _, err := Run(context.Background(), m, Plan{}); !errorsIs(err, ErrInput) {
			t.Errorf("%s: err = %v, want ErrInput", name, err)
		}
	}
	m := Machine{Kernel: &kernelsKernel{Vmlinuz: "/dev/null"}, Accel: AccelTCG}
	for name, p := range map[string]Plan{
		"relative guest path": {Files: []File{{Path: "rel", Data: []byte("x")}}},
		"missing source":      {Files: []File{{Path: "/x", Source: "/no/such/file"}}},
		"empty step":          {Steps: []Step{{Name: "nothing"}}},
		"replaces /init":      {Files: []File{{Path: "/init", Data: []byte("x")}}},
		"replaces a base dir": {Files: []File{{Path: "/tmp/", Data: []byte("x")}}},
		"same path twice":     {Files: []File{{Path: "/a", Data: []byte("x")}, {Path: "/b/../a", Data: []byte("y")}}},
	} {
		if _, err := Run(context.Background(), m, p); !errorsIs(err, ErrInput) {
			t.Errorf("%s: err = %v, want ErrInput", name, err)
		}
	}
}

func TestRunAllParallel(t *testing.T) {
	m := tcgMachine(t, "6.1")
	var jobs []Job
	for _, code := range []string{"0", "3"} {
		jobs = append(jobs, Job{Machine: m, Plan: Plan{Files: []File{guestprog(t)},
			Steps: []Step{{Name: "exit" + code, Args: []string{"/guestprog", "exit", code}}}}})
	}
	results, errs := RunAll(context.Background(), 2, jobs)
	for i, err := range errs {
		if err != nil {
			t.Fatalf("job %d: %v", i, err)
		}
	}
	if results[0].Outcome != OutcomeOK || results[1].Outcome != OutcomeFailed || results[1].Steps[0].ExitCode != 3 {
		t.Fatalf("outcomes %s, %s (exit %v), want ok and failed with exit 3", results[0].Outcome, results[1].Outcome, results[1].Steps)
	}
}

func TestDetectAccel(t *testing.T) {
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("/dev/kvm unusable (%v): auto means TCG without a probe", err)
	}
	f.Close()
	m := tcgMachine(t, "6.1")
	first := DetectAccel(context.Background(), m)
	cached, _ := filepath.Glob(filepath.Join(m.CacheDir, "accel-*.json"))
	if len(cached) != 1 {
		t.Fatalf("accel answer not cached: %v", cached)
	}
	b, _ := os.ReadFile(cached[0])
	t.Logf("auto = %s: %s", first, b)
	start := time.Now()
	if again := DetectAccel(context.Background(), m); again != first || time.Since(start) > time.Second {
		t.Errorf("second detection = %s after %s, want the cached %s at once", again, time.Since(start), first)
	}
}

// TestLargeOutput sends a megabyte of incompressible bytes, every byte
// value included, over the emulated serial line: the port must be raw (no
// CR/LF translation) and the frames intact.
func TestLargeOutput(t *testing.T) {
	t.Parallel()
	m := tcgMachine(t, "6.12")
	const n = 1 << 20
	res, err := Run(context.Background(), m, Plan{Files: []File{guestprog(t)},
		Steps: []Step{{Name: "bytes", Args: []string{"/guestprog", "bytes", "1048576"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != OutcomeOK {
		t.Fatalf("outcome %s (%s)\n%s", res.Outcome, res.Reason, res.ConsoleTail)
	}
	want := noise(n)
	got := res.Steps[0].Stdout
	if len(got) != n || string(got) != string(want) {
		t.Fatalf("got %d bytes, want %d identical bytes", len(got), n)
	}
	t.Logf("1 MiB step output in %s total (boot %s)", res.Total, res.BootToReady)
}

// noise is guestprog's Noise.
func noise(n int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// TestIcountBoots: a TCG machine with instruction counting boots and runs
// steps; KVM with it is refused before anything starts.
func TestIcountBoots(t *testing.T) {
	m := tcgMachine(t, "6.1")
	m.Icount = true
	res, err := Run(context.Background(), m, Plan{Files: []File{guestprog(t)}, Steps: []Step{{Name: "ok", Args: []string{"/guestprog", "exit", "0"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != OutcomeOK || res.Accel != AccelTCG {
		t.Fatalf("outcome %s (%s), accel %s\n%s", res.Outcome, res.Reason, res.Accel, res.ConsoleTail)
	}
	t.Logf("icount boot: %s to the agent (host clock), guest clock %s", res.BootToReady, res.GuestReady)
	m.Accel = AccelKVM
	if _, err := Run(context.Background(), m, Plan{}); !errorsIs(err, ErrInput) {
		t.Errorf("KVM with icount: err = %v, want ErrInput", err)
	}
}
