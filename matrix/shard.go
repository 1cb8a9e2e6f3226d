package matrix

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/retrobpf/retrobpf/reports"
)

// ErrShard marks an unusable --shard value.
var ErrShard = errors.New("invalid shard")

// ParseShard reads "i/N" (1 ≤ i ≤ N).
func ParseShard(s string) (*reports.Shard, error) {
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 1 || i > n {
		return nil, fmt.Errorf("%w %q: want i/N with 1 ≤ i ≤ N", ErrShard, s)
	}
	return &reports.Shard{Index: i, Total: n}, nil
}

// ShardKernels returns the kernels of shard sh: kernel j (0-based) goes to
// shard j mod N + 1, so shards differ by at most one kernel. A nil shard
// is everything.
func ShardKernels[R any](kernels []R, sh *reports.Shard) []R {
	if sh == nil {
		return kernels
	}
	var out []R
	for j, k := range kernels {
		if j%sh.Total+1 == sh.Index {
			out = append(out, k)
		}
	}
	return out
}

// GitHubMatrix writes a GitHub Actions strategy.matrix for n shards:
// {"include":[{"shard":"1/3","kernels":"5.10"},…]}. Shards without a
// kernel are left out (more shards than kernels).
func GitHubMatrix(w io.Writer, refs []Kernel, n int) error {
	if n < 1 {
		return fmt.Errorf("%w: %d shards: want at least 1", ErrShard, n)
	}
	type entry struct {
		Shard   string `json:"shard"`
		Kernels string `json:"kernels"`
	}
	m := struct {
		Include []entry `json:"include"`
	}{Include: []entry{}}
	for i := 1; i <= n; i++ {
		ks := ShardKernels(refs, &reports.Shard{Index: i, Total: n})
		if len(ks) == 0 {
			continue
		}
		names := make([]string, len(ks))
		for j, k := range ks {
			names[j] = k.String()
		}
		m.Include = append(m.Include, entry{Shard: fmt.Sprintf("%d/%d", i, n), Kernels: strings.Join(names, ",")})
	}
	return json.NewEncoder(w).Encode(m)
}
