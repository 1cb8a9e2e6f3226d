package matrix

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/retrobpf/retrobpf/reports"
)

// workloadSource is the user's own workload: a static binary that makes
// exactly N getppid system calls.
const workloadSource = `package main

import (
	"os"
	"strconv"
	"syscall"
)

func main() {
	n, err := strconv.Atoi(os.Args[1])
	if err != nil {
		os.Exit(2)
	}
	for i := 0; i < n; i++ {
		syscall.Getppid()
	}
}
`

// TestE2ECommandTriggerAndSettings runs a manifest whose program is fired
// by the user's own binary (trigger kind command) and whose two variants
// are one object with different set: values. On 5.10, which lacks
// bpf_get_current_task_btf (5.11), the value alone decides the verdict:
// use_task_btf=true is rejected by the verifier, false loads; on 6.1
// both load and the first is selected. The workload's events reach the
// program (bpf stats count them).
func TestE2ECommandTriggerAndSettings(t *testing.T) {
	dir := t.TempDir()
	obj, err := os.ReadFile("../compat/testdata/guarded.o")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "guarded.o"), obj, 0o644); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(dir, "workload.go")
	if err := os.WriteFile(src, []byte(workloadSource), 0o644); err != nil {
		t.Fatal(err)
	}
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "bin", "workload"), src)
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=")
	build.Dir = dir
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build workload: %v\n%s", err, out)
	}
	manifestPath := filepath.Join(dir, "suite.yaml")
	if err := os.WriteFile(manifestPath, []byte(`apiVersion: retrobpf/v1
programs:
  - name: getppid
    trigger: {kind: command, path: bin/workload, args: ["20000"], count: 20000}
    variants:
      - name: taskbtf
        object: guarded.o
        set: {use_task_btf: true}
      - name: plain
        object: guarded.o
        set: {use_task_btf: false}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	opts := e2e(t, manifestPath, "5.10", "6.1")
	res, err := Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range res.Kernels {
		if k.Outcome != reports.OutcomeOK {
			t.Fatalf("%s: %s: %s\n%s", k.Ref, k.Outcome, k.Error, k.ConsoleTail)
		}
		taskbtf, plain := findVariant(&k, "getppid", "taskbtf"), findVariant(&k, "getppid", "plain")
		if taskbtf == nil || plain == nil {
			t.Fatalf("%s: variants %+v", k.Ref, k.Variants)
		}
		wantTaskBTF, wantSelected := reports.VerdictLoaded, "taskbtf"
		if k.Ref == "5.10" {
			wantTaskBTF, wantSelected = reports.VerdictRejected, "plain"
		}
		if taskbtf.Verdict != wantTaskBTF || plain.Verdict != reports.VerdictLoaded {
			t.Errorf("%s: taskbtf %s (%s), plain %s (%s); want taskbtf %s, plain loaded", k.Ref, taskbtf.Verdict, taskbtf.Reason, plain.Verdict, plain.Reason, wantTaskBTF)
		}
		if k.Ref == "5.10" && taskbtf.Verdict == reports.VerdictRejected {
			// Triage names the helper the set: value made the verifier reach.
			if tr := taskbtf.Programs[0].Triage; tr == nil || tr.Feature != "helper:bpf_get_current_task_btf" {
				t.Errorf("5.10: taskbtf triage %+v, want helper:bpf_get_current_task_btf", tr)
			}
		}
		sel := findVariant(&k, "getppid", wantSelected)
		if !sel.Selected {
			t.Errorf("%s: %s not selected (selection %+v)", k.Ref, wantSelected, k.Selection)
		}
		// The user's binary fired the program: 20000 events per run.
		for _, v := range []*reports.VariantResult{taskbtf, plain} {
			if v.Verdict != reports.VerdictLoaded {
				continue
			}
			o := v.Overhead
			if !v.Attached || o == nil || o.Trigger != "command" || o.EventsPerSample != 20000 {
				t.Errorf("%s: %s: attached %v (%s), overhead %+v", k.Ref, v.Variant, v.Attached, v.AttachError, o)
				continue
			}
			if o.RunCount == nil || *o.RunCount < 20000 {
				t.Errorf("%s: %s: bpf stats counted %v runs, want the workload's 20000 per run", k.Ref, v.Variant, o.RunCount)
			}
			t.Logf("%s: %s: %d program runs over %d samples of %d events, per event %+v (%v)", k.Ref, v.Variant, *o.RunCount, o.Samples, o.EventsPerSample, o.PerEventNs, o.NotMeasurable)
			checkOverhead(t, k.Ref, *v)
		}
	}
}

// TestE2EDeterministicOverhead: with instruction counting the per-event
// figures come in icount-ns, with every sample kept for their spread.
func TestE2EDeterministicOverhead(t *testing.T) {
	dir := t.TempDir()
	obj, err := os.ReadFile("../compat/testdata/guarded.o")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "guarded.o"), obj, 0o644)
	manifestPath := filepath.Join(dir, "suite.yaml")
	os.WriteFile(manifestPath, []byte(`apiVersion: retrobpf/v1
programs:
  - name: getppid
    trigger: {kind: sleep, count: 200}
    variants:
      - {name: plain, object: guarded.o}
`), 0o644)
	opts := e2e(t, manifestPath, "6.1")
	opts.Deterministic = true
	res, err := Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	v := findVariant(&res.Kernels[0], "getppid", "plain")
	if v == nil || v.Overhead == nil {
		t.Fatalf("no overhead: %+v", res.Kernels[0])
	}
	o := v.Overhead
	if o.Unit != reports.UnitIcountNs || len(o.PerEventSamples) != o.Samples || o.Samples < 6 || !o.Emulated {
		t.Errorf("overhead %+v: want icount-ns, emulated, one sample figure per pair", o)
	}
	var md strings.Builder
	reports.Render(&md, res, "markdown")
	if strings.Contains(md.String(), "icount") == false {
		t.Errorf("the report does not say the figures are icount-ns")
	}
}
