package reports

import (
	"errors"
	"fmt"
	"reflect"
)

// ErrMergeConflict is returned by Merge when two inputs disagree: different
// manifests, different shard counts, or the same kernel with different
// results.
var ErrMergeConflict = errors.New("merge conflict")

// Merge joins shards (or partial runs) of one suite into one Results. Kernels
// keep the order of their first appearance; a kernel present in several
// inputs must be identical in all of them (re-merging is idempotent, but two
// different runs of one kernel are a conflict, not a silent pick). The
// result has the earliest CreatedAt, the first input's Tool and no Shard.
// Inputs are not modified.
func Merge(inputs ...*Results) (*Results, error) {
	if len(inputs) == 0 {
		return nil, errors.New("merge: no input")
	}
	first := inputs[0]
	out := &Results{
		SchemaVersion: SchemaVersion,
		Tool:          first.Tool,
		CreatedAt:     first.CreatedAt,
		Manifest:      first.Manifest,
		Kernels:       []KernelResult{},
	}
	seen := map[string]int{}   // kernel ref → index in out.Kernels
	origin := map[string]int{} // kernel ref → input number, for errors
	shards := map[int]int{}    // shard index → input number
	shardTotal := 0
	for i, in := range inputs {
		if in.SchemaVersion != SchemaVersion {
			return nil, fmt.Errorf("%w: input %d has schema_version %d", ErrMergeConflict, i+1, in.SchemaVersion)
		}
		if err := sameManifest(out.Manifest, in.Manifest); err != nil {
			return nil, fmt.Errorf("%w: input %d: %v", ErrMergeConflict, i+1, err)
		}
		if len(out.Manifest.Programs) == 0 {
			out.Manifest.Programs = in.Manifest.Programs
		}
		if out.Manifest.SHA256 == "" {
			out.Manifest.SHA256 = in.Manifest.SHA256
		}
		if s := in.Shard; s != nil {
			if shardTotal != 0 && s.Total != shardTotal {
				return nil, fmt.Errorf("%w: input %d is shard %d/%d, an earlier input is of %d shards", ErrMergeConflict, i+1, s.Index, s.Total, shardTotal)
			}
			shardTotal = s.Total
			if j, dup := shards[s.Index]; dup && !reflect.DeepEqual(inputs[j].Kernels, in.Kernels) {
				return nil, fmt.Errorf("%w: inputs %d and %d are both shard %d/%d with different results", ErrMergeConflict, j+1, i+1, s.Index, s.Total)
			}
			shards[s.Index] = i
		}
		if in.CreatedAt.Before(out.CreatedAt) {
			out.CreatedAt = in.CreatedAt
		}
		for _, k := range in.Kernels {
			j, dup := seen[k.Ref]
			if !dup {
				seen[k.Ref] = len(out.Kernels)
				origin[k.Ref] = i
				out.Kernels = append(out.Kernels, k)
				continue
			}
			if !reflect.DeepEqual(out.Kernels[j], k) {
				return nil, fmt.Errorf("%w: kernel %s is in inputs %d and %d with different results", ErrMergeConflict, k.Ref, origin[k.Ref]+1, i+1)
			}
		}
	}
	return out, nil
}

func sameManifest(a, b Manifest) error {
	if a.SHA256 != "" && b.SHA256 != "" {
		if a.SHA256 != b.SHA256 {
			return fmt.Errorf("manifest %s (sha256 %.12s) differs from %s (sha256 %.12s)", b.Path, b.SHA256, a.Path, a.SHA256)
		}
		return nil
	}
	if len(a.Programs) > 0 && len(b.Programs) > 0 && !reflect.DeepEqual(a.Programs, b.Programs) {
		return fmt.Errorf("manifest %s lists other programs or variants than %s", b.Path, a.Path)
	}
	return nil
}

// Kernel returns the result for the kernel ref, or nil.
func (r *Results) Kernel(ref string) *KernelResult {
	for i := range r.Kernels {
		if r.Kernels[i].Ref == ref {
			return &r.Kernels[i]
		}
	}
	return nil
}

// Only returns a copy of r restricted to the given kernel refs, in the
// given order. An unknown ref is an error naming the known ones.
func (r *Results) Only(refs ...string) (*Results, error) {
	out := *r
	out.Kernels = nil
	for _, ref := range refs {
		k := r.Kernel(ref)
		if k == nil {
			known := make([]string, len(r.Kernels))
			for i, k := range r.Kernels {
				known[i] = k.Ref
			}
			return nil, fmt.Errorf("no kernel %q in the results (have %v)", ref, known)
		}
		out.Kernels = append(out.Kernels, *k)
	}
	return &out, nil
}
