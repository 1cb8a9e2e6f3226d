package manifest

import (
	"encoding/json"
	"fmt"
	"github.com/cilium/ebpf"
	"sort"

	"github.com/retrobpf/retrobpf/compat"
	"github.com/retrobpf/retrobpf/internal/kversion"
	"github.com/retrobpf/retrobpf/internal/objload"
)

// SelectionSchemaVersion is the schema_version of Selection JSON. The
// JSON form is the stable interface the matrix reads; fields are only
// added within one version.
const SelectionSchemaVersion = 1

// Pseudo feature IDs that appear in selection failures next to catalog IDs.
const (
	// FeatureKernelConstraint is a variant's kernel: constraint.
	FeatureKernelConstraint compat.FeatureID = "kernel"
	// FeatureLoadError is an analysis error finding (for example a GPL-only
	// helper in a non-GPL program): the variant cannot load anywhere.
	FeatureLoadError compat.FeatureID = "load-error"
)

// manifestReason is the reason of explicit requires: entries.
const manifestReason = "required by the manifest"

// SelectOptions tune Select.
type SelectOptions struct {
	// Set is applied to every variant's object over the variant's own
	// set: and maps: (the command line's --set), where the object has
	// the name; SetFound, when not nil, records the names some object had.
	Set      objload.Settings
	SetFound map[string]bool
	// AllFailures lists every failing requirement of a rejected variant;
	// by default only the first one.
	AllFailures bool
	// AllowUnknown accepts requirements the target answers Unknown (they
	// are listed as Unconfirmed). Useful with a version-only target, which
	// cannot know dynamic kernel symbols; never the default.
	AllowUnknown bool
	// AcceptUnknownSymbols accepts, as Unconfirmed, Unknown answers for the
	// ksym:NAME requirements Analyze derives from attach points. Set it for
	// a version-only target (--kernel), which can never know whether a
	// kernel symbol exists; a probe can, so leave it off there.
	//
	// It also accepts Unknown answers for features that hang on a kernel
	// option distributions differ on (compat.Feature.Config: vmlinux BTF),
	// which a version cannot know either.
	AcceptUnknownSymbols bool
	// Kernel is the target kernel's upstream version, for kernel:
	// constraints. When zero, a Target with a KernelVersion method is
	// asked; otherwise constraints answer Unknown.
	Kernel kversion.Version
	// Facts is what the objects' analysis may assume of the target (its
	// .kconfig values, its BTF for CO-RE): code they rule out there is no
	// requirement. nil: none.
	Facts *compat.Kernel
}

// Selection is the outcome of Select. JSON field reference:
//
//	schema_version  SelectionSchemaVersion
//	manifest        manifest path
//	target          Target.Name()
//	kernel          target version used for kernel: constraints ("" = unknown)
//	ok              every program has a selected variant
//	programs[]      per manifest program, in manifest order:
//	  program         name
//	  selected        chosen variant name ("" when none can run)
//	  object          chosen variant's object path (resolved)
//	  programs        programs to load+attach from it (never empty)
//	  trigger         the manifest trigger (kind, count, path, port, duration, packet)
//	  variants[]      every variant, in preference order:
//	    name, object, programs
//	    runnable        all requirements hold (Supported)
//	    selected        this is the chosen variant
//	    min_kernel      first upstream kernel with every derived/explicit requirement
//	    requirements[]  {feature, reason, source}: explicit, then derived, then kernel
//	    failures[]      {feature, reason, source, state, detail, since, hint}: the
//	                    first failing requirement (all with AllFailures)
//	    failure_count   number of failing requirements
//	    unconfirmed[]   Unknown requirements accepted by AllowUnknown
type Selection struct {
	SchemaVersion int                `json:"schema_version"`
	Manifest      string             `json:"manifest"`
	Target        string             `json:"target"`
	Kernel        kversion.Version   `json:"kernel"`
	OK            bool               `json:"ok"`
	Programs      []ProgramSelection `json:"programs"`
}

// ProgramSelection is the choice for one manifest program.
type ProgramSelection struct {
	Program  string          `json:"program"`
	Selected string          `json:"selected"`
	Object   string          `json:"object,omitempty"`
	Programs []string        `json:"programs,omitempty"`
	Trigger  Trigger         `json:"trigger"`
	Variants []VariantResult `json:"variants"`
}

// VariantResult is one variant evaluated against the target.
type VariantResult struct {
	Name         string               `json:"name"`
	Object       string               `json:"object"`
	Programs     []string             `json:"programs"`
	Runnable     bool                 `json:"runnable"`
	Selected     bool                 `json:"selected"`
	MinKernel    kversion.Version     `json:"min_kernel"`
	Requirements []compat.Requirement `json:"requirements"`
	Failures     []compat.Unmet       `json:"failures"`
	FailureCount int                  `json:"failure_count"`
	Unconfirmed  []compat.Unmet       `json:"unconfirmed,omitempty"`
	// Error says why the variant could not be evaluated (its object is
	// unreadable or lacks a listed program); it is then not runnable.
	Error string `json:"error,omitempty"`
}

