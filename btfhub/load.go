package btfhub

import (
	"errors"
	"fmt"
	"sort"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"

	"github.com/retrobpf/retrobpf/internal/objload"
)

// Load failure classes reported by LoadObjects.
const (
	ClassOK             = "ok"
	ClassCORERelocation = "core-relocation" // ErrCORERelocation
	ClassNoKernelBTF    = "no-kernel-btf"   // ErrNoKernelBTF
	ClassObject         = "object"          // the object file is unreadable
	ClassOther          = "other"           // anything else (verifier, missing helper, ...)
)

// LoadResult is the outcome of loading one program with some kernel types.
type LoadResult struct {
	Object     string         `json:"object"`
	Program    string         `json:"program,omitempty"`
	Class      string         `json:"class"`
	Error      string         `json:"error,omitempty"`
	Mismatches []COREMismatch `json:"mismatches,omitempty"`
}

// LoadObjects loads every program of the objects into the running kernel,
// one program per collection (so one failure does not hide the others),
// relocating CO-RE against kernel as CollectionOptions(kernel, src) says
// (kernel may be nil: cilium/ebpf then looks for the kernel's own BTF), and
// classifies each outcome with ClassifyLoadError. Loaded programs are closed
// again. It needs the privileges to load BPF programs.
func LoadObjects(paths []string, kernel *btf.Spec, src Source) []LoadResult {
	var out []LoadResult
	opts := CollectionOptions(kernel, src)
	for _, p := range paths {
		spec, err := objload.Load(p, objload.Options{}) // as libbpf would load it here
		if err != nil {
			out = append(out, LoadResult{Object: p, Class: ClassObject, Error: err.Error()})
			continue
		}
		names := make([]string, 0, len(spec.Programs))
		for n := range spec.Programs {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			one := spec.Copy()
			for other := range one.Programs {
				if other != n {
					delete(one.Programs, other)
				}
			}
			r := LoadResult{Object: p, Program: n, Class: ClassOK}
			coll, err := ebpf.NewCollectionWithOptions(one, opts)
			if err == nil {
				coll.Close()
				out = append(out, r)
				continue
			}
			err = ClassifyLoadError(err, one, kernel)
			r.Error = err.Error()
			var ce *COREError
			switch {
			case errors.As(err, &ce):
				r.Class, r.Mismatches = ClassCORERelocation, ce.Mismatches
			case errors.Is(err, ErrNoKernelBTF):
				r.Class = ClassNoKernelBTF
			default:
				r.Class = ClassOther
			}
			out = append(out, r)
		}
	}
	return out
}

// Summary counts results per class, e.g. "3 ok, 1 core-relocation".
func Summary(rs []LoadResult) string {
	counts := map[string]int{}
	var classes []string
	for _, r := range rs {
		if counts[r.Class] == 0 {
			classes = append(classes, r.Class)
		}
		counts[r.Class]++
	}
	sort.Strings(classes)
	s := ""
	for i, c := range classes {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%d %s", counts[c], c)
	}
	return s
}
