package manifest

import (
	"errors"
	"fmt"
	"slices"

	"github.com/retrobpf/retrobpf/reports"
)

// ErrNoProgram is returned by Programs for a name the manifest lacks.
var ErrNoProgram = errors.New("no such program in the manifest")

// Report describes the manifest for reports.Results.
func (m *Manifest) Report() reports.Manifest {
	r := reports.Manifest{Path: m.Path, SHA256: m.SHA256}
	for _, p := range m.Programs {
		mp := reports.ManifestProgram{Name: p.Name, Trigger: string(p.Trigger.Kind)}
		for _, v := range p.Variants {
			mp.Variants = append(mp.Variants, v.Name)
		}
		r.Programs = append(r.Programs, mp)
	}
	return r
}

// Objects returns the distinct object paths of the manifest, in order.
func (m *Manifest) Objects() []string {
	var out []string
	for _, p := range m.Programs {
		for _, v := range p.Variants {
			if !slices.Contains(out, v.ObjectPath) {
				out = append(out, v.ObjectPath)
			}
		}
	}
	return out
}

// Only returns the manifest restricted to the named programs, in manifest
// order (all of them when names is empty); a name the manifest lacks is
// ErrNoProgram.
func (m *Manifest) Only(names []string) (*Manifest, error) {
	out := *m
	if len(names) == 0 {
		return &out, nil
	}
	out.Programs = nil
	for _, p := range m.Programs {
		if slices.Contains(names, p.Name) {
			out.Programs = append(out.Programs, p)
		}
	}
	for _, n := range names {
		if m.Program(n) == nil {
			return nil, fmt.Errorf("%w: %q", ErrNoProgram, n)
		}
	}
	return &out, nil
}