// variantError is the verdict of a variant that could not be evaluated:
// a load-error failure, so that it reads like any rejection.
func variantError(v *Variant, err error) VariantResult {
	u := compat.Unmet{Requirement: compat.Requirement{Feature: FeatureLoadError, Reason: err.Error(), Source: v.Object}, State: compat.Unsupported, Detail: "the variant cannot be evaluated"}
	return VariantResult{Name: v.Name, Object: v.ObjectPath, Programs: v.Programs, Requirements: []compat.Requirement{}, Failures: []compat.Unmet{u}, FailureCount: 1, Error: err.Error()}
}

// Errors lists the variants that could not be evaluated, one line each.
func (s *Selection) Errors() []string {
	var out []string
	for _, p := range s.Programs {
		for _, v := range p.Variants {
			if v.Error != "" {
				out = append(out, v.Error)
			}
		}
	}
	return out
}

// Failed returns the programs without a runnable variant.
func (s *Selection) Failed() []ProgramSelection {
	var out []ProgramSelection
	for _, p := range s.Programs {
		if p.Selected == "" {
			out = append(out, p)
		}
	}
	return out
}

// Select picks, per manifest program, the first variant whose
// requirements — explicit requires:, everything Analyze derives from its
// object and programs, and its kernel: constraint — all hold on t
// (Supported). Every variant is evaluated and every rejected one is
// explained. A program without a runnable variant is not an error here:
// Selection.OK is false. A variant whose object cannot be analysed or
// lacks a program the manifest names is not runnable and says why in
// VariantResult.Error (Selection.Errors); the others are still evaluated.
func Select(m *Manifest, t compat.Target, opts SelectOptions) (*Selection, error) {
	kernel := opts.Kernel
	if kernel.IsZero() {
		if kv, ok := t.(interface{ KernelVersion() kversion.Version }); ok {
			kernel = kv.KernelVersion()
		}
	}
	sel := &Selection{SchemaVersion: SelectionSchemaVersion, Manifest: m.Path, Target: t.Name(), Kernel: kernel, OK: true, Programs: []ProgramSelection{}}
	cache := map[string]*compat.ObjectReport{}
	for _, p := range m.Programs {
		ps := ProgramSelection{Program: p.Name, Trigger: p.Trigger, Variants: []VariantResult{}}
		for _, v := range p.Variants {
			vr, err := evaluateVariant(m, &p, &v, t, kernel, opts, cache)
			if err != nil {
				vr = variantError(&v, err) // costs this variant only
			}
			if vr.Runnable && ps.Selected == "" {
				vr.Selected = true
				ps.Selected, ps.Object, ps.Programs = vr.Name, vr.Object, vr.Programs
			}
			ps.Variants = append(ps.Variants, vr)
		}
		if ps.Selected == "" {
			sel.OK = false
		}
		sel.Programs = append(sel.Programs, ps)
	}
	return sel, nil
}

