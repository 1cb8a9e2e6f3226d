package overhead

import (
	"math"
	"sort"

	"github.com/retrobpf/retrobpf/reports"
)

// MinSamples is the fewest samples that give a 95 % confidence interval
// of the median from order statistics (1 − 2/2⁶ ≈ 96.9 %).
const MinSamples = 6

// Median returns the median and a ≥ 95 % confidence interval of the
// median from order statistics (distribution-free, like benchstat). It
// returns nil for fewer than MinSamples values.
func Median(xs []float64) *reports.Estimate {
	n := len(xs)
	if n < MinSamples {
		return nil
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	med := s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	k := ciRank(n)
	return &reports.Estimate{Median: med, CILow: s[k-1], CIHigh: s[n-k]}
}

// ciRank returns the largest 1-based rank k with P(Binomial(n, ½) < k) ≤
// 2.5 %: [x(k), x(n+1−k)] covers the median with ≥ 95 % probability.
func ciRank(n int) int {
	k, cum := 1, 0.0
	for j := 0; j < n; j++ {
		cum += binom(n, j) / math.Pow(2, float64(n)) // cum = P(X ≤ j) = P(X < j+1)
		if cum > 0.025 {
			break
		}
		k = j + 1
	}
	return max(1, min(k, (n+1)/2))
}

func binom(n, k int) float64 {
	r := 1.0
	for i := 1; i <= k; i++ {
		r = r * float64(n-k+i) / float64(i)
	}
	return r
}
