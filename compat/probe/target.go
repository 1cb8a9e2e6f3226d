package probe

import (
	"fmt"
	"strings"

	"github.com/retrobpf/retrobpf/compat"
	"github.com/retrobpf/retrobpf/compat/internal/kenum"
)

// Name describes the probed kernel, e.g. "probed kernel 6.1.0-18-amd64 (Debian GNU/Linux 12)".
func (r *Report) Name() string {
	name := "probed kernel " + r.Kernel.Release
	if r.Distro.PrettyName != "" {
		name += " (" + r.Distro.PrettyName + ")"
	}
	return name
}

// Has answers from the probe results. helper:X is Supported if X is
// available to at least one program type; helper:X@PROG reads the
// matrix. ksym:NAME and kfunc:NAME not recorded in the report are looked
// up now when the report was made by this process, and are Unknown in a
// loaded report.
func (r *Report) Has(id compat.FeatureID) compat.Availability {
	res := r.result(id)
	return compat.Availability{State: res.State, Detail: strings.TrimSpace(res.Errno + " " + res.Detail)}
}

// Result returns the full probe result for id.
func (r *Report) Result(id compat.FeatureID) Result {
	return r.result(id)
}

func (r *Report) result(id compat.FeatureID) Result {
	if _, err := compat.Lookup(id); err != nil {
		return Result{State: compat.Unknown, Detail: err.Error()}
	}
	kind, name, _ := strings.Cut(string(id), ":")
	if _, recorded := r.Ksyms[name]; r.AttachSurface != nil && !(kind == "ksym" && recorded) {
		if res, ok := r.AttachSurface.result(id, r.Has); ok {
			return res
		}
	}
	lookup := func(m map[string]Result, key string) Result {
		if res, ok := m[key]; ok && res.State != "" {
			return res
		}
		return Result{State: compat.Unknown, Detail: "not probed: " + string(id) + " is not in this report"}
	}
	switch compat.KindOf(id) {
	case compat.KindProg:
		return lookup(r.ProgramTypes, name)
	case compat.KindMap:
		return lookup(r.MapTypes, name)
	case compat.KindMapFlag:
		return lookup(r.MapFlags, name)
	case compat.KindAttach:
		return lookup(r.Attach, name)
	case compat.KindBTF:
		return lookup(r.BTF, name)
	case compat.KindInsn:
		return lookup(r.Insn, name)
	case compat.KindTestRun:
		return lookup(r.TestRun, name)
	case compat.KindStats:
		return lookup(r.Stats, name)
	case compat.KindHelper:
		return r.helperResult(name)
	case compat.KindKfunc:
		if res, ok := r.Kfuncs[name]; ok {
			return res
		}
		if r.live != nil {
			return kfuncResult(name)
		}
		return Result{State: compat.Unknown, Detail: "kfunc " + name + " not recorded in this report (probe with --kfunc " + name + ")"}
	}
	if kind == "ksym" {
		if res, ok := r.Ksyms[name]; ok {
			return res
		}
		if r.live != nil {
			syms, err := r.live.kallsyms()
			return ksymResultKnown(syms, err, name)
		}
		return Result{State: compat.Unknown, Detail: "ksym " + name + " not recorded in this report (probe with --ksym " + name + ")"}
	}
	return lookup(r.Misc, string(id))
}

// helperResult answers helper:bpf_X and helper:bpf_X@PROG.
func (r *Report) helperResult(name string) Result {
	helper, prog, qualified := strings.Cut(name, "@")
	if qualified {
		return r.helperFor(helper, prog)
	}
	// Unqualified: supported anywhere wins; else unknown anywhere means
	// unknown; only all-unsupported is unsupported.
	var unknowns []string
	for _, pt := range kenum.ProgTypes {
		switch res := r.helperFor(helper, pt.Name); res.State {
		case compat.Supported:
			return supported(helper + " available to " + pt.Name + " programs")
		case compat.Unknown:
			unknowns = append(unknowns, pt.Name)
		}
	}
	if len(unknowns) > 0 {
		return Result{State: compat.Unknown, Detail: fmt.Sprintf("%s not available to any fully probed program type; inconclusive for %s", helper, strings.Join(unknowns, ", "))}
	}
	return unsupported(helper + " not available to any program type")
}

func (r *Report) helperFor(helper, prog string) Result {
	if by := r.helperInvalid(helper); by != "" {
		return unsupported(helper + " is unknown to this kernel (invalid func for " + by + ")")
	}
	hs, ok := r.Helpers[prog]
	if !ok {
		return Result{State: compat.Unknown, Detail: "helpers of " + prog + " not in this report"}
	}
	if !hs.Probed {
		if st := r.ProgramTypes[prog]; st.State == compat.Unsupported {
			return unsupported("program type " + prog + " unsupported")
		}
		return Result{State: compat.Unknown, Detail: hs.Reason}
	}
	for _, h := range hs.Supported {
		if h == helper {
			return supported("available to " + prog + " programs")
		}
	}
	for _, h := range hs.Unsupported {
		if h == helper {
			return unsupported("not available to " + prog + " programs")
		}
	}
	if e, ok := hs.Unknown[helper]; ok {
		return Result{State: compat.Unknown, Detail: e}
	}
	return Result{State: compat.Unknown, Detail: helper + " not probed for " + prog}
}

// helperInvalid returns a program type for which the kernel answered
// "invalid func" for helper, or "".
func (r *Report) helperInvalid(helper string) string {
	for _, pt := range kenum.ProgTypes {
		for _, h := range r.Helpers[pt.Name].Invalid {
			if h == helper {
				return pt.Name
			}
		}
	}
	return ""
}
