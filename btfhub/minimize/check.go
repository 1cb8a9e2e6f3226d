package minimize

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/cilium/ebpf/btf"

	"github.com/retrobpf/retrobpf/btfhub/corerelo"
	"github.com/retrobpf/retrobpf/internal/objload"
)

// ErrNotEquivalent is returned by Check when an object relocates
// differently against the minimized BTF than against the full one.
var ErrNotEquivalent = errors.New("minimized BTF relocates differently")

// Fixups relocates every program of the object at path against target the
// way cilium/ebpf does at load time and returns one line per relocation:
// "program: relocation => fixup". target_type_id results are shown without
// the ID, which is always an ID in the BTF used.
func Fixups(path string, target *btf.Spec) ([]string, error) {
	obj, err := objload.ReadFile(path) // weak maps and externs as libbpf reads them
	if err != nil {
		return nil, err // names the file
	}
	spec := obj.Spec
	names := make([]string, 0, len(spec.Programs))
	for n := range spec.Programs {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []string
	for _, n := range names {
		prog := spec.Programs[n]
		relos, err := corerelo.FromProgram(prog, spec.Types)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if len(relos) == 0 {
			continue
		}
		raw := make([]*btf.CORERelocation, len(relos))
		for i, r := range relos {
			raw[i] = r.Raw
		}
		fs, err := btf.CORERelocate(raw, []*btf.Spec{target}, prog.ByteOrder, spec.Types.TypeID)
		if err != nil {
			out = append(out, fmt.Sprintf("%s: error: %v", n, err))
			continue
		}
		for i, f := range fs {
			s := f.String()
			if relos[i].Kind == corerelo.TypeIDTarget && !strings.HasSuffix(s, "poison") {
				s = "target_type_id=<id>"
			}
			out = append(out, fmt.Sprintf("%s: %s => %s", n, relos[i], s))
		}
	}
	return out, nil
}

// Check relocates each object against full and min and returns
// ErrNotEquivalent, naming the first difference, unless all agree.
func Check(full, min *btf.Spec, paths ...string) error {
	for _, p := range paths {
		want, err := Fixups(p, full)
		if err != nil {
			return err
		}
		got, err := Fixups(p, min)
		if err != nil {
			return err
		}
		for i := range max(len(want), len(got)) {
			var w, g string
			if i < len(want) {
				w = want[i]
			}
			if i < len(got) {
				g = got[i]
			}
			if w != g {
				return fmt.Errorf("%w: %s: full BTF gives %q, minimized %q", ErrNotEquivalent, p, w, g)
			}
		}
	}
	return nil
}
