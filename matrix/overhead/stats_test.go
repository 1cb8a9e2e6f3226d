package overhead

import (
	"testing"

	"github.com/retrobpf/retrobpf/internal/kversion"
)

func TestCIRank(t *testing.T) {
	// Known order-statistic ranks for the 95 % CI of the median.
	for n, want := range map[int]int{6: 1, 8: 1, 9: 2, 10: 2, 12: 3, 20: 6} {
		if got := ciRank(n); got != want {
			t.Errorf("n=%d: rank %d, want %d", n, got, want)
		}
	}
}

func TestMedian(t *testing.T) {
	if Median([]float64{1, 2, 3, 4, 5}) != nil {
		t.Fatal("5 samples must not give an estimate")
	}
	e := Median([]float64{10, 1, 9, 2, 8, 3, 7, 4, 6, 5})
	if e.Median != 5.5 || e.CILow != 2 || e.CIHigh != 9 {
		t.Fatalf("%+v", e)
	}
}

func mustVersion(s string) kversion.Version { return kversion.MustParse(s) }
