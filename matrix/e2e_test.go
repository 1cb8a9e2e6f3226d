package matrix

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/retrobpf/retrobpf/internal/kversion"
	"github.com/retrobpf/retrobpf/manifest"
	"github.com/retrobpf/retrobpf/matrix/verifier"
	"github.com/retrobpf/retrobpf/reports"
	"github.com/retrobpf/retrobpf/reports/reportstest"
	"github.com/retrobpf/retrobpf/vmtest"
	"github.com/retrobpf/retrobpf/vmtest/kernels"
	"github.com/retrobpf/retrobpf/vmtest/kernels/kernelstest"
)

// The end-to-end tests boot real Debian kernels under QEMU (TCG) with the
// real retrobpf binary as the guest agent. They skip without QEMU, with
// -short, or when the kernels cannot be fetched.

var (
	agentOnce sync.Once
	agentPath string
	agentErr  error
)

// agent builds the static retrobpf binary once per test process.
func agent(t *testing.T) string {
	t.Helper()
	agentOnce.Do(func() {
		dir, err := os.MkdirTemp("", "matrix-agent-*")
		if err != nil {
			agentErr = err
			return
		}
		agentPath = filepath.Join(dir, "retrobpf")
		goBin, err := exec.LookPath("go")
		if err != nil {
			agentErr = err
			return
		}
		cmd := exec.Command(goBin, "build", "-trimpath", "-o", agentPath, "./cmd/retrobpf")
		cmd.Dir = ".."
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			agentErr = errors.New(string(out))
		}
	})
	if agentErr != nil {
		t.Fatalf("build agent: %v", agentErr)
	}
	return agentPath
}

// e2e returns options for a matrix run on refs, skipping when QEMU or a
// kernel is unavailable.
func e2e(t *testing.T, manifestPath string, refs ...string) Options {
	t.Helper()
	if testing.Short() {
		t.Skip("boots kernels: skipped with -short")
	}
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		t.Skip("qemu-system-x86_64 not installed")
	}
	for _, r := range refs {
		kernelstest.Get(t, r) // skips when the mirror is unreachable
	}
	cache, err := kernels.Open(kernelstest.CacheDir())
	if err != nil {
		t.Fatal(err)
	}
	s, err := manifest.Load(manifestPath)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := ParseKernels(strings.Join(refs, ","))
	if err != nil {
		t.Fatal(err)
	}
	return Options{
		Suite: s, Kernels: parsed, Jobs: 2, OutputDir: t.TempDir(), Accel: vmtest.AccelTCG,
		Agent: agent(t), Cache: cache, Samples: 6, Logf: t.Logf,
	}
}

func findVariant(k *reports.KernelResult, prog, variant string) *reports.VariantResult {
	for i := range k.Variants {
		if k.Variants[i].Program == prog && k.Variants[i].Variant == variant {
			return &k.Variants[i]
		}
	}
	return nil
}

