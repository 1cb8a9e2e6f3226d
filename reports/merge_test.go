package reports

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// shards splits the fixture by kernel as `run --shard i/N` would.
func shards(t *testing.T) []*Results {
	full := fixture()
	var out []*Results
	for i, k := range full.Kernels {
		s := clone(t, full)
		s.Kernels = []KernelResult{k}
		s.Shard = &Shard{Index: i + 1, Total: len(full.Kernels)}
		s.CreatedAt = full.CreatedAt.Add(time.Duration(len(full.Kernels)-i) * time.Minute)
		out = append(out, s)
	}
	return out
}

func TestMergeShards(t *testing.T) {
	s := shards(t)
	got, err := Merge(s[2], s[0], s[1])
	if err != nil {
		t.Fatal(err)
	}
	if got.Shard != nil {
		t.Fatal("merged results keep a shard")
	}
	var refs []string
	for _, k := range got.Kernels {
		refs = append(refs, k.Ref)
	}
	if strings.Join(refs, ",") != "6.12,5.10,6.1" {
		t.Fatalf("kernel order %v", refs)
	}
	if !got.CreatedAt.Equal(s[2].CreatedAt) {
		t.Fatalf("created %v, want the earliest %v", got.CreatedAt, s[2].CreatedAt)
	}
	if err := got.Validate(); err != nil {
		t.Fatal(err)
	}
	want, _ := fixture().Only("6.12", "5.10", "6.1")
	want.CreatedAt = got.CreatedAt
	if !reflect.DeepEqual(got.Kernels, want.Kernels) || !reflect.DeepEqual(got.Manifest, want.Manifest) {
		t.Fatal("merged kernels differ from the full run")
	}
	// Idempotent: merging a shard twice (or the merge with a shard) is fine.
	again, err := Merge(got, s[0], s[0])
	if err != nil || len(again.Kernels) != 3 {
		t.Fatalf("re-merge: %v, %d kernels", err, len(again.Kernels))
	}
}

func TestMergeConflicts(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(s []*Results)
		msg    string
	}{
		{"same kernel, different results", func(s []*Results) {
			s[1].Kernels = append(s[1].Kernels, clone(t, s[0]).Kernels[0])
			s[1].Kernels[1].Outcome = OutcomeTimeout
			s[1].Shard = nil
		}, "kernel 5.10 is in inputs 1 and 2"},
		{"different manifest", func(s []*Results) {
			s[1].Manifest.SHA256 = strings.Repeat("f", 64)
		}, "differs from"},
		{"different programs without digest", func(s []*Results) {
			s[0].Manifest.SHA256, s[1].Manifest.SHA256 = "", ""
			s[1].Manifest.Programs = s[1].Manifest.Programs[:1]
		}, "other programs"},
		{"different shard totals", func(s []*Results) {
			s[1].Shard.Total = 4
		}, "of 3 shards"},
		{"same shard twice, different", func(s []*Results) {
			s[1].Shard.Index = 1
		}, "both shard 1/3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := shards(t)
			tc.mutate(s)
			_, err := Merge(s...)
			if !errors.Is(err, ErrMergeConflict) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("err = %v, want ErrMergeConflict with %q", err, tc.msg)
			}
		})
	}
	if _, err := Merge(); err == nil {
		t.Fatal("merge of nothing succeeded")
	}
}
