package reports

import (
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
