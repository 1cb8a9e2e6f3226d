package reports

import (
	"bytes"
	"strings"
	"testing"
)

// Overhead counted in instructions is never shown as time.
func TestOverheadTextIcount(t *testing.T) {
	v := &VariantResult{Overhead: &Overhead{PerEventNs: &Estimate{Median: 1480, CILow: 1400, CIHigh: 1560}, BaselineNs: &Estimate{Median: 20000}}}
	if got := overheadText(v); !strings.Contains(got, "1.48 µs") {
		t.Errorf("nanoseconds: %q", got)
	}
	v.Overhead.Unit = UnitIcountNs
	got := overheadText(v)
	if !strings.Contains(got, "+1480 icount-ns [1400 icount-ns, 1560 icount-ns]") || strings.Contains(got, "µs") {
		t.Errorf("icount: %q", got)
	}
}

// A kernel without bpf stats (4.19) says so once, above its table.
func TestNoRunTimeSaidOnce(t *testing.T) {
	why := "no bpf stats before 5.1 (kernel 4.19)"
	k := KernelResult{Ref: "4.19", Outcome: OutcomeOK, Variants: []VariantResult{
		{Program: "a", Variant: "v", Verdict: VerdictLoaded, Overhead: &Overhead{NotMeasurable: map[string]string{MetricRunTime: why}}},
		{Program: "b", Variant: "v", Verdict: VerdictLoaded, Overhead: &Overhead{NotMeasurable: map[string]string{MetricRunTime: why}}},
		{Program: "c", Variant: "v", Verdict: VerdictRejected},
	}}
	var b bytes.Buffer
	mdKernelDetails(&b, &k, 10)
	if n := strings.Count(b.String(), why); n != 1 {
		t.Errorf("the reason appears %d times, want once:\n%s", n, b.String())
	}
	k.Variants[1].Overhead.NotMeasurable = nil
	if k.noRunTime() != "" {
		t.Error("a kernel where one variant has bpf stats is not a kernel without them")
	}
}