// TestE2EBundledSuite runs the bundled suite on the three Debian kernels
// and checks real outcomes.
func TestE2EBundledSuite(t *testing.T) {
	o := e2e(t, "../bpf/suite.yaml", "5.10", "6.1", "6.12")
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if why := Failed(res); len(why) > 0 {
		t.Fatalf("run failed: %s", strings.Join(why, "; "))
	}
	if len(res.Kernels) != 3 {
		t.Fatalf("%d kernels in results", len(res.Kernels))
	}
	for _, ref := range o.Kernels {
		saved, err := reports.Load(filepath.Join(o.OutputDir, FileName(ref.String())))
		if err != nil || len(saved.Kernels) != 1 {
			t.Fatalf("per-kernel file of %s: %v", ref, err)
		}
	}
	// Every output format renders the real results and reads back valid:
	// JSON against its schema, JUnit and SARIF parsed, CSV, markdown, and the
	// HTML grid opened in headless Chromium.
	reportstest.CheckAll(t, res)
	for i := range res.Kernels {
		k := &res.Kernels[i]
		if k.Outcome != reports.OutcomeOK || !k.Emulated || k.BootSeconds == nil {
			t.Errorf("%s: outcome %s emulated %v boot %v", k.Ref, k.Outcome, k.Emulated, k.BootSeconds)
		}
		// Every variant of every program was loaded (dead fallbacks too).
		for _, p := range o.Suite.Programs {
			for _, v := range p.Variants {
				if findVariant(k, p.Name, v.Name) == nil {
					t.Errorf("%s: %s/%s missing", k.Ref, p.Name, v.Name)
				}
			}
		}
		for _, sel := range k.Selection {
			vr := findVariant(k, sel.Program, sel.Variant)
			if sel.Variant == "" || vr == nil || vr.Verdict != reports.VerdictLoaded || !vr.Selected {
				t.Errorf("%s: %s: selected %q did not load", k.Ref, sel.Program, sel.Variant)
			}
		}
		for _, vr := range k.Variants {
			legacy := strings.HasPrefix(vr.Variant, "legacy") || vr.Variant == "maps"
			if legacy && vr.Verdict != reports.VerdictLoaded {
				t.Errorf("%s: legacy variant %s/%s: %s", k.Ref, vr.Program, vr.Variant, vr.Verdict)
			}
			if vr.Variant == "modern" && k.Version.AtLeast(kversionOf("6.1")) && vr.Verdict != reports.VerdictLoaded {
				t.Errorf("%s: modern variant %s: %s", k.Ref, vr.Program, vr.Verdict)
			}
			for _, p := range vr.Programs {
				if p.Verdict == reports.VerdictLoaded && (p.Verifier.InsnsProcessed == nil || *p.Verifier.InsnsProcessed <= 0) {
					t.Errorf("%s: %s/%s/%s: no processed-insns figure", k.Ref, vr.Program, vr.Variant, p.Name)
				}
				if p.Verdict == reports.VerdictRejected && (p.Triage == nil || p.Triage.Class == "") {
					t.Errorf("%s: %s/%s/%s rejected without triage", k.Ref, vr.Program, vr.Variant, p.Name)
				}
			}
			checkOverhead(t, k.Ref, vr)
		}
	}
	// The modern execsnoop needs bpf_loop (5.17): rejected on 5.10 with a
	// fallback hint, and selection skipped it there.
	k510 := res.Kernel("5.10")
	if v := findVariant(k510, "execsnoop", "modern"); v == nil || v.Verdict != reports.VerdictRejected || v.Selected {
		t.Errorf("5.10 execsnoop/modern: %+v", v)
	}
}

// checkOverhead: an attached variant has overhead figures; each is either
// present and positive (run time, test run) or absent with a reason.
func checkOverhead(t *testing.T, ref string, vr reports.VariantResult) {
	t.Helper()
	if vr.Verdict != reports.VerdictLoaded || !vr.Attached {
		return
	}
	o := vr.Overhead
	name := ref + ": " + vr.Program + "/" + vr.Variant
	if o == nil {
		t.Errorf("%s: attached but no overhead", name)
		return
	}
	if !o.Emulated {
		t.Errorf("%s: TCG figures not marked emulated", name)
	}
	for metric, present := range map[string]bool{
		reports.MetricPerEvent: o.PerEventNs != nil,
		reports.MetricRunTime:  o.RunTimeNsPerRun != nil,
		reports.MetricTestRun:  o.TestRunNsPerOp != nil,
	} {
		if present == (o.NotMeasurable[metric] != "") {
			t.Errorf("%s: %s present=%v reason=%q", name, metric, present, o.NotMeasurable[metric])
		}
	}
	if o.RunTimeNsPerRun != nil && (*o.RunTimeNsPerRun <= 0 || o.RunCount == nil || *o.RunCount <= 0) {
		t.Errorf("%s: run time %v count %v", name, *o.RunTimeNsPerRun, o.RunCount)
	}
	if o.TestRunNsPerOp != nil && *o.TestRunNsPerOp <= 0 {
		t.Errorf("%s: test run %v", name, *o.TestRunNsPerOp)
	}
	if e := o.PerEventNs; e != nil && (o.BaselineNs == nil || o.BaselineNs.Median <= 0 || e.CILow <= 0 || e.CILow > e.Median || e.Median > e.CIHigh || o.Samples < 6) {
		t.Errorf("%s: per-event %+v baseline %+v samples %d", name, e, o.BaselineNs, o.Samples)
	}
	// The test-run programs must be measured where the kernel has stats.
	if o.Trigger == "test-run" && (o.TestRunNsPerOp == nil || o.RunTimeNsPerRun == nil) {
		t.Errorf("%s: test-run figures missing: %v", name, o.NotMeasurable)
	}
}

