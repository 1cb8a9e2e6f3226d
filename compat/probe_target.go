package compat

import (
	"fmt"
	"strings"
)

// Name describes the probed kernel, e.g. "probed kernel 6.1.0-18-amd64 (Debian GNU/Linux 12)".
func (r *ProbeReport) Name() string {
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
func (r *ProbeReport) Has(id FeatureID) Availability {
	res := r.result(id)
	return Availability{State: res.State, Detail: strings.TrimSpace(res.Errno + " " + res.Detail)}
}

// Result returns the full probe result for id.
func (r *ProbeReport) Result(id FeatureID) Result {
	return r.result(id)
}

func (r *ProbeReport) result(id FeatureID) Result {
	if _, err := Lookup(id); err != nil {
		return Result{State: Unknown, Detail: err.Error()}
	}
	kind, name, _ := strings.Cut(string(id), ":")
	lookup := func(m map[string]Result, key string) Result {
		if res, ok := m[key]; ok && res.State != "" {
			return res
		}
		return Result{State: Unknown, Detail: "not probed: " + string(id) + " is not in this report"}
	}
	switch KindOf(id) {
	case KindProg:
		return lookup(r.ProgramTypes, name)
	case KindMap:
		return lookup(r.MapTypes, name)
	case KindMapFlag:
		return lookup(r.MapFlags, name)
	case KindAttach:
		return lookup(r.Attach, name)
	case KindBTF:
		return lookup(r.BTF, name)
	case KindInsn:
		return lookup(r.Insn, name)
	case KindTestRun:
		return lookup(r.TestRun, name)
	case KindStats:
		return lookup(r.Stats, name)
	case KindHelper:
		return r.helperResult(name)
	case KindKfunc:
		if res, ok := r.Kfuncs[name]; ok {
			return res
		}
		if r.live != nil {
			return kfuncResult(name)
		}
		return Result{State: Unknown, Detail: "kfunc " + name + " not recorded in this report (probe with --kfunc " + name + ")"}
	}
	if kind == "ksym" {
		if res, ok := r.Ksyms[name]; ok {
			return res
		}
		if r.live != nil {
			syms, err := r.live.kallsyms()
			return ksymResultKnown(syms, err, name)
		}
		return Result{State: Unknown, Detail: "ksym " + name + " not recorded in this report (probe with --ksym " + name + ")"}
	}
	return lookup(r.Misc, string(id))
}

// helperResult answers helper:bpf_X and helper:bpf_X@PROG.
func (r *ProbeReport) helperResult(name string) Result {
	helper, prog, qualified := strings.Cut(name, "@")
	if qualified {
		return r.helperFor(helper, prog)
	}
	// Unqualified: supported anywhere wins; else unknown anywhere means
	// unknown; only all-unsupported is unsupported.
	var unknowns []string
	for _, pt := range progTypes {
		switch res := r.helperFor(helper, pt.name); res.State {
		case Supported:
			return supported(helper + " available to " + pt.name + " programs")
		case Unknown:
			unknowns = append(unknowns, pt.name)
		}
	}
	if len(unknowns) > 0 {
		return Result{State: Unknown, Detail: fmt.Sprintf("%s not available to any fully probed program type; inconclusive for %s", helper, strings.Join(unknowns, ", "))}
	}
	return unsupported(helper + " not available to any program type")
}

func (r *ProbeReport) helperFor(helper, prog string) Result {
	if by := r.helperInvalid(helper); by != "" {
		return unsupported(helper + " is unknown to this kernel (invalid func for " + by + ")")
	}
	hs, ok := r.Helpers[prog]
	if !ok {
		return Result{State: Unknown, Detail: "helpers of " + prog + " not in this report"}
	}
	if !hs.Probed {
		if st := r.ProgramTypes[prog]; st.State == Unsupported {
			return unsupported("program type " + prog + " unsupported")
		}
		return Result{State: Unknown, Detail: hs.Reason}
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
		return Result{State: Unknown, Detail: e}
	}
	return Result{State: Unknown, Detail: helper + " not probed for " + prog}
}

// helperInvalid returns a program type for which the kernel answered
// "invalid func" for helper, or "".
func (r *ProbeReport) helperInvalid(helper string) string {
	for _, pt := range progTypes {
		for _, h := range r.Helpers[pt.name].Invalid {
			if h == helper {
				return pt.name
			}
		}
	}
	return ""
}
