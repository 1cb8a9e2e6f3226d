package compat

import "strings"

// WithKernelSymbols wraps t with a kernel's symbol table (its System.map,
// or a /proc/kallsyms saved from it) to decide ksym:NAME, the kprobe
// targets and __ksym references: the table is what the kernel resolves
// them from, so a name missing there is Unsupported. what names the table
// in details ("System.map-6.1.0-57-cloud-amd64"). The table outranks t
// for ksym: (a catalog version or a BTF FUNC only suggests a symbol);
// everything else is answered by t.
func WithKernelSymbols(t Target, syms map[string]bool, what string) Target {
	return kernelSymbols{Target: t, syms: syms, what: what}
}

type kernelSymbols struct {
	Target
	syms map[string]bool
	what string
}

func (t kernelSymbols) Has(id FeatureID) Availability {
	name, ok := strings.CutPrefix(string(id), "ksym:")
	if !ok {
		return t.Target.Has(id)
	}
	if t.syms[name] {
		return Availability{State: Supported, Detail: name + " in " + t.what}
	}
	return Availability{State: Unsupported, Detail: "no symbol " + name + " in " + t.what}
}

// WithTraceable wraps t with the functions ftrace can patch in a kernel
// (its available_filter_functions, saved or made from its vmlinux's
// __mcount_loc): an fentry, fexit, fmod_ret or lsm target that t finds
// (in BTF) but that is not listed cannot attach, since the trampoline is
// installed on the ftrace call site (EBUSY at attach, after the verifier
// accepted the program). what names the list in details.
//
// With funcs nil the list is not known: a function t finds stays Unknown,
// since BTF lists functions ftrace cannot patch too (pahole encodes every
// function with DWARF), and a FUNC in BTF alone would be a false
// "compatible" for those.
func WithTraceable(t Target, funcs map[string]bool, what string) Target {
	return traceable{Target: t, funcs: funcs, what: what}
}

type traceable struct {
	Target
	funcs map[string]bool
	what  string
}

func (t traceable) Has(id FeatureID) Availability {
	a := t.Target.Has(id)
	name, ok := strings.CutPrefix(string(id), "btf-func:")
	if !ok || a.State != Supported || t.funcs[name] {
		return a
	}
	if t.funcs == nil {
		return Availability{State: Unknown, Detail: a.Detail + "; whether ftrace can patch it (fentry/fexit attach) is not known without the kernel's available_filter_functions"}
	}
	return Availability{State: Unsupported, Detail: "FUNC " + name + " is not in " + t.what + ": ftrace cannot patch it, so fentry/fexit/fmod_ret/lsm cannot attach"}
}