// TestE2EHostile: dead variants that the verifier rejects (an unbounded
// loop, out-of-bounds reads, a leaked ring buffer reservation) get the
// right class in a real kernel; a kernel that panics mid-run keeps the
// programs that finished before, and the other kernel's results are kept.
func TestE2EHostile(t *testing.T) {
	o := e2e(t, "testdata/host.yaml", "6.1", "5.10")
	o.VerifierOnly = true
	o.PanicAt = map[string]string{"6.1": "loconnect"} // the third of three programs
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	k61, k510 := res.Kernel("6.1"), res.Kernel("5.10")
	if k61 == nil || k510 == nil {
		t.Fatalf("kernels missing: %+v", res.Kernels)
	}
	if k61.Outcome != reports.OutcomeKernelPanic || !strings.Contains(k61.Error, "2 of 3 programs finished") || k61.ConsoleTail == "" {
		t.Errorf("6.1: outcome %s error %q", k61.Outcome, k61.Error)
	}
	if findVariant(k61, "tccount", "leaky") == nil || findVariant(k61, "loconnect", "good") != nil {
		t.Errorf("6.1: finished programs not kept or a later one present: %d variants", len(k61.Variants))
	}
	if k510.Outcome != reports.OutcomeOK {
		t.Errorf("5.10: %s %s", k510.Outcome, k510.Error)
	}
	for _, k := range []*reports.KernelResult{k61, k510} {
		for prog, want := range map[[2]string]reports.TriageClass{
			{"xdpcount", "looping"}:    reports.TriageLoop,
			{"xdpcount", "oob"}:        reports.TriageInvalidMemoryAccess,
			{"xdpcount", "stale-core"}: reports.TriageCORERelocation,
		} {
			v := findVariant(k, prog[0], prog[1])
			if v == nil || len(v.Programs) == 0 || v.Programs[0].Triage == nil || v.Programs[0].Triage.Class != want {
				t.Errorf("%s: %s/%s: want %s, got %+v", k.Ref, prog[0], prog[1], want, v)
				continue
			}
			if v.Programs[0].Verifier.LogArtifact == "" {
				t.Errorf("%s: %s/%s: no log artifact", k.Ref, prog[0], prog[1])
			} else if _, err := os.Stat(filepath.Join(o.OutputDir, v.Programs[0].Verifier.LogArtifact)); err != nil {
				t.Errorf("%s: log artifact: %v", k.Ref, err)
			}
		}
	}
	// In a real kernel too, the CO-RE rejection names the missing field.
	for _, k := range []*reports.KernelResult{k61, k510} {
		if v := findVariant(k, "xdpcount", "stale-core"); v != nil && v.Programs[0].Triage != nil && !strings.Contains(v.Programs[0].Triage.Message, "task_struct.retrobpf_no_such_field") {
			t.Errorf("%s: stale-core message %q does not name the field", k.Ref, v.Programs[0].Triage.Message)
		}
	}
	// 5.10 has ring buffers (5.8): the leak is an unreleased reference.
	if v := findVariant(k510, "tccount", "leaky"); v == nil || v.Programs[0].Triage == nil || v.Programs[0].Triage.Class != reports.TriageUnreleasedReference {
		t.Errorf("5.10 leaky: %+v", v)
	}
	// The panicked kernel is saved as what it is, and --resume runs it again.
	saved, err := reports.Load(filepath.Join(o.OutputDir, FileName("6.1")))
	if err != nil || saved.Kernels[0].Outcome != reports.OutcomeKernelPanic {
		t.Fatalf("saved 6.1: %v", err)
	}
	if finished(o, "6.1") != nil || finished(o, "5.10") == nil {
		t.Error("resume would skip the panicked kernel or rerun the finished one")
	}
}