func evaluateVariant(m *Manifest, p *Program, v *Variant, t compat.Target, kernel kversion.Version, opts SelectOptions, cache map[string]*compat.ObjectReport) (VariantResult, error) {
	where := fmt.Sprintf("%s:%d", m.Path, v.Line)
	settings := v.Settings().Merge(opts.Set)
	key := v.ObjectPath + "\x00" + settings.Key()
	obj, ok := cache[key]
	if !ok {
		var err error
		// The variant's own settings are strict (its author named that
		// object); the command line's apply where the object has the name.
		obj, err = compat.AnalyzeFor(v.ObjectPath, compat.AnalyzeOptions{
			Prepare: func(spec *ebpf.CollectionSpec) error {
				return v.Settings().Merge(opts.Set.Only(spec, opts.SetFound)).Apply(spec)
			},
			Kernel: opts.Facts,
		})
		if err != nil {
			return VariantResult{}, fmt.Errorf("%s: program %s, variant %s: %w", where, p.Name, v.Name, err)
		}
		cache[key] = obj
	}
	vr := VariantResult{Name: v.Name, Object: v.ObjectPath, Programs: v.Programs, Requirements: []compat.Requirement{}, Failures: []compat.Unmet{}}
	if len(vr.Programs) == 0 {
		for _, pr := range obj.Programs {
			vr.Programs = append(vr.Programs, pr.Name)
		}
		if len(vr.Programs) == 0 {
			return VariantResult{}, fmt.Errorf("%s: program %s, variant %s: object %s has no programs", where, p.Name, v.Name, v.Object)
		}
	}

	var reqs requirementSet
	var unmet []compat.Unmet
	for i, id := range v.Requires {
		src := where
		if i < len(v.requiresLines) {
			src = fmt.Sprintf("%s:%d", m.Path, v.requiresLines[i])
		}
		reqs.add(compat.Requirement{Feature: id, Reason: manifestReason, Source: src, Origin: compat.FromManifest})
	}
	unmet = append(unmet, compat.Evaluate(t, "", reqs.list)...)

	for _, name := range vr.Programs {
		pr := obj.Program(name)
		if pr == nil {
			return VariantResult{}, fmt.Errorf("%s: program %s, variant %s: object %s has no program %q (it has %s)", where, p.Name, v.Name, v.Object, name, programNames(obj))
		}
		for _, f := range pr.Findings {
			if f.Severity == compat.SeverityError {
				unmet = append(unmet, compat.Unmet{
					Requirement: compat.Requirement{Feature: FeatureLoadError, Reason: "program " + name + ": " + f.Message, Source: f.Source},
					State:       compat.Unsupported, Detail: "fails on every kernel",
				})
			}
		}
		var fresh []compat.Requirement
		for _, r := range pr.Requirements {
			if reqs.seen[r.Feature] {
				continue
			}
			r.Source = v.Object + ": program " + name + ", " + r.Source
			reqs.add(r)
			fresh = append(fresh, r)
		}
		unmet = append(unmet, compat.Evaluate(t, pr.Type, fresh)...)
	}
	vr.Requirements = reqs.list
	vr.MinKernel = minKernel(reqs.list)

	if v.Kernel != nil {
		kr := compat.Requirement{Feature: FeatureKernelConstraint, Reason: "kernel " + v.Kernel.Text + " (version constraint)", Source: fmt.Sprintf("%s:%d", m.Path, v.kernelLine)}
		vr.Requirements = append(vr.Requirements, kr)
		switch {
		case kernel.IsZero():
			unmet = append(unmet, compat.Unmet{Requirement: kr, State: compat.Unknown, Detail: "the target's kernel version is not known"})
		case !v.Kernel.Match(kernel):
			unmet = append(unmet, compat.Unmet{Requirement: kr, State: compat.Unsupported, Detail: "target kernel is " + kernel.String(),
				Hint: "kernel constraints are a last resort: distro kernels backport features; prefer requires: feature IDs"})
		}
	}

	var failing []compat.Unmet
	for _, u := range unmet {
		if u.State == compat.Unknown && (opts.AllowUnknown || opts.AcceptUnknownSymbols && (u.Requirement.DerivedSymbol() || configDependent(u.Feature))) {
			vr.Unconfirmed = append(vr.Unconfirmed, u)
			continue
		}
		failing = append(failing, u)
	}
	vr.FailureCount = len(failing)
	vr.Runnable = len(failing) == 0
	if !opts.AllFailures && len(failing) > 1 {
		failing = failing[:1]
	}
	vr.Failures = append(vr.Failures, failing...)
	return vr, nil
}

func programNames(o *compat.ObjectReport) string {
	var n []string
	for _, p := range o.Programs {
		n = append(n, p.Name)
	}
	sort.Strings(n)
	if len(n) == 0 {
		return "none"
	}
	return fmt.Sprint(n)
}

// MarshalJSON writes Duration as a Go duration string ("10ms").
func (t Trigger) MarshalJSON() ([]byte, error) {
	type plain Trigger
	out := struct {
		plain
		Duration string `json:"duration,omitempty"`
	}{plain: plain(t)}
	if t.Duration > 0 {
		out.Duration = t.Duration.String()
	}
	return json.Marshal(out)
}

// requirementSet keeps a variant's requirements in discovery order, one per
// feature: an explicit requires: entry wins over the same feature found in
// the object, and two programs needing one feature list it once.
type requirementSet struct {
	list []compat.Requirement
	seen map[compat.FeatureID]bool
}

func (s *requirementSet) add(r compat.Requirement) {
	if s.seen == nil {
		s.seen = map[compat.FeatureID]bool{}
	}
	if !s.seen[r.Feature] {
		s.seen[r.Feature] = true
		s.list = append(s.list, r)
	}
}

// minKernel is the first upstream kernel that has every requirement
// according to the catalog (zero when none has a known version).
func minKernel(reqs []compat.Requirement) kversion.Version {
	var newest kversion.Version
	for _, r := range reqs {
		if f, err := compat.Lookup(r.Feature); err == nil && newest.Less(f.Since) {
			newest = f.Since
		}
	}
	return newest
}

// configDependent reports whether id needs a kernel option beyond its
// version (compat.Feature.Config).
func configDependent(id compat.FeatureID) bool {
	f, err := compat.Lookup(id)
	return err == nil && f.Config != ""
}
