package manifest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/retrobpf/retrobpf/compat"
	"github.com/retrobpf/retrobpf/internal/kversion"
)

func loadTestManifest(t *testing.T, content string) *Manifest {
	t.Helper()
	m, err := Load(manifestDir(t, content))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func selectAt(t *testing.T, m *Manifest, version string, opts SelectOptions) *Selection {
	t.Helper()
	v := kversion.MustParse(version)
	opts.Kernel = v
	s, err := Select(m, compat.VersionTarget(v), opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func programSel(t *testing.T, s *Selection, name string) ProgramSelection {
	t.Helper()
	for _, p := range s.Programs {
		if p.Program == name {
			return p
		}
	}
	t.Fatalf("no selection for %s", name)
	return ProgramSelection{}
}

func TestSelectByVersion(t *testing.T) {
	m := loadTestManifest(t, validManifest)

	old := selectAt(t, m, "4.19", SelectOptions{AcceptUnknownSymbols: true})
	if !old.OK {
		t.Fatalf("4.19: not every program selected: %+v", old.Failed())
	}
	ex := programSel(t, old, "execsnoop")
	if ex.Selected != "legacy" || ex.Programs[0] != "trace_open" || !strings.HasSuffix(ex.Object, "perf_kprobe.o") {
		t.Fatalf("4.19 picked %+v", ex)
	}
	modern := ex.Variants[0]
	if modern.Runnable || modern.Selected || len(modern.Failures) != 1 || modern.FailureCount < 3 {
		t.Fatalf("modern on 4.19: %+v", modern)
	}
	f := modern.Failures[0]
	if f.Feature != "map:ringbuf" || f.State != compat.Unsupported || f.Since != kversion.MustParse("5.8") || f.Hint == "" {
		t.Errorf("first failure %+v, want the explicit map:ringbuf", f)
	}
	if !strings.Contains(f.Source, "suite.yaml:13") {
		t.Errorf("explicit requirement source %q should be the manifest line", f.Source)
	}

	// With AllFailures every failing requirement is listed, kernel
	// constraint last.
	all := programSel(t, selectAt(t, m, "4.19", SelectOptions{AllFailures: true, AcceptUnknownSymbols: true}), "execsnoop").Variants[0]
	if len(all.Failures) != all.FailureCount || all.FailureCount < 3 {
		t.Fatalf("all failures: %+v", all.Failures)
	}
	if last := all.Failures[len(all.Failures)-1]; last.Feature != FeatureKernelConstraint || !strings.Contains(last.Detail, "4.19") {
		t.Errorf("last failure %+v, want the kernel constraint", last)
	}
	var sawDerived bool
	for _, u := range all.Failures {
		if u.Feature == "helper:bpf_ringbuf_output" && strings.Contains(u.Source, "ringbuf_tp.o: program handle_exec") {
			sawDerived = true
		}
	}
	if !sawDerived {
		t.Errorf("derived helper requirement missing: %+v", all.Failures)
	}

	now := selectAt(t, m, "6.12", SelectOptions{AcceptUnknownSymbols: true})
	if ex := programSel(t, now, "execsnoop"); ex.Selected != "modern" || !ex.Variants[0].Selected || ex.Variants[1].Selected {
		t.Fatalf("6.12 picked %+v", ex)
	}
	// Later variants are still evaluated and reported.
	if leg := programSel(t, now, "execsnoop").Variants[1]; !leg.Runnable || leg.MinKernel.IsZero() {
		t.Errorf("legacy on 6.12: %+v", leg)
	}
}

func TestSelectNoRunnableVariant(t *testing.T) {
	m := loadTestManifest(t, `apiVersion: retrobpf/v1
programs:
  - name: unlink
    trigger: {kind: exec}
    variants:
      - name: fentry
        object: fentry_core.o
  - name: bad
    trigger: {kind: exec}
    variants:
      - name: proprietary
        object: nongpl.o
`)
	s := selectAt(t, m, "4.19", SelectOptions{})
	if s.OK || len(s.Failed()) != 2 {
		t.Fatalf("selection %+v", s)
	}
	un := programSel(t, s, "unlink").Variants[0]
	if un.Runnable || un.Failures[0].Feature != "prog:tracing" || un.Failures[0].State != compat.Unsupported {
		t.Errorf("fentry on 4.19: %+v", un.Failures)
	}
	bad := programSel(t, s, "bad").Variants[0]
	if bad.Failures[0].Feature != FeatureLoadError || !strings.Contains(bad.Failures[0].Reason, "GPL") {
		t.Errorf("non-GPL object: %+v", bad.Failures)
	}

	// On 6.12 fentry needs the kernel's BTF (CONFIG_DEBUG_INFO_BTF) and
	// btf-func:do_unlinkat, which a version target cannot know: Unknown
	// rejects, unless AllowUnknown.
	s = selectAt(t, m, "6.12", SelectOptions{})
	un = programSel(t, s, "unlink").Variants[0]
	if un.Runnable || un.Failures[0].State != compat.Unknown || un.Failures[0].Feature != "btf:vmlinux" || un.Failures[0].Detail == "" {
		t.Fatalf("fentry on 6.12: %+v", un.Failures)
	}
	s = selectAt(t, m, "6.12", SelectOptions{AllowUnknown: true})
	un = programSel(t, s, "unlink").Variants[0]
	if !un.Runnable || len(un.Unconfirmed) != 3 || un.Unconfirmed[1].Feature != "btf-func:do_unlinkat" {
		t.Fatalf("fentry on 6.12 with AllowUnknown: %+v", un)
	}
	if programSel(t, s, "bad").Selected != "" {
		t.Error("a load error must never be waved through")
	}
}

func TestSelectKernelConstraintWithoutVersion(t *testing.T) {
	m := loadTestManifest(t, validManifest)
	s, err := Select(m, compat.WithExternalBTF(compat.VersionTarget(kversion.MustParse("6.1"))), SelectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	net := programSel(t, s, "net").Variants[0]
	if net.Runnable || net.Failures[0].Feature != FeatureKernelConstraint || net.Failures[0].State != compat.Unknown {
		t.Fatalf("constraint without a known version: %+v", net)
	}
	if s.Target != "kernel 6.1 (catalog) + external BTF" {
		t.Errorf("target name %q", s.Target)
	}
}

func TestSelectBadProgramName(t *testing.T) {
	m := loadTestManifest(t, `apiVersion: retrobpf/v1
programs:
  - name: a
    trigger: {kind: exec}
    variants:
      - name: v
        object: ringbuf_tp.o
        programs: [no_such_prog]
`)
	sel, err := Select(m, compat.VersionTarget(kversion.MustParse("6.1")), SelectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	errs := sel.Errors()
	if len(errs) != 1 || !strings.Contains(errs[0], `no program "no_such_prog"`) || !strings.Contains(errs[0], "suite.yaml:6") {
		t.Fatalf("errors %q", errs)
	}
	if sel.OK || sel.Programs[0].Variants[0].Runnable {
		t.Fatal("a variant naming a missing program is runnable")
	}
}

// One unreadable object costs only its own variant: the program's other
// variant and the other programs are still selected (issue 10: one bad
// object in a manifest made the guest's whole selection, and so the
// kernel's whole run, fail).
func TestSelectBadObjectIsolated(t *testing.T) {
	path := manifestDir(t, `apiVersion: retrobpf/v1
programs:
  - name: a
    trigger: {kind: exec}
    variants:
      - name: broken
        object: broken.o
      - name: good
        object: ringbuf_tp.o
  - name: b
    trigger: {kind: exec}
    variants:
      - name: only
        object: ringbuf_tp.o
`)
	if err := os.WriteFile(filepath.Join(filepath.Dir(path), "broken.o"), []byte("\x7fELF garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	sel, err := Select(m, compat.VersionTarget(kversion.MustParse("6.1")), SelectOptions{AcceptUnknownSymbols: true})
	if err != nil {
		t.Fatalf("Select: %v", err)
	}
	if got := sel.Programs[0].Selected; got != "good" {
		t.Errorf("a: selected %q, want good", got)
	}
	if got := sel.Programs[1].Selected; got != "only" {
		t.Errorf("b: selected %q, want only", got)
	}
	v := sel.Programs[0].Variants[0]
	if v.Runnable || v.Error == "" || len(v.Failures) != 1 || v.Failures[0].Feature != FeatureLoadError {
		t.Errorf("broken variant: %+v", v)
	}
	if errs := sel.Errors(); len(errs) != 1 || !strings.Contains(errs[0], "broken.o") {
		t.Errorf("Errors() = %q", errs)
	}
}

func TestSelectionJSON(t *testing.T) {
	m := loadTestManifest(t, validManifest)
	s := selectAt(t, m, "4.19", SelectOptions{})
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"schema_version", "manifest", "target", "kernel", "ok", "programs"} {
		if _, ok := back[k]; !ok {
			t.Errorf("JSON lacks %q", k)
		}
	}
	if back["kernel"] != "4.19" {
		t.Errorf("kernel %v", back["kernel"])
	}
	progs := back["programs"].([]any)
	idle := progs[1].(map[string]any)
	if tr := idle["trigger"].(map[string]any); tr["duration"] != "10ms" || tr["kind"] != "sleep" {
		t.Errorf("trigger JSON %v", tr)
	}
	v0 := progs[0].(map[string]any)["variants"].([]any)[0].(map[string]any)
	for _, k := range []string{"name", "object", "programs", "runnable", "selected", "min_kernel", "requirements", "failures", "failure_count"} {
		if _, ok := v0[k]; !ok {
			t.Errorf("variant JSON lacks %q", k)
		}
	}
	f0 := v0["failures"].([]any)[0].(map[string]any)
	for _, k := range []string{"feature", "reason", "source", "state", "detail", "since", "hint"} {
		if _, ok := f0[k]; !ok {
			t.Errorf("failure JSON lacks %q", k)
		}
	}
}