// TestE2EInterrupt cancels a two-kernel run once the first kernel is
// saved: the finished kernel is kept (file and combined results), the
// other is not reported, and --resume then runs only the missing one.
func TestE2EInterrupt(t *testing.T) {
	o := e2e(t, "testdata/host.yaml", "6.12", "6.1")
	o.VerifierOnly, o.Jobs = true, 1
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		first := filepath.Join(o.OutputDir, FileName("6.12"))
		for ctx.Err() == nil {
			if _, err := os.Stat(first); err == nil {
				time.Sleep(3 * time.Second) // the second VM is booting now
				cancel()
				return
			}
			time.Sleep(200 * time.Millisecond)
		}
	}()
	res, err := Run(ctx, o)
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("err %v, want ErrInterrupted", err)
	}
	if len(res.Kernels) != 1 || res.Kernels[0].Ref != "6.12" {
		t.Fatalf("kernels after interrupt: %+v", res.Kernels)
	}
	if _, err := os.Stat(filepath.Join(o.OutputDir, FileName("6.1"))); err == nil {
		t.Fatal("the interrupted kernel was saved")
	}
	saved, err := reports.Load(filepath.Join(o.OutputDir, "results.json"))
	if err != nil || len(saved.Kernels) != 1 {
		t.Fatalf("results.json after interrupt: %v", err)
	}

	var lines []string
	var mu sync.Mutex
	o.Resume = true
	o.Logf = func(f string, a ...any) {
		mu.Lock()
		lines = append(lines, f)
		mu.Unlock()
		t.Logf(f, a...)
	}
	res, err = Run(context.Background(), o)
	if err != nil || len(res.Kernels) != 2 {
		t.Fatalf("resume: %v, %d kernels", err, len(res.Kernels))
	}
	if !strings.Contains(strings.Join(lines, "\n"), "finished earlier") {
		t.Error("resume ran the finished kernel again")
	}
}

func kversionOf(s string) kversion.Version { return kversion.MustParse(s) }

// TestE2EHugeLogs: rejections with logs far beyond the first buffer on a
// pre-6.4 kernel (no log_true_size): a million processed instructions
// (kept as the stats log, not collected as a ~70 MB branch log that would
// exhaust the VM's memory) and a jump-sequence overflow whose log is
// hidden by EFAULT and recovered whole.
func TestE2EHugeLogs(t *testing.T) {
	o := e2e(t, "testdata/biglog.yaml", "5.10")
	o.VerifierOnly = true
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	k := res.Kernel("5.10")
	if k == nil || k.Outcome != reports.OutcomeOK {
		t.Fatalf("%+v", res.Kernels)
	}
	huge := findVariant(k, "biglog", "huge")
	if huge == nil || huge.Programs[0].Triage == nil || huge.Programs[0].Triage.Class != reports.TriageTooComplex {
		t.Fatalf("huge: %+v", huge)
	}
	if st := huge.Programs[0].Verifier; st.InsnsProcessed == nil || *st.InsnsProcessed < 1_000_000 || !strings.Contains(st.LogExcerpt, "branch log was not taken") {
		t.Errorf("huge: %+v", st)
	}
	branchy := findVariant(k, "biglog", "branchy")
	if branchy == nil || branchy.Programs[0].Triage == nil || branchy.Programs[0].Triage.Class != reports.TriageTooComplex {
		t.Fatalf("branchy: %+v", branchy)
	}
	st := branchy.Programs[0].Verifier
	if st.LogLines < 100_000 || st.LogArtifact == "" {
		t.Fatalf("branchy log: %d lines, artifact %q", st.LogLines, st.LogArtifact)
	}
	gz, err := os.ReadFile(filepath.Join(o.OutputDir, st.LogArtifact))
	if err != nil {
		t.Fatal(err)
	}
	lines, err := verifier.Decompress(gz)
	if err != nil || len(lines) != st.LogLines {
		t.Fatalf("artifact: %d lines (%v), report says %d", len(lines), err, st.LogLines)
	}
	if len(st.LogExcerpt) > 4096 {
		t.Errorf("excerpt of %d bytes is not bounded", len(st.LogExcerpt))
	}
}
