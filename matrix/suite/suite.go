package suite

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/retrobpf/retrobpf/reports"
)

// ErrInvalid marks a manifest that cannot be used.
var ErrInvalid = errors.New("invalid manifest")

// APIVersion is the only manifest version understood.
const APIVersion = "retrobpf/v1"

// Suite is a parsed manifest.
type Suite struct {
	Path     string // as given
	Dir      string // absolute directory objects are relative to
	SHA256   string // of the manifest file
	Raw      []byte // the manifest file
	Programs []Program
}

// Program is one program with its variants in preference order.
type Program struct {
	Name        string    `yaml:"name"`
	Description string    `yaml:"description"`
	Trigger     Trigger   `yaml:"trigger"`
	Variants    []Variant `yaml:"variants"`
}

// Trigger is the workload that fires a program.
type Trigger struct {
	Kind     string        `yaml:"kind"`
	Count    int           `yaml:"count"`
	Path     string        `yaml:"path"`
	Port     int           `yaml:"port"`
	Duration time.Duration `yaml:"-"`
	Packet   string        `yaml:"packet"`
	RawDur   string        `yaml:"duration"`
}

// Variant is one object implementing a program.
type Variant struct {
	Name        string   `yaml:"name"`
	Object      string   `yaml:"object"` // relative to the manifest
	Programs    []string `yaml:"programs"`
	Requires    []string `yaml:"requires"`
	Kernel      string   `yaml:"kernel"`
	Description string   `yaml:"description"`
}

// ObjectPath is the variant's object resolved against the manifest.
func (s *Suite) ObjectPath(v Variant) string {
	if filepath.IsAbs(v.Object) {
		return v.Object
	}
	return filepath.Join(s.Dir, v.Object)
}

type file struct {
	APIVersion string    `yaml:"apiVersion"`
	Programs   []Program `yaml:"programs"`
}

var triggerKinds = map[string]bool{"exec": true, "open": true, "sleep": true, "connect": true, "fsync": true, "test-run": true}

// Load reads and checks a manifest: known keys only, unique names, a known
// trigger kind, objects that exist.
func Load(path string) (*Suite, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var f file
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalid, path, err)
	}
	if f.APIVersion != APIVersion {
		return nil, fmt.Errorf("%w: %s: apiVersion %q, want %q", ErrInvalid, path, f.APIVersion, APIVersion)
	}
	sum := sha256.Sum256(data)
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalid, path, err)
	}
	s := &Suite{Path: path, Dir: dir, SHA256: hex.EncodeToString(sum[:]), Raw: data, Programs: f.Programs}
	if len(s.Programs) == 0 {
		return nil, fmt.Errorf("%w: %s: no programs", ErrInvalid, path)
	}
	names := map[string]bool{}
	for i := range s.Programs {
		p := &s.Programs[i]
		if p.Name == "" || names[p.Name] {
			return nil, fmt.Errorf("%w: %s: program %d: missing or duplicate name %q", ErrInvalid, path, i+1, p.Name)
		}
		names[p.Name] = true
		if !triggerKinds[p.Trigger.Kind] {
			return nil, fmt.Errorf("%w: %s: program %s: trigger kind %q (want exec, open, sleep, connect, fsync or test-run)", ErrInvalid, path, p.Name, p.Trigger.Kind)
		}
		if p.Trigger.RawDur != "" {
			d, err := time.ParseDuration(p.Trigger.RawDur)
			if err != nil {
				return nil, fmt.Errorf("%w: %s: program %s: trigger duration: %v", ErrInvalid, path, p.Name, err)
			}
			p.Trigger.Duration = d
		}
		if len(p.Variants) == 0 {
			return nil, fmt.Errorf("%w: %s: program %s: no variants", ErrInvalid, path, p.Name)
		}
		vnames := map[string]bool{}
		for _, v := range p.Variants {
			if v.Name == "" || vnames[v.Name] {
				return nil, fmt.Errorf("%w: %s: program %s: missing or duplicate variant name %q", ErrInvalid, path, p.Name, v.Name)
			}
			vnames[v.Name] = true
			if _, err := os.Stat(s.ObjectPath(v)); err != nil {
				return nil, fmt.Errorf("%w: %s: program %s variant %s: object: %v", ErrInvalid, path, p.Name, v.Name, err)
			}
		}
	}
	return s, nil
}

// Report describes the suite for reports.Results.
func (s *Suite) Report() reports.Manifest {
	m := reports.Manifest{Path: s.Path, SHA256: s.SHA256}
	for _, p := range s.Programs {
		mp := reports.ManifestProgram{Name: p.Name, Trigger: p.Trigger.Kind}
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
