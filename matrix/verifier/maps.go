package verifier

import (
	"sort"
	"strings"

	"github.com/cilium/ebpf"
)

// MapFailure is one map of a program's object the kernel would not create.
type MapFailure struct {
	Name string
	Type ebpf.MapType
	Err  error
}

// isMapError reports whether a collection load failed creating a map
// (cilium/ebpf says "map NAME: ...").
func isMapError(err error) bool {
	return err != nil && strings.HasPrefix(err.Error(), "map ")
}

// mapFailures creates every map of spec alone, in name order, and returns
// those the kernel refuses. cilium/ebpf creates a collection's maps in map
// iteration order and stops at the first failure, so which failing map a
// load names changes from run to run; this list does not, and it holds
// every missing map, not only the first.
func mapFailures(spec *ebpf.CollectionSpec) []MapFailure {
	names := make([]string, 0, len(spec.Maps))
	for n := range spec.Maps {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []MapFailure
	for _, n := range names {
		ms := spec.Maps[n].Copy()
		// Contents name programs or need other maps: only creation is
		// in question here.
		ms.Contents = nil
		m, err := ebpf.NewMap(ms)
		if err != nil {
			out = append(out, MapFailure{Name: n, Type: ms.Type, Err: err})
			continue
		}
		m.Close()
	}
	return out
}
