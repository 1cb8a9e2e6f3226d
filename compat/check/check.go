package check

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/cilium/ebpf/btf"
	"github.com/retrobpf/retrobpf/compat"
	"github.com/retrobpf/retrobpf/internal/kversion"
)

// SchemaVersion is the schema_version of Result JSON.
const SchemaVersion = 1

// Target is what the objects are compared with.
type Target struct {
	compat.Target
	// Version is the target's kernel version; zero when unknown.
	Version kversion.Version
	// VersionOnly marks catalog knowledge only (a bare kernel version),
	// which cannot know kernel symbols: check reads their programs as
	// unconfirmed, and select may accept them (manifest.SelectOptions).
	VersionOnly bool
	// KernelBTF is the target's kernel types, when known (its own vmlinux
	// BTF or an external one for it): CO-RE relocations are resolved
	// against it. Target should then include compat.WithKernelBTF.
	KernelBTF *btf.Spec
	// Kernel is what the analysis may assume of the target (its version
	// for LINUX_KERNEL_VERSION, its config): code .kconfig externs rule
	// out there is dead. nil: not known.
	Kernel *compat.Kernel
}

// Facts is what the analysis may assume of the target: Kernel, with the
// target's BTF when known. nil when nothing is known.
func (t *Target) Facts() *compat.Kernel {
	if t == nil || (t.Kernel == nil && t.KernelBTF == nil) {
		return nil
	}
	k := compat.Kernel{}
	if t.Kernel != nil {
		k = *t.Kernel
	}
	if k.BTF == nil {
		k.BTF = t.KernelBTF
	}
	if k.Symbol == nil && t.Target != nil {
		target := t.Target
		k.Symbol = func(name string) (bool, bool) {
			switch target.Has(compat.FeatureID("ksym:" + name)).State {
			case compat.Supported:
				return true, true
			case compat.Unsupported:
				return false, true
			}
			return false, false
		}
	}
	return &k
}

// Result is the outcome of a check (check.schema.json).
type Result struct {
	SchemaVersion int              `json:"schema_version"`
	Target        string           `json:"target,omitempty"` // "" without a target
	Kernel        kversion.Version `json:"kernel"`
	OK            bool             `json:"ok"`
	Objects       []Object         `json:"objects"`
	hasTarget     bool
}

// Object is one input: its analysis, or the error that made it unreadable.
type Object struct {
	*compat.ObjectReport
	Path     string                  `json:"path"`
	Error    string                  `json:"error,omitempty"`
	Verdicts []compat.ProgramVerdict `json:"verdicts,omitempty"`
}

// Analyze analyses every object at paths, in order. An object that cannot
// be read or is not a BPF object is recorded with its error (without the
// file name, which Path holds).
//
// opts.Prepare, when not nil, changes each object's spec first as its
// loader would (compat.AnalyzeWith); an error from it is that object's
// error. opts.Kernel is the target's, when known (Target.Kernel).
func Analyze(paths []string, opts compat.AnalyzeOptions) *Result {
	r := &Result{SchemaVersion: SchemaVersion, Objects: []Object{}}
	for _, path := range paths {
		rep, err := compat.AnalyzeFor(path, opts)
		if err != nil {
			r.Objects = append(r.Objects, Object{Path: path, Error: inputError(path, err)})
			continue
		}
		r.Objects = append(r.Objects, Object{Path: path, ObjectReport: rep})
	}
	return r
}

// inputError is the problem with an unreadable input, without its name.
func inputError(path string, err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Path == path {
		return pe.Err.Error()
	}
	return strings.TrimPrefix(err.Error(), path+": ")
}

// Requirements lists every requirement of every readable object, in input
// order (a feature may repeat across objects).
func (r *Result) Requirements() []compat.Requirement {
	var out []compat.Requirement
	for _, o := range r.Objects {
		if o.ObjectReport != nil {
			out = append(out, o.ObjectReport.Requirements...)
		}
	}
	return out
}

// Evaluate compares every program with t (nil: no target, when only
// programs that can never load fail) and sets OK.
func (r *Result) Evaluate(t *Target) {
	r.OK = true
	if t != nil {
		r.hasTarget, r.Target, r.Kernel = true, t.Name(), t.Version
	}
	for i := range r.Objects {
		o := &r.Objects[i]
		if o.ObjectReport == nil {
			r.OK = false
			continue
		}
		o.Verdicts = nil
		var core map[string][]compat.Unmet
		if t != nil && t.KernelBTF != nil {
			var err error
			if core, err = coreUnmet(o.Path, t.KernelBTF, o.ObjectReport); err != nil {
				// The analysis read the object, relocating it failed: every
				// program's CO-RE stays undecided.
				core = map[string][]compat.Unmet{}
				for _, p := range o.Programs {
					core[p.Name] = []compat.Unmet{{
						Requirement: compat.Requirement{Feature: "btf:core", Reason: "CO-RE relocations against the target's BTF"},
						State:       compat.Unknown, Detail: err.Error(),
					}}
				}
			}
		}
		for j := range o.Programs {
			p := &o.Programs[j]
			if t == nil {
				if p.HasErrors() {
					r.OK = false
				}
				continue
			}
			v := compat.CheckProgram(p, t.Target)
			if extra := core[p.Name]; len(extra) > 0 {
				v = withUnmet(v, extra)
			}
			if !v.OK() {
				r.OK = false
			}
			o.Verdicts = append(o.Verdicts, v)
		}
	}
}

// HasTarget reports whether Evaluate was given a target.
func (r *Result) HasTarget() bool { return r.hasTarget }

// Counts returns how many programs passed and how many there are.
func (r *Result) Counts() (ok, total int) {
	for _, o := range r.Objects {
		if o.ObjectReport == nil {
			continue
		}
		for j, p := range o.Programs {
			total++
			if r.hasTarget {
				if o.Verdicts[j].OK() {
					ok++
				}
			} else if !p.HasErrors() {
				ok++
			}
		}
	}
	return ok, total
}

// Summary is the one-line verdict, e.g. "3 of 5 programs compatible with
// kernel 5.10 (catalog)".
func (r *Result) Summary() string {
	ok, total := r.Counts()
	if !r.hasTarget {
		return fmt.Sprintf("%d of %d programs can never load (see findings)", total-ok, total)
	}
	return fmt.Sprintf("%d of %d programs compatible with %s", ok, total, r.Target)
}

// withUnmet adds CO-RE failures to a verdict and decides it again.
func withUnmet(v compat.ProgramVerdict, extra []compat.Unmet) compat.ProgramVerdict {
	v.Unmet = append(v.Unmet, extra...)
	if v.Verdict == compat.Invalid {
		return v
	}
	v.Verdict = compat.Compatible
	for _, u := range v.Unmet {
		switch u.State {
		case compat.Unsupported:
			v.Verdict = compat.Incompatible
			return v
		default:
			v.Verdict = compat.Unconfirmed
		}
	}
	return v
}
