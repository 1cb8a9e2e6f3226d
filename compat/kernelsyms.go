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
