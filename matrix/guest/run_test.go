package guest

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/retrobpf/retrobpf/manifest"
	"github.com/retrobpf/retrobpf/reports"
)

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to load BPF programs")
	}
}

func variant(t *testing.T, kr reports.KernelResult, prog, name string) reports.VariantResult {
	t.Helper()
	for _, v := range kr.Variants {
		if v.Program == prog && v.Variant == name {
			return v
		}
	}
	t.Fatalf("no result for %s/%s", prog, name)
	return reports.VariantResult{}
}

// TestRunHost runs the host manifest on the running kernel: dead variants
// load (and fail with the right class), good ones load, attach and are
// measured, and selection agrees with the loads.
func TestRunHost(t *testing.T) {
	requireRoot(t)
	s, err := manifest.Load("../testdata/host.yaml")
	if err != nil {
		t.Fatal(err)
	}
	out, err := Run(context.Background(), Options{Suite: s, NoProbe: true, Samples: 6})
	if err != nil {
		t.Fatal(err)
	}
	kr := out.Kernel
	if kr.Outcome != reports.OutcomeOK || len(kr.SelectionErrors) > 0 {
		t.Fatalf("outcome %s: %v", kr.Outcome, kr.SelectionErrors)
	}
	if len(kr.Variants) != 7 || len(kr.Selection) != 3 {
		t.Fatalf("%d variants, %d selections", len(kr.Variants), len(kr.Selection))
	}
	for _, sel := range kr.Selection {
		if sel.Variant != "good" {
			t.Errorf("%s: selected %q (%+v)", sel.Program, sel.Variant, sel.Rejected)
		}
	}
	loop := variant(t, kr, "xdpcount", "looping")
	if loop.Verdict != reports.VerdictRejected || loop.Selected || loop.Programs[0].Triage == nil || loop.Programs[0].Triage.Class != reports.TriageLoop {
		t.Fatalf("looping: %+v", loop)
	}
	if h := loop.Programs[0].Triage.Hint; !strings.HasPrefix(h, `use variant "good"`) {
		t.Errorf("looping hint %q does not name the fallback", h)
	}
	if loop.Programs[0].Verifier.LogArtifact == "" || out.Logs[loop.Programs[0].Verifier.LogArtifact] == nil {
		t.Error("rejected program has no log artifact")
	}
	// A CO-RE rejection names the type and field that did not match (btfhub).
	core := variant(t, kr, "xdpcount", "stale-core").Programs[0].Triage
	if core == nil || core.Class != reports.TriageCORERelocation || !strings.Contains(core.Message, "task_struct.retrobpf_no_such_field") {
		t.Errorf("stale-core triage %+v: want class %s naming task_struct.retrobpf_no_such_field", core, reports.TriageCORERelocation)
	}
	if c := variant(t, kr, "tccount", "leaky").Programs[0].Triage.Class; c != reports.TriageUnreleasedReference {
		t.Errorf("leaky: class %s", c)
	}
	good := variant(t, kr, "xdpcount", "good")
	if good.Verdict != reports.VerdictLoaded || !good.Selected {
		t.Fatalf("xdpcount/good: %+v", good)
	}
	st := good.Programs[0].Verifier
	if st.InsnsProcessed == nil || *st.InsnsProcessed <= 0 || st.XlatedBytes == nil {
		t.Errorf("figures: %+v", st)
	}
	if good.Overhead == nil || good.Overhead.TestRunNsPerOp == nil || *good.Overhead.TestRunNsPerOp <= 0 {
		t.Fatalf("xdpcount/good overhead: %+v", good.Overhead)
	}
	tc := variant(t, kr, "tccount", "good")
	if tc.Overhead == nil || tc.Overhead.TestRunNsPerOp == nil {
		t.Fatalf("tccount/good overhead: %+v", tc.Overhead)
	}
	lo := variant(t, kr, "loconnect", "good")
	if !lo.Attached || lo.Overhead == nil || lo.Overhead.BaselineNs == nil || (lo.Overhead.PerEventNs == nil) == (lo.Overhead.NotMeasurable[reports.MetricPerEvent] == "") || lo.Events == nil || *lo.Events <= 0 {
		t.Fatalf("loconnect/good: attached %v error %q overhead %+v events %v", lo.Attached, lo.AttachError, lo.Overhead, lo.Events)
	}

	// The document validates against the results schema.
	r := &reports.Results{SchemaVersion: reports.SchemaVersion, Tool: reports.Tool{Name: "retrobpf"}, Manifest: s.Report(), Kernels: []reports.KernelResult{kr}}
	if err := r.Validate(); err != nil {
		b, _ := json.MarshalIndent(kr, "", " ")
		t.Fatalf("%v\n%s", err, b)
	}
}

func TestRunSelectionError(t *testing.T) {
	requireRoot(t)
	s, err := manifest.Load("../testdata/selection-error.yaml")
	if err != nil {
		t.Fatal(err)
	}
	out, err := Run(context.Background(), Options{Suite: s, NoProbe: true, VerifierOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	kr := out.Kernel
	if kr.Outcome != reports.OutcomeFailed || len(kr.SelectionErrors) != 1 || !strings.Contains(kr.SelectionErrors[0], "invalid-memory-access") {
		t.Fatalf("outcome %s, errors %v", kr.Outcome, kr.SelectionErrors)
	}
	if v := kr.Variants[0]; v.Overhead != nil || v.Attached {
		t.Errorf("verifier-only run attached or measured: %+v", v)
	}
}
