package suite

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/retrobpf/retrobpf/compat"
	"github.com/retrobpf/retrobpf/reports"
)

// ErrInvalid marks a manifest that cannot be used (it also wraps
// compat.ErrInvalidManifest when compat found the problem).
var ErrInvalid = errors.New("invalid manifest")

// Suite is a parsed manifest.
type Suite struct {
	Path     string // as given
	Dir      string // absolute directory objects are relative to
	SHA256   string // of the manifest file
	Raw      []byte // the manifest file
	Programs []Program
	// Manifest is compat's form of the same file, for compat.Select.
	Manifest *compat.Manifest
}

// Program, Trigger and Variant are the manifest's own types: the matrix
// runs exactly what compat parsed, validated and selects from.
type (
	Program = compat.ManifestProgram
	Trigger = compat.Trigger
	Variant = compat.Variant
)

// ObjectPath is the variant's object resolved against the manifest.
func (s *Suite) ObjectPath(v Variant) string { return v.ObjectPath }

// Load reads a manifest with compat.LoadManifest (unknown keys, duplicate
// names, unknown feature IDs, bad triggers and missing objects are errors
// naming the file and line) and keeps the file for shipping into VMs.
func Load(path string) (*Suite, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	m, err := compat.LoadManifest(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if len(m.Programs) == 0 {
		return nil, fmt.Errorf("%w: %s: no programs", ErrInvalid, path)
	}
	sum := sha256.Sum256(data)
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalid, path, err)
	}
	for _, mp := range m.Programs {
		if len(mp.Variants) == 0 {
			return nil, fmt.Errorf("%w: %s:%d: program %s: no variants", ErrInvalid, path, mp.Line, mp.Name)
		}
	}
	s := &Suite{Path: path, Dir: dir, SHA256: hex.EncodeToString(sum[:]), Raw: data, Manifest: m, Programs: m.Programs}
	return s, nil
}

// Report describes the suite for reports.Results.
func (s *Suite) Report() reports.Manifest {
	m := reports.Manifest{Path: s.Path, SHA256: s.SHA256}
	for _, p := range s.Programs {
		mp := reports.ManifestProgram{Name: p.Name, Trigger: string(p.Trigger.Kind)}
		for _, v := range p.Variants {
			mp.Variants = append(mp.Variants, v.Name)
		}
		m.Programs = append(m.Programs, mp)
	}
	return m
}

// Objects returns the distinct object paths of the suite, in order.
func (s *Suite) Objects() []string {
	var out []string
	seen := map[string]bool{}
	for _, p := range s.Programs {
		for _, v := range p.Variants {
			if o := s.ObjectPath(v); !seen[o] {
				seen[o] = true
				out = append(out, o)
			}
		}
	}
	return out
}

// ErrNoProgram is returned by Select for a name the suite lacks.
var ErrNoProgram = errors.New("no such program in the manifest")

// Select returns the named programs in manifest order (all when names is
// empty).
func (s *Suite) Select(names []string) ([]Program, error) {
	if len(names) == 0 {
		return s.Programs, nil
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	var out []Program
	for _, p := range s.Programs {
		if want[p.Name] {
			out = append(out, p)
			delete(want, p.Name)
		}
	}
	for n := range want {
		return nil, fmt.Errorf("%w: %q", ErrNoProgram, n)
	}
	return out, nil
}

// Only returns compat's manifest restricted to the named programs.
func (s *Suite) Only(names []string) *compat.Manifest {
	m := *s.Manifest
	if len(names) == 0 {
		return &m
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	m.Programs = nil
	for _, p := range s.Manifest.Programs {
		if want[p.Name] {
			m.Programs = append(m.Programs, p)
		}
	}
	return &m
}
